"""The kernel boundary: kernels take C-contiguous arrays of one dtype; these helpers make them so."""
from __future__ import annotations

import numpy as np

from ..autograd import Function, Tensor

__all__ = ["as_tensor", "contiguous"]


class _Contiguous(Function):
    """A C-ordered copy of a strided view; the gradient passes through unchanged."""

    def forward(self, a):
        return np.ascontiguousarray(a)

    def backward(self, g):
        return g


def as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def contiguous(t: Tensor, dtype=None) -> Tensor:
    """``t`` as a C-contiguous tensor of ``dtype`` (default: its own), differentiably; a no-op when it is."""
    d = t.data
    if not isinstance(d, np.ndarray):  # device arrays are allocated contiguous
        return t
    if dtype is not None and d.dtype != dtype:
        t = t.astype(dtype)
    if not t.data.flags.c_contiguous:
        t = _Contiguous.apply(t)
    return t
