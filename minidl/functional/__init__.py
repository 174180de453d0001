"""Differentiable operations backed by the hand-written kernels (``import minidl.functional as F``).

- :mod:`.conv`: :func:`conv2d`, :func:`conv2d_transpose`, :func:`max_pool2d` (NHWC, Keras 'valid'/'same' padding).
- :mod:`.normalization`: :func:`batch_norm` (kernels in :mod:`minidl.kernels.batchnorm`).
- :mod:`.nn`: activations, softmax / log_softmax, losses (fused softmax + cross-entropy, BCE, MSE),
  :func:`dense`, :func:`dropout`, :func:`tied_autoencoder`.

Every op is a Function class (forward and backward side by side) plus the lowercase wrapper here.
"""
from .conv import (
    conv2d, conv2d_output_shape, conv2d_transpose, conv2d_transpose_output_shape, max_pool2d, pool2d_output_shape,
)
from .normalization import batch_norm, batch_norm_stats
from .nn import (
    ACTIVATIONS, activation, binary_cross_entropy, binary_cross_entropy_with_logits, categorical_crossentropy,
    cross_entropy, dense, dropout, log_softmax, mse, relu, sigmoid, softmax, tanh, tied_autoencoder,
)

__all__ = [
    "conv2d", "conv2d_transpose", "max_pool2d", "conv2d_output_shape", "conv2d_transpose_output_shape",
    "pool2d_output_shape", "relu", "sigmoid", "tanh", "softmax",
    "log_softmax", "cross_entropy", "categorical_crossentropy", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "mse", "dense", "dropout", "tied_autoencoder", "activation", "ACTIVATIONS",
    "batch_norm", "batch_norm_stats",
]
