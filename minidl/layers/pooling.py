"""Pooling layers on NHWC images: :class:`MaxPooling2D`, :class:`AveragePooling2D`, and the global poolings."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import functional as F
from .._validate import check_int_tuple
from ..autograd import Tensor
from ..functional._boundary import like_device
from ..kernels.shapes import as_pair
from .base import Layer, _check_padding, _check_rank, _spatial_out
from .input_spec import InputSpec

__all__ = ["MaxPooling2D", "MaxPool2D", "AveragePooling2D", "AvgPool2D", "GlobalAveragePooling2D",
           "GlobalMaxPooling2D", "GlobalAvgPool2D", "GlobalMaxPool2D"]


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


class AveragePooling2D(Layer):
    """Mean over pool windows of NHWC images (no weights). Under 'same' padding the windows at the border
    average only the pixels inside the image, as Keras does.

    Composed of differentiable ops (a sum of kh * kw strided slices, then a division), so the gradient of
    each input pixel is the sum of ``dy / count`` over the windows that contain it.

    Args:
        pool_size: int or (ph, pw). strides: default ``pool_size``. padding: 'valid' or 'same'.
    """

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: str = "valid", **kwargs: Any) -> None:
        pool_size = check_int_tuple(pool_size, "AveragePooling2D: pool_size", 2)
        strides = pool_size if strides is None else check_int_tuple(strides, "AveragePooling2D: strides", 2)
        super().__init__(**kwargs)
        self.pool_size = pool_size
        self.strides = strides
        self.padding = _check_padding(padding, "AveragePooling2D")
        self.input_spec = InputSpec(ndim=4)

    def _pads(self, h: int, w: int) -> tuple[tuple[int, int], tuple[int, int], int, int]:
        (kh, kw), (sh, sw) = self.pool_size, self.strides
        oh = _spatial_out(h, kh, sh, self.padding, self)
        ow = _spatial_out(w, kw, sw, self.padding, self)
        if self.padding == "valid":
            return (0, 0), (0, 0), oh, ow
        ph = max((oh - 1) * sh + kh - h, 0)
        pw = max((ow - 1) * sw + kw - w, 0)
        return (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), oh, ow

    def _count(self, h: int, w: int, dtype: Any) -> np.ndarray:
        """How many image pixels each window covers (all kh * kw under 'valid')."""
        (kh, kw), (sh, sw) = self.pool_size, self.strides
        pt, pl, oh, ow = self._pads(h, w)
        ones = np.pad(np.ones((h, w), dtype=dtype), (pt, pl))
        count = np.zeros((oh, ow), dtype=dtype)
        for i in range(kh):
            for j in range(kw):
                count += ones[i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]
        return count

    def call(self, x, training=False):
        n, h, w, c = x.shape
        (kh, kw), (sh, sw) = self.pool_size, self.strides
        pt, pl, oh, ow = self._pads(h, w)
        padded = any(pt) or any(pl)
        if not isinstance(x.data, np.ndarray):
            # On 'cuda': a convolution with the channel-identity window of ones (the conv kernels pad
            # 'same' the way Keras pools), then the division by each window's pixel count.
            k = np.zeros((kh, kw, c, c), dtype=x.dtype)
            k[:, :] = np.eye(c, dtype=x.dtype)
            total = F.conv2d(x, Tensor(like_device(k, x)), None, self.strides, self.padding)
        else:
            from ..functional.padding import pad2d

            xp = pad2d(x, (pt, pl)) if padded else x
            total = None
            for i in range(kh):
                for j in range(kw):
                    part = xp[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw, :]
                    total = part if total is None else total + part
        if not padded:
            return total * (1.0 / (kh * kw))
        inv = (1.0 / self._count(h, w, x.dtype))[None, :, :, None].astype(x.dtype)
        return total * Tensor(like_device(inv, x))

    def compute_output_shape(self, input_shape):
        _check_rank(self, input_shape, 4, "image (N, H, W, C)")
        n, h, w, c = input_shape
        _, _, oh, ow = self._pads(h, w)
        return (n, oh, ow, c)

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding}


AvgPool2D = AveragePooling2D  # Keras alias


class _GlobalPooling2D(Layer):
    def __init__(self, keepdims: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=4)

    def compute_output_shape(self, input_shape):
        _check_rank(self, input_shape, 4, "image (N, H, W, C)")
        return (input_shape[0], 1, 1, input_shape[3]) if self.keepdims else (input_shape[0], input_shape[3])

    def get_config(self):
        return {**super().get_config(), "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPooling2D):
    """The mean of each channel over the image: (N, H, W, C) -> (N, C) (``keepdims``: (N, 1, 1, C))."""

    def call(self, x, training=False):
        return x.mean(axis=(1, 2), keepdims=self.keepdims)


class GlobalMaxPooling2D(_GlobalPooling2D):
    """The maximum of each channel over the image: (N, H, W, C) -> (N, C) (``keepdims``: (N, 1, 1, C)).
    The gradient goes to the maximal pixel."""

    def call(self, x, training=False):
        # the max-pooling kernel with one window over the whole image (runs on 'cpu' and 'cuda')
        out = F.max_pool2d(x, (x.shape[1], x.shape[2]), (1, 1), "valid")
        return out if self.keepdims else out.reshape(x.shape[0], x.shape[3])


GlobalAvgPool2D, GlobalMaxPool2D = GlobalAveragePooling2D, GlobalMaxPooling2D  # Keras aliases
