"""Batch-norm kernels in numba.cuda (see :mod:`kernels.batchnorm` for the contract).

Reductions use one thread per channel looping over the rows: at a given row, neighbouring threads read
neighbouring channels, so the loads coalesce. Element-wise passes use one thread per element. The
wrappers take device arrays and launch on the default stream.
"""
from __future__ import annotations

import math

from numba import cuda

__all__ = ["bn_stats", "bn_normalize", "bn_backward"]

_THREADS = 128


@cuda.jit
def _stats_kernel(x, mean, var):
    j = cuda.grid(1)
    m, c = x.shape
    if j >= c:
        return
    s = 0.0
    for i in range(m):
        s += x[i, j]
    mu = s / m
    q = 0.0
    for i in range(m):
        d = x[i, j] - mu
        q += d * d
    mean[j] = mu
    var[j] = q / m


@cuda.jit
def _normalize_kernel(x, mean, var, eps, gamma, beta, xhat, y, inv_std):
    k = cuda.grid(1)
    m, c = x.shape
    if k >= m * c:
        return
    i, j = k // c, k % c
    s = 1.0 / math.sqrt(var[j] + eps)
    if i == 0:
        inv_std[j] = s
    h = (x[i, j] - mean[j]) * s
    xhat[i, j] = h
    y[i, j] = gamma[j] * h + beta[j]


@cuda.jit
def _sums_kernel(dy, xhat, dgamma, dbeta):
    j = cuda.grid(1)
    m, c = dy.shape
    if j >= c:
        return
    sb = 0.0
    sg = 0.0
    for i in range(m):
        sb += dy[i, j]
        sg += dy[i, j] * xhat[i, j]
    dbeta[j] = sb
    dgamma[j] = sg


@cuda.jit
def _dx_kernel(dy, xhat, gamma, inv_std, dgamma, dbeta, dx, training):
    k = cuda.grid(1)
    m, c = dy.shape
    if k >= m * c:
        return
    i, j = k // c, k % c
    if training:
        dx[i, j] = gamma[j] * inv_std[j] / m * (m * dy[i, j] - dbeta[j] - xhat[i, j] * dgamma[j])
    else:
        dx[i, j] = gamma[j] * inv_std[j] * dy[i, j]


def _blocks(n: int) -> int:
    return max(1, (n + _THREADS - 1) // _THREADS)


def bn_stats(x, mean, var) -> None:
    _stats_kernel[_blocks(x.shape[1]), _THREADS](x, mean, var)


def bn_normalize(x, mean, var, eps, gamma, beta, xhat, y, inv_std) -> None:
    _normalize_kernel[_blocks(x.shape[0] * x.shape[1]), _THREADS](x, mean, var, eps, gamma, beta, xhat, y, inv_std)


def bn_backward(dy, xhat, gamma, inv_std, dx, dgamma, dbeta, training) -> None:
    _sums_kernel[_blocks(dy.shape[1]), _THREADS](dy, xhat, dgamma, dbeta)
    _dx_kernel[_blocks(dy.shape[0] * dy.shape[1]), _THREADS](dy, xhat, gamma, inv_std, dgamma, dbeta, dx,
                                                            bool(training))
