"""pool2d: ``numba.cuda`` kernels plus their launch wrappers (one GPU thread per output element; see
:mod:`minidl.kernels.cuda` for the layout of a CUDA kernel). Same names and arguments as :mod:`.reference`,
on device arrays.
"""
from __future__ import annotations


from numba import cuda

from ..cuda_runtime import _check, _launch_1d

__all__ = ["maxpool2d_forward", "maxpool2d_backward"]


@cuda.jit
def _maxpool2d_forward_kernel(x, out, argmax, kh, kw, sh, sw, ph, pw):
    i = cuda.grid(1)
    if i >= out.size:
        return
    n_, oh_n, ow_n, c_n = out.shape
    c = i % c_n
    r = i // c_n
    ow = r % ow_n
    r //= ow_n
    oh = r % oh_n
    n = r // oh_n
    h_n, w_n = x.shape[1], x.shape[2]
    best = 0.0
    best_idx = -1
    for di in range(kh):
        h = oh * sh - ph + di
        if h < 0 or h >= h_n:
            continue  # padding is never chosen
        for dj in range(kw):
            ww = ow * sw - pw + dj
            if ww < 0 or ww >= w_n:
                continue
            v = x[n, h, ww, c]
            if best_idx < 0 or v > best:  # strict '>' keeps the first maximum in row-major order
                best = v
                best_idx = h * w_n + ww
    out[n, oh, ow, c] = best
    argmax[n, oh, ow, c] = best_idx


def maxpool2d_forward(x, out, argmax, kh, kw, sh, sw, ph, pw) -> None:
    """out = max over each window; argmax (int64) = flat index h*W+w of the first maximum."""
    _check(x.ndim == 4 and out.ndim == 4 and tuple(argmax.shape) == tuple(out.shape),
           "maxpool2d: x, out must be 4-D and argmax shaped like out")
    if out.size == 0:
        return
    blocks, threads = _launch_1d(out.size)
    _maxpool2d_forward_kernel[blocks, threads](
        x, out, argmax, int(kh), int(kw), int(sh), int(sw), int(ph), int(pw))


@cuda.jit
def _maxpool2d_backward_kernel(dy, argmax, dx):
    # Gather: one thread per dx element sums dy over every window whose argmax points at it. Windows
    # that can contain row h start at oh*sh - ph with h - (kh-1) <= oh*sh - ph <= h; the kernel does not
    # know kh, so it scans every output row/column: fine for small pools, and never a race.
    i = cuda.grid(1)
    if i >= dx.size:
        return
    n_, h_n, w_n, c_n = dx.shape
    c = i % c_n
    r = i // c_n
    ww = r % w_n
    r //= w_n
    h = r % h_n
    n = r // h_n
    target = h * w_n + ww
    s = 0.0
    for oh in range(dy.shape[1]):
        for ow in range(dy.shape[2]):
            if argmax[n, oh, ow, c] == target:
                s += dy[n, oh, ow, c]
    dx[n, h, ww, c] = s


def maxpool2d_backward(dy, argmax, dx) -> None:
    """dx (N,H,W,C) overwritten: each dy element goes to its window's argmax (summed where windows overlap)."""
    _check(tuple(dy.shape) == tuple(argmax.shape) and dx.ndim == 4, "maxpool2d: shapes do not agree")
    if dx.size == 0:
        return
    blocks, threads = _launch_1d(dx.size)
    _maxpool2d_backward_kernel[blocks, threads](dy, argmax, dx)

