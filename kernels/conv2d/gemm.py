"""conv2d, fast CPU path for any shape: im2col + one BLAS GEMM per cache-sized chunk.

What it optimises over :mod:`.loops` (one output element per iteration, 7 nested loops): the sum over
(p, q, c) of every output pixel becomes a row of one matrix product. Copy every KHxKW window of the padded
input into one row of ``cols`` (N*OH*OW, KH*KW*C), in (kh, kw, c) order, the row order of the kernel
reshaped to ``W2 = w.reshape(KH*KW*C, F)``. Then::

    forward:          y2 = cols @ W2 + b                 (N*OH*OW, F), i.e. y in NHWC
    backward kernel:  dW2 = cols^T @ dy2                 the input correlated with dy
    backward bias:    db = dy2.sum(axis=0)               the bias touched every output pixel
    backward input:   dcols = dy2 @ W2^T; dx = col2im(dcols)

The full ``cols`` matrix is never built in a training step: each thread takes a block of output rows and
works through it in chunks of up to 1 MB that stay in its core's L2 cache: copy the chunk's windows,
multiply (one single-threaded OpenBLAS GEMM), add the bias; the backward pass rebuilds each chunk for
``dW2 += chunk^T @ dy_chunk`` and, for the input gradient, multiplies a few images' rows of ``dy2 @ W2^T``
and adds them back (col2im) at once. Re-copying a chunk is cheaper than reading a kept full-size matrix
back from memory (LeNet-5's conv2 kernel gradient: 1.2 ms per step with the kept matrix, 0.5 ms chunked).

``col2im`` adds every row of ``dcols`` back onto the window it was copied from (overlapping windows sum):
the "full" correlation of dy with the spatially flipped kernel. Each thread owns whole images of ``dx``.

:mod:`.cpu` picks this path for every shape except a first layer with one input channel at stride 1
(:mod:`.direct`, :mod:`.direct9`); the input gradient and the bias gradient always run here.
"""
from __future__ import annotations


import numpy as np

from ..blas import _OneThread, matmul_tn, threads
from ..runtime import _PAR_MIN_STREAM, _c, _nt, _on_threads, _scratch
from ..common import _add_bias_rows, _col_sums, _relu_fwd, _tile_rows

from .im2col import _col2im, _crop, _im2col, _padded_input, _padded_size

__all__ = ["conv2d_forward", "conv2d_backward_input", "conv2d_backward_kernel", "conv2d_backward_bias",
           "cols_buffer"]


def cols_buffer(cols: np.ndarray | None, rows: int, depth: int, dtype) -> np.ndarray:
    if cols is None:
        return _scratch(rows, depth, dtype)
    if (not isinstance(cols, np.ndarray) or cols.shape != (rows, depth) or cols.dtype != dtype
            or not cols.flags.c_contiguous):
        raise ValueError(f"cols must be a C-contiguous {np.dtype(dtype).name} array of shape ({rows}, {depth})")
    return cols



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


def conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, out: np.ndarray,
                   sh: int, sw: int, ph: int, pw: int, relu: bool = False,
                   cols: np.ndarray | None = None) -> None:
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
            its memory until the backward pass).
        relu: apply ReLU to the output (in place, chunk by chunk while it is in cache: one pass over
            the output fewer than a separate ``relu_forward``).
    """
    _c(x, "x"), _c(w, "w"), _c(b, "b"), _c(out, "out")
    n, oh, ow, f = out.shape
    kh, kw, c, _ = w.shape
    sh, sw, ph, pw, relu = int(sh), int(sw), int(ph), int(pw), bool(relu)
    depth = kh * kw * c
    if cols is not None:  # filled chunk by chunk below
        cols = cols_buffer(cols, n * oh * ow, depth, x.dtype)
    xp = _padded_input(x, kh, kw, sh, sw, ph, pw, oh, ow)
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
    if cols is not None:  # a kept im2col matrix: one GEMM
        cols = cols_buffer(cols, n * oh * ow, depth, x.dtype)
        matmul_tn(cols, dy.reshape(n * oh * ow, f), dw.reshape(depth, f))
        return
    xp = _padded_input(x, kh, kw, sh, sw, ph, pw, oh, ow)
    step = max(1, _CHUNK_ELEMS // (ow * depth))  # im2col rebuilt chunk by chunk
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

