"""Zero padding and cropping of NHWC images as differentiable ops.

On 'cpu', :class:`Pad2D` is a Function of its own (``np.pad`` forward, a crop of dy backward) and cropping
is basic indexing. On 'cuda' both are written with the existing convolution kernels, so they need no
kernel of their own: a convolution whose kernel is a one-hot "delta" ``D[t, l, c, c] = 1`` copies pixel
``(i + t, j + l)`` to ``(i, j)``, which crops ``t`` rows and ``l`` columns at the top and left under
'valid' padding, and its transpose copies ``(i, j)`` to ``(i + t, j + l)``, which pads. Their gradients
are each other (the adjoint of a crop is a zero pad), given by the convolution backward kernels. The
channel identity makes this cost C times a copy, acceptable for the thin borders these layers add.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function, Tensor
from ._boundary import as_tensor, like_device

__all__ = ["pad2d", "crop2d", "Pad2D"]


class Pad2D(Function):
    """x (N, H, W, C) -> (N, top + H + bottom, left + W + right, C), zeros around (host arrays). Backward:
    the gradient of each input pixel is the gradient of the output pixel it was copied to (a crop of dy)."""

    def forward(self, x, pads=((0, 0), (0, 0))):
        (t, b), (l, r) = self.pads = pads
        self.hw = x.shape[1:3]
        return np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)))

    def backward(self, dy):
        (t, _), (l, _) = self.pads
        h, w = self.hw
        return np.ascontiguousarray(dy[:, t:t + h, l:l + w, :])


def _pairs(pads: tuple) -> tuple[tuple[int, int], tuple[int, int]]:
    (t, b), (l, r) = ((int(p[0]), int(p[1])) for p in pads)
    if min(t, b, l, r) < 0:
        raise ValueError(f"pad2d / crop2d: amounts must be >= 0, got {pads!r}")
    return (t, b), (l, r)


def _delta(x: Tensor, pads: tuple) -> Tensor:
    """The one-hot kernel (t + b + 1, l + r + 1, C, C) with the channel identity at (t, l), on x's device."""
    (t, b), (l, r) = pads
    c = x.shape[3]
    k = np.zeros((t + b + 1, l + r + 1, c, c), dtype=x.dtype)
    k[t, l] = np.eye(c, dtype=x.dtype)
    return Tensor(like_device(k, x))


def pad2d(x: Tensor, pads: tuple = ((1, 1), (1, 1))) -> Tensor:
    """Zero-pads the two spatial axes of an NHWC batch by ``((top, bottom), (left, right))``."""
    x = as_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"pad2d: x must be NHWC (rank 4), got shape {x.shape}")
    pads = _pairs(pads)
    if isinstance(x.data, np.ndarray):
        return Pad2D.apply(x, pads=pads)
    from .conv import conv2d_transpose

    return conv2d_transpose(x, _delta(x, pads), padding="valid")


def crop2d(x: Tensor, crops: tuple = ((0, 0), (0, 0))) -> Tensor:
    """Removes ``((top, bottom), (left, right))`` rows and columns from an NHWC batch."""
    x = as_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"crop2d: x must be NHWC (rank 4), got shape {x.shape}")
    (t, b), (l, r) = crops = _pairs(crops)
    h, w = x.shape[1], x.shape[2]
    if h - t - b <= 0 or w - l - r <= 0:
        raise ValueError(f"crop2d: cropping {crops} leaves nothing of shape {x.shape}")
    if isinstance(x.data, np.ndarray):
        return x[:, t:h - b, l:w - r, :]
    from .conv import conv2d

    return conv2d(x, _delta(x, crops), padding="valid")
