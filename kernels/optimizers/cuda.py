"""optimizers: ``numba.cuda`` kernels plus their launch wrappers (one GPU thread per output element; see
:mod:`minidl.kernels.cuda` for the layout of a CUDA kernel). Same names and arguments as :mod:`.reference`,
on device arrays.
"""
from __future__ import annotations

import math

from numba import cuda

from ..cuda_runtime import _elementwise, _same_size

__all__ = ["sgd_update", "adam_update", "rmsprop_update", "adagrad_update", "adadelta_update", "nadam_update", "weight_decay_update"]


@cuda.jit
def _sgd_kernel(param, grad, velocity, lr, momentum, nesterov):
    i = cuda.grid(1)
    if i < param.size:
        v = momentum * velocity[i] - lr * grad[i]
        velocity[i] = v
        if nesterov:
            param[i] += momentum * v - lr * grad[i]
        else:
            param[i] += v


@cuda.jit
def _adam_kernel(param, grad, m, v, lr_t, beta1, beta2, eps):
    i = cuda.grid(1)
    if i < param.size:
        g = grad[i]
        mi = m[i] + (g - m[i]) * (1.0 - beta1)
        vi = v[i] + (g * g - v[i]) * (1.0 - beta2)
        m[i] = mi
        v[i] = vi
        param[i] -= lr_t * mi / (math.sqrt(vi) + eps)


@cuda.jit
def _rmsprop_kernel(param, grad, ms, lr, rho, eps):
    i = cuda.grid(1)
    if i < param.size:
        g = grad[i]
        s = rho * ms[i] + (1.0 - rho) * g * g
        ms[i] = s
        param[i] -= lr * g / math.sqrt(s + eps)


@cuda.jit
def _adagrad_kernel(param, grad, acc, lr, eps):
    i = cuda.grid(1)
    if i < param.size:
        g = grad[i]
        a = acc[i] + g * g
        acc[i] = a
        param[i] -= lr * g / math.sqrt(a + eps)


@cuda.jit
def _adadelta_kernel(param, grad, acc_grad, acc_delta, lr, rho, eps):
    i = cuda.grid(1)
    if i < param.size:
        g = grad[i]
        eg = rho * acc_grad[i] + (1.0 - rho) * g * g
        acc_grad[i] = eg
        d = -math.sqrt(acc_delta[i] + eps) * g / math.sqrt(eg + eps)
        acc_delta[i] = rho * acc_delta[i] + (1.0 - rho) * d * d
        param[i] += lr * d


@cuda.jit
def _nadam_kernel(param, grad, m, v, lr, beta1, beta2, eps, m_coef, g_coef, v_coef):
    i = cuda.grid(1)
    if i < param.size:
        g = grad[i]
        mi = m[i] + (g - m[i]) * (1.0 - beta1)
        vi = v[i] + (g * g - v[i]) * (1.0 - beta2)
        m[i] = mi
        v[i] = vi
        param[i] -= lr * (m_coef * mi + g_coef * g) / (math.sqrt(v_coef * vi) + eps)


def sgd_update(param, grad, velocity, lr, momentum, nesterov) -> None:
    """Keras SGD: v = m v - lr g; p += v (nesterov: p += m v - lr g with the new v)."""
    _elementwise(_sgd_kernel, param, grad, velocity, float(lr), float(momentum), bool(nesterov),
                 n=_same_size(param, grad, velocity))


def adam_update(param, grad, m, v, lr, beta1, beta2, eps, t) -> None:
    """Keras Adam at step t >= 1; the bias correction lr sqrt(1 - b2^t) / (1 - b1^t) is computed on the host."""
    beta1, beta2, t = float(beta1), float(beta2), int(t)
    lr_t = float(lr) * math.sqrt(1.0 - beta2 ** t) / (1.0 - beta1 ** t)
    _elementwise(_adam_kernel, param, grad, m, v, lr_t, beta1, beta2, float(eps),
                 n=_same_size(param, grad, m, v))


def rmsprop_update(param, grad, ms, lr, rho, eps) -> None:
    """Keras 3: ms = rho ms + (1 - rho) g^2; p -= lr g / sqrt(ms + eps)."""
    _elementwise(_rmsprop_kernel, param, grad, ms, float(lr), float(rho), float(eps),
                 n=_same_size(param, grad, ms))


def adagrad_update(param, grad, acc, lr, eps) -> None:
    """Keras Adagrad: acc += g^2; p -= lr g / sqrt(acc + eps)."""
    _elementwise(_adagrad_kernel, param, grad, acc, float(lr), float(eps), n=_same_size(param, grad, acc))


def adadelta_update(param, grad, acc_grad, acc_delta, lr, rho, eps) -> None:
    """Keras Adadelta (see the package docstring)."""
    _elementwise(_adadelta_kernel, param, grad, acc_grad, acc_delta, float(lr), float(rho), float(eps),
                 n=_same_size(param, grad, acc_grad, acc_delta))


def nadam_update(param, grad, m, v, lr, beta1, beta2, eps, m_coef, g_coef, v_coef) -> None:
    """Keras Nadam with the step's coefficients, computed on the host (see the package docstring)."""
    _elementwise(_nadam_kernel, param, grad, m, v, float(lr), float(beta1), float(beta2), float(eps), float(m_coef),
                 float(g_coef), float(v_coef), n=_same_size(param, grad, m, v))


@cuda.jit
def _weight_decay_kernel(param, lr, decay):
    i = cuda.grid(1)
    if i < param.size:
        param[i] -= param[i] * decay * lr


def weight_decay_update(param, lr, decay) -> None:
    """Keras's decoupled weight decay: p -= p decay lr."""
    _elementwise(_weight_decay_kernel, param, float(lr), float(decay), n=_same_size(param))
