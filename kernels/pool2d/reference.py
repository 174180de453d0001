"""pool2d: the NumPy reference, written to be read; the oracle every other implementation is tested against.
The math is in :mod:`minidl.kernels.pool2d`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["maxpool2d_forward", "maxpool2d_backward"]


def maxpool2d_forward(x: np.ndarray, out: np.ndarray, argmax: np.ndarray,
                      kh: int, kw: int, sh: int, sw: int, ph: int, pw: int) -> None:
    """Max-pooling, NHWC, remembering which input element won.

    Args:
        x: input (N, H, W, C).
        out: output (N, OH, OW, C), overwritten.
        argmax: int64 (N, OH, OW, C), overwritten with the flat index ``h * W + w`` of the chosen input
            element: the first maximum in row-major window order; padded cells are never chosen.
        kh, kw: window size.
        sh, sw: strides.
        ph, pw: top/left padding.
    """
    n, h, wd, c = x.shape
    oh, ow = out.shape[1], out.shape[2]
    for i in range(oh):
        for j in range(ow):
            best = None
            best_idx = None
            for p in range(kh):             # row-major scan of the window
                for q in range(kw):
                    r, s = i * sh - ph + p, j * sw - pw + q
                    if not (0 <= r < h and 0 <= s < wd):
                        continue            # padding is not an input: never a candidate
                    val = x[:, r, s, :]     # (N, C)
                    if best is None:
                        best = val.copy()
                        best_idx = np.full(val.shape, r * wd + s, dtype=np.int64)
                    else:
                        better = val > best  # strict: an equal later value does not replace the first
                        best = np.where(better, val, best)
                        best_idx = np.where(better, r * wd + s, best_idx)
            out[:, i, j, :] = best
            argmax[:, i, j, :] = best_idx


def maxpool2d_backward(dy: np.ndarray, argmax: np.ndarray, dx: np.ndarray) -> None:
    """Routes each window's gradient to the input element recorded in ``argmax`` (summing overlaps).

    Args:
        dy: upstream gradient (N, OH, OW, C).
        argmax: int64 (N, OH, OW, C) from :func:`maxpool2d_forward`.
        dx: input gradient (N, H, W, C), overwritten.
    """
    n, h, wd, c = dx.shape
    dx[...] = 0
    for b in range(n):
        for ch in range(c):
            flat = np.zeros(h * wd, dtype=dx.dtype)
            np.add.at(flat, argmax[b, :, :, ch].ravel(), dy[b, :, :, ch].ravel())
            dx[b, :, :, ch] = flat.reshape(h, wd)

