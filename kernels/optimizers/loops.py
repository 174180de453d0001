"""Optimizer updates, readable Numba version: one parameter element per iteration (what one CUDA thread
computes). :mod:`.cpu` is the same loop split over the threads.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["sgd_update", "adam_update", "rmsprop_update", "adagrad_update", "adadelta_update", "nadam_update", "weight_decay_update"]


@njit(cache=True)
def _sgd(param, grad, velocity, lr, momentum, nesterov):
    for k in range(param.size):
        v = momentum * velocity[k] - lr * grad[k]
        velocity[k] = v
        param[k] += momentum * v - lr * grad[k] if nesterov else v


@njit(cache=True)
def _adam(param, grad, m, v, lr, beta1, beta2, eps, t):
    alpha = lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)  # the bias corrections folded into the rate
    for k in range(param.size):
        g = grad[k]
        m[k] += (g - m[k]) * (1 - beta1)
        v[k] += (g * g - v[k]) * (1 - beta2)
        param[k] -= alpha * m[k] / (math.sqrt(v[k]) + eps)


@njit(cache=True)
def _rmsprop(param, grad, ms, lr, rho, eps):
    for k in range(param.size):
        g = grad[k]
        ms[k] = rho * ms[k] + (1 - rho) * g * g
        param[k] -= lr * g / math.sqrt(ms[k] + eps)


@njit(cache=True)
def _adagrad(param, grad, acc, lr, eps):
    for k in range(param.size):
        g = grad[k]
        acc[k] += g * g
        param[k] -= lr * g / math.sqrt(acc[k] + eps)


@njit(cache=True)
def _adadelta(param, grad, acc_grad, acc_delta, lr, rho, eps):
    for k in range(param.size):
        g = grad[k]
        eg = rho * acc_grad[k] + (1 - rho) * g * g
        acc_grad[k] = eg
        d = -math.sqrt(acc_delta[k] + eps) * g / math.sqrt(eg + eps)
        acc_delta[k] = rho * acc_delta[k] + (1 - rho) * d * d
        param[k] += lr * d


@njit(cache=True)
def _nadam(param, grad, m, v, lr, beta1, beta2, eps, m_coef, g_coef, v_coef):
    for k in range(param.size):
        g = grad[k]
        m[k] += (g - m[k]) * (1 - beta1)
        v[k] += (g * g - v[k]) * (1 - beta2)
        param[k] -= lr * (m_coef * m[k] + g_coef * g) / (math.sqrt(v_coef * v[k]) + eps)


def sgd_update(param: np.ndarray, grad: np.ndarray, velocity: np.ndarray, lr: float, momentum: float,
               nesterov: bool) -> None:
    """``v = m v - lr g``; ``p += v`` (nesterov: ``p += m v - lr g``)."""
    _sgd(param.reshape(-1), grad.reshape(-1), velocity.reshape(-1), float(lr), float(momentum), bool(nesterov))


def adam_update(param: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, lr: float,
                beta1: float, beta2: float, eps: float, t: int) -> None:
    """Keras Adam, ``t >= 1`` the step number."""
    _adam(param.reshape(-1), grad.reshape(-1), m.reshape(-1), v.reshape(-1), float(lr), float(beta1),
          float(beta2), float(eps), int(t))


def rmsprop_update(param: np.ndarray, grad: np.ndarray, ms: np.ndarray, lr: float, rho: float,
                   eps: float) -> None:
    """``ms = rho ms + (1 - rho) g^2``; ``p -= lr g / sqrt(ms + eps)`` (Keras 3)."""
    _rmsprop(param.reshape(-1), grad.reshape(-1), ms.reshape(-1), float(lr), float(rho), float(eps))


def adagrad_update(param: np.ndarray, grad: np.ndarray, acc: np.ndarray, lr: float, eps: float) -> None:
    """``acc += g^2``; ``p -= lr g / sqrt(acc + eps)``."""
    _adagrad(param.reshape(-1), grad.reshape(-1), acc.reshape(-1), float(lr), float(eps))


def adadelta_update(param: np.ndarray, grad: np.ndarray, acc_grad: np.ndarray, acc_delta: np.ndarray, lr: float,
                    rho: float, eps: float) -> None:
    """Keras Adadelta (see the package docstring)."""
    _adadelta(param.reshape(-1), grad.reshape(-1), acc_grad.reshape(-1), acc_delta.reshape(-1), float(lr),
              float(rho), float(eps))


def nadam_update(param: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, lr: float, beta1: float,
                 beta2: float, eps: float, m_coef: float, g_coef: float, v_coef: float) -> None:
    """Keras Nadam with the step's coefficients (see the package docstring)."""
    _nadam(param.reshape(-1), grad.reshape(-1), m.reshape(-1), v.reshape(-1), float(lr), float(beta1),
           float(beta2), float(eps), float(m_coef), float(g_coef), float(v_coef))


@njit(cache=True)
def _weight_decay(param, lr, decay):
    for k in range(param.size):
        param[k] -= param[k] * decay * lr


def weight_decay_update(param: np.ndarray, lr: float, decay: float) -> None:
    """``p -= p decay lr``."""
    _weight_decay(param.reshape(-1), float(lr), float(decay))
