"""Max-pooling, fast CPU path: Numba ``prange`` loops over (image, output row), channels innermost.

What it optimises over :mod:`.loops`: the innermost loop runs over the C contiguous channels, so one pass
compares C windows at once (vectorised, unsigned indices), and rows run on all threads from 2**17 input
elements on (LeNet pool1 forward, 301k elements: 465 us on 1 thread, 314 us on 2). The backward pass is
parallel over images, each owning its ``dx[n]``, so overlapping windows accumulate without races.
"""
from __future__ import annotations


import numpy as np
from numba import njit, prange, uint64

from ..runtime import _JIT, _PAR_MIN_STREAM, _c, _nt

__all__ = ["maxpool2d_forward", "maxpool2d_backward"]


@njit(parallel=True, **_JIT)
def _maxpool_fwd(x, out, argmax, kh, kw, sh, sw, ph, pw):
    """Parallel over (n, output row); the innermost loop runs over the C contiguous channels, so it
    compares C windows at once (vectorized, with unsigned indices as in :func:`_im2col`)."""
    n, h, w, c = x.shape
    oh, ow = out.shape[1], out.shape[2]
    xf, of, af = x.reshape(-1), out.reshape(-1), argmax.reshape(-1)
    uc = uint64(c)
    for r in prange(n * oh):
        b = r // oh
        i = r - b * oh
        h0 = max(i * sh - ph, 0)
        h1 = min(i * sh - ph + kh, h)
        for j in range(ow):
            w0 = max(j * sw - pw, 0)
            w1 = min(j * sw - pw + kw, w)
            o = uint64(((b * oh + i) * ow + j) * c)
            # The first valid cell seeds the max; later cells replace it only if strictly greater, so
            # ties keep the first maximum in row-major order. Padded cells are outside [h0, h1) x [w0, w1).
            s0 = uint64(((b * h + h0) * w + w0) * c)
            first = h0 * w + w0
            for ch in range(uc):
                of[o + ch] = xf[s0 + ch]
                af[o + ch] = first
            for hi in range(h0, h1):
                for wi in range(w0, w1):
                    if hi == h0 and wi == w0:
                        continue
                    s1 = uint64(((b * h + hi) * w + wi) * c)
                    cell = hi * w + wi
                    for ch in range(uc):
                        v = xf[s1 + ch]
                        gt = v > of[o + ch]
                        of[o + ch] = v if gt else of[o + ch]
                        af[o + ch] = cell if gt else af[o + ch]


@njit(parallel=True, **_JIT)
def _maxpool_bwd(dy, argmax, dx):
    n, h, w, c = dx.shape
    oh, ow = dy.shape[1], dy.shape[2]
    dyf, af, dxf = dy.reshape(-1), argmax.reshape(-1), dx.reshape(-1)
    img, cells, uc = h * w * c, oh * ow, uint64(c)
    for b in prange(n):  # image b owns dx[b]: overlapping windows accumulate without races
        dxf[b * img:(b + 1) * img] = 0
        for cell in range(cells):
            o = uint64((b * cells + cell) * c)
            for ch in range(uc):
                dxf[uint64((b * h * w + af[o + ch]) * c) + ch] += dyf[o + ch]


def maxpool2d_forward(x: np.ndarray, out: np.ndarray, argmax: np.ndarray,
                      kh: int, kw: int, sh: int, sw: int, ph: int, pw: int) -> None:
    """Max-pooling, NHWC.

    Args:
        x: input (N, H, W, C).
        out: output (N, OH, OW, C), overwritten.
        argmax: int64 (N, OH, OW, C), overwritten with the flat index ``h * W + w`` of the first maximum
            of each window in row-major order (padding never chosen).
        kh, kw, sh, sw, ph, pw: window, strides, top/left padding.
    """
    _c(x, "x"), _c(out, "out"), _c(argmax, "argmax")
    _nt(x.size)
    _maxpool_fwd(x, out, argmax, int(kh), int(kw), int(sh), int(sw), int(ph), int(pw))


def maxpool2d_backward(dy: np.ndarray, argmax: np.ndarray, dx: np.ndarray) -> None:
    """Routes each window's gradient to its recorded argmax; dx (N, H, W, C) is overwritten."""
    _c(dy, "dy"), _c(argmax, "argmax"), _c(dx, "dx")
    _nt(dx.size, _PAR_MIN_STREAM // 2)  # measured: 1.4 M elements 286 us on 1 thread, 197 us on 2
    _maxpool_bwd(dy, argmax, dx)
