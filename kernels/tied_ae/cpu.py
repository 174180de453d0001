"""Tied-weight autoencoder, fast CPU path: four BLAS GEMMs, bias + activation passes, the decoder-path kernel
gradient on a second thread beside the rest.

What it optimises over :mod:`.loops`: the products are BLAS GEMMs; sigmoid and tanh go through NumPy's SIMD
ufuncs; the two independent (64 x 784) x (784 x 128) products of the backward pass run side by side
(275 us one after the other, 195 us side by side on 2 cores).
"""
from __future__ import annotations


import numpy as np
from numba import njit

from ..blas import matmul, matmul_tn, matmul_tn_beside
from ..runtime import _JIT, _PAR_MIN_STREAM, _c, _nt, _on_threads
from ..common import _col_sums, _tile_rows

from ..activations.cpu import sigmoid_forward, tanh_forward

__all__ = ["tied_ae_forward", "tied_ae_backward"]


@njit(**_JIT)
def _act1(z, code):
    """ReLU (code 1) or the identity (0); sigmoid and tanh are applied afterwards (see _bias_act)."""
    if code == 1:
        return z if z > 0 else 0.0 * z
    return z


@njit(**_JIT)
def _act_grad1(a, code):
    """Derivative of the activation in terms of its output ``a``."""
    if code == 1:
        return 1.0 if a > 0 else 0.0
    if code == 2:
        return a * (1 - a)
    if code == 3:
        return 1 - a * a
    return 1.0


@njit(nogil=True, **_JIT)
def _bias_act_rows(lo, hi, t, z, bias, code):
    """z[r, :] = act(z[r, :] + bias) in place for rows ``lo:hi``, act ReLU (code 1) or the identity."""
    for r in range(lo, hi):
        for k in range(z.shape[1]):
            z[r, k] = _act1(z[r, k] + bias[k], code)


def _bias_act(z: np.ndarray, bias: np.ndarray, code: int) -> None:
    """z = act(z + bias) in place: the bias (and ReLU) in one Numba pass, sigmoid / tanh then through
    NumPy's SIMD exp / tanh (see :func:`sigmoid_forward`)."""
    _on_threads(_bias_act_rows, z.shape[0], z.size, z, bias, code if code <= 1 else 0, min_work=_PAR_MIN_STREAM)
    if code == 2:
        sigmoid_forward(z, z)
    elif code == 3:
        tanh_forward(z, z)


@njit(nogil=True, **_JIT)
def _mul_act_grad(lo, hi, t, g, upstream, a, code):
    """g = upstream * act'(a) (act' from the activation's output) for rows ``lo:hi``."""
    for r in range(lo, hi):
        for k in range(g.shape[1]):
            g[r, k] = upstream[r, k] * _act_grad1(a[r, k], code)


def tied_ae_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray, c: np.ndarray,
                    y: np.ndarray, xhat: np.ndarray, enc: int, dec: int) -> None:
    """``y = h(x W + b)``; ``xhat = g(y W^T + c)``.

    Args:
        x: (N, D). W: (D, Hd). b: (Hd,). c: (D,).
        y: (N, Hd), overwritten. xhat: (N, D), overwritten.
        enc, dec: activation codes (``shapes.ACT_CODES``) of ``h`` and ``g``.
    """
    _c(x, "x"), _c(W, "W"), _c(b, "b"), _c(c, "c"), _c(y, "y"), _c(xhat, "xhat")
    matmul(x, W, y)
    _bias_act(y, b, int(enc))
    matmul(y, W.T, xhat)
    _bias_act(xhat, c, int(dec))


def tied_ae_backward(x: np.ndarray, W: np.ndarray, y: np.ndarray, xhat: np.ndarray,
                     dy: np.ndarray, dxhat: np.ndarray, dx: np.ndarray, dW: np.ndarray,
                     db: np.ndarray, dc: np.ndarray, enc: int, dec: int) -> None:
    """Gradients of the tied autoencoder (see :func:`minidl.kernels.reference.tied_ae_backward`)::

        dr = dxhat * g'   dc = sum dr   da = (dy + dr W) * h'   db = sum da
        dx = da W^T       dW = x^T da + dr^T y

    Args:
        x, W, y, xhat: as in :func:`tied_ae_forward`; dy (N, Hd) upstream grad of y; dxhat (N, D).
        dx (N, D), dW (D, Hd), db (Hd,), dc (D,): overwritten; ``dx`` may be None (not computed).
        enc, dec: activation codes.
    """
    for a, nm in ((x, "x"), (W, "W"), (y, "y"), (xhat, "xhat"), (dy, "dy"), (dxhat, "dxhat"),
                  (dx, "dx"), (dW, "dW"), (db, "db"), (dc, "dc")):
        if a is not None or nm != "dx":
            _c(a, nm)
    enc, dec = int(enc), int(dec)
    dr = np.empty_like(xhat)
    _on_threads(_mul_act_grad, dr.shape[0], dr.size, dr, dxhat, xhat, dec, min_work=_PAR_MIN_STREAM)
    _nt(dr.size, _PAR_MIN_STREAM)
    _col_sums(dr, dc, _tile_rows(dc.shape[0]))
    dWd = np.empty_like(dW)
    pending = matmul_tn_beside(dr, y, dWd)  # decoder path (W used transposed there), on another thread
    dyt = np.empty_like(y)
    matmul(dr, W, dyt)                 # gradient reaching y through the decoder
    dyt += dy                          # ... plus the upstream gradient of y itself
    _on_threads(_mul_act_grad, dyt.shape[0], dyt.size, dyt, dyt, y, enc, min_work=_PAR_MIN_STREAM)  # da
    _nt(dyt.size, _PAR_MIN_STREAM)
    _col_sums(dyt, db, _tile_rows(db.shape[0]))
    if dx is not None:
        matmul(dyt, W.T, dx)
    matmul_tn(x, dyt, dW)              # encoder path
    if pending is not None:
        pending.result()
    dW += dWd

