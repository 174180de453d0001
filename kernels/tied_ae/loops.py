"""Tied-weight autoencoder, readable Numba version: one output element per iteration (what one CUDA
thread computes). Slower than :mod:`.cpu`, whose sums are BLAS matrix products.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["tied_ae_forward", "tied_ae_backward"]


@njit(cache=True)
def _act(z, code):
    """Activation by code (``shapes.ACT_CODES``): 0 linear, 1 relu, 2 sigmoid, 3 tanh."""
    if code == 1:
        return z if z > 0 else 0.0
    if code == 2:
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
    if code == 3:
        return math.tanh(z)
    return z


@njit(cache=True)
def _act_grad(a, code):
    """The activation's derivative written in terms of its output ``a``."""
    if code == 1:
        return 1.0 if a > 0 else 0.0
    if code == 2:
        return a * (1.0 - a)
    if code == 3:
        return 1.0 - a * a
    return 1.0


@njit(cache=True)
def _forward(x, W, b, c, y, xhat, enc, dec):
    n_rows, d = x.shape
    hd = W.shape[1]
    for n in range(n_rows):
        for h in range(hd):
            s = 0.0  # y[n, h] = enc(sum_k x[n, k] W[k, h] + b[h])
            for k in range(d):
                s += x[n, k] * W[k, h]
            y[n, h] = _act(s + b[h], enc)
    for n in range(n_rows):
        for k in range(d):
            s = 0.0  # xhat[n, k] = dec(sum_h y[n, h] W[k, h] + c[k]): the same W, transposed
            for h in range(hd):
                s += y[n, h] * W[k, h]
            xhat[n, k] = _act(s + c[k], dec)


@njit(cache=True)
def _backward(x, W, y, xhat, dy, dxhat, dx, dW, db, dc, enc, dec, want_dx):
    n_rows, d = x.shape
    hd = W.shape[1]
    dr = np.empty((n_rows, d))   # gradient at the decoder's pre-activation
    da = np.empty((n_rows, hd))  # gradient at the encoder's pre-activation
    for n in range(n_rows):
        for k in range(d):
            dr[n, k] = dxhat[n, k] * _act_grad(xhat[n, k], dec)
    for k in range(d):
        s = 0.0
        for n in range(n_rows):
            s += dr[n, k]
        dc[k] = s
    for n in range(n_rows):
        for h in range(hd):
            s = dy[n, h]  # y's own upstream gradient plus what reaches it through the decoder
            for k in range(d):
                s += dr[n, k] * W[k, h]
            da[n, h] = s * _act_grad(y[n, h], enc)
    for h in range(hd):
        s = 0.0
        for n in range(n_rows):
            s += da[n, h]
        db[h] = s
    if want_dx:
        for n in range(n_rows):
            for k in range(d):
                s = 0.0
                for h in range(hd):
                    s += da[n, h] * W[k, h]
                dx[n, k] = s
    for k in range(d):
        for h in range(hd):
            s = 0.0  # W is used twice: the encoder path x^T da plus the decoder path dr^T y
            for n in range(n_rows):
                s += x[n, k] * da[n, h] + dr[n, k] * y[n, h]
            dW[k, h] = s


def tied_ae_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray, c: np.ndarray,
                    y: np.ndarray, xhat: np.ndarray, enc: int, dec: int) -> None:
    """``y = enc(x W + b)``; ``xhat = dec(y W^T + c)``."""
    _forward(x, W, b, c, y, xhat, int(enc), int(dec))


def tied_ae_backward(x: np.ndarray, W: np.ndarray, y: np.ndarray, xhat: np.ndarray,
                     dy: np.ndarray, dxhat: np.ndarray, dx: np.ndarray | None, dW: np.ndarray,
                     db: np.ndarray, dc: np.ndarray, enc: int, dec: int) -> None:
    """Gradients of both layers; ``dx`` may be None (not computed)."""
    _backward(x, W, y, xhat, dy, dxhat, x if dx is None else dx, dW, db, dc, int(enc), int(dec), dx is not None)
