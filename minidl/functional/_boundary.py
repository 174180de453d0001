"""The kernel boundary: kernels take C-contiguous arrays of one dtype; these helpers make them so."""
from __future__ import annotations

import numpy as np

from ..autograd import Function, Tensor

__all__ = ["as_tensor", "contiguous", "same_device", "like_device"]


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
    if not isinstance(d, np.ndarray):  # device arrays are allocated contiguous; only the dtype may change
        return t.astype(dtype) if dtype is not None and d.dtype != dtype else t
    if dtype is not None and d.dtype != dtype:
        t = t.astype(dtype)
    if not t.data.flags.c_contiguous:
        t = _Contiguous.apply(t)
    return t


def same_device(fn: str, *tensors) -> None:
    """ValueError naming both devices when the arguments (tensors or arrays; None skipped) are not all
    on one device."""
    for t in tensors:  # the common case, all on the host, costs one type check per argument
        if t is not None and type(t.data if isinstance(t, Tensor) else t) is not np.ndarray:
            break
    else:
        return
    from ..device import device_of

    devices = [device_of(t.data if isinstance(t, Tensor) else t) for t in tensors if t is not None]
    if len(set(devices)) > 1:
        other = next(d for d in devices if d != devices[0])
        raise ValueError(f"{fn}: operands are on different devices: {devices[0]} and {other}; move one with .to()")


def like_device(array, t: Tensor):
    """A host array (targets, labels, dropout uniforms) moved to the device of ``t``; a no-op on 'cpu'."""
    if isinstance(t.data, np.ndarray):
        return array
    from ..device import to_device

    return to_device(array, t.device)
