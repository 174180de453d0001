"""softmax: the NumPy reference, written to be read; the oracle every other implementation is tested against.
The math is in :mod:`minidl.kernels.softmax`.
"""
from __future__ import annotations

import numpy as np

from ..activations.reference import _sigmoid

__all__ = ["softmax_forward", "softmax_backward", "log_softmax_forward", "log_softmax_backward", "softmax_xent_sparse_forward", "softmax_xent_sparse_backward", "softmax_xent_dense_forward", "softmax_xent_dense_backward", "bce_logits_forward", "bce_logits_backward"]


def _log_softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax_forward(x: np.ndarray, out: np.ndarray) -> None:
    """Row-wise softmax of (M, K), with the row max subtracted first."""
    e = np.exp(x - x.max(axis=1, keepdims=True))
    out[...] = e / e.sum(axis=1, keepdims=True)


def softmax_backward(y: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> None:
    """``dx = y * (dy - sum(dy * y))`` row-wise; ``y`` is the softmax output (M, K)."""
    dx[...] = y * (dy - (dy * y).sum(axis=1, keepdims=True))


def log_softmax_forward(x: np.ndarray, out: np.ndarray) -> None:
    """Row-wise log-softmax ``x - logsumexp(x)`` of (M, K)."""
    out[...] = _log_softmax(x)


def log_softmax_backward(y: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> None:
    """``dx = dy - exp(y) * sum(dy)`` row-wise; ``y`` is the log-softmax output (M, K)."""
    dx[...] = dy - np.exp(y) * dy.sum(axis=1, keepdims=True)


def softmax_xent_sparse_forward(logits: np.ndarray, labels: np.ndarray, probs: np.ndarray) -> float:
    """Softmax + cross-entropy with integer labels.

    Args:
        logits: (M, K).
        labels: int64 (M,), each in [0, K).
        probs: (M, K), overwritten with the softmax of ``logits`` (for the backward pass).

    Returns:
        The mean over rows of ``-log_softmax(logits)[m, labels[m]]``.
    """
    logp = _log_softmax(logits)
    probs[...] = np.exp(logp)
    m = logits.shape[0]
    return float(-logp[np.arange(m), labels].sum() / m)


def softmax_xent_sparse_backward(probs: np.ndarray, labels: np.ndarray, dlogits: np.ndarray,
                                 scale: float) -> None:
    """``dlogits = (probs - onehot(labels)) * scale`` (scale is typically upstream / M)."""
    g = probs.copy()
    g[np.arange(probs.shape[0]), labels] -= 1
    dlogits[...] = g * scale


def softmax_xent_dense_forward(logits: np.ndarray, target: np.ndarray, probs: np.ndarray) -> float:
    """Softmax + cross-entropy with a dense (one-hot or probability) target (M, K).

    Returns:
        The mean over rows of ``-sum_k target * log_softmax(logits)``; ``probs`` is overwritten with the
        softmax.
    """
    logp = _log_softmax(logits)
    probs[...] = np.exp(logp)
    return float(-(target * logp).sum() / logits.shape[0])


def softmax_xent_dense_backward(probs: np.ndarray, target: np.ndarray, dlogits: np.ndarray,
                                scale: float) -> None:
    """``dlogits = (probs * sum(target, row) - target) * scale``."""
    dlogits[...] = (probs * target.sum(axis=1, keepdims=True) - target) * scale


def bce_logits_forward(z: np.ndarray, t: np.ndarray, p: np.ndarray) -> float:
    """Mean over all elements of ``max(z, 0) - z t + log(1 + exp(-|z|))``, any shape; also writes
    ``p = sigmoid(z)`` for the backward pass (like the fused softmax + cross-entropy)."""
    p[...] = _sigmoid(z)
    return float(np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))))


def bce_logits_backward(p: np.ndarray, t: np.ndarray, dz: np.ndarray, scale: float) -> None:
    """``dz = (p - t) * scale`` with ``p = sigmoid(z)`` from the forward pass, any shape.

    Why: d/dz [max(z, 0) - z t + log(1 + exp(-|z|))] = sigmoid(z) - t on both sides of 0."""
    dz[...] = (p - t) * scale

