"""conv2d, fast CPU path for one input channel, stride 1, more than 16 filters and at most nine taps (the
Keras CNN's 3x3 conv1): channels-last loops, all nine taps unrolled by hand.

What it optimises over :mod:`.loops`: per output pixel the nine input values are loaded once and the F
outputs are one vectorised loop of nine multiply-adds against the (9, F) kernel (which stays in L1). The
Keras CNN's conv1 (32 filters, 3x3), one thread: forward 0.48-0.50 ms vs 0.87-1.29 ms im2col + GEMM,
forward + kernel + bias gradient 1.45 ms vs 1.6-2.4 ms. Only the forward pass and the kernel gradient
have a direct version.
"""
from __future__ import annotations


import numpy as np
from numba import njit, uint64

from ..blas import threads
from ..runtime import _JIT, _c, _on_threads
from ..common import _relu_fwd

from .im2col import _padded_input

__all__ = ["supports", "conv2d_forward", "conv2d_backward_kernel"]


def _direct9(c: int, f: int, kh: int, kw: int, sh: int, sw: int) -> bool:
    """Whether a conv uses the channels-last nine-tap loops (:func:`_conv1_fwd9`): one input channel,
    stride 1, more than 16 filters and at most 9 taps (a 3x3 kernel, the Keras CNN's conv1). There
    OpenBLAS's GEMM of depth 9 is inefficient (its packing copies cost more than the 9 multiply-adds per
    output) and the im2col matrix is 9 copies of the input."""
    return c == 1 and f > 16 and kh * kw <= 9 and sh == 1 and sw == 1


def _taps9(kh: int, kw: int, wp: int, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Offsets of the KH*KW taps in the flat padded image (``p*WP + q``) and the kernel as (9, F), both
    padded to nine taps (offset 0, weight 0) so the loops below always unroll all nine."""
    offs = np.zeros(9, np.int64)
    offs[:kh * kw] = (np.arange(kh)[:, None] * wp + np.arange(kw)[None, :]).ravel()
    w9 = np.zeros((9, w.shape[3]), w.dtype)
    w9[:kh * kw] = w.reshape(kh * kw, -1)
    return offs, w9



# Channels-last direct loops for one input channel, stride 1, many filters and at most nine taps. For each
# output pixel the nine input values are loaded once and the F outputs are one vectorized loop of nine
# multiply-adds against the (9, F) kernel (which stays in L1): the output is written exactly once, bias
# included. The loop body is unrolled by hand over the nine taps: each output then takes one store, and
# a loop over taps (or groups of taps) around the F loop made LLVM give up vectorizing (5 ms vs 0.5 ms).
# The forward and the kernel gradient repeat the nine-value gather on purpose: as a shared helper the
# offsets were reloaded per pixel and the kernel gradient ran 10 % slower (0.83-0.86 vs 0.75-0.77 ms).
@njit(nogil=True, **_JIT)
def _conv1_fwd9(lo, hi, t, xp, w9, offs, b, oh, ow, out, relu):
    """out[n, i, j, f] = b[f] + sum_e xp_flat[(n*HP + i)*WP + j + offs[e]] * w9[e, f] for output rows
    (n, i) in ``lo:hi``."""
    n, hp, wp, _ = xp.shape
    f = out.shape[3]
    xf, wf, of = xp.reshape(-1), w9.reshape(-1), out.reshape(-1)
    uf = uint64(f)
    o0, o1, o2, o3, o4 = offs[0], offs[1], offs[2], offs[3], offs[4]
    o5, o6, o7, o8 = offs[5], offs[6], offs[7], offs[8]
    for r in range(lo, hi):
        bb = r // oh
        s0 = (bb * hp + r - bb * oh) * wp
        for j in range(ow):
            s = s0 + j
            x0, x1, x2, x3, x4 = xf[s + o0], xf[s + o1], xf[s + o2], xf[s + o3], xf[s + o4]
            x5, x6, x7, x8 = xf[s + o5], xf[s + o6], xf[s + o7], xf[s + o8]
            o = uint64((r * ow + j) * f)
            for k in range(uf):
                of[o + k] = (b[k] + x0 * wf[k] + x1 * wf[uf + k] + x2 * wf[2 * uf + k] + x3 * wf[3 * uf + k]
                             + x4 * wf[4 * uf + k] + x5 * wf[5 * uf + k] + x6 * wf[6 * uf + k]
                             + x7 * wf[7 * uf + k] + x8 * wf[8 * uf + k])
        if relu:  # the fused activation, while the row is in cache
            _relu_fwd(r * ow * f, (r + 1) * ow * f, 0, of, of)


@njit(nogil=True, **_JIT)
def _conv1_bwd_kernel9(lo, hi, t, xp, dy, offs, parts):
    """parts[t][e*F + f] = sum over output rows (n, i) in ``lo:hi`` of
    xp_flat[(n*HP + i)*WP + j + offs[e]] * dy[n, i, j, f] (float64; the float32 partial of one output row
    is folded in after each row). The padding taps (e >= KH*KW) are computed and dropped by the caller."""
    n, hp, wp, _ = xp.shape
    _, oh, ow, f = dy.shape
    xf, dyf = xp.reshape(-1), dy.reshape(-1)
    uf = uint64(f)
    o0, o1, o2, o3, o4 = offs[0], offs[1], offs[2], offs[3], offs[4]
    o5, o6, o7, o8 = offs[5], offs[6], offs[7], offs[8]
    part = parts[t]
    part[:] = 0.0
    acc = np.empty(9 * f, dtype=dy.dtype)
    for r in range(lo, hi):
        bb = r // oh
        s0 = (bb * hp + r - bb * oh) * wp
        acc[:] = 0
        for j in range(ow):
            s = s0 + j
            x0, x1, x2, x3, x4 = xf[s + o0], xf[s + o1], xf[s + o2], xf[s + o3], xf[s + o4]
            x5, x6, x7, x8 = xf[s + o5], xf[s + o6], xf[s + o7], xf[s + o8]
            o = uint64((r * ow + j) * f)
            for k in range(uf):
                g = dyf[o + k]
                acc[k] += x0 * g
                acc[uf + k] += x1 * g
                acc[2 * uf + k] += x2 * g
                acc[3 * uf + k] += x3 * g
                acc[4 * uf + k] += x4 * g
                acc[5 * uf + k] += x5 * g
                acc[6 * uf + k] += x6 * g
                acc[7 * uf + k] += x7 * g
                acc[8 * uf + k] += x8 * g
        for e in range(9 * f):
            part[e] += acc[e]



def supports(c: int, f: int, kh: int, kw: int, sh: int, sw: int) -> bool:
    """Whether this path computes a conv with ``c`` input channels, ``f`` filters, a (kh, kw) kernel and
    strides (sh, sw). Any filter count works; :mod:`.cpu` sends only more than 16 filters here."""
    return c == 1 and kh * kw <= 9 and sh == 1 and sw == 1


def _check_supported(w: np.ndarray, sh: int, sw: int) -> None:
    kh, kw, c, f = w.shape
    if not supports(c, f, kh, kw, sh, sw):
        raise ValueError(f"conv2d.direct9 computes one input channel, stride 1 and at most nine taps; got "
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
    offs, w9 = _taps9(kh, kw, xp.shape[2], w)
    _on_threads(_conv1_fwd9, n * oh, out.size * 9, xp, w9, offs, b, oh, ow, out, relu)


def conv2d_backward_kernel(x: np.ndarray, dy: np.ndarray, dw: np.ndarray,
                           sh: int, sw: int, ph: int, pw: int) -> None:
    """The contract's ``conv2d_backward_kernel`` for the shapes of :func:`supports`."""
    _c(x, "x"), _c(dy, "dy"), _c(dw, "dw")
    sh, sw, ph, pw = int(sh), int(sw), int(ph), int(pw)
    _check_supported(dw, sh, sw)
    n, oh, ow, f = dy.shape
    kh, kw = dw.shape[0], dw.shape[1]
    xp = _padded_input(x, kh, kw, sh, sw, ph, pw, oh, ow)
    offs, _ = _taps9(kh, kw, xp.shape[2], dw)
    parts = np.empty((threads(), 9 * f))
    t = _on_threads(_conv1_bwd_kernel9, n * oh, dy.size * 9, xp, dy, offs, parts)
    dw.reshape(-1)[:] = parts[:t].sum(axis=0)[:kh * kw * f]
