"""Convolution and max-pooling as differentiable Functions (NHWC images, Keras padding).

Forward and backward of each op sit side by side; the arithmetic lives in the kernels
(:mod:`minidl.kernels.cpu`, :mod:`minidl.kernels.cuda`, oracle :mod:`minidl.kernels.reference`), called
through the kernel table, so the same class serves every device.

Convolution (a cross-correlation, as in every framework)::

    y[n, i, j, f] = b[f] + sum_{p, q, c} x_pad[n, i*sh + p, j*sw + q, c] * w[p, q, c, f]

Backward, for an upstream gradient dy = dL/dy:

- ``db[f] = sum_{n,i,j} dy[n, i, j, f]``: the bias touched every output pixel once.
- ``dw[p, q, c, f] = sum_{n,i,j} x_pad[n, i*sh + p, j*sw + q, c] * dy[n, i, j, f]``: each weight met
  every input pixel its window slid over, weighted by that window's gradient (correlate x with dy).
- ``dx``: every input pixel sent its value into each window that covered it, so it collects those
  windows' gradients through the same weight: a "full" convolution of dy with the flipped kernel, which
  the kernels compute as ``col2im(dy @ W^T)``.

Transposed convolution (Keras ``Conv2DTranspose``, kernel ``k (KH, KW, F, C)``: F output channels, C
input channels) is the adjoint of the convolution ``A_k`` that maps (N, OH, OW, F) images to (N, H, W, C)
ones with the same kernel, strides and padding::

    conv2d_transpose(x, k) = A_k^T x,   i.e.   <conv2d_transpose(x, k), u> = <x, conv2d(u, k)>  for all u

so each input pixel ``x[n, i, j, :]`` is multiplied by the kernel and *scattered* onto the window that
starts at output pixel ``(i*sh - ph, j*sw - pw)``. That is exactly what the convolution's input-gradient
kernel computes (with x in the role of dy), and the gradients follow from the adjoint identity:

- forward: ``y = conv2d_backward_input(dy=x, w=k)``.
- ``dx = conv2d(dy, k)``: the forward convolution kernel applied to the upstream gradient.
- ``dk = conv2d_backward_kernel(x=dy, dy=x)``: the kernel-gradient kernel with the roles swapped.

Output size per axis (Keras ``deconv_output_length`` without output_padding)::

    valid: out = H * s + max(k - s, 0)   (= (H - 1) * s + k when k >= s)
    same:  out = H * s,  padding ph = max(k - s, 0) // 2 on top (the rest at the bottom)

these are the sizes ``out`` for which ``conv2d`` with the same padding brings ``out`` back to ``H``, and
``ph`` is the padding that convolution would use, so the transposed op is its exact adjoint.

Max-pooling passes each window's gradient to the one element that was the maximum (the first in row-major
order on ties), since a small change of any other element does not change the output.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import kernel_table
from ..autograd import Function, Tensor, is_grad_enabled
from ..kernels.shapes import as_pair, conv_output_size
from ._boundary import as_tensor, contiguous, same_device

__all__ = [
    "Conv2D", "Conv2DTranspose", "MaxPool2D", "conv2d", "conv2d_transpose", "max_pool2d", "conv2d_output_shape",
    "conv2d_transpose_output_shape", "pool2d_output_shape",
]


def _spatial(h: int, w: int, k: tuple[int, int], s: tuple[int, int], padding: str) -> tuple[int, int, int, int]:
    oh, ph, _ = conv_output_size(h, k[0], s[0], padding)
    ow, pw, _ = conv_output_size(w, k[1], s[1], padding)
    return oh, ow, ph, pw


def conv2d_output_shape(input_shape: tuple, kernel_shape: tuple, strides: Any = 1, padding: str = "valid") -> tuple:
    """Output shape (N, OH, OW, F) of :func:`conv2d`; N may be None (as in Keras summaries)."""
    n, h, w, _ = input_shape
    oh, ow, _, _ = _spatial(h, w, kernel_shape[:2], as_pair(strides, "strides"), padding)
    return (n, oh, ow, kernel_shape[3])


def pool2d_output_shape(input_shape: tuple, pool_size: Any = 2, strides: Any = None, padding: str = "valid") -> tuple:
    """Output shape (N, OH, OW, C) of :func:`max_pool2d`."""
    n, h, w, c = input_shape
    k = as_pair(pool_size, "pool_size")
    s = k if strides is None else as_pair(strides, "strides")
    oh, ow, _, _ = _spatial(h, w, k, s, padding)
    return (n, oh, ow, c)


class Conv2D(Function):
    """y = act(conv2d(x, w) + b). Inputs x (N,H,W,C), w (KH,KW,C,F), optional b (F,); act 'linear' or 'relu'.

    ReLU is fused because a conv layer is almost always followed by one: the conv kernel applies it in
    place on each chunk of the output while that is still in cache (no second (N,OH,OW,F) array, no
    second pass over memory), and its backward mask is ``y > 0``, which equals ``pre-activation > 0``, so
    nothing else needs keeping.
    """

    def forward(self, x, w, b=None, strides=(1, 1), padding="valid", activation="linear"):
        B = kernel_table.of(x)
        n, h, wd, c = x.shape
        kh, kw, _, f = w.shape
        oh, ow, ph, pw = _spatial(h, wd, (kh, kw), strides, padding)
        self.B, self.x, self.w, self.has_bias = B, x, w, b is not None
        self.geom = (strides[0], strides[1], ph, pw)
        out = B.empty((n, oh, ow, f), dtype=x.dtype)
        bias = b if b is not None else B.zeros(f, dtype=x.dtype)
        self.cols = None
        keeps = getattr(B, "keeps_cols", None)  # a backend that can keep the im2col matrix says when it pays
        relu = activation == "relu"  # applied by the kernel while each chunk of the output is in cache
        if keeps is not None and keeps(c, f, kh, kw, *strides) and self.needs_input_grad[1] and is_grad_enabled():
            self.cols = B.empty((n * oh * ow, kh * kw * c), dtype=x.dtype)
            B.conv2d_forward(x, w, bias, out, *self.geom, cols=self.cols, relu=relu)
        else:
            B.conv2d_forward(x, w, bias, out, *self.geom, relu=relu)
        self.out = out if relu else None
        return out

    def backward(self, dy):
        B, x, w = self.B, self.x, self.w
        dy = np.ascontiguousarray(dy) if isinstance(dy, np.ndarray) else dy
        if self.out is not None:  # through the fused ReLU first
            dpre = B.empty(dy.shape, dtype=dy.dtype)
            B.relu_backward(self.out, dy, dpre)
            dy = dpre
        dx = dw = db = None
        if self.needs_input_grad[0]:
            dx = B.empty(x.shape, dtype=x.dtype)
            B.conv2d_backward_input(dy, w, dx, *self.geom)
        if self.needs_input_grad[1]:
            dw = B.empty(w.shape, dtype=w.dtype)
            if self.cols is not None:
                B.conv2d_backward_kernel(x, dy, dw, *self.geom, cols=self.cols)
            else:
                B.conv2d_backward_kernel(x, dy, dw, *self.geom)
        self.cols = None
        if self.has_bias:
            if self.needs_input_grad[2]:
                db = B.empty((w.shape[3],), dtype=w.dtype)
                B.conv2d_backward_bias(dy, db)
            return dx, dw, db
        return dx, dw


def conv2d(x: Tensor, kernel: Tensor, bias: Tensor | None = None, strides: Any = 1, padding: str = "valid",
           activation: str | None = None) -> Tensor:
    """2-D convolution of NHWC images.

    Args:
        x: (N, H, W, C_in).
        kernel: (KH, KW, C_in, C_out).
        bias: optional (C_out,).
        strides: int or pair (sh, sw), > 0.
        padding: 'valid' (no padding) or 'same' (output size ceil(H / s); extra padding bottom/right).
        activation: None / 'linear', or 'relu' (fused: applied in place, its gradient from the output).

    Returns:
        (N, OH, OW, C_out).

    Raises:
        ValueError: naming the argument for a wrong rank, a channel mismatch, a bias of the wrong shape,
            strides <= 0, an unknown padding or activation, or a kernel larger than the input under 'valid'.
    """
    act = "linear" if activation is None else activation
    if act not in ("linear", "relu"):
        raise ValueError(f"conv2d: activation must be None, 'linear' or 'relu', got {activation!r}")
    x, kernel = as_tensor(x), as_tensor(kernel)
    same_device("conv2d", x, kernel, bias)
    if x.ndim != 4:
        raise ValueError(f"conv2d: x must be 4-D (N, H, W, C), got shape {x.shape}")
    if kernel.ndim != 4:
        raise ValueError(f"conv2d: kernel must be 4-D (KH, KW, C_in, C_out), got shape {kernel.shape}")
    if x.shape[3] != kernel.shape[2]:
        raise ValueError(
            f"conv2d: channel mismatch: x has {x.shape[3]} channels (shape {x.shape}) but the kernel "
            f"expects {kernel.shape[2]} (shape {kernel.shape})"
        )
    s = as_pair(strides, "strides")
    _spatial(x.shape[1], x.shape[2], kernel.shape[:2], s, padding)  # validates padding and window size
    dt = np.result_type(x.dtype, kernel.dtype)
    args = [contiguous(x, dt), contiguous(kernel, dt)]
    if bias is not None:
        bias = as_tensor(bias)
        if bias.shape != (kernel.shape[3],):
            raise ValueError(f"conv2d: bias must have shape ({kernel.shape[3]},), got {bias.shape}")
        args.append(contiguous(bias, dt))
    return Conv2D.apply(*args, strides=s, padding=padding, activation=act)


def _transpose_spatial(h: int, w: int, k: tuple[int, int], s: tuple[int, int],
                       padding: str) -> tuple[int, int, int, int]:
    """(OH, OW, ph, pw) of a transposed convolution: the sizes and top/left padding of the convolution it
    is the adjoint of (see the module docstring)."""
    if padding not in ("valid", "same"):
        _spatial(h, w, k, s, padding)  # raises the usual 'unknown padding' error
    sizes = []
    for size, kk, ss in ((h, k[0], s[0]), (w, k[1], s[1])):
        out = size * ss + (max(kk - ss, 0) if padding == "valid" else 0)
        _, pad, _ = conv_output_size(out, kk, ss, padding)
        sizes.append((out, pad))
    return sizes[0][0], sizes[1][0], sizes[0][1], sizes[1][1]


def conv2d_transpose_output_shape(input_shape: tuple, kernel_shape: tuple, strides: Any = 1,
                                  padding: str = "valid") -> tuple:
    """Output shape (N, OH, OW, F) of :func:`conv2d_transpose` for a kernel (KH, KW, F, C); N may be None."""
    n, h, w, _ = input_shape
    oh, ow, _, _ = _transpose_spatial(h, w, tuple(kernel_shape[:2]), as_pair(strides, "strides"), padding)
    return (n, oh, ow, kernel_shape[2])


class Conv2DTranspose(Function):
    """y = A_k^T x (no bias). Inputs x (N,H,W,C), k (KH,KW,F,C); output (N,OH,OW,F)."""

    def forward(self, x, w, strides=(1, 1), padding="valid"):
        B = kernel_table.of(x)
        n, h, wd, _ = x.shape
        kh, kw, f, _ = w.shape
        oh, ow, ph, pw = _transpose_spatial(h, wd, (kh, kw), strides, padding)
        self.B, self.x, self.w = B, x, w
        self.geom = (strides[0], strides[1], ph, pw)
        out = B.empty((n, oh, ow, f), dtype=x.dtype)
        B.conv2d_backward_input(x, w, out, *self.geom)  # scatter each pixel times the kernel
        return out

    def backward(self, dy):
        B, x, w = self.B, self.x, self.w
        dy = np.ascontiguousarray(dy) if isinstance(dy, np.ndarray) else dy
        dx = dw = None
        if self.needs_input_grad[0]:
            dx = B.empty(x.shape, dtype=x.dtype)
            B.conv2d_forward(dy, w, B.zeros(w.shape[3], dtype=x.dtype), dx, *self.geom)
        if self.needs_input_grad[1]:
            dw = B.empty(w.shape, dtype=w.dtype)
            B.conv2d_backward_kernel(dy, x, dw, *self.geom)
        return dx, dw


def conv2d_transpose(x: Tensor, kernel: Tensor, bias: Tensor | None = None, strides: Any = 1,
                     padding: str = "valid") -> Tensor:
    """Transposed 2-D convolution of NHWC images (Keras ``Conv2DTranspose``; the gradient of
    :func:`conv2d` with respect to its input).

    Args:
        x: (N, H, W, C_in).
        kernel: (KH, KW, C_out, C_in), Keras's transpose layout.
        bias: optional (C_out,).
        strides: int or pair (sh, sw), > 0.
        padding: 'valid' (OH = H * sh + max(KH - sh, 0)) or 'same' (OH = H * sh).

    Returns:
        (N, OH, OW, C_out).

    Raises:
        ValueError: naming the argument for a wrong rank, a channel mismatch, a bias of the wrong shape,
            strides <= 0 or an unknown padding.
    """
    x, kernel = as_tensor(x), as_tensor(kernel)
    same_device("conv2d_transpose", x, kernel, bias)
    if x.ndim != 4:
        raise ValueError(f"conv2d_transpose: x must be 4-D (N, H, W, C), got shape {x.shape}")
    if kernel.ndim != 4:
        raise ValueError(f"conv2d_transpose: kernel must be 4-D (KH, KW, C_out, C_in), got shape {kernel.shape}")
    if x.shape[3] != kernel.shape[3]:
        raise ValueError(
            f"conv2d_transpose: channel mismatch: x has {x.shape[3]} channels (shape {x.shape}) but the kernel "
            f"(KH, KW, C_out, C_in) expects {kernel.shape[3]} (shape {kernel.shape})"
        )
    s = as_pair(strides, "strides")
    _transpose_spatial(x.shape[1], x.shape[2], kernel.shape[:2], s, padding)  # validates padding
    if bias is not None:
        bias = as_tensor(bias)
        if bias.shape != (kernel.shape[2],):
            raise ValueError(f"conv2d_transpose: bias must have shape ({kernel.shape[2]},), got {bias.shape}")
    dt = np.result_type(x.dtype, kernel.dtype)
    out = Conv2DTranspose.apply(contiguous(x, dt), contiguous(kernel, dt), strides=s, padding=padding)
    # The bias broadcasts over N, OH, OW (a generic op, so it runs on every device); autograd sums dy
    # over those axes for its gradient.
    return out if bias is None else out + contiguous(bias, dt)


class MaxPool2D(Function):
    """Max over KHxKW windows of NHWC images; the gradient goes to each window's argmax."""

    def forward(self, x, pool=(2, 2), strides=(2, 2), padding="valid"):
        B = kernel_table.of(x)
        n, h, w, c = x.shape
        oh, ow, ph, pw = _spatial(h, w, pool, strides, padding)
        out = B.empty((n, oh, ow, c), dtype=x.dtype)
        self.argmax = B.empty((n, oh, ow, c), dtype=np.int64)
        B.maxpool2d_forward(x, out, self.argmax, pool[0], pool[1], strides[0], strides[1], ph, pw)
        self.B, self.x_shape, self.dtype = B, x.shape, x.dtype
        return out

    def backward(self, dy):
        dy = np.ascontiguousarray(dy) if isinstance(dy, np.ndarray) else dy
        dx = self.B.empty(self.x_shape, dtype=self.dtype)
        self.B.maxpool2d_backward(dy, self.argmax, dx)
        return dx


def max_pool2d(x: Tensor, pool_size: Any = 2, strides: Any = None, padding: str = "valid") -> Tensor:
    """Max-pooling of NHWC images.

    Args:
        x: (N, H, W, C).
        pool_size: int or pair; strides default to pool_size.
        padding: 'valid' or 'same' (padded cells never win).

    Returns:
        (N, OH, OW, C).

    Raises:
        ValueError: for a wrong rank, sizes/strides <= 0, an unknown padding, or a window larger than the
            input under 'valid'.
    """
    x = as_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"max_pool2d: x must be 4-D (N, H, W, C), got shape {x.shape}")
    k = as_pair(pool_size, "pool_size")
    s = k if strides is None else as_pair(strides, "strides")
    _spatial(x.shape[1], x.shape[2], k, s, padding)
    return MaxPool2D.apply(contiguous(x), pool=k, strides=s, padding=padding)
