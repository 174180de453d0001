"""Pooling layers on NHWC images: :class:`MaxPooling2D` (alias ``MaxPool2D``)."""
from __future__ import annotations

from typing import Any

from .. import functional as F
from .._validate import check_int_tuple
from .base import Layer, _check_padding, _check_rank, _spatial_out

__all__ = ["MaxPooling2D", "MaxPool2D"]


class MaxPooling2D(Layer):
    """Max over pool windows of NHWC images (no weights).

    Args:
        pool_size: int or (ph, pw).
        strides: int or pair; default ``pool_size`` (non-overlapping windows).
        padding: 'valid' or 'same'.
    """

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: str = "valid", **kwargs: Any) -> None:
        pool_size = check_int_tuple(pool_size, "MaxPooling2D: pool_size", 2)
        strides = pool_size if strides is None else check_int_tuple(strides, "MaxPooling2D: strides", 2)
        super().__init__(**kwargs)
        self.pool_size = pool_size
        self.strides = strides
        self.padding = _check_padding(padding, "MaxPooling2D")

    def call(self, x, training=False):
        return F.max_pool2d(x, self.pool_size, self.strides, self.padding)

    def compute_output_shape(self, input_shape):
        _check_rank(self, input_shape, 4, "image (N, H, W, C)")
        n, h, w, c = input_shape
        oh = _spatial_out(h, self.pool_size[0], self.strides[0], self.padding, self)
        ow = _spatial_out(w, self.pool_size[1], self.strides[1], self.padding, self)
        return (n, oh, ow, c)

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding}


MaxPool2D = MaxPooling2D  # Keras alias
