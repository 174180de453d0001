"""conv2d: 2-D convolution (a cross-correlation, as in every DL framework), NHWC.

The math, once. Input ``x[n, r, s, c]`` (N, H, W, C), kernel ``w[p, q, c, f]`` (KH, KW, C, F), bias
``b[f]``, strides ``sh, sw``, top/left zero padding ``ph, pw``; output ``y[n, i, j, f]`` (N, OH, OW, F)::

    y[n, i, j, f]  = b[f] + sum_{p, q, c} x[n, i*sh - ph + p, j*sw - pw + q, c] * w[p, q, c, f]
    db[f]          = sum_{n, i, j} dy[n, i, j, f]                        (b touched every output pixel)
    dw[p, q, c, f] = sum_{n, i, j} x[n, i*sh - ph + p, j*sw - pw + q, c] * dy[n, i, j, f]
    dx[n, r, s, c] = sum dy[n, i, j, f] * w[p, q, c, f]  over r = i*sh - ph + p, s = j*sw - pw + q

(``x`` outside the image reads as zero.) Each output pixel is a dot product of one window with the kernel;
``dw`` correlates the input with ``dy``; ``dx`` sends each output's gradient back to its window, which is
a "full" correlation of ``dy`` with the flipped kernel.

Files, in reading order: :mod:`.reference` (NumPy oracle), :mod:`.loops` (the formulas above as loops, one
output element per iteration), :mod:`.cuda` (one GPU thread per output element), :mod:`.cpu` (picks a fast
path per shape: :mod:`.gemm` im2col + BLAS, :mod:`.direct` and :mod:`.direct9` for a one-channel first
layer; :mod:`.im2col` holds their window copies).

Contract (all write into caller-allocated outputs)::

    conv2d_forward(x, w, b, out, sh, sw, ph, pw, relu=False)  # relu: fused activation, applied in place
    conv2d_backward_input(dy, w, dx, sh, sw, ph, pw)           # dx (N,H,W,C) overwritten
    conv2d_backward_kernel(x, dy, dw, sh, sw, ph, pw)          # dw (KH,KW,C,F) overwritten
    conv2d_backward_bias(dy, db)                               # db (F,) overwritten

The CPU versions also take ``cols=`` (keep the im2col matrix for the kernel gradient, see
``cpu.conv2d_keeps_cols``).
"""
FUNCTIONS = ("conv2d_forward", "conv2d_backward_input", "conv2d_backward_kernel", "conv2d_backward_bias")
IMPLEMENTATIONS = {"reference": "reference", "loops": "loops", "cpu": "cpu", "gemm": "gemm",
                   "direct": "direct", "direct9": "direct9", "cuda": "cuda"}
