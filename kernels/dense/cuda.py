"""dense: ``numba.cuda`` kernels plus their launch wrappers (one GPU thread per output element; see
:mod:`minidl.kernels.cuda` for the layout of a CUDA kernel). Same names and arguments as :mod:`.reference`,
on device arrays.
"""
from __future__ import annotations


from numba import cuda

from ..cuda_runtime import _check, _col_sum, _elementwise, _gemm, _same_size

__all__ = ["dense_forward", "dense_backward", "dropout_forward", "dropout_backward"]


def dense_forward(x, w, b, out) -> None:
    """out = x @ w + b: one tiled matmul with the bias added as each output element is written."""
    _gemm(x, w, out, bias=b)


def dense_backward(x, w, dy, dx, dw, db) -> None:
    """dx = dy @ w^T, dw = x^T @ dy (tiled matmuls reading one operand transposed), db = sum of dy rows."""
    _gemm(dy, w, dx, tb=True)
    _gemm(x, dy, dw, ta=True)
    _check(tuple(db.shape) == (dy.shape[1],), "dense: db must have shape (O,)")
    _col_sum(dy, db)


# ----------------------------------------------------------------------------------------------------
# Dropout
# ----------------------------------------------------------------------------------------------------


@cuda.jit
def _dropout_forward_kernel(x, u, rate, keep_scale, out, mask):
    i = cuda.grid(1)
    if i < out.size:
        m = keep_scale if u[i] >= rate else 0.0
        mask[i] = m
        out[i] = x[i] * m


@cuda.jit
def _mul_kernel(a, b, out):
    i = cuda.grid(1)
    if i < out.size:
        out[i] = a[i] * b[i]


def dropout_forward(x, u, rate, out, mask) -> None:
    """mask = (u >= rate) / (1 - rate); out = x * mask (inverted dropout; u uniforms in [0, 1))."""
    rate = float(rate)
    keep_scale = 1.0 / (1.0 - rate) if rate < 1.0 else 0.0
    _elementwise(_dropout_forward_kernel, x, u, rate, keep_scale, out, mask, n=_same_size(x, u, out, mask))


def dropout_backward(dy, mask, dx) -> None:
    """dx = dy * mask."""
    _elementwise(_mul_kernel, dy, mask, dx, n=_same_size(dy, mask, dx))

