"""tied_ae: the NumPy reference, written to be read; the oracle every other implementation is tested against.
The math is in :mod:`minidl.kernels.tied_ae`.
"""
from __future__ import annotations

import numpy as np

from ..activations.reference import _act, _act_grad_from_output

__all__ = ["tied_ae_forward", "tied_ae_backward"]


def tied_ae_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray, c: np.ndarray,
                    y: np.ndarray, xhat: np.ndarray, enc: int, dec: int) -> None:
    """``y = h(x W + b)``; ``xhat = g(y W^T + c)`` with ``h``, ``g`` given by activation codes.

    Args:
        x: (N, D). W: (D, Hd). b: (Hd,). c: (D,).
        y: (N, Hd), overwritten. xhat: (N, D), overwritten.
        enc, dec: activation codes of ``h`` and ``g`` (0 linear, 1 relu, 2 sigmoid, 3 tanh).
    """
    y[...] = _act(x @ W + b, enc)
    xhat[...] = _act(y @ W.T + c, dec)


def tied_ae_backward(x: np.ndarray, W: np.ndarray, y: np.ndarray, xhat: np.ndarray,
                     dy: np.ndarray, dxhat: np.ndarray, dx: np.ndarray, dW: np.ndarray,
                     db: np.ndarray, dc: np.ndarray, enc: int, dec: int) -> None:
    """Gradients of the tied autoencoder.

    With ``a = x W + b``, ``y = h(a)``, ``r = y W^T + c``, ``xhat = g(r)``::

        dr = dxhat * g'(r)                 dc = sum_n dr
        dy_total = dy + dr W               (y feeds the decoder AND may be used downstream)
        da = dy_total * h'(a)              db = sum_n da
        dx = da W^T
        dW = x^T da + dr^T y               (W is used twice: encoder and, transposed, decoder)

    Args:
        x, W, y, xhat: as in :func:`tied_ae_forward`.
        dy: upstream gradient of ``y`` (N, Hd), zeros if ``y`` is unused.
        dxhat: upstream gradient of ``xhat`` (N, D).
        dx (N, D), dW (D, Hd), db (Hd,), dc (D,): overwritten; ``dx`` may be None (not computed, e.g.
            when ``x`` is the data).
        enc, dec: activation codes.
    """
    dr = dxhat * _act_grad_from_output(xhat, dec)
    da = (dy + dr @ W) * _act_grad_from_output(y, enc)
    dc[...] = dr.sum(axis=0)
    db[...] = da.sum(axis=0)
    if dx is not None:
        dx[...] = da @ W.T
    dW[...] = x.T @ da + dr.T @ y

