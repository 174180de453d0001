"""NumPy reference of the batch-norm kernels (see :mod:`kernels.batchnorm` for the contract)."""
from __future__ import annotations

import numpy as np

__all__ = ["bn_stats", "bn_normalize", "bn_backward"]


def bn_stats(x: np.ndarray, mean: np.ndarray, var: np.ndarray) -> None:
    mean[...] = x.mean(axis=0)
    var[...] = ((x - mean) ** 2).mean(axis=0)


def bn_normalize(x: np.ndarray, mean: np.ndarray, var: np.ndarray, eps: float, gamma: np.ndarray,
                 beta: np.ndarray, xhat: np.ndarray, y: np.ndarray, inv_std: np.ndarray) -> None:
    inv_std[...] = 1.0 / np.sqrt(var + eps)
    xhat[...] = (x - mean) * inv_std
    y[...] = gamma * xhat + beta


def bn_backward(dy: np.ndarray, xhat: np.ndarray, gamma: np.ndarray, inv_std: np.ndarray, dx: np.ndarray,
                dgamma: np.ndarray, dbeta: np.ndarray, training: bool) -> None:
    m = dy.shape[0]
    dbeta[...] = dy.sum(axis=0)
    dgamma[...] = (dy * xhat).sum(axis=0)
    if training:
        dx[...] = gamma * inv_std / m * (m * dy - dbeta - xhat * dgamma)
    else:
        dx[...] = gamma * inv_std * dy
