"""Every operation's NumPy reference in one namespace: ``from minidl.kernels import reference``.

The oracle every other implementation is tested against; each function comes from
``kernels/<op>/reference.py``, whose folder's ``__init__.py`` states the math.
"""
from __future__ import annotations

from .conv2d.reference import (conv2d_forward, conv2d_backward_input, conv2d_backward_kernel,
                               conv2d_backward_bias)
from .pool2d.reference import maxpool2d_forward, maxpool2d_backward
from .activations.reference import (relu_forward, relu_backward, sigmoid_forward, sigmoid_backward,
                                    tanh_forward, tanh_backward)
from .softmax.reference import (softmax_forward, softmax_backward, log_softmax_forward, log_softmax_backward,
                                softmax_xent_sparse_forward, softmax_xent_sparse_backward,
                                softmax_xent_dense_forward, softmax_xent_dense_backward, bce_logits_forward,
                                bce_logits_backward)
from .dense.reference import dense_forward, dense_backward, dropout_forward, dropout_backward
from .tied_ae.reference import tied_ae_forward, tied_ae_backward
from .optimizers.reference import (sgd_update, adam_update, rmsprop_update, adagrad_update, adadelta_update, nadam_update,
                              weight_decay_update)

__all__ = [
    "conv2d_forward", "conv2d_backward_input", "conv2d_backward_kernel", "conv2d_backward_bias",
    "maxpool2d_forward", "maxpool2d_backward", "relu_forward", "relu_backward", "sigmoid_forward",
    "sigmoid_backward", "tanh_forward", "tanh_backward", "softmax_forward", "softmax_backward",
    "log_softmax_forward", "log_softmax_backward", "softmax_xent_sparse_forward",
    "softmax_xent_sparse_backward", "softmax_xent_dense_forward", "softmax_xent_dense_backward",
    "bce_logits_forward", "bce_logits_backward", "dense_forward", "dense_backward", "dropout_forward",
    "dropout_backward", "tied_ae_forward", "tied_ae_backward", "sgd_update", "adam_update", "rmsprop_update", "adagrad_update", "adadelta_update", "nadam_update", "weight_decay_update"
]
