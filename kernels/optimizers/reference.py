"""optimizers: the NumPy reference, written to be read; the oracle every other implementation is tested against.
The math is in :mod:`minidl.kernels.optimizers`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["sgd_update", "adam_update", "rmsprop_update", "adagrad_update", "adadelta_update", "nadam_update", "weight_decay_update"]


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
    """Keras 3 RMSprop: ``ms = rho ms + (1 - rho) g^2``; ``p -= lr g / sqrt(ms + eps)``."""
    ms[...] = rho * ms + (1 - rho) * grad * grad
    param -= lr * grad / np.sqrt(ms + eps)


def adagrad_update(param: np.ndarray, grad: np.ndarray, acc: np.ndarray, lr: float, eps: float) -> None:
    """Keras Adagrad: ``acc += g^2``; ``p -= lr g / sqrt(acc + eps)``."""
    acc += grad * grad
    param -= lr * grad / np.sqrt(acc + eps)


def adadelta_update(param: np.ndarray, grad: np.ndarray, acc_grad: np.ndarray, acc_delta: np.ndarray, lr: float,
                    rho: float, eps: float) -> None:
    """Keras Adadelta: ``Eg = rho Eg + (1-rho) g^2``; ``d = -sqrt(Ed+eps) g / sqrt(Eg+eps)``;
    ``Ed = rho Ed + (1-rho) d^2``; ``p += lr d``."""
    acc_grad[...] = rho * acc_grad + (1 - rho) * grad * grad
    delta = -np.sqrt(acc_delta + eps) * grad / np.sqrt(acc_grad + eps)
    acc_delta[...] = rho * acc_delta + (1 - rho) * delta * delta
    param += lr * delta


def nadam_update(param: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, lr: float, beta1: float,
                 beta2: float, eps: float, m_coef: float, g_coef: float, v_coef: float) -> None:
    """Keras Nadam with the step's coefficients: ``m += (g-m)(1-b1)``; ``v += (g^2-v)(1-b2)``;
    ``p -= lr (m_coef m + g_coef g) / (sqrt(v_coef v) + eps)``."""
    m += (grad - m) * (1 - beta1)
    v += (grad * grad - v) * (1 - beta2)
    param -= lr * (m_coef * m + g_coef * grad) / (np.sqrt(v_coef * v) + eps)


def weight_decay_update(param: np.ndarray, lr: float, decay: float) -> None:
    """Keras's decoupled weight decay: ``p -= p · decay · lr``."""
    param -= param * decay * lr
