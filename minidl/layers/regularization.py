"""Regularization layers, active in training only: :class:`Dropout`, :class:`GaussianNoise`."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import functional as F
from .._validate import check_float, check_rate, check_seed
from ..autograd import Tensor
from ..functional._boundary import like_device
from ..random import get_rng
from .base import Layer

__all__ = ["Dropout", "GaussianNoise", "SpatialDropout2D"]


class Dropout(Layer):
    """Inverted dropout during training (zero with probability ``rate``, scale the rest by 1/(1-rate));
    the identity at inference.

    Args:
        rate: in [0, 1).
        seed: seeds this layer's own generator (masks still differ from batch to batch); None draws
            from minidl's global generator (:func:`minidl.utils.set_random_seed`).
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        rate = check_rate(rate, "Dropout: rate")  # NumPy floats accepted
        seed = check_seed(seed, "Dropout: seed")
        super().__init__(**kwargs)
        self.rate = rate
        self.seed = seed
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def call(self, x, training=False):
        if not training or self.rate == 0.0:
            return x
        seed = None if self._rng is None else int(self._rng.integers(2**63))
        return F.dropout(x, self.rate, training=True, seed=seed)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class GaussianNoise(Layer):
    """Adds N(0, stddev^2) noise during training (a regularizer, e.g. for denoising autoencoders); the
    identity at inference.

    Args:
        stddev: standard deviation (>= 0).
        seed: as in :class:`Dropout`.
    """

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any) -> None:
        stddev = check_float(stddev, "GaussianNoise: stddev", minimum=0.0)
        seed = check_seed(seed, "GaussianNoise: seed")
        super().__init__(**kwargs)
        self.stddev = stddev
        self.seed = seed
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def call(self, x, training=False):
        if not training or self.stddev == 0.0:
            return x
        rng = self._rng if self._rng is not None else get_rng()
        noise = (rng.standard_normal(x.shape) * self.stddev).astype(x.dtype)  # drawn on the host, as dropout
        return x + Tensor(like_device(noise, x))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class SpatialDropout2D(Layer):
    """Dropout of whole channels of NHWC images during training (a channel is zeroed everywhere with
    probability ``rate``, the others scaled by 1 / (1 - rate)); the identity at inference.

    Args:
        rate: in [0, 1). seed: as in :class:`Dropout`.
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
            raise ValueError(f"SpatialDropout2D: rate must be a number in [0, 1), got {rate!r}")
        self.rate, self.seed = float(rate), seed
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def call(self, x, training=False):
        if not training or self.rate == 0.0:
            return x
        rng = self._rng if self._rng is not None else get_rng()
        keep = (rng.random((x.shape[0], 1, 1, x.shape[3])) >= self.rate) / (1.0 - self.rate)
        return x * Tensor(like_device(keep.astype(x.dtype), x))

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"layer {self.name!r} (SpatialDropout2D) expects image (N, H, W, C) inputs of rank 4, "
                             f"got shape {tuple(input_shape)}")
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
