"""Softmax, log-softmax and the fused losses, readable Numba version: one row (softmax family) or one
element (BCE) per iteration, what one CUDA thread of :mod:`.cuda` computes.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["softmax_forward", "softmax_backward", "log_softmax_forward", "log_softmax_backward",
           "softmax_xent_sparse_forward", "softmax_xent_sparse_backward",
           "softmax_xent_dense_forward", "softmax_xent_dense_backward",
           "bce_logits_forward", "bce_logits_backward"]


@njit(cache=True)
def _logsumexp(x, r):
    """log(sum_j exp(x[r, j])), the row max taken out first so exp never overflows."""
    mx = x[r, 0]
    for j in range(x.shape[1]):
        mx = max(mx, x[r, j])
    s = 0.0
    for j in range(x.shape[1]):
        s += math.exp(x[r, j] - mx)
    return mx + math.log(s)


@njit(cache=True)
def _softmax_fwd(x, out, log):
    for r in range(x.shape[0]):
        lse = _logsumexp(x, r)
        for j in range(x.shape[1]):
            out[r, j] = x[r, j] - lse if log else math.exp(x[r, j] - lse)


@njit(cache=True)
def _softmax_bwd(y, dy, dx, log):
    for r in range(y.shape[0]):
        s = 0.0
        for j in range(y.shape[1]):
            s += dy[r, j] if log else dy[r, j] * y[r, j]
        for j in range(y.shape[1]):
            if log:  # y = log p: dx = dy - p sum(dy)
                dx[r, j] = dy[r, j] - math.exp(y[r, j]) * s
            else:    # dx = p (dy - sum(dy p))
                dx[r, j] = y[r, j] * (dy[r, j] - s)


@njit(cache=True)
def _xent_fwd(logits, target, probs):
    """Mean over rows of -sum_j t[r, j] log_softmax(x)[r, j]; probs = softmax(x)."""
    total = 0.0
    for r in range(logits.shape[0]):
        lse = _logsumexp(logits, r)
        for j in range(logits.shape[1]):
            probs[r, j] = math.exp(logits[r, j] - lse)
            total -= target[r, j] * (logits[r, j] - lse)
    return total / logits.shape[0]


@njit(cache=True)
def _xent_bwd(probs, target, dlogits, scale):
    for r in range(probs.shape[0]):
        st = 0.0
        for j in range(probs.shape[1]):
            st += target[r, j]
        for j in range(probs.shape[1]):
            dlogits[r, j] = (probs[r, j] * st - target[r, j]) * scale


@njit(cache=True)
def _bce_fwd(z, t, p):
    total = 0.0
    for k in range(z.size):
        e = math.exp(-abs(z[k]))
        total += max(z[k], 0.0) - z[k] * t[k] + math.log1p(e)  # stable: exp of -|z| only
        p[k] = 1.0 / (1.0 + e) if z[k] >= 0 else e / (1.0 + e)
    return total / max(z.size, 1)


@njit(cache=True)
def _bce_bwd(p, t, dz, scale):
    for k in range(p.size):
        dz[k] = (p[k] - t[k]) * scale


def _onehot(labels: np.ndarray, like: np.ndarray) -> np.ndarray:
    t = np.zeros_like(like)
    t[np.arange(labels.shape[0]), labels] = 1
    return t


def softmax_forward(x: np.ndarray, out: np.ndarray) -> None:
    """``out = exp(x - logsumexp(x))`` row-wise."""
    _softmax_fwd(x, out, False)


def softmax_backward(y: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> None:
    """``dx = y * (dy - sum(dy * y))`` row-wise."""
    _softmax_bwd(y, dy, dx, False)


def log_softmax_forward(x: np.ndarray, out: np.ndarray) -> None:
    """``out = x - logsumexp(x)`` row-wise."""
    _softmax_fwd(x, out, True)


def log_softmax_backward(y: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> None:
    """``dx = dy - exp(y) * sum(dy)`` row-wise."""
    _softmax_bwd(y, dy, dx, True)


def softmax_xent_sparse_forward(logits: np.ndarray, labels: np.ndarray, probs: np.ndarray) -> float:
    """The dense loss against the one-hot rows of ``labels``."""
    return float(_xent_fwd(logits, _onehot(labels, logits), probs))


def softmax_xent_sparse_backward(probs: np.ndarray, labels: np.ndarray, dlogits: np.ndarray,
                                 scale: float) -> None:
    """``dlogits = (probs - onehot) * scale``."""
    _xent_bwd(probs, _onehot(labels, probs), dlogits, float(scale))


def softmax_xent_dense_forward(logits: np.ndarray, target: np.ndarray, probs: np.ndarray) -> float:
    """Mean over rows of ``-sum(target * log_softmax(logits))``; probs overwritten."""
    return float(_xent_fwd(logits, target, probs))


def softmax_xent_dense_backward(probs: np.ndarray, target: np.ndarray, dlogits: np.ndarray,
                                scale: float) -> None:
    """``dlogits = (probs * sum(target) - target) * scale`` row-wise."""
    _xent_bwd(probs, target, dlogits, float(scale))


def bce_logits_forward(z: np.ndarray, t: np.ndarray, p: np.ndarray) -> float:
    """Mean of ``max(z,0) - z t + log1p(exp(-|z|))``; ``p = sigmoid(z)``."""
    return float(_bce_fwd(z.reshape(-1), t.reshape(-1), p.reshape(-1)))


def bce_logits_backward(p: np.ndarray, t: np.ndarray, dz: np.ndarray, scale: float) -> None:
    """``dz = (p - t) * scale``."""
    _bce_bwd(p.reshape(-1), t.reshape(-1), dz.reshape(-1), float(scale))
