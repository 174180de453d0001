"""Every operation's CPU implementation in one namespace: ``from minidl.kernels import cpu``.

Each function comes from its operation's folder (``kernels/<op>/cpu.py``: the fast path, whose docstring
says what it optimises over the readable ``kernels/<op>/loops.py`` and what that gains). The threading
and work buffers they share are in :mod:`minidl.kernels.runtime` and :mod:`minidl.kernels.blas`.
"""
from __future__ import annotations

from .conv2d.cpu import (conv2d_forward, conv2d_backward_input, conv2d_backward_kernel, conv2d_backward_bias,
                         conv2d_keeps_cols)
from .pool2d.cpu import maxpool2d_forward, maxpool2d_backward
from .activations.cpu import (relu_forward, relu_backward, sigmoid_forward, sigmoid_backward, tanh_forward,
                              tanh_backward)
from .softmax.cpu import (softmax_forward, softmax_backward, log_softmax_forward, log_softmax_backward,
                          softmax_xent_sparse_forward, softmax_xent_sparse_backward,
                          softmax_xent_dense_forward, softmax_xent_dense_backward, bce_logits_forward,
                          bce_logits_backward)
from .dense.cpu import dense_forward, dense_backward, dropout_forward, dropout_backward
from .tied_ae.cpu import tied_ae_forward, tied_ae_backward
from .optimizers.cpu import (sgd_update, adam_update, rmsprop_update, adagrad_update, adadelta_update, nadam_update,
                              weight_decay_update)
from .runtime import release_scratch

__all__ = [
    "conv2d_forward", "conv2d_backward_input", "conv2d_backward_kernel", "conv2d_backward_bias",
    "maxpool2d_forward", "maxpool2d_backward", "relu_forward", "relu_backward", "sigmoid_forward",
    "sigmoid_backward", "tanh_forward", "tanh_backward", "softmax_forward", "softmax_backward",
    "log_softmax_forward", "log_softmax_backward", "softmax_xent_sparse_forward",
    "softmax_xent_sparse_backward", "softmax_xent_dense_forward", "softmax_xent_dense_backward",
    "bce_logits_forward", "bce_logits_backward", "dense_forward", "dense_backward", "dropout_forward",
    "dropout_backward", "tied_ae_forward", "tied_ae_backward", "sgd_update", "adam_update",
    "rmsprop_update", "adagrad_update", "adadelta_update", "nadam_update", "weight_decay_update", "conv2d_keeps_cols", "release_scratch"
]
