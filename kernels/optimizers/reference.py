"""optimizers: the NumPy reference, written to be read; the oracle every other implementation is tested against.
The math is in :mod:`minidl.kernels.optimizers`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["sgd_update", "adam_update", "rmsprop_update"]


def sgd_update(param: np.ndarray, grad: np.ndarray, velocity: np.ndarray, lr: float, momentum: float,
               nesterov: bool) -> None:
    """Keras SGD: ``v = m v - lr g``; ``p += v`` (nesterov: ``p += m v - lr g``)."""
    velocity[...] = momentum * velocity - lr * grad
    if nesterov:
        param += momentum * velocity - lr * grad
    else:
        param += velocity


def adam_update(param: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, lr: float,
                beta1: float, beta2: float, eps: float, t: int) -> None:
    """Keras Adam, ``t >= 1`` the step number::

        m += (g - m)(1 - b1);  v += (g^2 - v)(1 - b2)
        p -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
    """
    m += (grad - m) * (1 - beta1)
    v += (grad * grad - v) * (1 - beta2)
    alpha = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    param -= alpha * m / (np.sqrt(v) + eps)


def rmsprop_update(param: np.ndarray, grad: np.ndarray, ms: np.ndarray, lr: float, rho: float,
                   eps: float) -> None:
    """Keras RMSprop: ``ms = rho ms + (1 - rho) g^2``; ``p -= lr g / (sqrt(ms) + eps)``."""
    ms[...] = rho * ms + (1 - rho) * grad * grad
    param -= lr * grad / (np.sqrt(ms) + eps)
