"""optimizers: ``numba.cuda`` kernels plus their launch wrappers (one GPU thread per output element; see
:mod:`minidl.kernels.cuda` for the layout of a CUDA kernel). Same names and arguments as :mod:`.reference`,
on device arrays.
"""
from __future__ import annotations

import math

from numba import cuda

from ..cuda_runtime import _elementwise, _same_size

__all__ = ["sgd_update", "adam_update", "rmsprop_update"]


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
        param[i] -= lr * g / (math.sqrt(s) + eps)


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
    """ms = rho ms + (1 - rho) g^2; p -= lr g / (sqrt(ms) + eps)."""
    _elementwise(_rmsprop_kernel, param, grad, ms, float(lr), float(rho), float(eps),
                 n=_same_size(param, grad, ms))

