"""conv2d on the CPU: picks the fastest path for each shape (the math is in :mod:`minidl.kernels.conv2d`).

- :mod:`.direct`: one input channel, stride 1, at most 16 filters (LeNet-5's conv1).
- :mod:`.direct9`: one input channel, stride 1, more filters, at most nine taps (the Keras CNN's 3x3 conv1).
- :mod:`.gemm`: everything else, and always the input and bias gradients (im2col + BLAS GEMM).

Each path's docstring says what it optimises over the readable :mod:`.loops` and what that gains; the
tests check every path against :mod:`.reference` on the shapes it supports.
"""
from __future__ import annotations

import numpy as np

from . import direct, direct9, gemm
from ..runtime import _c

__all__ = ["conv2d_forward", "conv2d_backward_input", "conv2d_backward_kernel", "conv2d_backward_bias",
           "conv2d_keeps_cols"]


def _path(c: int, f: int, kh: int, kw: int, sh: int, sw: int):
    """The module computing the forward pass and kernel gradient of this conv shape."""
    if direct._direct(c, f, sh, sw):
        return direct
    if direct9._direct9(c, f, kh, kw, sh, sw):
        return direct9
    return gemm


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
    return kh * kw * c <= 16 and _path(c, f, kh, kw, sh, sw) is gemm


def conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, out: np.ndarray,
                   sh: int, sw: int, ph: int, pw: int, relu: bool = False,
                   cols: np.ndarray | None = None) -> None:
    """2-D convolution (cross-correlation), NHWC, on the path :func:`_path` picks.

    Args:
        x: input (N, H, W, C).
        w: kernel (KH, KW, C, F).
        b: bias (F,).
        out: output (N, OH, OW, F), overwritten.
        sh, sw: strides.
        ph, pw: top/left zero padding (bottom/right implied by the output shape).
        relu: apply ReLU to the output (fused, while it is in cache).
        cols: optional (N*OH*OW, KH*KW*C) array that receives the im2col matrix, so that
            :func:`conv2d_backward_kernel` can reuse it (see :func:`conv2d_keeps_cols`). Checked on every
            path, written only on the im2col path (the direct loops build none).
    """
    kh, kw, c, f = _c(w, "w").shape
    path = _path(c, f, kh, kw, int(sh), int(sw))
    if path is gemm:
        gemm.conv2d_forward(x, w, b, out, sh, sw, ph, pw, relu=relu, cols=cols)
        return
    if cols is not None:
        n, oh, ow, _ = _c(out, "out").shape
        gemm.cols_buffer(cols, n * oh * ow, kh * kw * c, _c(x, "x").dtype)
    path.conv2d_forward(x, w, b, out, sh, sw, ph, pw, relu=relu)


def conv2d_backward_input(dy: np.ndarray, w: np.ndarray, dx: np.ndarray,
                          sh: int, sw: int, ph: int, pw: int) -> None:
    """Gradient with respect to the input, ``dx = col2im(dy2 @ W2^T)`` (:mod:`.gemm` on every shape)."""
    gemm.conv2d_backward_input(dy, w, dx, sh, sw, ph, pw)


def conv2d_backward_kernel(x: np.ndarray, dy: np.ndarray, dw: np.ndarray,
                           sh: int, sw: int, ph: int, pw: int, cols: np.ndarray | None = None) -> None:
    """Gradient with respect to the kernel, on the path :func:`_path` picks; ``cols`` as kept by
    :func:`conv2d_forward` (checked on every path, read only on the im2col path)."""
    kh, kw, c, f = _c(dw, "dw").shape
    path = _path(c, f, kh, kw, int(sh), int(sw))
    if path is gemm:
        gemm.conv2d_backward_kernel(x, dy, dw, sh, sw, ph, pw, cols=cols)
        return
    if cols is not None:
        n, oh, ow, _ = _c(dy, "dy").shape
        gemm.cols_buffer(cols, n * oh * ow, kh * kw * c, _c(x, "x").dtype)
    path.conv2d_backward_kernel(x, dy, dw, sh, sw, ph, pw)


def conv2d_backward_bias(dy: np.ndarray, db: np.ndarray) -> None:
    """Bias gradient: ``db[f] = sum of dy[..., f]`` over N, OH, OW (float64 accumulation)."""
    gemm.conv2d_backward_bias(dy, db)
