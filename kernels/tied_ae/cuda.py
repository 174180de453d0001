"""tied_ae: ``numba.cuda`` kernels plus their launch wrappers (one GPU thread per output element; see
:mod:`minidl.kernels.cuda` for the layout of a CUDA kernel). Same names and arguments as :mod:`.reference`,
on device arrays.
"""
from __future__ import annotations


from numba import cuda

from ..cuda_runtime import _act_grad_from_out, _check, _col_sum, _elementwise, _gemm

__all__ = ["tied_ae_forward", "tied_ae_backward"]


def tied_ae_forward(x, W, b, c, y, xhat, enc, dec) -> None:
    """y = h(x W + b); xhat = g(y W^T + c): two tiled matmuls with bias and activation fused in."""
    _gemm(x, W, y, bias=b, act=int(enc))
    _gemm(y, W, xhat, tb=True, bias=c, act=int(dec))


@cuda.jit
def _scale_by_act_grad_kernel(g, y, out, code):
    # out = g * act'(.) written in terms of the activation's output y.
    i = cuda.grid(1)
    if i < out.size:
        out[i] = g[i] * _act_grad_from_out(code, y[i])


@cuda.jit
def _add_kernel(a, out):
    i = cuda.grid(1)
    if i < out.size:
        out[i] += a[i]


def tied_ae_backward(x, W, y, xhat, dy, dxhat, dx, dW, db, dc, enc, dec) -> None:
    """Gradients of the tied autoencoder; dx, dW, db, dc overwritten, dW = encoder + decoder paths; dx
    may be None (not computed).

    dz = dxhat g'(z); dc = sum_n dz; da = (dy + dz W) h'(a); db = sum_n da; dx = da W^T;
    dW = x^T da + dz^T y.
    """
    n_, d = x.shape
    hd = W.shape[1]
    _check(tuple(W.shape) == (d, hd) and tuple(y.shape) == (n_, hd) and tuple(xhat.shape) == (n_, d),
           "tied_ae: shapes of x, W, y, xhat do not agree")
    dz = cuda.device_array((n_, d), dtype=x.dtype)
    _elementwise(_scale_by_act_grad_kernel, dxhat, xhat, dz, int(dec), n=dz.size)
    _col_sum(dz, dc)
    g = cuda.device_array((n_, hd), dtype=x.dtype)
    _gemm(dz, W, g)                                    # dz W: the gradient reaching y from the decoder
    _elementwise(_add_kernel, dy, g, n=g.size)         # + the upstream gradient of y
    da = cuda.device_array((n_, hd), dtype=x.dtype)
    _elementwise(_scale_by_act_grad_kernel, g, y, da, int(enc), n=da.size)
    _col_sum(da, db)
    if dx is not None:
        _gemm(da, W, dx, tb=True)
    _gemm(x, da, dW, ta=True)                          # encoder path
    _gemm(dz, y, dW, ta=True, accumulate=True)         # + decoder path

