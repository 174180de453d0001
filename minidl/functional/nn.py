"""Activations, softmax, losses, dense, dropout and the tied-weight autoencoder as Functions.

Each class holds its forward and backward side by side and calls the kernels through the kernel table.
The backward math, in one line each (dy is the upstream gradient, y the op's output):

- relu: ``dx = dy * (x > 0)``.  sigmoid: ``dx = dy * y (1 - y)``.  tanh: ``dx = dy (1 - y^2)``.
- softmax over the last axis: ``dx = y * (dy - sum(dy * y))`` (the Jacobian diag(y) - y y^T applied to dy).
- log_softmax: ``dx = dy - softmax(x) * sum(dy)``.
- softmax + cross-entropy fused: ``dL/dz = (softmax(z) - onehot) / N``; computing the loss from
  log-softmax keeps it finite even when the wrong class gets probability 0.
- sigmoid + binary cross-entropy fused: ``dL/dz = (sigmoid(z) - t) / size``.
- dense ``y = x W + b``: ``dx = dy W^T``, ``dW = x^T dy``, ``db = sum(dy, axis=0)``.
- dropout (inverted): ``y = x * mask``, mask = 0 with probability ``rate`` else 1 / (1 - rate), so the
  expected activation is unchanged and inference is the identity; ``dx = dy * mask``.
- tied autoencoder ``y = h(x W + b)``, ``x̂ = g(y W^T + c)``: W is used twice, so dW sums the encoder
  path ``x^T da`` and the decoder path ``dr^T y``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import kernel_table
from .. import ops
from ..autograd import Function, Tensor
from ..kernels.shapes import act_code
from ..random import get_rng
from ._boundary import as_tensor, contiguous, like_device, same_device

__all__ = [
    "relu", "sigmoid", "tanh", "softmax", "log_softmax", "cross_entropy", "categorical_crossentropy",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "mse", "dense", "dropout",
    "tied_autoencoder", "activation", "ACTIVATIONS",
]


# ---------------------------------------------------------------------- element-wise activations
class _Elementwise(Function):
    """Shared shape of relu / sigmoid / tanh: one forward kernel, one backward kernel."""

    fwd = bwd = ""
    save_input = False  # relu's backward needs x; sigmoid's and tanh's need y

    def forward(self, x):
        B = self.B = kernel_table.of(x)
        out = B.empty(x.shape, dtype=x.dtype)
        getattr(B, self.fwd)(x, out)
        self.saved = x if self.save_input else out
        return out

    def backward(self, dy):
        dy = np.ascontiguousarray(dy) if isinstance(dy, np.ndarray) else dy
        dx = self.B.empty(self.saved.shape, dtype=self.saved.dtype)
        getattr(self.B, self.bwd)(self.saved, dy, dx)
        return dx


class ReLU(_Elementwise):
    fwd, bwd, save_input = "relu_forward", "relu_backward", True


class Sigmoid(_Elementwise):
    fwd, bwd = "sigmoid_forward", "sigmoid_backward"


class Tanh(_Elementwise):
    fwd, bwd = "tanh_forward", "tanh_backward"


def relu(x: Tensor) -> Tensor:
    """max(x, 0) element-wise."""
    return ReLU.apply(contiguous(as_tensor(x)))


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), computed without overflow at any |x|."""
    return Sigmoid.apply(contiguous(as_tensor(x)))


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent element-wise."""
    return Tanh.apply(contiguous(as_tensor(x)))


# ---------------------------------------------------------------------- softmax family (row-wise)
class _RowWise(Function):
    """softmax / log_softmax over the last axis of an array viewed as (rows, K)."""

    fwd = bwd = ""

    def forward(self, x):
        B = self.B = kernel_table.of(x)
        x2 = x.reshape(-1, x.shape[x.ndim - 1]) if x.ndim != 2 else x
        out = B.empty(x2.shape, dtype=x.dtype)
        getattr(B, self.fwd)(x2, out)
        self.y, self.shape = out, x.shape
        return out.reshape(x.shape)

    def backward(self, dy):
        dy = (np.ascontiguousarray(dy) if isinstance(dy, np.ndarray) else dy).reshape(self.y.shape)
        dx = self.B.empty(self.y.shape, dtype=self.y.dtype)
        getattr(self.B, self.bwd)(self.y, dy, dx)
        return dx.reshape(self.shape)


class Softmax(_RowWise):
    fwd, bwd = "softmax_forward", "softmax_backward"


class LogSoftmax(_RowWise):
    fwd, bwd = "log_softmax_forward", "log_softmax_backward"


def _last_axis(fn, x: Tensor, axis: int) -> Tensor:
    x = as_tensor(x)
    if x.ndim == 0:
        raise ValueError("softmax needs at least one axis, got a scalar")
    axis = axis % x.ndim
    if axis == x.ndim - 1:
        return fn.apply(contiguous(x))
    moved = ops.transpose(x, [i for i in range(x.ndim) if i != axis] + [axis])
    out = fn.apply(contiguous(moved))
    inv = np.argsort([i for i in range(x.ndim) if i != axis] + [axis])
    return ops.transpose(out, inv)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x - max) / sum(exp(x - max)) along ``axis``."""
    return _last_axis(Softmax, x, axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """x - max - log(sum(exp(x - max))) along ``axis``."""
    return _last_axis(LogSoftmax, x, axis)


# ---------------------------------------------------------------------- losses
def _host_float(g) -> float:
    """The upstream gradient of a scalar loss as a float (it is a host scalar unless the loss was combined
    with a device tensor, e.g. ``ce + l2_penalty``: then one number comes back from the GPU)."""
    return float(g) if isinstance(g, (np.ndarray, np.generic, float)) else float(g.copy_to_host())


class SoftmaxCrossEntropy(Function):
    """Mean over rows of -sum(t * log_softmax(z)); integer labels or (one-hot / soft) target rows.

    On every device the loss value is returned as a host 0-d array (the kernels sum the per-row losses on
    the host); it combines with tensors on any device as a scalar. The gradient stays on the device.
    """

    def forward(self, z, target, sparse=True):
        B = self.B = kernel_table.of(z)
        self.probs = B.empty(z.shape, dtype=z.dtype)
        self.target, self.sparse = target, sparse
        if sparse:
            loss = B.softmax_xent_sparse_forward(z, target, self.probs)
        else:
            loss = B.softmax_xent_dense_forward(z, target, self.probs)
        return np.asarray(loss, dtype=z.dtype)

    def backward(self, g):
        dz = self.B.empty(self.probs.shape, dtype=self.probs.dtype)
        scale = _host_float(g) / self.probs.shape[0]
        if self.sparse:
            self.B.softmax_xent_sparse_backward(self.probs, self.target, dz, scale)
        else:
            self.B.softmax_xent_dense_backward(self.probs, self.target, dz, scale)
        return dz, None


def _check_labels(labels: np.ndarray, k: int, n: int, fn: str) -> np.ndarray:
    if labels.shape == (n, 1):
        labels = labels[:, 0]
    if labels.shape != (n,):
        raise ValueError(f"{fn}: integer labels must have shape ({n},), got {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(
            f"{fn}: labels out of range: found {labels.min()}..{labels.max()} but the output has {k} classes "
            f"(labels must be in 0..{k - 1})"
        )
    return np.ascontiguousarray(labels, dtype=np.int64)


def cross_entropy(logits: Tensor, target: Any) -> Tensor:
    """Softmax cross-entropy from logits, mean over the batch (fused and stable).

    Args:
        logits: (N, K) unnormalised scores.
        target: integer labels (N,) in 0..K-1, or target distributions (N, K) (one-hot or soft).

    Returns:
        Scalar tensor.

    Raises:
        ValueError: for a logits rank other than 2, labels out of range, or a target of the wrong shape.
    """
    logits = contiguous(as_tensor(logits))
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: logits must be 2-D (N, K), got shape {logits.shape}")
    n, k = logits.shape
    t = target.numpy() if isinstance(target, Tensor) else np.asarray(target)  # labels are checked on the host
    if t.dtype.kind in "iub" and t.ndim == 1 or (t.dtype.kind in "iu" and t.shape == (n, 1)):
        labels = like_device(_check_labels(t, k, n, "cross_entropy"), logits)  # checked on the host, then moved
        return SoftmaxCrossEntropy.apply(logits, Tensor._make(labels), sparse=True)
    if t.shape != (n, k):
        raise ValueError(f"cross_entropy: target must be labels (N,) or distributions {(n, k)}, got shape {t.shape}")
    t = like_device(np.ascontiguousarray(t, dtype=logits.dtype), logits)
    return SoftmaxCrossEntropy.apply(logits, Tensor._make(t), sparse=False)


def categorical_crossentropy(probs: Tensor, target: Any, eps: float = 1e-7) -> Tensor:
    """Cross-entropy of predicted probabilities (N, K) against one-hot/soft targets (N, K), clipped like
    Keras (probabilities to [eps, 1 - eps]); mean over the batch. Prefer :func:`cross_entropy` on logits."""
    probs = as_tensor(probs)
    t = np.asarray(target.numpy() if isinstance(target, Tensor) else target, dtype=probs.dtype)
    if t.shape != probs.shape:
        raise ValueError(f"categorical_crossentropy: target shape {t.shape} differs from predictions {probs.shape}")
    t = Tensor._make(like_device(t, probs))
    return -(t * ops.log(ops.clip(probs, eps, 1 - eps))).sum(axis=-1).mean()


class BCEWithLogits(Function):
    def forward(self, z, t):
        self.B, self.t = kernel_table.of(z), t
        self.p = self.B.empty(z.shape, dtype=z.dtype)  # sigmoid(z), written by the forward kernel
        return np.asarray(self.B.bce_logits_forward(z, t, self.p), dtype=z.dtype)

    def backward(self, g):
        dz = self.B.empty(self.p.shape, dtype=self.p.dtype)
        self.B.bce_logits_backward(self.p, self.t, dz, _host_float(g) / self.p.size)
        return dz, None


def _same_shape_target(pred: Tensor, target: Any, fn: str) -> np.ndarray:
    """The target as a contiguous array of the prediction's shape, dtype and device."""
    if isinstance(target, Tensor) and target.device == pred.device != "cpu" and target.shape == pred.shape:
        return target.data if target.dtype == pred.dtype else target.astype(pred.dtype).data  # stays on the GPU
    t = np.asarray(target.numpy() if isinstance(target, Tensor) else target)
    if t.shape != pred.shape:
        if t.size == pred.size and t.ndim == 1:
            t = t.reshape(pred.shape)  # (N,) labels against an (N, 1) output, as Keras allows
        else:
            raise ValueError(f"{fn}: target shape {t.shape} differs from predictions {pred.shape}")
    return like_device(np.ascontiguousarray(t, dtype=pred.dtype), pred)


def binary_cross_entropy_with_logits(logits: Tensor, target: Any) -> Tensor:
    """Mean of max(z,0) - z t + log(1 + exp(-|z|)): sigmoid + BCE fused, stable at any |z|."""
    logits = contiguous(as_tensor(logits))
    t = _same_shape_target(logits, target, "binary_cross_entropy_with_logits")
    return BCEWithLogits.apply(logits, Tensor._make(t))


def binary_cross_entropy(p: Tensor, target: Any, eps: float = 1e-7) -> Tensor:
    """Mean of -(t log p + (1 - t) log(1 - p)), p clipped to [eps, 1 - eps] so log(0) never happens."""
    p = as_tensor(p)
    t = Tensor._make(_same_shape_target(p, target, "binary_cross_entropy"))
    pc = ops.clip(p, eps, 1 - eps)
    return -(t * ops.log(pc) + (1 - t) * ops.log(1 - pc)).mean()


def mse(pred: Tensor, target: Any) -> Tensor:
    """Mean squared error over all elements."""
    pred = as_tensor(pred)
    t = Tensor._make(_same_shape_target(pred, target, "mse"))
    d = pred - t
    return (d * d).mean()


# ---------------------------------------------------------------------- dense
class Dense(Function):
    def forward(self, x, w, b=None):
        B = self.B = kernel_table.of(x)
        self.x, self.w, self.has_bias = x, w, b is not None
        out = B.empty((x.shape[0], w.shape[1]), dtype=x.dtype)
        B.dense_forward(x, w, b if b is not None else B.zeros(w.shape[1], dtype=x.dtype), out)
        return out

    def backward(self, dy):
        B, x, w = self.B, self.x, self.w
        dy = np.ascontiguousarray(dy) if isinstance(dy, np.ndarray) else dy
        dx = B.empty(x.shape, dtype=x.dtype)
        dw = B.empty(w.shape, dtype=w.dtype)
        db = B.empty((w.shape[1],), dtype=w.dtype)
        B.dense_backward(x, w, dy, dx, dw, db)
        return (dx, dw, db) if self.has_bias else (dx, dw)


def dense(x: Tensor, kernel: Tensor, bias: Tensor | None = None) -> Tensor:
    """x (N, in) @ kernel (in, out) + bias (out,).

    Raises:
        ValueError: naming both shapes for a rank or size mismatch.
    """
    x, kernel = as_tensor(x), as_tensor(kernel)
    same_device("dense", x, kernel, bias)
    if x.ndim != 2 or kernel.ndim != 2 or x.shape[1] != kernel.shape[0]:
        raise ValueError(f"dense: x {x.shape} and kernel {kernel.shape} do not match (need (N, in) and (in, out))")
    dt = np.result_type(x.dtype, kernel.dtype)
    args = [contiguous(x, dt), contiguous(kernel, dt)]
    if bias is not None:
        bias = as_tensor(bias)
        if bias.shape != (kernel.shape[1],):
            raise ValueError(f"dense: bias must have shape ({kernel.shape[1]},), got {bias.shape}")
        args.append(contiguous(bias, dt))
    return Dense.apply(*args)


# ---------------------------------------------------------------------- dropout
class Dropout(Function):
    def forward(self, x, u=None, rate=0.5):
        B = self.B = kernel_table.of(x)
        out = B.empty(x.shape, dtype=x.dtype)
        self.mask = B.empty(x.shape, dtype=x.dtype)
        B.dropout_forward(x, u, rate, out, self.mask)
        return out

    def backward(self, dy):
        dy = np.ascontiguousarray(dy) if isinstance(dy, np.ndarray) else dy
        dx = self.B.empty(self.mask.shape, dtype=self.mask.dtype)
        self.B.dropout_backward(dy, self.mask, dx)
        return dx


def dropout(x: Tensor, rate: float, training: bool = True, seed: int | None = None) -> Tensor:
    """Inverted dropout: zero each element with probability ``rate`` and scale the rest by 1 / (1 - rate).

    Args:
        x: any shape.
        rate: drop probability in [0, 1).
        training: when False (inference) this is the identity.
        seed: seed for this call's mask; None draws from minidl's global generator.

    Raises:
        ValueError: when rate is outside [0, 1).
    """
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate}")
    x = as_tensor(x)
    if not training or rate == 0.0:
        return x
    rng = np.random.default_rng(seed) if seed is not None else get_rng()
    u = rng.random(x.shape, dtype=np.float64).astype(x.dtype)  # drawn on the host: same mask on every device
    return Dropout.apply(contiguous(x), u=like_device(u, x), rate=float(rate))


# ---------------------------------------------------------------------- tied-weight autoencoder
class TiedAutoencoder(Function):
    """(y, x̂) = (h(x W + b), g(y W^T + c)) with one shared W."""

    def forward(self, x, W, b, c, enc=2, dec=2):
        B = self.B = kernel_table.of(x)
        n, d = x.shape
        y = B.empty((n, W.shape[1]), dtype=x.dtype)
        xhat = B.empty((n, d), dtype=x.dtype)
        B.tied_ae_forward(x, W, b, c, y, xhat, enc, dec)
        self.saved = (x, W, y, xhat, b, c)
        self.codes = (enc, dec)
        return y, xhat

    def backward(self, grads):
        dy, dxhat = (np.ascontiguousarray(g) if isinstance(g, np.ndarray) else g for g in grads)
        x, W, y, xhat, b, c = self.saved
        B = self.B
        # dx only when x needs it (not for the data): one GEMM of six saved
        dx = B.empty(x.shape, dtype=x.dtype) if self.needs_input_grad[0] else None
        dW = B.empty(W.shape, dtype=W.dtype)
        db, dc = B.empty(b.shape, dtype=b.dtype), B.empty(c.shape, dtype=c.dtype)
        B.tied_ae_backward(x, W, y, xhat, dy, dxhat, dx, dW, db, dc, *self.codes)
        return dx, dW, db, dc


def tied_autoencoder(x: Tensor, W: Tensor, b: Tensor, c: Tensor, encoder: str = "sigmoid",
                     decoder: str = "sigmoid") -> tuple[Tensor, Tensor]:
    """Tied-weight autoencoder layer.

    Args:
        x: (N, D). W: (D, H) shared by encoder and decoder. b: (H,). c: (D,).
        encoder, decoder: 'sigmoid', 'relu', 'tanh' or 'linear'.

    Returns:
        (y, x̂): codes (N, H) and reconstruction (N, D).

    Raises:
        ValueError: for an unknown activation or mismatched shapes.
    """
    enc, dec = act_code(encoder), act_code(decoder)
    x, W, b, c = (as_tensor(t) for t in (x, W, b, c))
    same_device("tied_autoencoder", x, W, b, c)
    if x.ndim != 2 or W.ndim != 2 or x.shape[1] != W.shape[0]:
        raise ValueError(f"tied_autoencoder: x {x.shape} and W {W.shape} do not match (need (N, D) and (D, H))")
    if b.shape != (W.shape[1],) or c.shape != (W.shape[0],):
        raise ValueError(f"tied_autoencoder: b must be ({W.shape[1]},) and c ({W.shape[0]},), got {b.shape} and {c.shape}")
    dt = np.result_type(x.dtype, W.dtype)
    return TiedAutoencoder.apply(*(contiguous(t, dt) for t in (x, W, b, c)), enc=enc, dec=dec)


# ---------------------------------------------------------------------- activation by name
def _linear(x: Tensor) -> Tensor:
    return x


ACTIVATIONS = {"linear": _linear, "relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax}


def activation(name: str | None):
    """The activation function called ``name`` (None is 'linear').

    Raises:
        ValueError: listing the known names.
    """
    if name is None:
        return _linear
    if callable(name):
        return name
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown activation {name!r}; known activations: {', '.join(ACTIVATIONS)}") from None
