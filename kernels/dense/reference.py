"""dense: the NumPy reference, written to be read; the oracle every other implementation is tested against.
The math is in :mod:`minidl.kernels.dense`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["dense_forward", "dense_backward", "dropout_forward", "dropout_backward"]


def dense_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """``out = x @ w + b``; x (N, I), w (I, O), b (O,), out (N, O)."""
    out[...] = np.einsum("ni,io->no", x, w) + b


def dense_backward(x: np.ndarray, w: np.ndarray, dy: np.ndarray,
                   dx: np.ndarray, dw: np.ndarray, db: np.ndarray) -> None:
    """``dx = dy @ w.T``, ``dw = x.T @ dy``, ``db = sum(dy, 0)``; all overwritten."""
    dx[...] = np.einsum("no,io->ni", dy, w)
    dw[...] = np.einsum("ni,no->io", x, dy)
    db[...] = dy.sum(axis=0)


# ----------------------------------------------------------------------------------------------------
# Dropout
# ----------------------------------------------------------------------------------------------------
def dropout_forward(x: np.ndarray, u: np.ndarray, rate: float, out: np.ndarray, mask: np.ndarray) -> None:
    """Inverted dropout with caller-given uniforms.

    ``mask = (u >= rate) / (1 - rate)`` (all zeros when ``rate >= 1``); ``out = x * mask``.
    """
    keep = 1.0 / (1.0 - rate) if rate < 1 else 0.0
    mask[...] = np.where(u >= rate, keep, 0.0)
    out[...] = x * mask


def dropout_backward(dy: np.ndarray, mask: np.ndarray, dx: np.ndarray) -> None:
    """``dx = dy * mask``."""
    dx[...] = dy * mask

