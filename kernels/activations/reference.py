"""activations: the NumPy reference, written to be read; the oracle every other implementation is tested against.
The math is in :mod:`minidl.kernels.activations`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["relu_forward", "relu_backward", "sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward"]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """Two-branch sigmoid: never evaluates exp of a large positive number."""
    e = np.exp(-np.abs(x))                  # in (0, 1]
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def relu_forward(x: np.ndarray, out: np.ndarray) -> None:
    """``out = max(x, 0)``, any shape."""
    out[...] = np.where(x > 0, x, 0)


def relu_backward(x: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> None:
    """``dx = dy * (x > 0)``, any shape."""
    dx[...] = np.where(x > 0, dy, 0)


def sigmoid_forward(x: np.ndarray, out: np.ndarray) -> None:
    """``out = 1 / (1 + exp(-x))``, computed without overflow, any shape."""
    out[...] = _sigmoid(x)


def sigmoid_backward(y: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> None:
    """``dx = dy * y * (1 - y)`` where ``y = sigmoid(x)``, any shape."""
    dx[...] = dy * y * (1 - y)


def tanh_forward(x: np.ndarray, out: np.ndarray) -> None:
    """``out = tanh(x)``, any shape."""
    out[...] = np.tanh(x)


def tanh_backward(y: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> None:
    """``dx = dy * (1 - y**2)`` where ``y = tanh(x)``, any shape."""
    dx[...] = dy * (1 - y * y)


def _act(z: np.ndarray, code: int) -> np.ndarray:
    """Activation by code: 0 linear, 1 relu, 2 sigmoid, 3 tanh."""
    if code == 0:
        return z
    if code == 1:
        return np.where(z > 0, z, 0).astype(z.dtype, copy=False)
    if code == 2:
        return _sigmoid(z)
    if code == 3:
        return np.tanh(z)
    raise ValueError(f"unknown activation code {code}")


def _act_grad_from_output(a: np.ndarray, code: int) -> np.ndarray:
    """Derivative of the activation, written in terms of its output ``a``."""
    if code == 0:
        return np.ones_like(a)
    if code == 1:
        return (a > 0).astype(a.dtype)
    if code == 2:
        return a * (1 - a)
    if code == 3:
        return 1 - a * a
    raise ValueError(f"unknown activation code {code}")

