"""Dense and dropout, readable Numba version: one output element per iteration (what one CUDA thread
computes). Slower than :mod:`.cpu`, whose sums are BLAS matrix products.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["dense_forward", "dense_backward", "dropout_forward", "dropout_backward"]


@njit(cache=True)
def _forward(x, w, b, out):
    n_rows, n_in = x.shape
    n_out = w.shape[1]
    for n in range(n_rows):
        for o in range(n_out):
            s = 0.0  # out[n, o] = b[o] + sum_i x[n, i] w[i, o]
            for i in range(n_in):
                s += x[n, i] * w[i, o]
            out[n, o] = s + b[o]


@njit(cache=True)
def _backward(x, w, dy, dx, dw, db):
    n_rows, n_in = x.shape
    n_out = w.shape[1]
    for n in range(n_rows):
        for i in range(n_in):
            s = 0.0  # dx[n, i] = sum_o dy[n, o] w[i, o]
            for o in range(n_out):
                s += dy[n, o] * w[i, o]
            dx[n, i] = s
    for i in range(n_in):
        for o in range(n_out):
            s = 0.0  # dw[i, o] = sum_n x[n, i] dy[n, o]
            for n in range(n_rows):
                s += x[n, i] * dy[n, o]
            dw[i, o] = s
    for o in range(n_out):
        s = 0.0  # db[o] = sum_n dy[n, o]
        for n in range(n_rows):
            s += dy[n, o]
        db[o] = s


@njit(cache=True)
def _dropout_fwd(x, u, rate, out, mask):
    keep = 1.0 / (1.0 - rate) if rate < 1.0 else 0.0
    for k in range(x.size):
        mask[k] = keep if u[k] >= rate else 0.0  # kept with probability 1 - rate, scaled up to keep the mean
        out[k] = x[k] * mask[k]


@njit(cache=True)
def _mul(a, b, out):
    for k in range(a.size):
        out[k] = a[k] * b[k]


def dense_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """``out = x @ w + b``."""
    _forward(x, w, b, out)


def dense_backward(x: np.ndarray, w: np.ndarray, dy: np.ndarray,
                   dx: np.ndarray, dw: np.ndarray, db: np.ndarray) -> None:
    """``dx = dy @ w.T``, ``dw = x.T @ dy``, ``db = sum(dy, 0)``."""
    _backward(x, w, dy, dx, dw, db)


def dropout_forward(x: np.ndarray, u: np.ndarray, rate: float, out: np.ndarray, mask: np.ndarray) -> None:
    """``mask = (u >= rate) / (1 - rate)``; ``out = x * mask``."""
    _dropout_fwd(x.reshape(-1), u.reshape(-1), float(rate), out.reshape(-1), mask.reshape(-1))


def dropout_backward(dy: np.ndarray, mask: np.ndarray, dx: np.ndarray) -> None:
    """``dx = dy * mask``."""
    _mul(dy.reshape(-1), mask.reshape(-1), dx.reshape(-1))
