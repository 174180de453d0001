"""Batch-norm kernels as Numba loops: the CPU path (see :mod:`kernels.batchnorm` for the contract).

Every loop runs over the rows (samples and pixels) outside and the channels inside, so the inner loop
walks contiguous memory and vectorizes; per-channel sums live in small (C,) accumulators. One thread: a
batch-norm pass is memory-bound and cheap next to the convolution it follows.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["bn_stats", "bn_normalize", "bn_backward"]


@njit(cache=True)
def bn_stats(x, mean, var):
    m, c = x.shape
    acc = np.zeros(c, dtype=np.float64)  # float64 sums: M can be 10^5 rows
    for i in range(m):
        for j in range(c):
            acc[j] += x[i, j]
    for j in range(c):
        acc[j] /= m
        mean[j] = acc[j]
    sq = np.zeros(c, dtype=np.float64)
    for i in range(m):  # second pass: sum (x - mean)^2, no cancellation
        for j in range(c):
            d = x[i, j] - acc[j]
            sq[j] += d * d
    for j in range(c):
        var[j] = sq[j] / m


@njit(cache=True)
def bn_normalize(x, mean, var, eps, gamma, beta, xhat, y, inv_std):
    m, c = x.shape
    for j in range(c):
        inv_std[j] = 1.0 / np.sqrt(var[j] + eps)
    for i in range(m):
        for j in range(c):
            h = (x[i, j] - mean[j]) * inv_std[j]
            xhat[i, j] = h
            y[i, j] = gamma[j] * h + beta[j]


@njit(cache=True)
def bn_backward(dy, xhat, gamma, inv_std, dx, dgamma, dbeta, training):
    m, c = dy.shape
    sb = np.zeros(c, dtype=np.float64)
    sg = np.zeros(c, dtype=np.float64)
    for i in range(m):
        for j in range(c):
            sb[j] += dy[i, j]
            sg[j] += dy[i, j] * xhat[i, j]
    for j in range(c):
        dbeta[j] = sb[j]
        dgamma[j] = sg[j]
    if training:
        for i in range(m):
            for j in range(c):
                dx[i, j] = gamma[j] * inv_std[j] / m * (m * dy[i, j] - sb[j] - xhat[i, j] * sg[j])
    else:
        for i in range(m):
            for j in range(c):
                dx[i, j] = gamma[j] * inv_std[j] * dy[i, j]
