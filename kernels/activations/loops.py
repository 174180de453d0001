"""Activations, readable Numba version: one element per iteration (what one CUDA thread computes).

Slower than :mod:`.cpu`, which runs exp and tanh through NumPy's SIMD ufuncs and splits big arrays over
the threads.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["relu_forward", "relu_backward", "sigmoid_forward", "sigmoid_backward", "tanh_forward",
           "tanh_backward"]


@njit(cache=True)
def _relu_fwd(x, out):
    for k in range(x.size):
        out[k] = x[k] if x[k] > 0 else 0.0


@njit(cache=True)
def _relu_bwd(x, dy, dx):
    for k in range(x.size):
        dx[k] = dy[k] if x[k] > 0 else 0.0


@njit(cache=True)
def _sigmoid_fwd(x, out):
    for k in range(x.size):
        v = x[k]
        if v >= 0:  # exp of a non-positive number only: never overflows
            out[k] = 1.0 / (1.0 + math.exp(-v))
        else:
            e = math.exp(v)
            out[k] = e / (1.0 + e)


@njit(cache=True)
def _sigmoid_bwd(y, dy, dx):
    for k in range(y.size):
        dx[k] = dy[k] * y[k] * (1.0 - y[k])


@njit(cache=True)
def _tanh_fwd(x, out):
    for k in range(x.size):
        out[k] = math.tanh(x[k])


@njit(cache=True)
def _tanh_bwd(y, dy, dx):
    for k in range(y.size):
        dx[k] = dy[k] * (1.0 - y[k] * y[k])


def relu_forward(x: np.ndarray, out: np.ndarray) -> None:
    """``out = max(x, 0)``."""
    _relu_fwd(x.reshape(-1), out.reshape(-1))


def relu_backward(x: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> None:
    """``dx = dy * (x > 0)``."""
    _relu_bwd(x.reshape(-1), dy.reshape(-1), dx.reshape(-1))


def sigmoid_forward(x: np.ndarray, out: np.ndarray) -> None:
    """``out = 1 / (1 + exp(-x))``."""
    _sigmoid_fwd(x.reshape(-1), out.reshape(-1))


def sigmoid_backward(y: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> None:
    """``dx = dy * y * (1 - y)``."""
    _sigmoid_bwd(y.reshape(-1), dy.reshape(-1), dx.reshape(-1))


def tanh_forward(x: np.ndarray, out: np.ndarray) -> None:
    """``out = tanh(x)``."""
    _tanh_fwd(x.reshape(-1), out.reshape(-1))


def tanh_backward(y: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> None:
    """``dx = dy * (1 - y**2)``."""
    _tanh_bwd(y.reshape(-1), dy.reshape(-1), dx.reshape(-1))
