"""Zero padding of NHWC images as a differentiable op (the backward pass crops the gradient back)."""
from __future__ import annotations

import numpy as np

from ..autograd import Function, Tensor
from ._boundary import as_tensor

__all__ = ["pad2d", "Pad2D"]


class Pad2D(Function):
    """x (N, H, W, C) -> (N, top + H + bottom, left + W + right, C), zeros around. Backward: the gradient of
    each input pixel is the gradient of the output pixel it was copied to (a crop of dy)."""

    def forward(self, x, pads=((0, 0), (0, 0))):
        (t, b), (l, r) = self.pads = pads
        self.hw = x.shape[1:3]
        if not isinstance(x, np.ndarray):
            raise NotImplementedError("pad2d runs on 'cpu' arrays only")
        return np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)))

    def backward(self, dy):
        (t, _), (l, _) = self.pads
        h, w = self.hw
        return np.ascontiguousarray(dy[:, t:t + h, l:l + w, :])


def pad2d(x: Tensor, pads: tuple = ((1, 1), (1, 1))) -> Tensor:
    """Zero-pads the two spatial axes of an NHWC batch by ``((top, bottom), (left, right))``."""
    x = as_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"pad2d: x must be NHWC (rank 4), got shape {x.shape}")
    return Pad2D.apply(x, pads=tuple(tuple(int(v) for v in p) for p in pads))
