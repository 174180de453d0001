"""conv2d, readable Numba version: the math of :mod:`minidl.kernels.conv2d` as loops, one output element per
iteration of the outer loops (what one CUDA thread of :mod:`.cuda` computes). Same results as
:mod:`.reference` within float rounding; slower than :mod:`.cpu` (no BLAS, no vectorised runs).

Try it: ``NUMBA_DISABLE_JIT=1`` turns these into plain Python you can step through in a debugger, and
``MINIDL_KERNELS=loops`` (or ``with minidl.kernels.use("loops"):``) makes whole models run on them.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["conv2d_forward", "conv2d_backward_input", "conv2d_backward_kernel", "conv2d_backward_bias"]


@njit(cache=True)
def _forward(x, w, b, out, sh, sw, ph, pw, relu):
    n_img, h_in, w_in, c_in = x.shape
    kh, kw, _, f_out = w.shape
    _, oh, ow, _ = out.shape
    for n in range(n_img):
        for i in range(oh):
            for j in range(ow):
                for f in range(f_out):
                    # y[n, i, j, f] = b[f] + sum_{p, q, c} x[n, i*sh - ph + p, j*sw - pw + q, c] w[p, q, c, f]
                    s = 0.0
                    for p in range(kh):
                        r = i * sh - ph + p
                        if r < 0 or r >= h_in:
                            continue  # a padded row: zero contributes nothing
                        for q in range(kw):
                            col = j * sw - pw + q
                            if col < 0 or col >= w_in:
                                continue
                            for c in range(c_in):
                                s += x[n, r, col, c] * w[p, q, c, f]
                    s += b[f]
                    if relu and s < 0.0:
                        s = 0.0
                    out[n, i, j, f] = s


@njit(cache=True)
def _backward_input(dy, w, dx, sh, sw, ph, pw):
    n_img, h_in, w_in, c_in = dx.shape
    kh, kw, _, f_out = w.shape
    _, oh, ow, _ = dy.shape
    for n in range(n_img):
        for r in range(h_in):
            for col in range(w_in):
                for c in range(c_in):
                    # dx[n, r, col, c] = sum of dy[n, i, j, f] w[p, q, c, f] over the outputs (i, j) whose
                    # window put tap (p, q) on this input: r = i*sh - ph + p, col = j*sw - pw + q.
                    s = 0.0
                    for p in range(kh):
                        t = r + ph - p
                        if t < 0 or t % sh != 0 or t // sh >= oh:
                            continue
                        i = t // sh
                        for q in range(kw):
                            u = col + pw - q
                            if u < 0 or u % sw != 0 or u // sw >= ow:
                                continue
                            j = u // sw
                            for f in range(f_out):
                                s += dy[n, i, j, f] * w[p, q, c, f]
                    dx[n, r, col, c] = s


@njit(cache=True)
def _backward_kernel(x, dy, dw, sh, sw, ph, pw):
    n_img, h_in, w_in, c_in = x.shape
    kh, kw, _, f_out = dw.shape
    _, oh, ow, _ = dy.shape
    for p in range(kh):
        for q in range(kw):
            for c in range(c_in):
                for f in range(f_out):
                    # dw[p, q, c, f] = sum_{n, i, j} x[n, i*sh - ph + p, j*sw - pw + q, c] dy[n, i, j, f]
                    s = 0.0
                    for n in range(n_img):
                        for i in range(oh):
                            r = i * sh - ph + p
                            if r < 0 or r >= h_in:
                                continue
                            for j in range(ow):
                                col = j * sw - pw + q
                                if col < 0 or col >= w_in:
                                    continue
                                s += x[n, r, col, c] * dy[n, i, j, f]
                    dw[p, q, c, f] = s


@njit(cache=True)
def _backward_bias(dy, db):
    n_img, oh, ow, f_out = dy.shape
    for f in range(f_out):
        s = 0.0  # db[f] = sum_{n, i, j} dy[n, i, j, f]
        for n in range(n_img):
            for i in range(oh):
                for j in range(ow):
                    s += dy[n, i, j, f]
        db[f] = s


def conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, out: np.ndarray,
                   sh: int, sw: int, ph: int, pw: int, relu: bool = False) -> None:
    """``out[n,i,j,f] = b[f] + sum_{p,q,c} x[n, i*sh-ph+p, j*sw-pw+q, c] w[p,q,c,f]``, then ReLU if asked."""
    _forward(x, w, b, out, int(sh), int(sw), int(ph), int(pw), bool(relu))


def conv2d_backward_input(dy: np.ndarray, w: np.ndarray, dx: np.ndarray,
                          sh: int, sw: int, ph: int, pw: int) -> None:
    """``dx[n,r,s,c] = sum dy[n,i,j,f] w[p,q,c,f]`` over ``r = i*sh-ph+p``, ``s = j*sw-pw+q`` (a gather)."""
    _backward_input(dy, w, dx, int(sh), int(sw), int(ph), int(pw))


def conv2d_backward_kernel(x: np.ndarray, dy: np.ndarray, dw: np.ndarray,
                           sh: int, sw: int, ph: int, pw: int) -> None:
    """``dw[p,q,c,f] = sum_{n,i,j} x[n, i*sh-ph+p, j*sw-pw+q, c] dy[n,i,j,f]``."""
    _backward_kernel(x, dy, dw, int(sh), int(sw), int(ph), int(pw))


def conv2d_backward_bias(dy: np.ndarray, db: np.ndarray) -> None:
    """``db[f] = sum_{n,i,j} dy[n,i,j,f]``."""
    _backward_bias(dy, db)
