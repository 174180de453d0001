"""Layers that only move values around: :class:`Flatten`, :class:`Reshape`, :class:`UpSampling2D`,
:class:`ZeroPadding2D`, :class:`Cropping2D`."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..autograd import Function, Tensor
from ..functional._boundary import like_device
from .._validate import ArgumentTypeError, check_int_tuple, describe
from .base import Layer, Shape, _check_rank, _shape_str

__all__ = ["Flatten", "Reshape", "UpSampling2D", "ZeroPadding2D", "Cropping2D"]


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...)."""

    def call(self, x, training=False):
        return x.reshape(x.shape[0], -1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], int(np.prod(input_shape[1:], dtype=np.int64)))


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (no batch); one entry may be -1 (inferred).

    Raises:
        ValueError: at construction for a bad target (two -1s, zeros); when built, if the sizes differ.
    """

    def __init__(self, target_shape: Sequence[int], **kwargs: Any) -> None:
        if isinstance(target_shape, (int, np.integer)) and not isinstance(target_shape, (bool, np.bool_)):
            target_shape = (target_shape,)
        if not isinstance(target_shape, (tuple, list, np.ndarray)) or (
                isinstance(target_shape, np.ndarray) and target_shape.ndim != 1):
            raise ArgumentTypeError(f"Reshape: target_shape must be a tuple of ints (one may be -1), got "
                                    f"{describe(target_shape)}")
        t = check_int_tuple(target_shape, "Reshape: target_shape", len(target_shape), minimum=-1)
        super().__init__(**kwargs)
        if sum(d == -1 for d in t) > 1 or any(d == 0 or d < -1 for d in t):
            raise ValueError(f"Reshape: target_shape must be positive ints with at most one -1, got {target_shape!r}")
        self.target_shape = t

    def _resolve(self, input_shape: Shape) -> tuple[int, ...]:
        size = int(np.prod(input_shape[1:], dtype=np.int64))
        known = int(np.prod([d for d in self.target_shape if d != -1], dtype=np.int64))
        if -1 in self.target_shape:
            if size % known:
                raise ValueError(f"layer {self.name!r} (Reshape): cannot reshape {_shape_str(input_shape)} into "
                                 f"{_shape_str((None, *self.target_shape))}")
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if known != size:
            raise ValueError(f"layer {self.name!r} (Reshape): cannot reshape {_shape_str(input_shape)} ({size} values "
                             f"per sample) into {_shape_str((None, *self.target_shape))} ({known} values)")
        return self.target_shape

    def call(self, x, training=False):
        return x.reshape(x.shape[0], *self.target_shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self._resolve(input_shape))

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class _Upsample2D(Function):
    """Nearest-neighbour up-sampling of NHWC images: every pixel becomes an sh x sw block.

    Backward: each input pixel was copied into sh * sw output pixels, so its gradient is the sum of
    their gradients (a reshape that exposes the block, then a sum over it)."""

    def forward(self, x, size=(2, 2)):
        sh, sw = self.size = size
        n, h, w, c = x.shape
        # Broadcast each pixel over a new (sh, sw) block, then merge the block into the image axes.
        out = np.broadcast_to(x[:, :, None, :, None, :], (n, h, sh, w, sw, c))
        return np.ascontiguousarray(out).reshape(n, h * sh, w * sw, c)

    def backward(self, g):
        sh, sw = self.size
        n, hh, ww, c = g.shape
        return g.reshape(n, hh // sh, sh, ww // sw, sw, c).sum(axis=(2, 4))


class UpSampling2D(Layer):
    """Repeats rows and columns of NHWC images: (N, H, W, C) -> (N, H * sh, W * sw, C) (nearest).

    Args:
        size: int or (sh, sw).
    """

    def __init__(self, size: Any = (2, 2), **kwargs: Any) -> None:
        size = check_int_tuple(size, "UpSampling2D: size", 2)
        super().__init__(**kwargs)
        self.size = size

    def call(self, x, training=False):
        if isinstance(x.data, np.ndarray):
            return _Upsample2D.apply(x, size=self.size)
        # On a GPU: the same thing with generic ops (a broadcasting multiply by ones, then a reshape).
        n, h, w, c = x.shape
        sh, sw = self.size
        ones = like_device(np.ones((1, 1, sh, 1, sw, 1), dtype=x.dtype), x)
        return (x.reshape(n, h, 1, w, 1, c) * Tensor(ones)).reshape(n, h * sh, w * sw, c)

    def compute_output_shape(self, input_shape):
        _check_rank(self, input_shape, 4, "image (N, H, W, C)")
        n, h, w, c = input_shape
        return (n, h * self.size[0], w * self.size[1], c)

    def get_config(self):
        return {**super().get_config(), "size": list(self.size)}


def _pairs(value: Any, what: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras's padding / cropping argument: int, (sym_h, sym_w) or ((top, bottom), (left, right))."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        v = int(value)
        out = ((v, v), (v, v))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        out = ((int(value[0]),) * 2, (int(value[1]),) * 2)
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, (tuple, list)) and len(v) == 2 for v in value):
        out = tuple(tuple(int(a) for a in v) for v in value)
    else:
        raise ValueError(f"{what} must be an int, a pair of ints or a pair of pairs, got {value!r}")
    if any(a < 0 for p in out for a in p):
        raise ValueError(f"{what} must be >= 0, got {value!r}")
    return out  # type: ignore[return-value]


class ZeroPadding2D(Layer):
    """Adds rows and columns of zeros around NHWC images.

    Args:
        padding: int, (h, w) (symmetric), or ((top, bottom), (left, right)).
    """

    def __init__(self, padding: Any = (1, 1), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.padding = _pairs(padding, "ZeroPadding2D: padding")

    def call(self, x, training=False):
        from ..functional.padding import pad2d

        return pad2d(x, self.padding)

    def compute_output_shape(self, input_shape):
        _check_rank(self, input_shape, 4, "image (N, H, W, C)")
        n, h, w, c = input_shape
        (t, b), (l, r) = self.padding
        return (n, h + t + b, w + l + r, c)

    def get_config(self):
        return {**super().get_config(), "padding": [list(p) for p in self.padding]}


class Cropping2D(Layer):
    """Removes rows and columns at the borders of NHWC images.

    Args:
        cropping: int, (h, w) (symmetric), or ((top, bottom), (left, right)).
    """

    def __init__(self, cropping: Any = ((0, 0), (0, 0)), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cropping = _pairs(cropping, "Cropping2D: cropping")

    def call(self, x, training=False):
        from ..functional.padding import crop2d

        return crop2d(x, self.cropping)

    def compute_output_shape(self, input_shape):
        _check_rank(self, input_shape, 4, "image (N, H, W, C)")
        n, h, w, c = input_shape
        (t, b), (l, r) = self.cropping
        if h - t - b <= 0 or w - l - r <= 0:
            raise ValueError(f"layer {self.name!r} (Cropping2D): cropping {self.cropping} leaves nothing of inputs "
                             f"of shape {_shape_str(input_shape)}")
        return (n, h - t - b, w - l - r, c)

    def get_config(self):
        return {**super().get_config(), "cropping": [list(p) for p in self.cropping]}
