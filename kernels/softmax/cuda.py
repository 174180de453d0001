"""softmax: ``numba.cuda`` kernels plus their launch wrappers (one GPU thread per output element; see
:mod:`minidl.kernels.cuda` for the layout of a CUDA kernel). Same names and arguments as :mod:`.reference`,
on device arrays.
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda

from ..cuda_runtime import _check, _dummy, _elementwise, _launch_1d, _same_size, _sigmoid

__all__ = ["softmax_forward", "softmax_backward", "log_softmax_forward", "log_softmax_backward", "softmax_xent_sparse_forward", "softmax_xent_sparse_backward", "softmax_xent_dense_forward", "softmax_xent_dense_backward", "bce_logits_forward", "bce_logits_backward"]


@cuda.jit(device=True)
def _row_max_lse(x, r):
    """(max, log-sum-exp) of row r, the max subtracted before exp so nothing overflows."""
    k = x.shape[1]
    mx = x[r, 0]
    for j in range(1, k):
        if x[r, j] > mx:
            mx = x[r, j]
    s = 0.0
    for j in range(k):
        s += math.exp(x[r, j] - mx)
    return mx, mx + math.log(s)


@cuda.jit
def _softmax_kernel(x, out, log):
    r = cuda.grid(1)
    if r >= x.shape[0]:
        return
    mx, lse = _row_max_lse(x, r)
    for j in range(x.shape[1]):
        if log:
            out[r, j] = x[r, j] - lse
        else:
            out[r, j] = math.exp(x[r, j] - lse)


@cuda.jit
def _softmax_backward_kernel(y, dy, dx):
    r = cuda.grid(1)
    if r >= y.shape[0]:
        return
    s = 0.0
    for j in range(y.shape[1]):
        s += dy[r, j] * y[r, j]
    for j in range(y.shape[1]):
        dx[r, j] = y[r, j] * (dy[r, j] - s)


@cuda.jit
def _log_softmax_backward_kernel(y, dy, dx):
    r = cuda.grid(1)
    if r >= y.shape[0]:
        return
    s = 0.0
    for j in range(y.shape[1]):
        s += dy[r, j]
    for j in range(y.shape[1]):
        dx[r, j] = dy[r, j] - math.exp(y[r, j]) * s


def _rows(kernel, first, *args) -> None:
    _check(first.ndim == 2, "row-wise kernel: arrays must be 2-D (M, K)")
    if first.shape[0] == 0 or first.shape[1] == 0:
        return
    blocks, threads = _launch_1d(first.shape[0])
    kernel[blocks, threads](first, *args)


def softmax_forward(x, out) -> None:
    """out = softmax(x) over the last axis (max-subtracted)."""
    _rows(_softmax_kernel, x, out, False)


def softmax_backward(y, dy, dx) -> None:
    """dx = y * (dy - sum(dy * y)) row by row."""
    _rows(_softmax_backward_kernel, y, dy, dx)


def log_softmax_forward(x, out) -> None:
    """out = x - logsumexp(x) over the last axis."""
    _rows(_softmax_kernel, x, out, True)


def log_softmax_backward(y, dy, dx) -> None:
    """dx = dy - exp(y) * sum(dy) row by row (y = log-softmax output)."""
    _rows(_log_softmax_backward_kernel, y, dy, dx)


@cuda.jit
def _xent_forward_kernel(x, labels, target, probs, losses, sparse):
    # Per row: probs = softmax(x); loss = -sum_j t_j log p_j = sum_j t_j (lse - x_j), or lse - x[label].
    r = cuda.grid(1)
    if r >= x.shape[0]:
        return
    mx, lse = _row_max_lse(x, r)
    for j in range(x.shape[1]):
        probs[r, j] = math.exp(x[r, j] - lse)
    if sparse:
        losses[r] = lse - x[r, labels[r]]
    else:
        s = 0.0
        for j in range(x.shape[1]):
            s += target[r, j] * (lse - x[r, j])
        losses[r] = s


@cuda.jit
def _xent_backward_kernel(probs, labels, target, dlogits, scale, sparse):
    r = cuda.grid(1)
    if r >= probs.shape[0]:
        return
    if sparse:
        for j in range(probs.shape[1]):
            dlogits[r, j] = probs[r, j] * scale
        lab = labels[r]
        dlogits[r, lab] = (probs[r, lab] - 1.0) * scale
    else:
        ts = 0.0
        for j in range(probs.shape[1]):
            ts += target[r, j]
        for j in range(probs.shape[1]):
            dlogits[r, j] = (probs[r, j] * ts - target[r, j]) * scale


def _mean_of_device(losses, count: int) -> float:
    # The per-element losses come back to the host and are summed there in float64: a handful of numbers
    # per batch, so a device reduction would not pay for its complexity.
    return float(losses.copy_to_host().sum(dtype=np.float64) / count) if count else float("nan")


def softmax_xent_sparse_forward(logits, labels, probs) -> float:
    """probs = softmax(logits); returns mean over rows of -log probs[row, label] (labels int64 (M,))."""
    _check(logits.ndim == 2 and labels.shape == (logits.shape[0],), "xent: labels must have shape (M,)")
    m = logits.shape[0]
    losses = cuda.device_array(m, dtype=np.float64)
    _rows(_xent_forward_kernel, logits, labels, _dummy(logits.dtype).reshape(1, 1), probs, losses, True)
    return _mean_of_device(losses, m)


def softmax_xent_sparse_backward(probs, labels, dlogits, scale) -> None:
    """dlogits = (probs - onehot(labels)) * scale."""
    _rows(_xent_backward_kernel, probs, labels, _dummy(probs.dtype).reshape(1, 1), dlogits,
          float(scale), True)


def softmax_xent_dense_forward(logits, target, probs) -> float:
    """probs = softmax(logits); returns mean over rows of -sum(target * log probs)."""
    _check(tuple(target.shape) == tuple(logits.shape), "xent: target must be shaped like logits")
    m = logits.shape[0]
    losses = cuda.device_array(m, dtype=np.float64)
    _rows(_xent_forward_kernel, logits, _dummy(np.int64), target, probs, losses, False)
    return _mean_of_device(losses, m)


def softmax_xent_dense_backward(probs, target, dlogits, scale) -> None:
    """dlogits = (probs * sum(target) - target) * scale, row by row."""
    _rows(_xent_backward_kernel, probs, _dummy(np.int64), target, dlogits, float(scale), False)


@cuda.jit
def _bce_forward_kernel(z, t, p, losses):
    i = cuda.grid(1)
    if i < z.size:
        v = z[i]
        losses[i] = max(v, 0.0) - v * t[i] + math.log1p(math.exp(-abs(v)))
        p[i] = _sigmoid(v)


@cuda.jit
def _bce_backward_kernel(p, t, dz, scale):
    i = cuda.grid(1)
    if i < dz.size:
        dz[i] = (p[i] - t[i]) * scale


def bce_logits_forward(z, t, p) -> float:
    """Mean over all elements of max(z,0) - z t + log(1 + exp(-|z|)) (binary cross-entropy on logits);
    p = sigmoid(z) for the backward pass."""
    n = _same_size(z, t, p)
    losses = cuda.device_array(max(n, 1), dtype=np.float64)
    _elementwise(_bce_forward_kernel, z, t, p, losses, n=n)
    return _mean_of_device(losses[:n], n)


def bce_logits_backward(p, t, dz, scale) -> None:
    """dz = (p - t) * scale, p = sigmoid(z) from the forward pass."""
    _elementwise(_bce_backward_kernel, p, t, dz, float(scale), n=_same_size(p, t, dz))

