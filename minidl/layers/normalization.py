"""Normalization layers: :class:`BatchNormalization`."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import functional as F
from ..autograd import Tensor, no_grad
from .base import Layer, _init_name, _shape_str
from .input_spec import InputSpec

__all__ = ["BatchNormalization"]


class BatchNormalization(Layer):
    """Normalizes each channel (the last axis) to zero mean and unit variance, then scales and shifts:
    ``gamma * (x - mean) / sqrt(var + epsilon) + beta`` (Keras 3 semantics).

    - Training (``fit``, or ``training=True``): mean and var are the batch's, and the moving averages move
      towards them: ``moving = moving * momentum + batch * (1 - momentum)`` (the biased batch variance).
    - Inference (``predict`` / ``evaluate``): the moving mean and variance are used.
    - ``trainable = False`` (freezing, e.g. for fine-tuning) runs the layer in inference mode even during
      ``fit``, as in Keras 3: the moving statistics stay as they are.

    Weights (Keras's order and counts, 4 per channel): gamma and beta (trainable), moving_mean and
    moving_variance (non-trainable). The math and gradients: :func:`minidl.functional.batch_norm`.

    Args:
        axis: the channel axis; only the last (-1) is supported.
        momentum: of the moving averages, in [0, 1).
        epsilon: added to the variance (> 0).
        center, scale: whether to learn beta / gamma (else fixed at 0 / 1 and not weights).
        beta_initializer, gamma_initializer, moving_mean_initializer, moving_variance_initializer: names.
    """

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 moving_mean_initializer: Any = "zeros", moving_variance_initializer: Any = "ones",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if axis != -1:
            raise ValueError(f"BatchNormalization: only axis=-1 (channels last) is supported, got axis={axis!r}")
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0.0 <= momentum < 1.0:
            raise ValueError(f"BatchNormalization: momentum must be a number in [0, 1), got {momentum!r}")
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not epsilon > 0:
            raise ValueError(f"BatchNormalization: epsilon must be a number > 0, got {epsilon!r}")
        self.axis, self.momentum, self.epsilon = axis, float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f"layer {self.name!r} (BatchNormalization) needs inputs of rank >= 2 with a known "
                             f"channel axis, got shape {_shape_str(input_shape)}")
        c = int(input_shape[-1])
        self.gamma = self.add_weight("gamma", (c,), self.gamma_initializer) if self.scale else None
        self.beta = self.add_weight("beta", (c,), self.beta_initializer) if self.center else None
        self.moving_mean = self.add_weight("moving_mean", (c,), self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", (c,), self.moving_variance_initializer,
                                               trainable=False)
        self.input_spec = InputSpec(min_ndim=2, axes={-1: c})

    def _affine(self, x: Tensor) -> tuple[Tensor, Tensor]:
        c = x.shape[-1]
        from ..functional._boundary import like_device

        gamma = self.gamma if self.gamma is not None else Tensor(like_device(np.ones(c, dtype=x.dtype), x))
        beta = self.beta if self.beta is not None else Tensor(like_device(np.zeros(c, dtype=x.dtype), x))
        return gamma, beta

    def call(self, x, training=False):
        gamma, beta = self._affine(x)
        if training and self.trainable:
            mean, var = F.batch_norm_stats(x)
            y = F.batch_norm(x, gamma, beta, mean, var, self.epsilon, training=True)
            m = self.momentum
            with no_grad():
                for w, batch in ((self.moving_mean, mean), (self.moving_variance, var)):
                    if isinstance(w.data, np.ndarray):
                        w.data *= m
                        w.data += (1.0 - m) * batch.astype(w.data.dtype, copy=False)
                    else:
                        w.data = (Tensor(w.data) * m + Tensor(batch) * (1.0 - m)).data
            return y
        mm, mv = self.moving_mean.data, self.moving_variance.data
        if isinstance(mm, np.ndarray) and mm.dtype != x.dtype:  # float64 under gradcheck_model
            mm, mv = mm.astype(x.dtype), mv.astype(x.dtype)
        return F.batch_norm(x, gamma, beta, mm, mv, self.epsilon, training=False)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, "beta_initializer": _init_name(self.beta_initializer),
                "gamma_initializer": _init_name(self.gamma_initializer),
                "moving_mean_initializer": _init_name(self.moving_mean_initializer),
                "moving_variance_initializer": _init_name(self.moving_variance_initializer)}
