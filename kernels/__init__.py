"""minidl.kernels: hand-written array kernels, arrays in and arrays out. Never imports minidl.

One folder per operation, each read in the same order::

    kernels/<op>/__init__.py   the math, once, in one notation, and the contract's function names
    kernels/<op>/reference.py  plain NumPy, obviously correct, slow: the oracle every other version is tested against
    kernels/<op>/loops.py      readable Numba: the math as loops, one output element per iteration
                               (what one CUDA thread computes); step through it with NUMBA_DISABLE_JIT=1
    kernels/<op>/cpu.py        the fast CPU path (and further files for conv2d's special paths); each
                               docstring says what it optimises over loops.py and what that gains
    kernels/<op>/cuda.py       numba.cuda kernels plus launch wrappers, on device arrays

Operations: ``conv2d``, ``pool2d``, ``activations``, ``softmax`` (with the cross-entropy and BCE losses),
``dense`` (with dropout), ``tied_ae``, ``optimizers``, ``batchnorm``, and ``array`` (the generic device
primitives). The CPU runtime they share (thread pool, one-thread-per-call BLAS, work buffers) is
:mod:`.runtime`, :mod:`.blas` and :mod:`.common`; the CUDA one :mod:`.cuda_runtime`. :mod:`.registry` lists every
implementation of every operation; ``cpu``, ``cuda`` and ``reference`` gather the implementations of one
kind into one namespace (``from minidl.kernels import cpu``).

Learner mode: ``MINIDL_KERNELS=loops`` in the environment, or ``with minidl.kernels.use("loops"):``, makes
minidl's CPU device run every operation on its ``loops.py`` (``"reference"`` on the NumPy oracle;
``"fast"``, the default, on ``cpu.py``). Same results within float rounding, slower.

The contract (every function writes into caller-allocated outputs, listed last before the scalars, and
returns None unless stated). ``N`` batch, ``H, W`` spatial, ``C`` channels, ``F`` filters; images NHWC.
Padding arguments ``ph, pw`` are the top/left padding from :func:`shapes.conv_output_size`; the output
shape implies the rest.

Convolution, x (N,H,W,C), w (KH,KW,C,F), b (F,), y (N,OH,OW,F) (the CPU versions also take ``cols=``,
after ``relu``: see ``conv2d/cpu.py``)::

    conv2d_forward(x, w, b, out, sh, sw, ph, pw, relu=False)  # relu: fused activation, applied in place
    conv2d_backward_input(dy, w, dx, sh, sw, ph, pw)        # dx (N,H,W,C) overwritten
    conv2d_backward_kernel(x, dy, dw, sh, sw, ph, pw)       # dw (KH,KW,C,F) overwritten
    conv2d_backward_bias(dy, db)                            # db (F,) overwritten: sum of dy over N,OH,OW

Max-pooling, x (N,H,W,C), out (N,OH,OW,C); ``argmax`` int64 (N,OH,OW,C) holds the flat index h*W + w of the
chosen input element (the first maximum in row-major window order; padding is never chosen)::

    maxpool2d_forward(x, out, argmax, kh, kw, sh, sw, ph, pw)
    maxpool2d_backward(dy, argmax, dx)                      # dx (N,H,W,C) overwritten

Element-wise, any shape::

    relu_forward(x, out);     relu_backward(x, dy, dx)      # dx = dy * (x > 0)
    sigmoid_forward(x, out);  sigmoid_backward(y, dy, dx)   # dx = dy * y * (1 - y); y = sigmoid(x)
    tanh_forward(x, out);     tanh_backward(y, dy, dx)      # dx = dy * (1 - y**2)

Row-wise over the last axis of a 2-D array (M, K)::

    softmax_forward(x, out);      softmax_backward(y, dy, dx)        # dx = y * (dy - sum(dy * y))
    log_softmax_forward(x, out);  log_softmax_backward(y, dy, dx)    # dx = dy - exp(y) * sum(dy)
    softmax_xent_sparse_forward(logits, labels, probs) -> float      # mean over rows; labels int64 (M,)
    softmax_xent_sparse_backward(probs, labels, dlogits, scale)      # dlogits = (p - onehot) * scale
    softmax_xent_dense_forward(logits, target, probs) -> float       # target (M,K), mean over rows
    softmax_xent_dense_backward(probs, target, dlogits, scale)       # (p * sum(t) - t) * scale
    bce_logits_forward(z, t, p) -> float       # mean of the stable BCE, any shape; p = sigmoid(z)
    bce_logits_backward(p, t, dz, scale)       # dz = (p - t) * scale (p from the forward: no second exp)

Dense, x (N,I), w (I,O), b (O,)::

    dense_forward(x, w, b, out)                             # out = x @ w + b
    dense_backward(x, w, dy, dx, dw, db)                    # all three overwritten

Dropout (inverted; ``u`` holds uniforms in [0, 1) drawn by the caller from a seeded generator)::

    dropout_forward(x, u, rate, out, mask)                  # mask = (u >= rate) / (1 - rate); out = x * mask
    dropout_backward(dy, mask, dx)                          # dx = dy * mask

Tied-weight autoencoder, x (N,D), W (D,Hd), b (Hd,), c (D,); ``enc``/``dec`` are activation codes
(``shapes.ACT_CODES``)::

    tied_ae_forward(x, W, b, c, y, xhat, enc, dec)          # y = h(x W + b); xhat = g(y W^T + c)
    tied_ae_backward(x, W, y, xhat, dy, dxhat, dx, dW, db, dc, enc, dec)
        # dy: upstream gradient of y (zeros if y is unused); all four grads overwritten;
        # dW sums the encoder and the decoder paths; dx may be None (not computed: x is data).

Optimizer updates, in place on flat parameter arrays::

    sgd_update(param, grad, velocity, lr, momentum, nesterov)   # Keras SGD: v = m v - lr g; p += v
                                                                # (nesterov: p += m v - lr g)
    adam_update(param, grad, m, v, lr, beta1, beta2, eps, t)    # Keras Adam, t = step number >= 1:
        # m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2); p -= lr sqrt(1 - b2^t)/(1 - b1^t) m / (sqrt(v) + eps)
    rmsprop_update(param, grad, ms, lr, rho, eps)               # ms = rho ms + (1 - rho) g^2; (eps in the root)
                                                                # p -= lr g / (sqrt(ms) + eps)
"""
from __future__ import annotations

import contextlib
import os
from typing import Iterator

from . import shapes

__all__ = ["shapes", "MODES", "mode", "use"]

MODES = ("fast", "loops", "reference")


def _check_mode(name: object, source: str) -> str:
    if name not in MODES:
        raise ValueError(f"{source} must be one of {', '.join(map(repr, MODES))}, got {name!r}")
    return name  # type: ignore[return-value]


_mode = _check_mode(os.environ.get("MINIDL_KERNELS", "fast") or "fast", "MINIDL_KERNELS")


def mode() -> str:
    """The CPU kernels in use: 'fast' (``<op>/cpu.py``), 'loops' (``<op>/loops.py``) or 'reference'."""
    return _mode


@contextlib.contextmanager
def use(name: str) -> Iterator[None]:
    """``with minidl.kernels.use("loops"):`` runs minidl's CPU operations on the readable kernels inside
    the block (process-wide: set it around a whole training step, not in one thread of several).

    Raises:
        ValueError: for a name not in :data:`MODES`.
    """
    global _mode
    prev, _mode = _mode, _check_mode(name, "kernels.use(name)")
    try:
        yield
    finally:
        _mode = prev
