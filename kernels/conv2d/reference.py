"""conv2d: the NumPy reference, written to be read; the oracle every other implementation is tested against.
The math is in :mod:`minidl.kernels.conv2d`.
"""
from __future__ import annotations

import numpy as np

from ..activations.reference import relu_forward

__all__ = ["conv2d_forward", "conv2d_backward_input", "conv2d_backward_kernel", "conv2d_backward_bias"]


def _padded(x: np.ndarray, oh: int, ow: int, kh: int, kw: int, sh: int, sw: int, ph: int, pw: int):
    """Zero-pads NHWC ``x`` by ``ph, pw`` on the top/left and enough on the bottom/right for every window."""
    n, h, w, c = x.shape
    hp = max(h + ph, (oh - 1) * sh + kh)
    wp = max(w + pw, (ow - 1) * sw + kw)
    xp = np.zeros((n, hp, wp, c), dtype=x.dtype)
    xp[:, ph:ph + h, pw:pw + w, :] = x
    return xp


def conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, out: np.ndarray,
                   sh: int, sw: int, ph: int, pw: int, relu: bool = False) -> None:
    """2-D convolution (cross-correlation), NHWC.

    Args:
        x: input (N, H, W, C).
        w: kernel (KH, KW, C, F).
        b: bias (F,).
        out: output (N, OH, OW, F), overwritten.
        sh, sw: strides.
        ph, pw: top/left zero padding.
        relu: apply ReLU to the output (a layer's fused activation).
    """
    kh, kw = w.shape[0], w.shape[1]
    oh, ow = out.shape[1], out.shape[2]
    xp = _padded(x, oh, ow, kh, kw, sh, sw, ph, pw)
    for i in range(oh):
        for j in range(ow):
            window = xp[:, i * sh:i * sh + kh, j * sw:j * sw + kw, :]          # (N, KH, KW, C)
            out[:, i, j, :] = np.einsum("npqc,pqcf->nf", window, w) + b
    if relu:
        relu_forward(out, out)


def conv2d_backward_input(dy: np.ndarray, w: np.ndarray, dx: np.ndarray,
                          sh: int, sw: int, ph: int, pw: int) -> None:
    """Gradient of the convolution with respect to its input.

    Args:
        dy: upstream gradient (N, OH, OW, F).
        w: kernel (KH, KW, C, F).
        dx: input gradient (N, H, W, C), overwritten.
        sh, sw, ph, pw: as in :func:`conv2d_forward`.
    """
    n, h, wd, c = dx.shape
    kh, kw = w.shape[0], w.shape[1]
    oh, ow = dy.shape[1], dy.shape[2]
    dxp = _padded(np.zeros_like(dx), oh, ow, kh, kw, sh, sw, ph, pw)
    for i in range(oh):
        for j in range(ow):
            dxp[:, i * sh:i * sh + kh, j * sw:j * sw + kw, :] += np.einsum("nf,pqcf->npqc", dy[:, i, j, :], w)
    dx[...] = dxp[:, ph:ph + h, pw:pw + wd, :]


def conv2d_backward_kernel(x: np.ndarray, dy: np.ndarray, dw: np.ndarray,
                           sh: int, sw: int, ph: int, pw: int) -> None:
    """Gradient of the convolution with respect to its kernel.

    Args:
        x: input (N, H, W, C).
        dy: upstream gradient (N, OH, OW, F).
        dw: kernel gradient (KH, KW, C, F), overwritten.
        sh, sw, ph, pw: as in :func:`conv2d_forward`.
    """
    kh, kw = dw.shape[0], dw.shape[1]
    oh, ow = dy.shape[1], dy.shape[2]
    xp = _padded(x, oh, ow, kh, kw, sh, sw, ph, pw)
    acc = np.zeros(dw.shape, dtype=dw.dtype)
    for i in range(oh):
        for j in range(ow):
            window = xp[:, i * sh:i * sh + kh, j * sw:j * sw + kw, :]
            acc += np.einsum("npqc,nf->pqcf", window, dy[:, i, j, :])
    dw[...] = acc


def conv2d_backward_bias(dy: np.ndarray, db: np.ndarray) -> None:
    """Bias gradient: ``db[f] = sum of dy[..., f]`` over N, OH, OW.

    Args:
        dy: upstream gradient (N, OH, OW, F).
        db: (F,), overwritten.
    """
    db[...] = dy.sum(axis=(0, 1, 2))

