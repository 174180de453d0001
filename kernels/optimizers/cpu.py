"""Optimizer updates, fast CPU path: the same loops as :mod:`.loops`, as Numba ``prange`` loops.

What it optimises over :mod:`.loops`: the element loop is split over the threads for large parameter
arrays (from 2**21 elements: these are memory-bound streaming passes).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ..runtime import _JIT, _PAR_MIN_STREAM, _flat, _nt

__all__ = ["sgd_update", "adam_update", "rmsprop_update", "adagrad_update", "adadelta_update", "nadam_update", "weight_decay_update"]


@njit(parallel=True, **_JIT)
def _sgd(param, grad, velocity, lr, momentum, nesterov):
    for k in prange(param.size):
        v = momentum * velocity[k] - lr * grad[k]
        velocity[k] = v
        if nesterov:
            param[k] += momentum * v - lr * grad[k]
        else:
            param[k] += v


@njit(parallel=True, **_JIT)
def _adam(param, grad, m, v, lr, beta1, beta2, eps, t):
    alpha = lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    for k in prange(param.size):
        g = grad[k]
        m[k] += (g - m[k]) * (1 - beta1)
        v[k] += (g * g - v[k]) * (1 - beta2)
        param[k] -= alpha * m[k] / (math.sqrt(v[k]) + eps)


@njit(parallel=True, **_JIT)
def _rmsprop(param, grad, ms, lr, rho, eps):
    for k in prange(param.size):
        g = grad[k]
        ms[k] = rho * ms[k] + (1 - rho) * g * g
        param[k] -= lr * g / math.sqrt(ms[k] + eps)


@njit(parallel=True, **_JIT)
def _adagrad(param, grad, acc, lr, eps):
    for k in prange(param.size):
        g = grad[k]
        acc[k] += g * g
        param[k] -= lr * g / math.sqrt(acc[k] + eps)


@njit(parallel=True, **_JIT)
def _adadelta(param, grad, acc_grad, acc_delta, lr, rho, eps):
    for k in prange(param.size):
        g = grad[k]
        eg = rho * acc_grad[k] + (1 - rho) * g * g
        acc_grad[k] = eg
        d = -math.sqrt(acc_delta[k] + eps) * g / math.sqrt(eg + eps)
        acc_delta[k] = rho * acc_delta[k] + (1 - rho) * d * d
        param[k] += lr * d


@njit(parallel=True, **_JIT)
def _nadam(param, grad, m, v, lr, beta1, beta2, eps, m_coef, g_coef, v_coef):
    for k in prange(param.size):
        g = grad[k]
        m[k] += (g - m[k]) * (1 - beta1)
        v[k] += (g * g - v[k]) * (1 - beta2)
        param[k] -= lr * (m_coef * m[k] + g_coef * g) / (math.sqrt(v_coef * v[k]) + eps)


def sgd_update(param: np.ndarray, grad: np.ndarray, velocity: np.ndarray, lr: float, momentum: float,
               nesterov: bool) -> None:
    """Keras SGD in place: ``v = m v - lr g``; ``p += v`` (nesterov: ``p += m v - lr g``)."""
    _nt(np.size(param), _PAR_MIN_STREAM)
    _sgd(_flat(param, "param"), _flat(grad, "grad"), _flat(velocity, "velocity"), float(lr),
         float(momentum), bool(nesterov))


def adam_update(param: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, lr: float,
                beta1: float, beta2: float, eps: float, t: int) -> None:
    """Keras Adam in place, ``t >= 1``: ``m += (g-m)(1-b1)``; ``v += (g^2-v)(1-b2)``;
    ``p -= lr sqrt(1-b2^t)/(1-b1^t) m / (sqrt(v) + eps)``."""
    _nt(np.size(param), _PAR_MIN_STREAM)
    _adam(_flat(param, "param"), _flat(grad, "grad"), _flat(m, "m"), _flat(v, "v"), float(lr),
          float(beta1), float(beta2), float(eps), int(t))


def rmsprop_update(param: np.ndarray, grad: np.ndarray, ms: np.ndarray, lr: float, rho: float,
                   eps: float) -> None:
    """Keras 3 RMSprop in place: ``ms = rho ms + (1-rho) g^2``; ``p -= lr g / sqrt(ms + eps)``."""
    _nt(np.size(param), _PAR_MIN_STREAM)
    _rmsprop(_flat(param, "param"), _flat(grad, "grad"), _flat(ms, "ms"), float(lr), float(rho),
             float(eps))


def adagrad_update(param: np.ndarray, grad: np.ndarray, acc: np.ndarray, lr: float, eps: float) -> None:
    """Keras Adagrad in place: ``acc += g^2``; ``p -= lr g / sqrt(acc + eps)``."""
    _nt(np.size(param), _PAR_MIN_STREAM)
    _adagrad(_flat(param, "param"), _flat(grad, "grad"), _flat(acc, "acc"), float(lr), float(eps))


def adadelta_update(param: np.ndarray, grad: np.ndarray, acc_grad: np.ndarray, acc_delta: np.ndarray, lr: float,
                    rho: float, eps: float) -> None:
    """Keras Adadelta in place (see the package docstring)."""
    _nt(np.size(param), _PAR_MIN_STREAM)
    _adadelta(_flat(param, "param"), _flat(grad, "grad"), _flat(acc_grad, "acc_grad"), _flat(acc_delta, "acc_delta"),
              float(lr), float(rho), float(eps))


def nadam_update(param: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, lr: float, beta1: float,
                 beta2: float, eps: float, m_coef: float, g_coef: float, v_coef: float) -> None:
    """Keras Nadam in place with the step's coefficients (see the package docstring)."""
    _nt(np.size(param), _PAR_MIN_STREAM)
    _nadam(_flat(param, "param"), _flat(grad, "grad"), _flat(m, "m"), _flat(v, "v"), float(lr), float(beta1),
           float(beta2), float(eps), float(m_coef), float(g_coef), float(v_coef))


@njit(parallel=True, **_JIT)
def _weight_decay(param, lr, decay):
    for k in prange(param.size):
        param[k] -= param[k] * decay * lr


def weight_decay_update(param: np.ndarray, lr: float, decay: float) -> None:
    """Keras's decoupled weight decay in place: ``p -= p decay lr``."""
    _nt(np.size(param), _PAR_MIN_STREAM)
    _weight_decay(_flat(param, "param"), float(lr), float(decay))
