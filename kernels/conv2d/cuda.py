"""conv2d: ``numba.cuda`` kernels plus their launch wrappers (one GPU thread per output element; see
:mod:`minidl.kernels.cuda` for the layout of a CUDA kernel). Same names and arguments as :mod:`.reference`,
on device arrays.
"""
from __future__ import annotations


from numba import cuda

from ..activations.cuda import relu_forward
from ..cuda_runtime import _check, _launch_1d

__all__ = ["conv2d_forward", "conv2d_backward_input", "conv2d_backward_kernel", "conv2d_backward_bias"]


@cuda.jit
def _conv2d_forward_kernel(x, w, b, out, sh, sw, ph, pw):
    i = cuda.grid(1)
    if i >= out.size:
        return
    n_, oh_n, ow_n, f_n = out.shape
    f = i % f_n
    r = i // f_n
    ow = r % ow_n
    r //= ow_n
    oh = r % oh_n
    n = r // oh_n
    h_n, w_n, c_n = x.shape[1], x.shape[2], x.shape[3]
    kh_n, kw_n = w.shape[0], w.shape[1]
    s = 0.0
    for di in range(kh_n):
        h = oh * sh - ph + di
        if h < 0 or h >= h_n:
            continue  # zero padding contributes nothing
        for dj in range(kw_n):
            ww = ow * sw - pw + dj
            if ww < 0 or ww >= w_n:
                continue
            for c in range(c_n):
                s += x[n, h, ww, c] * w[di, dj, c, f]
    out[n, oh, ow, f] = s + b[f]


def conv2d_forward(x, w, b, out, sh, sw, ph, pw, relu=False) -> None:
    """out[n,oh,ow,f] = b[f] + sum_{i,j,c} x[n, oh*sh-ph+i, ow*sw-pw+j, c] w[i,j,c,f]; one thread per out;
    then ReLU in place when ``relu``."""
    _check(x.ndim == 4 and w.ndim == 4 and out.ndim == 4, "conv2d: x, w, out must be 4-D")
    _check(x.shape[3] == w.shape[2] and out.shape[3] == w.shape[3] and out.shape[0] == x.shape[0],
           "conv2d: shapes of x, w and out do not agree")
    if out.size == 0:
        return
    blocks, threads = _launch_1d(out.size)
    _conv2d_forward_kernel[blocks, threads](x, w, b, out, int(sh), int(sw), int(ph), int(pw))
    if relu:
        relu_forward(out, out)


@cuda.jit
def _conv2d_backward_input_kernel(dy, w, dx, sh, sw, ph, pw):
    # Gather: dx[n,h,ww,c] collects every (output position, kernel tap) pair that read x[n,h,ww,c].
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
    oh_n, ow_n, f_n = dy.shape[1], dy.shape[2], dy.shape[3]
    kh_n, kw_n = w.shape[0], w.shape[1]
    s = 0.0
    for di in range(kh_n):
        th = h + ph - di           # = oh * sh for the output row that used tap di at input row h
        if th < 0 or th % sh != 0:
            continue
        oh = th // sh
        if oh >= oh_n:
            continue
        for dj in range(kw_n):
            tw = ww + pw - dj
            if tw < 0 or tw % sw != 0:
                continue
            ow = tw // sw
            if ow >= ow_n:
                continue
            for f in range(f_n):
                s += dy[n, oh, ow, f] * w[di, dj, c, f]
    dx[n, h, ww, c] = s


def conv2d_backward_input(dy, w, dx, sh, sw, ph, pw) -> None:
    """dx (N,H,W,C) overwritten with the input gradient; one thread per dx element, gathering from dy."""
    _check(dy.ndim == 4 and w.ndim == 4 and dx.ndim == 4, "conv2d: dy, w, dx must be 4-D")
    _check(dx.shape[3] == w.shape[2] and dy.shape[3] == w.shape[3], "conv2d: shapes do not agree")
    if dx.size == 0:
        return
    blocks, threads = _launch_1d(dx.size)
    _conv2d_backward_input_kernel[blocks, threads](dy, w, dx, int(sh), int(sw), int(ph), int(pw))


@cuda.jit
def _conv2d_backward_kernel_kernel(x, dy, dw, sh, sw, ph, pw):
    i = cuda.grid(1)
    if i >= dw.size:
        return
    kh_n, kw_n, c_n, f_n = dw.shape
    f = i % f_n
    r = i // f_n
    c = r % c_n
    r //= c_n
    dj = r % kw_n
    di = r // kw_n
    n_n, h_n, w_n = x.shape[0], x.shape[1], x.shape[2]
    oh_n, ow_n = dy.shape[1], dy.shape[2]
    s = 0.0
    for n in range(n_n):
        for oh in range(oh_n):
            h = oh * sh - ph + di
            if h < 0 or h >= h_n:
                continue
            for ow in range(ow_n):
                ww = ow * sw - pw + dj
                if ww < 0 or ww >= w_n:
                    continue
                s += x[n, h, ww, c] * dy[n, oh, ow, f]
    dw[di, dj, c, f] = s


def conv2d_backward_kernel(x, dy, dw, sh, sw, ph, pw) -> None:
    """dw (KH,KW,C,F) overwritten; one thread per dw element looping over N, OH, OW."""
    _check(x.ndim == 4 and dy.ndim == 4 and dw.ndim == 4, "conv2d: x, dy, dw must be 4-D")
    _check(x.shape[3] == dw.shape[2] and dy.shape[3] == dw.shape[3], "conv2d: shapes do not agree")
    if dw.size == 0:
        return
    blocks, threads = _launch_1d(dw.size)
    _conv2d_backward_kernel_kernel[blocks, threads](x, dy, dw, int(sh), int(sw), int(ph), int(pw))


@cuda.jit
def _conv2d_backward_bias_kernel(dy, db):
    f = cuda.grid(1)
    if f >= db.size:
        return
    s = 0.0
    for n in range(dy.shape[0]):
        for oh in range(dy.shape[1]):
            for ow in range(dy.shape[2]):
                s += dy[n, oh, ow, f]
    db[f] = s


def conv2d_backward_bias(dy, db) -> None:
    """db (F,) overwritten with the sum of dy over N, OH, OW; one thread per filter."""
    _check(dy.ndim == 4 and db.shape == (dy.shape[3],), "conv2d: db must have shape (F,)")
    if db.size == 0:
        return
    blocks, threads = _launch_1d(db.size)
    _conv2d_backward_bias_kernel[blocks, threads](dy, db)

