"""Dense and dropout, fast CPU path: BLAS GEMMs (:mod:`minidl.kernels.blas`) plus compiled bias loops.

What it optimises over :mod:`.loops`: the three sums of the dense layer are matrix products, run by
OpenBLAS one thread per call and split by rows over the shared pool when large; bias add and bias gradient
run ``m`` short rows at once as one flat vectorised run (LeNet's 6-wide rows), sums in float64.
"""
from __future__ import annotations


import numpy as np
from numba import njit, uint64

from ..blas import matmul, matmul_tn
from ..runtime import _JIT, _PAR_MIN_STREAM, _c, _flat, _nt, _on_threads
from ..common import _add_bias_rows, _col_sums, _tile_rows

__all__ = ["dense_forward", "dense_backward", "dropout_forward", "dropout_backward"]


def dense_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """``out = x @ w + b``; x (N, I), w (I, O), b (O,), out (N, O)."""
    _c(x, "x"), _c(w, "w"), _c(b, "b"), _c(out, "out")
    matmul(x, w, out)
    _on_threads(_add_bias_rows, out.shape[0], out.size, out, b, _tile_rows(b.shape[0]), min_work=_PAR_MIN_STREAM)


def dense_backward(x: np.ndarray, w: np.ndarray, dy: np.ndarray,
                   dx: np.ndarray, dw: np.ndarray, db: np.ndarray) -> None:
    """``dx = dy @ w.T``, ``dw = x.T @ dy``, ``db = sum(dy, 0)``; all overwritten."""
    _c(x, "x"), _c(w, "w"), _c(dy, "dy"), _c(dx, "dx"), _c(dw, "dw"), _c(db, "db")
    matmul(dy, w.T, dx)
    matmul_tn(x, dy, dw)
    _nt(dy.size, _PAR_MIN_STREAM)
    _col_sums(dy, db, _tile_rows(db.shape[0]))


# ----------------------------------------------------------------------------------------------------
# Dropout
# ----------------------------------------------------------------------------------------------------
@njit(nogil=True, **_JIT)
def _dropout_fwd(lo, hi, t, x, u, rate, out, mask):
    keep = 1.0 / (1.0 - rate) if rate < 1.0 else 0.0
    for k in range(uint64(lo), uint64(hi)):
        mk = keep if u[k] >= rate else 0.0
        mask[k] = mk
        out[k] = x[k] * mask[k]


@njit(nogil=True, **_JIT)
def _mul(lo, hi, t, a, b, out):
    for k in range(uint64(lo), uint64(hi)):
        out[k] = a[k] * b[k]


def dropout_forward(x: np.ndarray, u: np.ndarray, rate: float, out: np.ndarray, mask: np.ndarray) -> None:
    """``mask = (u >= rate) / (1 - rate)`` (zeros if rate >= 1); ``out = x * mask``. ``u`` from the caller."""
    _on_threads(_dropout_fwd, np.size(x), np.size(x), _flat(x, "x"), _flat(u, "u"), float(rate),
                _flat(out, "out"), _flat(mask, "mask"), min_work=_PAR_MIN_STREAM)


def dropout_backward(dy: np.ndarray, mask: np.ndarray, dx: np.ndarray) -> None:
    """``dx = dy * mask``."""
    _on_threads(_mul, np.size(dx), np.size(dx), _flat(dy, "dy"), _flat(mask, "mask"), _flat(dx, "dx"),
                min_work=_PAR_MIN_STREAM)

