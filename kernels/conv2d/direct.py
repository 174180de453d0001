"""conv2d, fast CPU path for one input channel, stride 1 and at most 16 filters (LeNet-5's conv1):
channel-major direct loops along the flattened image, up to five taps per sweep.

What it optimises over :mod:`.loops`: the per-element window sum becomes long contiguous runs over the
flattened padded image that LLVM vectorises, five taps of a kernel row per load/store of the accumulator.
Measured on 2 cores, batch 64, forward + kernel gradient of LeNet-5's conv1: ~1.0 ms here vs ~1.6 ms
im2col + GEMM (:mod:`.cpu`). Only the forward pass and the kernel gradient have a direct version.
"""
from __future__ import annotations


import numpy as np
from numba import njit, uint64

from ..blas import threads
from ..runtime import _JIT, _c, _on_threads
from ..common import _relu_fwd

from .im2col import _padded_input

__all__ = ["supports", "conv2d_forward", "conv2d_backward_kernel"]


# Direct loops for one input channel and stride 1 (the first layer of an image net). With C = 1 the im2col
# matrix is KH*KW times the size of the input and its GEMM has a tiny depth and width (LeNet-5's conv1: 25
# and 6), so copying and multiplying cost more than the arithmetic. Trick: in the zero-padded image, stored
# flat with row length WP, output pixel (i, j) of tap (p, q) reads input element (i + p)*WP + (j + q), i.e.
# ``y_flat[m] = sum_{p,q} w[p,q] * x_flat[m + p*WP + q]`` with ``m = i*WP + j``: a 1-D correlation along the
# flattened image. The loops below run along m over R output rows at once (long contiguous runs that LLVM
# vectorizes; a single 28-wide row is too short for its unrolled SIMD loop), computing WP - OW throw-away
# columns per row (12 % extra work for LeNet's 28-in-32) that are never written out.
_RUN_BUDGET = 4096  # floats of accumulator per run: stays in the L1 / L2 cache


def _direct(c: int, f: int, sh: int, sw: int) -> bool:
    """Whether a conv uses the channel-major direct loops (:func:`_conv1_fwd`) instead of im2col + GEMM:
    one input channel, stride 1, and few filters. Measured on 2 cores, batch 64, forward + kernel
    gradient: LeNet-5's conv1 (6 filters) ~1.0 ms direct vs ~1.6 ms im2col + GEMM; with 32 filters the
    channel-major write-back costs too much (~1.8 ms) and :func:`_direct9` takes over."""
    return c == 1 and f <= 16 and sh == 1 and sw == 1



def _run_rows(f: int, oh: int, wp: int) -> int:
    """Output rows per run of the direct kernels: as many as fit ``_RUN_BUDGET`` (at least one)."""
    return max(1, min(oh, _RUN_BUDGET // max(f * wp, 1)))


@njit(nogil=True, **_JIT)
def _conv1_fwd(lo, hi, t, xp, w, b, oh, ow, out, rr, relu):
    """out[n, i, j, f] = b[f] + sum_{p,q} xp[n, i + p, j + q, 0] * w[p, q, 0, f] for the runs ``lo:hi``.

    ``acc[f*L + m]`` holds the run's ``L = (rr - 1)*WP + OW`` flat outputs channel-major, so the innermost
    loop reads the input and updates ``acc`` contiguously; up to five taps of a kernel row are applied
    per sweep (one load and store of ``acc`` for five multiply-adds). The valid columns are then written
    back channels-last.
    """
    n, hp, wp, _ = xp.shape
    kh, kw, _, f = w.shape
    xf, wf, of = xp.reshape(-1), w.reshape(-1), out.reshape(-1)
    nrun = (oh + rr - 1) // rr
    lmax = uint64((rr - 1) * wp + ow)
    acc = np.empty(f * lmax, dtype=out.dtype)
    for u in range(lo, hi):
        bb = u // nrun
        i0 = (u - bb * nrun) * rr
        nr = min(rr, oh - i0)
        run = uint64((nr - 1) * wp + ow)  # the last row stops at OW: never reads past the image
        for k in range(f):
            for m in range(run):
                acc[uint64(k) * lmax + m] = b[k]
        for p in range(kh):
            src = uint64((bb * hp + i0 + p) * wp)
            for k in range(f):
                a0 = uint64(k) * lmax
                q = 0
                while q < kw:
                    s0 = src + uint64(q)
                    w0 = wf[(p * kw + q) * f + k]
                    if q + 5 <= kw:  # five taps per sweep (a 5-wide kernel row in one pass)
                        w1 = wf[(p * kw + q + 1) * f + k]
                        w2 = wf[(p * kw + q + 2) * f + k]
                        w3 = wf[(p * kw + q + 3) * f + k]
                        w4 = wf[(p * kw + q + 4) * f + k]
                        s1, s2 = s0 + uint64(1), s0 + uint64(2)  # (s0 + m + 1 would not vectorize)
                        s3, s4 = s0 + uint64(3), s0 + uint64(4)
                        for m in range(run):
                            acc[a0 + m] += (w0 * xf[s0 + m] + w1 * xf[s1 + m] + w2 * xf[s2 + m]
                                            + w3 * xf[s3 + m] + w4 * xf[s4 + m])
                        q += 5
                    elif q + 3 <= kw:
                        w1 = wf[(p * kw + q + 1) * f + k]
                        w2 = wf[(p * kw + q + 2) * f + k]
                        s1, s2 = s0 + uint64(1), s0 + uint64(2)
                        for m in range(run):
                            acc[a0 + m] += w0 * xf[s0 + m] + w1 * xf[s1 + m] + w2 * xf[s2 + m]
                        q += 3
                    else:
                        for m in range(run):
                            acc[a0 + m] += w0 * xf[s0 + m]
                        q += 1
        for r in range(nr):
            o = uint64(((bb * oh + i0 + r) * ow) * f)
            for j in range(ow):
                for k in range(f):
                    of[o + uint64(j * f + k)] = acc[uint64(k) * lmax + uint64(r * wp + j)]
        if relu:  # the fused activation, while the run's outputs are in cache
            o = (bb * oh + i0) * ow * f
            _relu_fwd(o, o + nr * ow * f, 0, of, of)


@njit(nogil=True, fastmath={"reassoc", "contract"}, cache=True, error_model="numpy")
def _conv1_bwd_kernel(lo, hi, t, xp, dy, parts, kh, kw, rr):
    """part[e] = sum over the runs ``lo:hi`` of xp[n, i + p, j + q, 0] * dy[n, i, j, f], e = (p*KW + q)*F + f.

    Per run, ``g[f*L + m]`` is dy laid out like the forward's accumulator (zero in the throw-away columns),
    and each kernel entry gets one dot product of length L, up to five taps per sweep (one load of ``g``
    for five products; ``reassoc`` lets LLVM split each sum into SIMD partial sums: round-off only).
    ``parts[t]`` (float64, KH*KW*F) belongs to the calling thread.
    """
    n, hp, wp, _ = xp.shape
    _, oh, ow, f = dy.shape
    xf, dyf = xp.reshape(-1), dy.reshape(-1)
    nrun = (oh + rr - 1) // rr
    lmax = (rr - 1) * wp + ow
    g = np.zeros(f * lmax, dtype=dy.dtype)
    part = parts[t]
    part[:] = 0.0
    for u in range(lo, hi):
        bb = u // nrun
        i0 = (u - bb * nrun) * rr
        nr = min(rr, oh - i0)
        run = uint64((nr - 1) * wp + ow)
        for r in range(nr):
            o = uint64(((bb * oh + i0 + r) * ow) * f)
            for j in range(ow):
                for k in range(f):
                    g[uint64(k * lmax + r * wp + j)] = dyf[o + uint64(j * f + k)]
        for p in range(kh):
            src = uint64((bb * hp + i0 + p) * wp)
            for k in range(f):
                g0 = uint64(k * lmax)
                q = 0
                while q < kw:
                    s0 = src + uint64(q)
                    e = (p * kw + q) * f + k
                    # Hand-unrolled for 5 and 3 taps: each partial sum must be its own variable for LLVM to
                    # keep it in a register (an array of sums would go through memory).
                    if q + 5 <= kw:  # five taps per sweep: one load of g for five products
                        d0 = dy.dtype.type(0)
                        d1 = dy.dtype.type(0)
                        d2 = dy.dtype.type(0)
                        d3 = dy.dtype.type(0)
                        d4 = dy.dtype.type(0)
                        s1, s2 = s0 + uint64(1), s0 + uint64(2)  # (s0 + m + 1 would not vectorize)
                        s3, s4 = s0 + uint64(3), s0 + uint64(4)
                        for m in range(run):
                            gv = g[g0 + m]
                            d0 += xf[s0 + m] * gv
                            d1 += xf[s1 + m] * gv
                            d2 += xf[s2 + m] * gv
                            d3 += xf[s3 + m] * gv
                            d4 += xf[s4 + m] * gv
                        part[e] += d0
                        part[e + f] += d1
                        part[e + 2 * f] += d2
                        part[e + 3 * f] += d3
                        part[e + 4 * f] += d4
                        q += 5
                    elif q + 3 <= kw:
                        d0 = dy.dtype.type(0)
                        d1 = dy.dtype.type(0)
                        d2 = dy.dtype.type(0)
                        s1, s2 = s0 + uint64(1), s0 + uint64(2)
                        for m in range(run):
                            gv = g[g0 + m]
                            d0 += xf[s0 + m] * gv
                            d1 += xf[s1 + m] * gv
                            d2 += xf[s2 + m] * gv
                        part[e] += d0
                        part[e + f] += d1
                        part[e + 2 * f] += d2
                        q += 3
                    else:
                        d0 = dy.dtype.type(0)
                        for m in range(run):
                            d0 += xf[s0 + m] * g[g0 + m]
                        part[e] += d0
                        q += 1



def supports(c: int, f: int, kh: int, kw: int, sh: int, sw: int) -> bool:
    """Whether this path computes a conv with ``c`` input channels, ``f`` filters, a (kh, kw) kernel and
    strides (sh, sw). Any filter count works; :mod:`.cpu` sends only up to 16 filters here."""
    return c == 1 and sh == 1 and sw == 1


def _check_supported(w: np.ndarray, sh: int, sw: int) -> None:
    kh, kw, c, f = w.shape
    if not supports(c, f, kh, kw, sh, sw):
        raise ValueError(f"conv2d.direct computes one input channel at stride 1; got "
                         f"kernel {tuple(w.shape)}, strides ({sh}, {sw})")


def conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, out: np.ndarray,
                   sh: int, sw: int, ph: int, pw: int, relu: bool = False) -> None:
    """The contract's ``conv2d_forward`` (see :mod:`minidl.kernels.conv2d`) for the shapes of :func:`supports`."""
    _c(x, "x"), _c(w, "w"), _c(b, "b"), _c(out, "out")
    sh, sw, ph, pw, relu = int(sh), int(sw), int(ph), int(pw), bool(relu)
    _check_supported(w, sh, sw)
    n, oh, ow, f = out.shape
    kh, kw = w.shape[0], w.shape[1]
    xp = _padded_input(x, kh, kw, sh, sw, ph, pw, oh, ow)
    rr = _run_rows(f, oh, xp.shape[2])
    _on_threads(_conv1_fwd, n * ((oh + rr - 1) // rr), out.size * kh * kw, xp, w, b, oh, ow, out, rr, relu)


def conv2d_backward_kernel(x: np.ndarray, dy: np.ndarray, dw: np.ndarray,
                           sh: int, sw: int, ph: int, pw: int) -> None:
    """The contract's ``conv2d_backward_kernel`` for the shapes of :func:`supports`."""
    _c(x, "x"), _c(dy, "dy"), _c(dw, "dw")
    sh, sw, ph, pw = int(sh), int(sw), int(ph), int(pw)
    _check_supported(dw, sh, sw)
    n, oh, ow, f = dy.shape
    kh, kw = dw.shape[0], dw.shape[1]
    xp = _padded_input(x, kh, kw, sh, sw, ph, pw, oh, ow)
    rr = _run_rows(f, oh, xp.shape[2])
    parts = np.empty((threads(), kh * kw * f))
    t = _on_threads(_conv1_bwd_kernel, n * ((oh + rr - 1) // rr), dy.size * kh * kw, xp, dy, parts, kh, kw, rr)
    dw.reshape(-1)[:] = parts[:t].sum(axis=0)  # the threads' float64 partials, in a fixed order
