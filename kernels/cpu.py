"""CPU kernels: Numba ``@njit`` loops plus one BLAS GEMM per convolution / dense pass.

Every function follows the contract in :mod:`minidl.kernels` (same names, argument order and math as
:mod:`minidl.kernels.reference`, which is the oracle the tests compare against) and writes into
caller-allocated, C-contiguous float32 or float64 arrays. The public functions are thin Python wrappers:
they check contiguity, coerce scalars to Python ``int``/``float``/``bool`` (so Numba compiles one
specialization per dtype, never one per call), call the compiled loops, and issue the matrix products
through NumPy's BLAS **outside** any parallel region (BLAS inside a Numba ``prange`` fights the OpenMP /
workqueue threads and can hang).

The math, briefly (see :mod:`minidl.kernels.reference` for the longer story):

Convolution as a matrix product ("im2col"). Copy every KHxKW window of the padded input into one row of
``cols`` (N*OH*OW, KH*KW*C), in (kh, kw, c) order, which is exactly the row order of the kernel reshaped
to ``W2 = w.reshape(KH*KW*C, F)``. Then::

    forward:          y2 = cols @ W2 + b                 (N*OH*OW, F), i.e. y in NHWC
    backward kernel:  dW2 = cols^T @ dy2                 the input correlated with dy
    backward bias:    db = dy2.sum(axis=0)               the bias touched every output pixel
    backward input:   dcols = dy2 @ W2^T; dx = col2im(dcols)

The input is zero-padded once (a copy the size of the input) so the copy loops need no bounds tests.
The full ``cols`` matrix is never built in a training step: each thread takes a block of output rows and
works through it in chunks of up to 1 MB that stay in its core's L2 cache: copy the chunk's windows,
multiply (one single-threaded OpenBLAS GEMM), add the bias; the backward pass rebuilds each chunk for
``dW2 += chunk^T @ dy_chunk`` and, for the input gradient, multiplies a few images' rows of ``dy2 @ W2^T``
and adds them back (col2im) at once. Re-copying a chunk is cheaper than reading a kept full-size matrix
back from memory (LeNet-5's conv2 kernel gradient: 1.2 ms per step with the kept matrix, 0.5 ms chunked).
Threads run on :mod:`minidl.kernels.blas`'s pool (:func:`_on_threads`); BLAS never runs inside a Numba
``prange`` region (the two thread pools fight and can hang).

``col2im`` adds every row of ``dcols`` back onto the window it was copied from (overlapping windows sum):
this is the "full" correlation of dy with the spatially flipped kernel, which is the transpose of the
forward correlation. Each thread owns whole images of ``dx``, so no two threads write the same element.

Three paths, chosen per shape. im2col + one GEMM for everything except a first layer with one input
channel at stride 1, which uses direct loops: with C = 1 the im2col matrix is KH*KW copies of the input
feeding a GEMM of depth KH*KW (25 for LeNet-5's conv1, 9 for a 3x3 kernel), so the copy and the skinny
GEMM cost more than the arithmetic.

- At most 16 filters (:func:`_direct`; :func:`_conv1_fwd`, :func:`_conv1_bwd_kernel`): channel-major runs
  along the flattened image. LeNet-5's conv1, forward + kernel gradient on 2 cores at batch 64: ~1.0 ms
  vs ~1.6 ms im2col + GEMM.
- More filters and at most nine taps (:func:`_direct9`; :func:`_conv1_fwd9`, :func:`_conv1_bwd_kernel9`):
  channels-last, one vectorized loop over the filters per output pixel with all nine taps unrolled. The
  Keras CNN's conv1 (32 filters, 3x3), one thread: forward 0.48-0.50 ms vs 0.87-1.29 ms im2col + GEMM,
  forward + kernel + bias gradient 1.45 ms vs 1.6-2.4 ms.

Bias add and bias gradient run over ``m`` rows at once as one flat vectorized run (:func:`_add_bias_rows`,
:func:`_col_sums`), which matters when a row is as short as LeNet's 6 channels.

Max-pooling routes each window's gradient to its argmax, the FIRST maximum in row-major window order
(strict ``>`` while scanning); padded cells are never candidates. ``maxpool2d_backward`` is parallel over
the batch so that overlapping windows (stride < window) accumulate without races.

Softmax: ``p = exp(x - max) / sum``; VJP ``dx = p * (dy - sum(dy * p))``. Log-softmax VJP
``dx = dy - p * sum(dy)``. Fused softmax + cross-entropy: the loss comes from log-softmax (finite even
when a wrong class is predicted with certainty) and its gradient is ``p * sum(t) - t`` (= ``p - onehot``).
Sigmoid uses the two-branch form ``1/(1+e)`` / ``e/(1+e)`` with ``e = exp(-|x|)``, which never overflows.
Element-wise exp, log1p and tanh are NumPy's SIMD ufuncs (a Numba loop would call scalar libm per element).
Row reductions (sums, losses, bias gradients) accumulate in float64.
"""
from __future__ import annotations

import math
import threading

import numba
import numpy as np
from numba import njit, prange, uint64

from .blas import _OneThread, blocks, fork_join, matmul, matmul_tn, matmul_tn_beside, threads

__all__ = [
    "conv2d_forward", "conv2d_backward_input", "conv2d_backward_kernel", "conv2d_backward_bias",
    "maxpool2d_forward", "maxpool2d_backward",
    "relu_forward", "relu_backward", "sigmoid_forward", "sigmoid_backward", "tanh_forward",
    "tanh_backward",
    "softmax_forward", "softmax_backward", "log_softmax_forward", "log_softmax_backward",
    "softmax_xent_sparse_forward", "softmax_xent_sparse_backward",
    "softmax_xent_dense_forward", "softmax_xent_dense_backward",
    "bce_logits_forward", "bce_logits_backward",
    "dense_forward", "dense_backward",
    "dropout_forward", "dropout_backward",
    "tied_ae_forward", "tied_ae_backward",
    "sgd_update", "adam_update", "rmsprop_update",
]

# error_model="numpy": a float division by zero gives inf / nan, as in NumPy, instead of raising. Python's
# model tests every divisor first, which also stops LLVM from vectorizing any loop with a division
# (measured on 64x784 float32: sigmoid 79 -> 41-57 us, BCE forward 128 -> 78 us).
_JIT = dict(cache=True, fastmath=False, error_model="numpy")


_tls = threading.local()

# Threads per call. Waking sleeping threads costs ~50-100 us on the 2-core machine of bench/RESULTS.md
# (minidl runs OpenMP with OMP_WAIT_POLICY=PASSIVE, see minidl/__init__.py), more than a small kernel's
# whole work, so kernels with little work run on one thread and large ones on all of them
# (NUMBA_NUM_THREADS). Two thresholds, measured there: kernels doing real arithmetic per element
# (pooling's compares, the direct convolution) gain from 2**17 elements on (LeNet pool1 forward, 301k
# elements: 465 us on 1 thread, 314 us on 2), while streaming passes (ReLU, bias sums, dropout masks,
# optimizer updates, pooling's backward scatter, and sigmoid / tanh / BCE now that their exp, log1p and
# tanh are NumPy's SIMD ufuncs) are bound by memory and gain only from ~2**21 elements on (ReLU: 30 vs
# 77 us at 301k elements, 229 vs 198 us at 2M). Switching the Numba thread count costs ~1 us and happens
# only on a change.
_MAX_THREADS = numba.config.NUMBA_NUM_THREADS
_PAR_MIN_WORK = 1 << 17
_PAR_MIN_STREAM = 1 << 21


def _nt(work: int, min_work: int = _PAR_MIN_WORK) -> None:
    """Sets the Numba thread count of the calling thread for a kernel touching ``work`` elements."""
    t = _MAX_THREADS if work >= min_work else 1
    if getattr(_tls, "nt", 0) != t:
        numba.set_num_threads(t)
        _tls.nt = t


def _on_threads(fn, units: int, work: int, *args, min_work: int = _PAR_MIN_WORK) -> int:
    """Runs ``fn(lo, hi, t, *args)`` for ``t`` blocks of ``range(units)``: one block in the calling thread,
    the others on :mod:`minidl.kernels.blas`'s sleeping pool (``fn`` is a ``nogil`` Numba function, or
    Python that spends its time in BLAS or NumPy ufuncs, which release the GIL: the blocks run at once).
    Returns the number of blocks. Small work (below ``min_work``) runs in one block.
    Why not ``prange``: as serial functions these loops compile 2-3x faster than as ``parallel=True``
    ones (e.g. 0.08 vs 0.25 s for ReLU, ~1 s vs ~2.5 s for the direct convolution), and compile time
    is part of every cold start; the threading is the same fork-join. The kernels loop over
    ``range(uint64(lo), uint64(hi))``: with a signed loop index Numba must allow for negative (wrap-around)
    indices and LLVM does not vectorize (ReLU: 254 us signed, 26 us unsigned, 28 us as a prange loop)."""
    t = max(1, min(units, threads() if work >= min_work else 1))
    fork_join(fn, [(lo, hi, i, *args) for i, (lo, hi) in enumerate(blocks(units, t))])
    return t


def _scratch(rows: int, cols: int, dtype) -> np.ndarray:
    """A (rows, cols) work buffer reused across calls (one grow-only buffer per thread and dtype).

    Allocating a fresh multi-megabyte im2col buffer on every call costs page faults comparable to the
    GEMM itself, so the conv kernels borrow this one instead. Only one scratch buffer is in use at a time
    within a call and none is kept after it returns; ``_release_scratch()`` frees the memory.
    """
    key = np.dtype(dtype).str
    bufs = getattr(_tls, "bufs", None)
    if bufs is None:
        bufs = _tls.bufs = {}
    need = rows * cols
    buf = bufs.get(key)
    if buf is None or buf.size < need:
        buf = bufs[key] = np.empty(max(need, 1), dtype=dtype)
    return buf[:need].reshape(rows, cols)


def _release_scratch() -> None:
    """Frees this thread's scratch buffers."""
    _tls.bufs = {}


def _c(a: np.ndarray, name: str) -> np.ndarray:
    """Returns ``a`` after checking it is a C-contiguous ndarray (outputs must be written in place)."""
    if not isinstance(a, np.ndarray) or not a.flags.c_contiguous:
        raise ValueError(f"{name} must be a C-contiguous numpy array")
    return a


def _flat(a: np.ndarray, name: str) -> np.ndarray:
    """A 1-D view of a C-contiguous array (a view, so writes reach the caller's array)."""
    return _c(a, name).reshape(-1)


# ----------------------------------------------------------------------------------------------------
# Convolution
# ----------------------------------------------------------------------------------------------------
def _padded_size(size: int, out: int, k: int, s: int, pad: int) -> int:
    """Rows (or columns) of the zero-padded input: every window fits, and so does the whole input."""
    return max((out - 1) * s + k, size + pad)


@njit(**_JIT)
def _pad_nhwc(x, ph, pw, xp):
    """xp = x placed at offset (ph, pw) in a zero (N, HP, WP, C) array (a serial copy: cheap next to the GEMM).

    Padding once up front (a copy the size of the input) lets :func:`_im2col` and :func:`_col2im` run
    without a single bounds test in their inner loops.
    """
    n, h, w, c = x.shape
    hp, wp = xp.shape[1], xp.shape[2]
    xf = x.reshape(-1)
    pf = xp.reshape(-1)
    img = hp * wp * c
    row = uint64(w * c)
    for b in range(n):
        pf[b * img:(b + 1) * img] = 0
        for i in range(h):
            src = uint64((b * h + i) * w * c)
            dst = uint64(((b * hp + i + ph) * wp + pw) * c)
            for t in range(row):
                pf[dst + t] = xf[src + t]


# The copy loops below index with unsigned integers on purpose: with a signed index Numba must handle
# negative (wrap-around) indices, which stops LLVM from vectorizing the loop; unsigned indices make these
# copies ~5-10x faster (measured: the Keras-CNN conv2 im2col 2.4 ms -> 0.2 ms).
@njit(nogil=True, **_JIT)
def _im2col(lo, hi, t, xp, kh, kw, sh, sw, oh, ow, cols):
    """cols[((n*OH + i) - lo)*OW + j, (p*KW + q)*C + c] = xp[n, i*sh + p, j*sw + q, c] for the output rows
    ``n*OH + i`` in ``lo:hi`` (``cols`` flat, holding just those rows).

    ``xp`` is the zero-padded input. For a fixed window row ``p`` the KW*C values of the window,
    ``xp[n, i*sh + p, j*sw : j*sw + KW, :]``, are contiguous in NHWC memory and so is their destination in
    ``cols``: each is one flat copy (vectorized by LLVM), with no bounds tests.
    """
    n, hp, wp, c = xp.shape
    span = kw * c
    uspan = uint64(span)
    depth = kh * span
    xf = xp.reshape(-1)
    for r in range(lo, hi):
        b = r // oh
        i = r - b * oh
        for j in range(ow):
            for p in range(kh):
                src = uint64(((b * hp + i * sh + p) * wp + j * sw) * c)
                dst = uint64(((r - lo) * ow + j) * depth + p * span)
                for e in range(uspan):
                    cols[dst + e] = xf[src + e]


@njit(nogil=True, **_JIT)
def _col2im(lo, hi, t, dcols, kh, kw, sh, sw, oh, ow, dxp):
    """dxp[n] = the rows of dcols put back on their windows (overlaps add up), for the images ``n`` in
    ``lo:hi``; ``dcols`` (flat) holds just those images' rows. Each image owns ``dxp[n]``: no races.

    The transpose of :func:`_im2col`, into the zero-padded gradient ``dxp`` (the caller crops the
    padding off): each window row is one contiguous add, no bounds tests.
    """
    n, hp, wp, c = dxp.shape
    span = kw * c
    uspan = uint64(span)
    depth = kh * span
    df = dxp.reshape(-1)
    img = hp * wp * c
    for b in range(lo, hi):
        df[b * img:(b + 1) * img] = 0
        for i in range(oh):
            for j in range(ow):
                for p in range(kh):
                    src = uint64((((b - lo) * oh + i) * ow + j) * depth + p * span)
                    dst = uint64(((b * hp + i * sh + p) * wp + j * sw) * c)
                    for e in range(uspan):
                        df[dst + e] += dcols[src + e]


@njit(**_JIT)
def _crop(dxp, ph, pw, dx):
    """dx = dxp[:, ph:ph+H, pw:pw+W, :] (drops the gradient that fell on padding)."""
    n, h, w, c = dx.shape
    hp, wp = dxp.shape[1], dxp.shape[2]
    pf = dxp.reshape(-1)
    df = dx.reshape(-1)
    row = uint64(w * c)
    for b in range(n):
        for i in range(h):
            src = uint64(((b * hp + i + ph) * wp + pw) * c)
            dst = uint64((b * h + i) * w * c)
            for t in range(row):
                df[dst + t] = pf[src + t]


def _padded_input(x: np.ndarray, kh: int, kw: int, sh: int, sw: int, ph: int, pw: int,
                  oh: int, ow: int) -> np.ndarray:
    """``x`` itself when no padding is needed, else a zero-padded copy (N, HP, WP, C)."""
    n, h, w, c = x.shape
    hp, wp = _padded_size(h, oh, kh, sh, ph), _padded_size(w, ow, kw, sw, pw)
    if ph == 0 and pw == 0 and hp == h and wp == w:
        return x
    xp = np.empty((n, hp, wp, c), dtype=x.dtype)
    _pad_nhwc(x, ph, pw, xp)
    return xp


def _tile_rows(cols: int) -> int:
    """Rows handled as one flat run by the bias kernels: a run of >= 64 elements vectorizes well even
    when a row is short (LeNet's 6 channels), where a per-row loop of 6 would not."""
    return max(1, 64 // max(cols, 1))


@njit(nogil=True, **_JIT)
def _add_bias_rows(lo, hi, t, a2d, bias, m):
    """a2d[r, :] += bias for rows ``lo:hi``, ``m`` rows at a time as one flat run against the bias tiled
    ``m`` times."""
    cols = a2d.shape[1]
    af = a2d.reshape(-1)
    run = m * cols
    pattern = np.empty(run, dtype=a2d.dtype)
    for e in range(run):
        pattern[e] = bias[e % cols]
    r = lo
    while r < hi:
        o = uint64(r * cols)
        urun = uint64(min(m, hi - r) * cols)
        for e in range(urun):
            af[o + e] += pattern[e]
        r += m


@njit(parallel=True, **_JIT)
def _col_sums(a2d, out, m):
    """out[k] = sum_r a2d[r, k] in float64: each of a few chunks of rows sums ``m`` rows at a time into a
    flat (m * cols) float64 partial (a vectorized run, as in :func:`_add_bias_rows`), then the partials
    are folded, in a fixed order, into ``out``."""
    rows, cols = a2d.shape
    af = a2d.reshape(-1)
    run = m * cols
    nblk = rows // m  # whole blocks; the last rows % m rows are added at the end
    nchunk = min(nblk, 16)
    partial = np.zeros((max(nchunk, 1), run), dtype=np.float64)
    urun = uint64(run)
    for t in prange(nchunk):
        acc = partial[t]
        for blk in range(t * nblk // nchunk, (t + 1) * nblk // nchunk):
            o = uint64(blk * run)
            for e in range(urun):
                acc[e] += af[o + e]
    for k in range(cols):
        s = 0.0
        for t in range(nchunk):
            for g in range(m):
                s += partial[t, g * cols + k]
        for r in range(nblk * m, rows):
            s += af[r * cols + k]
        out[k] = s


def _cols_buffer(cols: np.ndarray | None, rows: int, depth: int, dtype) -> np.ndarray:
    if cols is None:
        return _scratch(rows, depth, dtype)
    if (not isinstance(cols, np.ndarray) or cols.shape != (rows, depth) or cols.dtype != dtype
            or not cols.flags.c_contiguous):
        raise ValueError(f"cols must be a C-contiguous {np.dtype(dtype).name} array of shape ({rows}, {depth})")
    return cols


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


# The im2col path runs chunk by chunk on each thread: copy a chunk of windows (<= _CHUNK_ELEMS values, up
# to 1 MB, so it stays in the core's L2 cache), multiply it at once (single-threaded OpenBLAS, GIL
# released) and add the bias while the output rows are still in cache. The input gradient likewise
# multiplies a few images' rows and adds them back (col2im) before the next chunk, so the full
# (N*OH*OW, KH*KW*C) gradient matrix is never written out.
_CHUNK_ELEMS = 1 << 18  # vs 2**17 at 2 threads: Keras conv2 -2 %, LeNet-5 conv2 -5 % per layer
_PAR_MIN_MACS = 1 << 22  # multiply-adds below which a conv runs on one thread (waking one costs ~50 us)


def _conv_fwd_rows(lo, hi, t, xp, w2, b, out2, cols, kh, kw, sh, sw, oh, ow, m, step, relu):
    """One thread's share of the im2col forward: output rows (n, i) in ``lo:hi``, ``step`` at a time."""
    depth, f = w2.shape
    of = out2.reshape(-1)
    with _OneThread():
        for r0 in range(lo, hi, step):
            r1 = min(hi, r0 + step)
            a, z = r0 * ow, r1 * ow
            dest = cols[a:z] if cols is not None else _scratch(z - a, depth, xp.dtype)
            _im2col(r0, r1, 0, xp, kh, kw, sh, sw, oh, ow, dest.reshape(-1))
            np.matmul(dest, w2, out=out2[a:z])
            _add_bias_rows(a, z, 0, out2, b, m)
            if relu:  # the fused activation, while the chunk is in cache
                _relu_fwd(a * f, z * f, 0, of, of)


def _conv_bwd_input_imgs(lo, hi, t, dy2, w2t, dxp, kh, kw, sh, sw, oh, ow, step):
    """One thread's share of the input gradient: images ``lo:hi``, ``step`` at a time (dcols = dy2 @ W2^T,
    then col2im), each thread in its own scratch buffer."""
    per = oh * ow
    with _OneThread():
        for b0 in range(lo, hi, step):
            b1 = min(hi, b0 + step)
            dc = _scratch((b1 - b0) * per, w2t.shape[1], dxp.dtype)
            np.matmul(dy2[b0 * per:b1 * per], w2t, out=dc)
            _col2im(b0, b1, 0, dc.reshape(-1), kh, kw, sh, sw, oh, ow, dxp)


def _conv_bwd_kernel_rows(lo, hi, t, xp, dy2, parts, kh, kw, sh, sw, oh, ow, step):
    """One thread's share of the kernel gradient: for output rows (n, i) in ``lo:hi``, ``step`` at a time,
    rebuild that chunk of im2col in this thread's scratch (in L2) and add ``chunk^T @ dy_chunk`` to
    ``parts[t]`` (float64, (depth, F)). Rebuilding costs a fraction of what reading a kept full-size
    im2col matrix back from memory costs (LeNet-5's conv2: 0.4 ms for the GEMM on a kept matrix in a
    micro-benchmark, 1.2 ms inside a training step, where the matrix had left the cache)."""
    depth, f = parts.shape[1], parts.shape[2]
    acc = parts[t]
    acc[:] = 0.0
    tmp = np.empty((depth, f), dtype=dy2.dtype)
    with _OneThread():
        for r0 in range(lo, hi, step):
            r1 = min(hi, r0 + step)
            a, z = r0 * ow, r1 * ow
            chunk = _scratch(z - a, depth, xp.dtype)
            _im2col(r0, r1, 0, xp, kh, kw, sh, sw, oh, ow, chunk.reshape(-1))
            np.matmul(chunk.T, dy2[a:z], out=tmp)
            acc += tmp


def conv2d_keeps_cols(c: int, f: int, kh: int, kw: int, sh: int, sw: int) -> bool:
    """Whether a training step should keep the forward's im2col matrix for the kernel gradient (the
    ``cols=`` argument) instead of letting :func:`conv2d_backward_kernel` rebuild it chunk by chunk.

    Only for shallow windows on the im2col path (KH*KW*C <= 16, e.g. a strided 3x3 kernel on one channel,
    or 2x2 on three): there the matrix is small and the shallow GEMM runs as badly per chunk as in one
    piece, so rebuilding only adds copies (measured on the Keras CNN's conv1 before it moved to the direct
    loops: 0.84-1.03x PyTorch kept, 1.06-1.22x rebuilt). Deeper windows make big matrices that leave the
    cache between the forward and backward passes (LeNet-5's conv2: 3.8 MB, kernel gradient 1.24 ms kept
    vs 0.53 ms rebuilt in a training step).
    """
    return kh * kw * c <= 16 and not _direct(c, f, sh, sw) and not _direct9(c, f, kh, kw, sh, sw)


def conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, out: np.ndarray,
                   sh: int, sw: int, ph: int, pw: int, cols: np.ndarray | None = None,
                   relu: bool = False) -> None:
    """2-D convolution (cross-correlation), NHWC.

    Args:
        x: input (N, H, W, C).
        w: kernel (KH, KW, C, F).
        b: bias (F,).
        out: output (N, OH, OW, F), overwritten.
        sh, sw: strides.
        ph, pw: top/left zero padding (bottom/right implied by the output shape).
        cols: optional (N*OH*OW, KH*KW*C) array that receives the im2col matrix, so that
            :func:`conv2d_backward_kernel` can reuse it instead of building it again (CPU only; costs
            its memory until the backward pass). Not written when C = 1 (the direct path builds none).
        relu: apply ReLU to the output (in place, chunk by chunk while it is in cache: one pass over
            the output fewer than a separate :func:`relu_forward`).
    """
    _c(x, "x"), _c(w, "w"), _c(b, "b"), _c(out, "out")
    n, oh, ow, f = out.shape
    kh, kw, c, _ = w.shape
    sh, sw, ph, pw, relu = int(sh), int(sw), int(ph), int(pw), bool(relu)
    depth = kh * kw * c
    if cols is not None:  # filled chunk by chunk below (left untouched by the direct loops)
        cols = _cols_buffer(cols, n * oh * ow, depth, x.dtype)
    xp = _padded_input(x, kh, kw, sh, sw, ph, pw, oh, ow)
    if _direct(c, f, sh, sw):  # direct loops (see _conv1_fwd)
        rr = _run_rows(f, oh, xp.shape[2])
        _on_threads(_conv1_fwd, n * ((oh + rr - 1) // rr), out.size * kh * kw, xp, w, b, oh, ow, out, rr, relu)
        return
    if _direct9(c, f, kh, kw, sh, sw):  # channels-last nine-tap loops (see _conv1_fwd9)
        offs, w9 = _taps9(kh, kw, xp.shape[2], w)
        _on_threads(_conv1_fwd9, n * oh, out.size * 9, xp, w9, offs, b, oh, ow, out, relu)
        return
    step = max(1, _CHUNK_ELEMS // (ow * depth))  # output rows (n, i) per chunk
    _on_threads(_conv_fwd_rows, n * oh, out.size * depth, xp, w.reshape(depth, f), b, out.reshape(n * oh * ow, f),
                cols, kh, kw, sh, sw, oh, ow, _tile_rows(f), step, relu, min_work=_PAR_MIN_MACS)


def conv2d_backward_input(dy: np.ndarray, w: np.ndarray, dx: np.ndarray,
                          sh: int, sw: int, ph: int, pw: int) -> None:
    """Gradient with respect to the input: ``dx = col2im(dy2 @ W2^T)``.

    Args:
        dy: upstream gradient (N, OH, OW, F).
        w: kernel (KH, KW, C, F).
        dx: input gradient (N, H, W, C), overwritten.
        sh, sw, ph, pw: as in :func:`conv2d_forward`.
    """
    _c(dy, "dy"), _c(w, "w"), _c(dx, "dx")
    n, oh, ow, f = dy.shape
    kh, kw, c, _ = w.shape
    sh, sw, ph, pw = int(sh), int(sw), int(ph), int(pw)
    h, wd = dx.shape[1], dx.shape[2]
    depth = kh * kw * c
    hp, wp = _padded_size(h, oh, kh, sh, ph), _padded_size(wd, ow, kw, sw, pw)
    cropped = ph == 0 and pw == 0 and hp == h and wp == wd
    dxp = dx if cropped else np.empty((n, hp, wp, c), dtype=dx.dtype)
    step = max(1, _CHUNK_ELEMS // max(oh * ow * depth, 1))  # images per chunk
    _on_threads(_conv_bwd_input_imgs, n, dy.size * depth, dy.reshape(n * oh * ow, f), w.reshape(depth, f).T,
                dxp, kh, kw, sh, sw, oh, ow, step, min_work=_PAR_MIN_MACS)
    if not cropped:
        _crop(dxp, ph, pw, dx)


def conv2d_backward_kernel(x: np.ndarray, dy: np.ndarray, dw: np.ndarray,
                           sh: int, sw: int, ph: int, pw: int, cols: np.ndarray | None = None) -> None:
    """Gradient with respect to the kernel: ``dW2 = cols^T @ dy2`` (one GEMM over the whole batch).

    Args:
        x: input (N, H, W, C).
        dy: upstream gradient (N, OH, OW, F).
        dw: kernel gradient (KH, KW, C, F), overwritten.
        sh, sw, ph, pw: as in :func:`conv2d_forward`.
        cols: the im2col matrix of ``x`` kept by :func:`conv2d_forward`, or None to build it here.
    """
    _c(x, "x"), _c(dy, "dy"), _c(dw, "dw")
    n, oh, ow, f = dy.shape
    kh, kw, c, _ = dw.shape
    sh, sw, ph, pw = int(sh), int(sw), int(ph), int(pw)
    depth = kh * kw * c
    direct, direct9 = _direct(c, f, sh, sw), _direct9(c, f, kh, kw, sh, sw)
    if cols is not None:  # checked on every path; read only on the im2col path (the direct loops build none)
        cols = _cols_buffer(cols, n * oh * ow, depth, x.dtype)
        if not (direct or direct9):  # a kept im2col matrix: one GEMM
            matmul_tn(cols, dy.reshape(n * oh * ow, f), dw.reshape(depth, f))
            return
    xp = _padded_input(x, kh, kw, sh, sw, ph, pw, oh, ow)
    if direct:  # channel-major direct loops (see _conv1_bwd_kernel)
        rr = _run_rows(f, oh, xp.shape[2])
        parts = np.empty((threads(), kh * kw * f))
        t = _on_threads(_conv1_bwd_kernel, n * ((oh + rr - 1) // rr), dy.size * kh * kw, xp, dy, parts, kh, kw, rr)
        dw.reshape(-1)[:] = parts[:t].sum(axis=0)  # the threads' float64 partials, in a fixed order
    elif direct9:  # channels-last nine-tap loops (see _conv1_bwd_kernel9)
        offs, _ = _taps9(kh, kw, xp.shape[2], dw)
        parts = np.empty((threads(), 9 * f))
        t = _on_threads(_conv1_bwd_kernel9, n * oh, dy.size * 9, xp, dy, offs, parts)
        dw.reshape(-1)[:] = parts[:t].sum(axis=0)[:kh * kw * f]
    else:  # im2col rebuilt chunk by chunk
        step = max(1, _CHUNK_ELEMS // (ow * depth))
        parts = np.empty((threads(), depth, f))
        t = _on_threads(_conv_bwd_kernel_rows, n * oh, dy.size * depth, xp, dy.reshape(n * oh * ow, f), parts,
                        kh, kw, sh, sw, oh, ow, step, min_work=_PAR_MIN_MACS)
        dw.reshape(depth, f)[:] = parts[:t].sum(axis=0)  # the threads' float64 partials, in a fixed order


def conv2d_backward_bias(dy: np.ndarray, db: np.ndarray) -> None:
    """Bias gradient: ``db[f] = sum of dy[..., f]`` over N, OH, OW (float64 accumulation).

    Args:
        dy: upstream gradient (N, OH, OW, F).
        db: (F,), overwritten.
    """
    _c(dy, "dy"), _c(db, "db")
    _nt(dy.size, _PAR_MIN_STREAM)
    _col_sums(dy.reshape(-1, db.shape[0]), db, _tile_rows(db.shape[0]))


# ----------------------------------------------------------------------------------------------------
# Max-pooling
# ----------------------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------------------
# Element-wise activations (flat views)
# ----------------------------------------------------------------------------------------------------
# Transcendental functions (exp, log1p, tanh) go through NumPy's ufuncs, which have SIMD implementations
# (AVX2 / AVX-512 picked at run time), while a Numba loop calls the scalar libm function once per element:
# on 64x784 float32 values here, exp 30 us vs ~250 us, tanh 18 us vs 750 us. The arithmetic around them
# (the two-branch sigmoid, the BCE terms) stays in Numba, one vectorized pass.
def _exp_neg_abs(x: np.ndarray) -> np.ndarray:
    """``exp(-|x|)`` in a new array (never overflows: the argument is <= 0)."""
    e = np.abs(x)
    np.negative(e, out=e)
    return np.exp(e, out=e)


@njit(nogil=True, **_JIT)
def _sigmoid_from_exp(x, e, out):
    """out = sigmoid(x) given e = exp(-|x|): 1/(1+e) for x >= 0, e/(1+e) below (no overflow at +-1000).
    ``out`` may be ``x`` itself."""
    one = e.dtype.type(1)  # (a plain 1 would make the division float64)
    for k in range(uint64(x.size)):
        r = one / (one + e[k])
        out[k] = r if x[k] >= 0 else e[k] * r


def _sigmoid_block(lo, hi, t, x, out):
    xs = x[lo:hi]
    _sigmoid_from_exp(xs, _exp_neg_abs(xs), out[lo:hi])


def _tanh_block(lo, hi, t, x, out):
    np.tanh(x[lo:hi], out=out[lo:hi])


@njit(nogil=True, **_JIT)
def _relu_fwd(lo, hi, t, x, out):
    for k in range(uint64(lo), uint64(hi)):
        out[k] = x[k] if x[k] > 0 else 0


@njit(nogil=True, **_JIT)
def _relu_bwd(lo, hi, t, x, dy, dx):
    for k in range(uint64(lo), uint64(hi)):
        dx[k] = dy[k] if x[k] > 0 else 0


@njit(nogil=True, **_JIT)
def _sigmoid_bwd(lo, hi, t, y, dy, dx):
    for k in range(uint64(lo), uint64(hi)):
        dx[k] = dy[k] * y[k] * (1 - y[k])


@njit(nogil=True, **_JIT)
def _tanh_bwd(lo, hi, t, y, dy, dx):
    for k in range(uint64(lo), uint64(hi)):
        dx[k] = dy[k] * (1 - y[k] * y[k])


def relu_forward(x: np.ndarray, out: np.ndarray) -> None:
    """``out = max(x, 0)``, any shape."""
    _on_threads(_relu_fwd, np.size(x), np.size(x), _flat(x, "x"), _flat(out, "out"), min_work=_PAR_MIN_STREAM)


def relu_backward(x: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> None:
    """``dx = dy * (x > 0)``, any shape."""
    _on_threads(_relu_bwd, np.size(x), np.size(x), _flat(x, "x"), _flat(dy, "dy"), _flat(dx, "dx"),
                min_work=_PAR_MIN_STREAM)


def sigmoid_forward(x: np.ndarray, out: np.ndarray) -> None:
    """``out = sigmoid(x)`` (two-branch, no overflow at +-1000), any shape; ``out`` may be ``x``."""
    _on_threads(_sigmoid_block, np.size(x), np.size(x), _flat(x, "x"), _flat(out, "out"), min_work=_PAR_MIN_STREAM)


def sigmoid_backward(y: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> None:
    """``dx = dy * y * (1 - y)``, any shape."""
    _on_threads(_sigmoid_bwd, np.size(y), np.size(y), _flat(y, "y"), _flat(dy, "dy"), _flat(dx, "dx"),
                min_work=_PAR_MIN_STREAM)


def tanh_forward(x: np.ndarray, out: np.ndarray) -> None:
    """``out = tanh(x)``, any shape; ``out`` may be ``x``."""
    _on_threads(_tanh_block, np.size(x), np.size(x), _flat(x, "x"), _flat(out, "out"), min_work=_PAR_MIN_STREAM)


def tanh_backward(y: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> None:
    """``dx = dy * (1 - y**2)``, any shape."""
    _on_threads(_tanh_bwd, np.size(y), np.size(y), _flat(y, "y"), _flat(dy, "dy"), _flat(dx, "dx"),
                min_work=_PAR_MIN_STREAM)


# ----------------------------------------------------------------------------------------------------
# Row-wise softmax family, (M, K): rows are short, so these are serial loops (no thread start-up cost)
# ----------------------------------------------------------------------------------------------------
@njit(**_JIT)
def _row_logsumexp(x, r):
    k = x.shape[1]
    mx = x[r, 0]
    for j in range(1, k):
        if x[r, j] > mx:
            mx = x[r, j]
    s = 0.0
    for j in range(k):
        s += math.exp(x[r, j] - mx)
    return mx + math.log(s)


@njit(**_JIT)
def _softmax_fwd(x, out):
    for r in range(x.shape[0]):
        lse = _row_logsumexp(x, r)
        for j in range(x.shape[1]):
            out[r, j] = math.exp(x[r, j] - lse)


@njit(**_JIT)
def _softmax_bwd(y, dy, dx):
    for r in range(y.shape[0]):
        s = 0.0
        for j in range(y.shape[1]):
            s += dy[r, j] * y[r, j]
        for j in range(y.shape[1]):
            dx[r, j] = y[r, j] * (dy[r, j] - s)


@njit(**_JIT)
def _log_softmax_fwd(x, out):
    for r in range(x.shape[0]):
        lse = _row_logsumexp(x, r)
        for j in range(x.shape[1]):
            out[r, j] = x[r, j] - lse


@njit(**_JIT)
def _log_softmax_bwd(y, dy, dx):
    for r in range(y.shape[0]):
        s = 0.0
        for j in range(y.shape[1]):
            s += dy[r, j]
        for j in range(y.shape[1]):
            dx[r, j] = dy[r, j] - math.exp(y[r, j]) * s


@njit(**_JIT)
def _xent_sparse_fwd(logits, labels, probs):
    total = 0.0
    m, k = logits.shape
    for r in range(m):
        lse = _row_logsumexp(logits, r)
        for j in range(k):
            probs[r, j] = math.exp(logits[r, j] - lse)
        total += lse - logits[r, labels[r]]   # -log_softmax at the label: finite even if p underflows
    return total / m


@njit(**_JIT)
def _xent_sparse_bwd(probs, labels, dlogits, scale):
    m, k = probs.shape
    for r in range(m):
        for j in range(k):
            dlogits[r, j] = probs[r, j] * scale
        dlogits[r, labels[r]] = (probs[r, labels[r]] - 1) * scale


@njit(**_JIT)
def _xent_dense_fwd(logits, target, probs):
    total = 0.0
    m, k = logits.shape
    for r in range(m):
        lse = _row_logsumexp(logits, r)
        for j in range(k):
            probs[r, j] = math.exp(logits[r, j] - lse)
            total -= target[r, j] * (logits[r, j] - lse)
    return total / m


@njit(**_JIT)
def _xent_dense_bwd(probs, target, dlogits, scale):
    m, k = probs.shape
    for r in range(m):
        st = 0.0
        for j in range(k):
            st += target[r, j]
        for j in range(k):
            dlogits[r, j] = (probs[r, j] * st - target[r, j]) * scale


@njit(nogil=True, fastmath={"reassoc", "contract"}, cache=True, error_model="numpy")
def _bce_terms(z, tg, e, l1p, p):
    """sum of max(z, 0) - z t + log1p(e) (float64; ``reassoc`` lets the sum run in SIMD lanes), and
    p = sigmoid(z), given e = exp(-|z|) and l1p = log1p(e)."""
    total = 0.0
    one = e.dtype.type(1)
    for k in range(uint64(z.size)):
        v = z[k]
        total += max(v, 0) - v * tg[k] + l1p[k]
        r = one / (one + e[k])
        p[k] = r if v >= 0 else e[k] * r
    return total


def _bce_fwd(lo, hi, t, z, tg, p, partial):
    """partial[t] = sum of the BCE terms of z[lo:hi]; p[lo:hi] = sigmoid(z) from the same exp(-|z|)."""
    e = _exp_neg_abs(z[lo:hi])
    partial[t] = _bce_terms(z[lo:hi], tg[lo:hi], e, np.log1p(e), p[lo:hi])


@njit(nogil=True, **_JIT)
def _bce_bwd(lo, hi, t, p, tg, dz, scale):
    for k in range(uint64(lo), uint64(hi)):
        dz[k] = (p[k] - tg[k]) * scale


def softmax_forward(x: np.ndarray, out: np.ndarray) -> None:
    """Row-wise softmax of (M, K), stable (row max subtracted)."""
    _softmax_fwd(_c(x, "x"), _c(out, "out"))


def softmax_backward(y: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> None:
    """``dx = y * (dy - sum(dy * y))`` row-wise."""
    _softmax_bwd(_c(y, "y"), _c(dy, "dy"), _c(dx, "dx"))


def log_softmax_forward(x: np.ndarray, out: np.ndarray) -> None:
    """Row-wise ``x - logsumexp(x)`` of (M, K)."""
    _log_softmax_fwd(_c(x, "x"), _c(out, "out"))


def log_softmax_backward(y: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> None:
    """``dx = dy - exp(y) * sum(dy)`` row-wise (``y`` the log-softmax output)."""
    _log_softmax_bwd(_c(y, "y"), _c(dy, "dy"), _c(dx, "dx"))


def softmax_xent_sparse_forward(logits: np.ndarray, labels: np.ndarray, probs: np.ndarray) -> float:
    """Mean cross-entropy of softmax(logits) (M, K) against int64 labels (M,); probs overwritten."""
    return float(_xent_sparse_fwd(_c(logits, "logits"), _c(labels, "labels"), _c(probs, "probs")))


def softmax_xent_sparse_backward(probs: np.ndarray, labels: np.ndarray, dlogits: np.ndarray,
                                 scale: float) -> None:
    """``dlogits = (probs - onehot(labels)) * scale``."""
    _xent_sparse_bwd(_c(probs, "probs"), _c(labels, "labels"), _c(dlogits, "dlogits"), float(scale))


def softmax_xent_dense_forward(logits: np.ndarray, target: np.ndarray, probs: np.ndarray) -> float:
    """Mean over rows of ``-sum(target * log_softmax(logits))``; probs overwritten."""
    return float(_xent_dense_fwd(_c(logits, "logits"), _c(target, "target"), _c(probs, "probs")))


def softmax_xent_dense_backward(probs: np.ndarray, target: np.ndarray, dlogits: np.ndarray,
                                scale: float) -> None:
    """``dlogits = (probs * sum(target, row) - target) * scale``."""
    _xent_dense_bwd(_c(probs, "probs"), _c(target, "target"), _c(dlogits, "dlogits"), float(scale))


def bce_logits_forward(z: np.ndarray, t: np.ndarray, p: np.ndarray) -> float:
    """Mean of the stable BCE with logits, ``max(z,0) - z t + log1p(exp(-|z|))``, any shape; writes
    ``p = sigmoid(z)`` too, from the same ``exp(-|z|)``, so the backward pass needs no exp at all (the tied
    autoencoder's 64x784 loss, forward + backward: 0.59 ms with Numba's scalar exp and log in both passes,
    0.36 ms with them in the forward only, ~0.09 ms with NumPy's SIMD exp and log1p)."""
    zf, tf, pf = _flat(z, "z"), _flat(t, "t"), _flat(p, "p")
    partial = np.empty(threads())
    nb = _on_threads(_bce_fwd, zf.size, zf.size, zf, tf, pf, partial, min_work=_PAR_MIN_STREAM)
    return float(partial[:nb].sum() / max(zf.size, 1))


def bce_logits_backward(p: np.ndarray, t: np.ndarray, dz: np.ndarray, scale: float) -> None:
    """``dz = (p - t) * scale`` with ``p = sigmoid(z)`` from :func:`bce_logits_forward`, any shape."""
    pf = _flat(p, "p")
    _on_threads(_bce_bwd, pf.size, pf.size, pf, _flat(t, "t"), _flat(dz, "dz"), pf.dtype.type(scale),
                min_work=_PAR_MIN_STREAM)


# ----------------------------------------------------------------------------------------------------
# Dense: BLAS GEMMs plus compiled bias loops
# ----------------------------------------------------------------------------------------------------
def dense_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """``out = x @ w + b``; x (N, I), w (I, O), b (O,), out (N, O)."""
    _c(x, "x"), _c(w, "w"), _c(b, "b"), _c(out, "out")
    matmul(x, w, out)
    _on_threads(_add_bias_rows, out.shape[0], out.size, out, b, _tile_rows(b.shape[0]), min_work=_PAR_MIN_STREAM)


def dense_backward(x: np.ndarray, w: np.ndarray, dy: np.ndarray,
                   dx: np.ndarray, dw: np.ndarray, db: np.ndarray) -> None:
    """``dx = dy @ w.T``, ``dw = x.T @ dy``, ``db = sum(dy, 0)``; all overwritten."""
    _c(x, "x"), _c(w, "w"), _c(dy, "dy"), _c(dx, "dx"), _c(dw, "dw"), _c(db, "db")
    matmul(dy, w.T, dx)
    matmul_tn(x, dy, dw)
    _nt(dy.size, _PAR_MIN_STREAM)
    _col_sums(dy, db, _tile_rows(db.shape[0]))


# ----------------------------------------------------------------------------------------------------
# Dropout
# ----------------------------------------------------------------------------------------------------
@njit(nogil=True, **_JIT)
def _dropout_fwd(lo, hi, t, x, u, rate, out, mask):
    keep = 1.0 / (1.0 - rate) if rate < 1.0 else 0.0
    for k in range(uint64(lo), uint64(hi)):
        mk = keep if u[k] >= rate else 0.0
        mask[k] = mk
        out[k] = x[k] * mask[k]


@njit(nogil=True, **_JIT)
def _mul(lo, hi, t, a, b, out):
    for k in range(uint64(lo), uint64(hi)):
        out[k] = a[k] * b[k]


def dropout_forward(x: np.ndarray, u: np.ndarray, rate: float, out: np.ndarray, mask: np.ndarray) -> None:
    """``mask = (u >= rate) / (1 - rate)`` (zeros if rate >= 1); ``out = x * mask``. ``u`` from the caller."""
    _on_threads(_dropout_fwd, np.size(x), np.size(x), _flat(x, "x"), _flat(u, "u"), float(rate),
                _flat(out, "out"), _flat(mask, "mask"), min_work=_PAR_MIN_STREAM)


def dropout_backward(dy: np.ndarray, mask: np.ndarray, dx: np.ndarray) -> None:
    """``dx = dy * mask``."""
    _on_threads(_mul, np.size(dx), np.size(dx), _flat(dy, "dy"), _flat(mask, "mask"), _flat(dx, "dx"),
                min_work=_PAR_MIN_STREAM)


# ----------------------------------------------------------------------------------------------------
# Tied-weight autoencoder
# ----------------------------------------------------------------------------------------------------
@njit(**_JIT)
def _act1(z, code):
    """ReLU (code 1) or the identity (0); sigmoid and tanh are applied afterwards (see _bias_act)."""
    if code == 1:
        return z if z > 0 else 0.0 * z
    return z


@njit(**_JIT)
def _act_grad1(a, code):
    """Derivative of the activation in terms of its output ``a``."""
    if code == 1:
        return 1.0 if a > 0 else 0.0
    if code == 2:
        return a * (1 - a)
    if code == 3:
        return 1 - a * a
    return 1.0


@njit(nogil=True, **_JIT)
def _bias_act_rows(lo, hi, t, z, bias, code):
    """z[r, :] = act(z[r, :] + bias) in place for rows ``lo:hi``, act ReLU (code 1) or the identity."""
    for r in range(lo, hi):
        for k in range(z.shape[1]):
            z[r, k] = _act1(z[r, k] + bias[k], code)


def _bias_act(z: np.ndarray, bias: np.ndarray, code: int) -> None:
    """z = act(z + bias) in place: the bias (and ReLU) in one Numba pass, sigmoid / tanh then through
    NumPy's SIMD exp / tanh (see :func:`sigmoid_forward`)."""
    _on_threads(_bias_act_rows, z.shape[0], z.size, z, bias, code if code <= 1 else 0, min_work=_PAR_MIN_STREAM)
    if code == 2:
        sigmoid_forward(z, z)
    elif code == 3:
        tanh_forward(z, z)


@njit(nogil=True, **_JIT)
def _mul_act_grad(lo, hi, t, g, upstream, a, code):
    """g = upstream * act'(a) (act' from the activation's output) for rows ``lo:hi``."""
    for r in range(lo, hi):
        for k in range(g.shape[1]):
            g[r, k] = upstream[r, k] * _act_grad1(a[r, k], code)


def tied_ae_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray, c: np.ndarray,
                    y: np.ndarray, xhat: np.ndarray, enc: int, dec: int) -> None:
    """``y = h(x W + b)``; ``xhat = g(y W^T + c)``.

    Args:
        x: (N, D). W: (D, Hd). b: (Hd,). c: (D,).
        y: (N, Hd), overwritten. xhat: (N, D), overwritten.
        enc, dec: activation codes (``shapes.ACT_CODES``) of ``h`` and ``g``.
    """
    _c(x, "x"), _c(W, "W"), _c(b, "b"), _c(c, "c"), _c(y, "y"), _c(xhat, "xhat")
    matmul(x, W, y)
    _bias_act(y, b, int(enc))
    matmul(y, W.T, xhat)
    _bias_act(xhat, c, int(dec))


def tied_ae_backward(x: np.ndarray, W: np.ndarray, y: np.ndarray, xhat: np.ndarray,
                     dy: np.ndarray, dxhat: np.ndarray, dx: np.ndarray, dW: np.ndarray,
                     db: np.ndarray, dc: np.ndarray, enc: int, dec: int) -> None:
    """Gradients of the tied autoencoder (see :func:`minidl.kernels.reference.tied_ae_backward`)::

        dr = dxhat * g'   dc = sum dr   da = (dy + dr W) * h'   db = sum da
        dx = da W^T       dW = x^T da + dr^T y

    Args:
        x, W, y, xhat: as in :func:`tied_ae_forward`; dy (N, Hd) upstream grad of y; dxhat (N, D).
        dx (N, D), dW (D, Hd), db (Hd,), dc (D,): overwritten; ``dx`` may be None (not computed).
        enc, dec: activation codes.
    """
    for a, nm in ((x, "x"), (W, "W"), (y, "y"), (xhat, "xhat"), (dy, "dy"), (dxhat, "dxhat"),
                  (dx, "dx"), (dW, "dW"), (db, "db"), (dc, "dc")):
        if a is not None or nm != "dx":
            _c(a, nm)
    enc, dec = int(enc), int(dec)
    dr = np.empty_like(xhat)
    _on_threads(_mul_act_grad, dr.shape[0], dr.size, dr, dxhat, xhat, dec, min_work=_PAR_MIN_STREAM)
    _nt(dr.size, _PAR_MIN_STREAM)
    _col_sums(dr, dc, _tile_rows(dc.shape[0]))
    dWd = np.empty_like(dW)
    pending = matmul_tn_beside(dr, y, dWd)  # decoder path (W used transposed there), on another thread
    dyt = np.empty_like(y)
    matmul(dr, W, dyt)                 # gradient reaching y through the decoder
    dyt += dy                          # ... plus the upstream gradient of y itself
    _on_threads(_mul_act_grad, dyt.shape[0], dyt.size, dyt, dyt, y, enc, min_work=_PAR_MIN_STREAM)  # da
    _nt(dyt.size, _PAR_MIN_STREAM)
    _col_sums(dyt, db, _tile_rows(db.shape[0]))
    if dx is not None:
        matmul(dyt, W.T, dx)
    matmul_tn(x, dyt, dW)              # encoder path
    if pending is not None:
        pending.result()
    dW += dWd


# ----------------------------------------------------------------------------------------------------
# Optimizer updates (Keras formulas), in place on flat arrays, parallel loops
# ----------------------------------------------------------------------------------------------------
@njit(parallel=True, **_JIT)
def _sgd(param, grad, velocity, lr, momentum, nesterov):
    for k in prange(param.size):
        v = momentum * velocity[k] - lr * grad[k]
        velocity[k] = v
        if nesterov:
            param[k] += momentum * v - lr * grad[k]
        else:
            param[k] += v


@njit(parallel=True, **_JIT)
def _adam(param, grad, m, v, lr, beta1, beta2, eps, t):
    alpha = lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    for k in prange(param.size):
        g = grad[k]
        m[k] += (g - m[k]) * (1 - beta1)
        v[k] += (g * g - v[k]) * (1 - beta2)
        param[k] -= alpha * m[k] / (math.sqrt(v[k]) + eps)


@njit(parallel=True, **_JIT)
def _rmsprop(param, grad, ms, lr, rho, eps):
    for k in prange(param.size):
        g = grad[k]
        ms[k] = rho * ms[k] + (1 - rho) * g * g
        param[k] -= lr * g / (math.sqrt(ms[k]) + eps)


def sgd_update(param: np.ndarray, grad: np.ndarray, velocity: np.ndarray, lr: float, momentum: float,
               nesterov: bool) -> None:
    """Keras SGD in place: ``v = m v - lr g``; ``p += v`` (nesterov: ``p += m v - lr g``)."""
    _nt(np.size(param), _PAR_MIN_STREAM)
    _sgd(_flat(param, "param"), _flat(grad, "grad"), _flat(velocity, "velocity"), float(lr),
         float(momentum), bool(nesterov))


def adam_update(param: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, lr: float,
                beta1: float, beta2: float, eps: float, t: int) -> None:
    """Keras Adam in place, ``t >= 1``: ``m += (g-m)(1-b1)``; ``v += (g^2-v)(1-b2)``;
    ``p -= lr sqrt(1-b2^t)/(1-b1^t) m / (sqrt(v) + eps)``."""
    _nt(np.size(param), _PAR_MIN_STREAM)
    _adam(_flat(param, "param"), _flat(grad, "grad"), _flat(m, "m"), _flat(v, "v"), float(lr),
          float(beta1), float(beta2), float(eps), int(t))


def rmsprop_update(param: np.ndarray, grad: np.ndarray, ms: np.ndarray, lr: float, rho: float,
                   eps: float) -> None:
    """Keras RMSprop in place: ``ms = rho ms + (1-rho) g^2``; ``p -= lr g / (sqrt(ms) + eps)``."""
    _nt(np.size(param), _PAR_MIN_STREAM)
    _rmsprop(_flat(param, "param"), _flat(grad, "grad"), _flat(ms, "ms"), float(lr), float(rho),
             float(eps))
