"""Batch normalization as a differentiable op, on the kernels of :mod:`minidl.kernels.batchnorm`.

For x (..., C) with the channels last, per channel c over the M = x.size / C other positions::

    xhat = (x - mean) / sqrt(var + epsilon)        y = gamma * xhat + beta

In training mode ``mean`` and ``var`` are the batch's own (biased) statistics, so they depend on x and the
input gradient has the two extra terms of the full derivative::

    dx = gamma / (M sqrt(var + eps)) * (M dy - sum(dy) - xhat * sum(dy * xhat))

In inference mode they are fixed (the layer's moving averages) and ``dx = gamma * dy / sqrt(var + eps)``.
Both modes give ``dgamma = sum(dy * xhat)`` and ``dbeta = sum(dy)``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import kernel_table
from ..autograd import Function, Tensor
from ._boundary import as_tensor, contiguous, same_device

__all__ = ["batch_norm", "batch_norm_stats", "BatchNorm"]


class BatchNorm(Function):
    def forward(self, x, gamma, beta, mean=None, var=None, epsilon=1e-3, training=True):
        B = self.B = kernel_table.of(x)
        c = tuple(x.shape)[-1]  # the simulator's shapes take no negative index
        x2 = x.reshape(x.size // c, c)  # explicit sizes: device arrays take no -1
        self.shape, self.training = tuple(x.shape), bool(training)
        self.xhat = B.empty(x2.shape, dtype=x.dtype)
        self.inv_std = B.empty((c,), dtype=x.dtype)
        self.gamma = gamma
        y = B.empty(x2.shape, dtype=x.dtype)
        B.bn_normalize(x2, mean, var, float(epsilon), gamma, beta, self.xhat, y, self.inv_std)
        return y.reshape(x.shape)

    def backward(self, dy):
        B = self.B
        c = self.shape[-1]
        dy2 = (np.ascontiguousarray(dy) if isinstance(dy, np.ndarray) else dy).reshape(dy.size // c, c)
        dx = B.empty(dy2.shape, dtype=dy2.dtype)
        dgamma = B.empty((c,), dtype=dy2.dtype)
        dbeta = B.empty((c,), dtype=dy2.dtype)
        B.bn_backward(dy2, self.xhat, self.gamma, self.inv_std, dx, dgamma, dbeta, self.training)
        return dx.reshape(self.shape), dgamma, dbeta


def batch_norm_stats(x: Tensor) -> tuple[Any, Any]:
    """Per-channel (last axis) mean and biased variance of ``x``, as arrays on x's device (no gradient)."""
    x = contiguous(as_tensor(x))
    B = kernel_table.of(x.data)
    c = x.shape[-1]
    mean, var = B.empty((c,), dtype=x.dtype), B.empty((c,), dtype=x.dtype)
    B.bn_stats(x.data.reshape(x.data.size // c, c), mean, var)
    return mean, var


def batch_norm(x: Tensor, gamma: Tensor, beta: Tensor, mean: Any = None, var: Any = None, epsilon: float = 1e-3,
               training: bool = True) -> Tensor:
    """``gamma * (x - mean) / sqrt(var + epsilon) + beta`` over the last axis (see the module docstring).

    Args:
        x: (..., C), float32 or float64. gamma, beta: (C,).
        mean, var: (C,) arrays; with ``training`` and None, the batch's statistics are used.
        epsilon: added to the variance (> 0).
        training: whether mean/var are the batch's own statistics (they are then differentiated through).

    Raises:
        ValueError: for shapes that do not match or a non-positive epsilon.
    """
    x, gamma, beta = as_tensor(x), as_tensor(gamma), as_tensor(beta)
    same_device("batch_norm", x, gamma, beta)
    c = x.shape[-1] if x.ndim else 0
    if x.ndim < 2 or gamma.shape != (c,) or beta.shape != (c,):
        raise ValueError(f"batch_norm: x {x.shape} needs gamma and beta of shape ({c},), got {gamma.shape} and "
                         f"{beta.shape}")
    if not epsilon > 0:
        raise ValueError(f"batch_norm: epsilon must be > 0, got {epsilon}")
    x = contiguous(x)
    if mean is None or var is None:
        if not training:
            raise ValueError("batch_norm: inference mode needs mean and var")
        mean, var = batch_norm_stats(x)
    dt = x.dtype
    return BatchNorm.apply(x, contiguous(gamma, dt), contiguous(beta, dt), mean=mean, var=var,
                           epsilon=float(epsilon), training=bool(training))
