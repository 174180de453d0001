"""Max-pooling, readable Numba version: the math of :mod:`minidl.kernels.pool2d` as loops, one output
element per iteration (what one CUDA thread of :mod:`.cuda` computes in the forward pass). Same results
as :mod:`.reference`; slower than :mod:`.cpu` (serial, channels not vectorised).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["maxpool2d_forward", "maxpool2d_backward"]


@njit(cache=True)
def _forward(x, out, argmax, kh, kw, sh, sw, ph, pw):
    n_img, h_in, w_in, c_in = x.shape
    _, oh, ow, _ = out.shape
    for n in range(n_img):
        for i in range(oh):
            for j in range(ow):
                for c in range(c_in):
                    best = 0.0
                    best_at = -1
                    for p in range(kh):  # row-major scan of the window
                        r = i * sh - ph + p
                        if r < 0 or r >= h_in:
                            continue  # padding is not an input: never a candidate
                        for q in range(kw):
                            col = j * sw - pw + q
                            if col < 0 or col >= w_in:
                                continue
                            v = x[n, r, col, c]
                            if best_at < 0 or v > best:  # strict '>': ties keep the first maximum
                                best = v
                                best_at = r * w_in + col
                    out[n, i, j, c] = best
                    argmax[n, i, j, c] = best_at


@njit(cache=True)
def _backward(dy, argmax, dx):
    n_img, h_in, w_in, c_in = dx.shape
    _, oh, ow, _ = dy.shape
    dx[:] = 0
    for n in range(n_img):
        for i in range(oh):
            for j in range(ow):
                for c in range(c_in):
                    # Each window's gradient goes to its winner; windows that overlap (stride < pool) add up.
                    k = argmax[n, i, j, c]
                    dx[n, k // w_in, k % w_in, c] += dy[n, i, j, c]


def maxpool2d_forward(x: np.ndarray, out: np.ndarray, argmax: np.ndarray,
                      kh: int, kw: int, sh: int, sw: int, ph: int, pw: int) -> None:
    """``out[n,i,j,c] = max`` of the window, ``argmax`` its flat index ``r*W + s`` (first maximum)."""
    _forward(x, out, argmax, int(kh), int(kw), int(sh), int(sw), int(ph), int(pw))


def maxpool2d_backward(dy: np.ndarray, argmax: np.ndarray, dx: np.ndarray) -> None:
    """``dx[n, argmax, c] += dy[n, i, j, c]`` for every window; dx overwritten."""
    _backward(dy, argmax, dx)
