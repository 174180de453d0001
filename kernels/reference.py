"""Reference kernels: plain NumPy, written to be read. The oracle every other backend is tested against.

Speed is irrelevant here; every function follows the contract in :mod:`minidl.kernels` (same names, same
argument order, results written into the caller's ``out`` arrays). The math, briefly:

Convolution (really a cross-correlation, as in every DL framework). With the input zero-padded by
``ph, pw`` on the top/left (and as much as needed on the bottom/right)::

    y[n, i, j, f] = b[f] + sum_{p, q, c} xpad[n, i*sh + p, j*sw + q, c] * w[p, q, c, f]

Each output pixel is a dot product between one window of the input and the kernel. Differentiating:

* ``db[f] = sum_{n, i, j} dy[n, i, j, f]``: the bias is added to every output pixel, so its gradient
  collects the upstream gradient of all of them.
* ``dw[p, q, c, f] = sum_{n, i, j} xpad[n, i*sh + p, j*sw + q, c] * dy[n, i, j, f]``: the weight gradient
  correlates the input with ``dy`` (each weight saw one input value per output pixel).
* ``dxpad[n, i*sh + p, j*sw + q, c] += dy[n, i, j, f] * w[p, q, c, f]``: every output pixel sends its
  gradient back to the window it came from, weighted by the kernel. Summing those overlapping windows is
  a "full" correlation of (the stride-dilated) ``dy`` with the spatially flipped kernel; in matrix form
  it is ``col2im(dy @ W^T)``, where ``W`` is the kernel reshaped to ``(KH*KW*C, F)``. Cropping the padding
  off ``dxpad`` gives ``dx``.

Max-pooling picks one element per window, so it is locally the identity on that element and constant on
the others: the gradient of each window goes entirely to its argmax. Ties go to the FIRST maximum in
row-major window order, and padded cells are never candidates (they are not inputs).

Softmax ``p = exp(x - max) / sum(exp(x - max))`` (subtracting the row max changes nothing mathematically
and keeps ``exp`` from overflowing). Its Jacobian is ``diag(p) - p p^T``, so the vector-Jacobian product is
``dx = p * (dy - sum(dy * p))``. For log-softmax ``l = x - logsumexp(x)`` the Jacobian is ``I - 1 p^T``,
so ``dx = dy - p * sum(dy)`` with ``p = exp(l)``.

Softmax + cross-entropy fused: ``loss = -sum_k t_k log p_k = -sum_k t_k (x_k - logsumexp(x))``, so
``d loss / d x_k = p_k * sum(t) - t_k``, which is ``p - t`` for a one-hot or probability target. Computing
the loss from log-softmax (never ``log(p)``) keeps it finite for a confident wrong prediction, where
``p`` underflows to 0.

Stable binary cross-entropy with logits: ``max(z, 0) - z t + log(1 + exp(-|z|))``, gradient
``sigmoid(z) - t``.
"""
from __future__ import annotations

import numpy as np

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


# ----------------------------------------------------------------------------------------------------
# Convolution
# ----------------------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------------------
# Max-pooling
# ----------------------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------------------
# Element-wise activations
# ----------------------------------------------------------------------------------------------------
def _sigmoid(x: np.ndarray) -> np.ndarray:
    """Two-branch sigmoid: never evaluates exp of a large positive number."""
    e = np.exp(-np.abs(x))                  # in (0, 1]
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def relu_forward(x: np.ndarray, out: np.ndarray) -> None:
    """``out = max(x, 0)``, any shape."""
    out[...] = np.where(x > 0, x, 0)


def relu_backward(x: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> None:
    """``dx = dy * (x > 0)``, any shape."""
    dx[...] = np.where(x > 0, dy, 0)


def sigmoid_forward(x: np.ndarray, out: np.ndarray) -> None:
    """``out = 1 / (1 + exp(-x))``, computed without overflow, any shape."""
    out[...] = _sigmoid(x)


def sigmoid_backward(y: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> None:
    """``dx = dy * y * (1 - y)`` where ``y = sigmoid(x)``, any shape."""
    dx[...] = dy * y * (1 - y)


def tanh_forward(x: np.ndarray, out: np.ndarray) -> None:
    """``out = tanh(x)``, any shape."""
    out[...] = np.tanh(x)


def tanh_backward(y: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> None:
    """``dx = dy * (1 - y**2)`` where ``y = tanh(x)``, any shape."""
    dx[...] = dy * (1 - y * y)


def _act(z: np.ndarray, code: int) -> np.ndarray:
    """Activation by code: 0 linear, 1 relu, 2 sigmoid, 3 tanh."""
    if code == 0:
        return z
    if code == 1:
        return np.where(z > 0, z, 0).astype(z.dtype, copy=False)
    if code == 2:
        return _sigmoid(z)
    if code == 3:
        return np.tanh(z)
    raise ValueError(f"unknown activation code {code}")


def _act_grad_from_output(a: np.ndarray, code: int) -> np.ndarray:
    """Derivative of the activation, written in terms of its output ``a``."""
    if code == 0:
        return np.ones_like(a)
    if code == 1:
        return (a > 0).astype(a.dtype)
    if code == 2:
        return a * (1 - a)
    if code == 3:
        return 1 - a * a
    raise ValueError(f"unknown activation code {code}")


# ----------------------------------------------------------------------------------------------------
# Row-wise softmax family, (M, K)
# ----------------------------------------------------------------------------------------------------
def _log_softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax_forward(x: np.ndarray, out: np.ndarray) -> None:
    """Row-wise softmax of (M, K), with the row max subtracted first."""
    e = np.exp(x - x.max(axis=1, keepdims=True))
    out[...] = e / e.sum(axis=1, keepdims=True)


def softmax_backward(y: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> None:
    """``dx = y * (dy - sum(dy * y))`` row-wise; ``y`` is the softmax output (M, K)."""
    dx[...] = y * (dy - (dy * y).sum(axis=1, keepdims=True))


def log_softmax_forward(x: np.ndarray, out: np.ndarray) -> None:
    """Row-wise log-softmax ``x - logsumexp(x)`` of (M, K)."""
    out[...] = _log_softmax(x)


def log_softmax_backward(y: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> None:
    """``dx = dy - exp(y) * sum(dy)`` row-wise; ``y`` is the log-softmax output (M, K)."""
    dx[...] = dy - np.exp(y) * dy.sum(axis=1, keepdims=True)


def softmax_xent_sparse_forward(logits: np.ndarray, labels: np.ndarray, probs: np.ndarray) -> float:
    """Softmax + cross-entropy with integer labels.

    Args:
        logits: (M, K).
        labels: int64 (M,), each in [0, K).
        probs: (M, K), overwritten with the softmax of ``logits`` (for the backward pass).

    Returns:
        The mean over rows of ``-log_softmax(logits)[m, labels[m]]``.
    """
    logp = _log_softmax(logits)
    probs[...] = np.exp(logp)
    m = logits.shape[0]
    return float(-logp[np.arange(m), labels].sum() / m)


def softmax_xent_sparse_backward(probs: np.ndarray, labels: np.ndarray, dlogits: np.ndarray,
                                 scale: float) -> None:
    """``dlogits = (probs - onehot(labels)) * scale`` (scale is typically upstream / M)."""
    g = probs.copy()
    g[np.arange(probs.shape[0]), labels] -= 1
    dlogits[...] = g * scale


def softmax_xent_dense_forward(logits: np.ndarray, target: np.ndarray, probs: np.ndarray) -> float:
    """Softmax + cross-entropy with a dense (one-hot or probability) target (M, K).

    Returns:
        The mean over rows of ``-sum_k target * log_softmax(logits)``; ``probs`` is overwritten with the
        softmax.
    """
    logp = _log_softmax(logits)
    probs[...] = np.exp(logp)
    return float(-(target * logp).sum() / logits.shape[0])


def softmax_xent_dense_backward(probs: np.ndarray, target: np.ndarray, dlogits: np.ndarray,
                                scale: float) -> None:
    """``dlogits = (probs * sum(target, row) - target) * scale``."""
    dlogits[...] = (probs * target.sum(axis=1, keepdims=True) - target) * scale


def bce_logits_forward(z: np.ndarray, t: np.ndarray, p: np.ndarray) -> float:
    """Mean over all elements of ``max(z, 0) - z t + log(1 + exp(-|z|))``, any shape; also writes
    ``p = sigmoid(z)`` for the backward pass (like the fused softmax + cross-entropy)."""
    p[...] = _sigmoid(z)
    return float(np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))))


def bce_logits_backward(p: np.ndarray, t: np.ndarray, dz: np.ndarray, scale: float) -> None:
    """``dz = (p - t) * scale`` with ``p = sigmoid(z)`` from the forward pass, any shape.

    Why: d/dz [max(z, 0) - z t + log(1 + exp(-|z|))] = sigmoid(z) - t on both sides of 0."""
    dz[...] = (p - t) * scale


# ----------------------------------------------------------------------------------------------------
# Dense
# ----------------------------------------------------------------------------------------------------
def dense_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """``out = x @ w + b``; x (N, I), w (I, O), b (O,), out (N, O)."""
    out[...] = np.einsum("ni,io->no", x, w) + b


def dense_backward(x: np.ndarray, w: np.ndarray, dy: np.ndarray,
                   dx: np.ndarray, dw: np.ndarray, db: np.ndarray) -> None:
    """``dx = dy @ w.T``, ``dw = x.T @ dy``, ``db = sum(dy, 0)``; all overwritten."""
    dx[...] = np.einsum("no,io->ni", dy, w)
    dw[...] = np.einsum("ni,no->io", x, dy)
    db[...] = dy.sum(axis=0)


# ----------------------------------------------------------------------------------------------------
# Dropout
# ----------------------------------------------------------------------------------------------------
def dropout_forward(x: np.ndarray, u: np.ndarray, rate: float, out: np.ndarray, mask: np.ndarray) -> None:
    """Inverted dropout with caller-given uniforms.

    ``mask = (u >= rate) / (1 - rate)`` (all zeros when ``rate >= 1``); ``out = x * mask``.
    """
    keep = 1.0 / (1.0 - rate) if rate < 1 else 0.0
    mask[...] = np.where(u >= rate, keep, 0.0)
    out[...] = x * mask


def dropout_backward(dy: np.ndarray, mask: np.ndarray, dx: np.ndarray) -> None:
    """``dx = dy * mask``."""
    dx[...] = dy * mask


# ----------------------------------------------------------------------------------------------------
# Tied-weight autoencoder
# ----------------------------------------------------------------------------------------------------
def tied_ae_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray, c: np.ndarray,
                    y: np.ndarray, xhat: np.ndarray, enc: int, dec: int) -> None:
    """``y = h(x W + b)``; ``xhat = g(y W^T + c)`` with ``h``, ``g`` given by activation codes.

    Args:
        x: (N, D). W: (D, Hd). b: (Hd,). c: (D,).
        y: (N, Hd), overwritten. xhat: (N, D), overwritten.
        enc, dec: activation codes of ``h`` and ``g`` (0 linear, 1 relu, 2 sigmoid, 3 tanh).
    """
    y[...] = _act(x @ W + b, enc)
    xhat[...] = _act(y @ W.T + c, dec)


def tied_ae_backward(x: np.ndarray, W: np.ndarray, y: np.ndarray, xhat: np.ndarray,
                     dy: np.ndarray, dxhat: np.ndarray, dx: np.ndarray, dW: np.ndarray,
                     db: np.ndarray, dc: np.ndarray, enc: int, dec: int) -> None:
    """Gradients of the tied autoencoder.

    With ``a = x W + b``, ``y = h(a)``, ``r = y W^T + c``, ``xhat = g(r)``::

        dr = dxhat * g'(r)                 dc = sum_n dr
        dy_total = dy + dr W               (y feeds the decoder AND may be used downstream)
        da = dy_total * h'(a)              db = sum_n da
        dx = da W^T
        dW = x^T da + dr^T y               (W is used twice: encoder and, transposed, decoder)

    Args:
        x, W, y, xhat: as in :func:`tied_ae_forward`.
        dy: upstream gradient of ``y`` (N, Hd), zeros if ``y`` is unused.
        dxhat: upstream gradient of ``xhat`` (N, D).
        dx (N, D), dW (D, Hd), db (Hd,), dc (D,): overwritten; ``dx`` may be None (not computed, e.g.
            when ``x`` is the data).
        enc, dec: activation codes.
    """
    dr = dxhat * _act_grad_from_output(xhat, dec)
    da = (dy + dr @ W) * _act_grad_from_output(y, enc)
    dc[...] = dr.sum(axis=0)
    db[...] = da.sum(axis=0)
    if dx is not None:
        dx[...] = da @ W.T
    dW[...] = x.T @ da + dr.T @ y


# ----------------------------------------------------------------------------------------------------
# Optimizer updates (Keras formulas), in place on flat arrays
# ----------------------------------------------------------------------------------------------------
def sgd_update(param: np.ndarray, grad: np.ndarray, velocity: np.ndarray, lr: float, momentum: float,
               nesterov: bool) -> None:
    """Keras SGD: ``v = m v - lr g``; ``p += v`` (nesterov: ``p += m v - lr g``)."""
    velocity[...] = momentum * velocity - lr * grad
    if nesterov:
        param += momentum * velocity - lr * grad
    else:
        param += velocity


def adam_update(param: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, lr: float,
                beta1: float, beta2: float, eps: float, t: int) -> None:
    """Keras Adam, ``t >= 1`` the step number::

        m += (g - m)(1 - b1);  v += (g^2 - v)(1 - b2)
        p -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
    """
    m += (grad - m) * (1 - beta1)
    v += (grad * grad - v) * (1 - beta2)
    alpha = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    param -= alpha * m / (np.sqrt(v) + eps)


def rmsprop_update(param: np.ndarray, grad: np.ndarray, ms: np.ndarray, lr: float, rho: float,
                   eps: float) -> None:
    """Keras RMSprop: ``ms = rho ms + (1 - rho) g^2``; ``p -= lr g / (sqrt(ms) + eps)``."""
    ms[...] = rho * ms + (1 - rho) * grad * grad
    param -= lr * grad / (np.sqrt(ms) + eps)
