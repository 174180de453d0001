"""Every operation's CUDA implementation (``kernels/<op>/cuda.py``) in one namespace, plus the device helpers.

The functions here have the same names and argument order as ``kernels.reference`` and ``kernels.cpu``,
but their arrays are *device arrays*: make them with :func:`to_device`, :func:`empty` or :func:`zeros`,
read them back with :func:`to_host`. Scalars (strides, learning rates, ...) are plain Python numbers.
Without a GPU, set ``NUMBA_ENABLE_CUDASIM=1`` before numba is first imported and the same code runs on
Numba's CUDA simulator (every GPU thread becomes a Python thread: correct, and very slow).

How a CUDA kernel is laid out
-----------------------------
A kernel is a function that runs once per *thread*. Threads come in *blocks* (up to 1024 threads, here
256 for 1-D work and 16 x 16 for matrix tiles), and blocks form a *grid*. The launch
``kernel[blocks, threads](args)`` starts ``blocks * threads`` copies of the function; inside, each copy
asks ``cuda.grid(1)`` (= ``blockIdx.x * blockDim.x + threadIdx.x``) which index it is. The grid is
rounded up to whole blocks, so every kernel starts with ``if i >= n: return`` for the spare threads.
All grid and block sizes are chosen in one place, ``_launch_1d`` and ``_launch_tiles`` in
:mod:`minidl.kernels.cuda_runtime`.

One thread per output element
-----------------------------
Almost every kernel here gives each thread exactly one output element (or one row, for the row-wise
softmax family) and lets it compute that element from scratch: a convolution thread loops over its
window, a ``conv2d_backward_kernel`` thread loops over N, OH and OW for its one weight. Because no two
threads ever write the same address there are no races and no atomics, and the results are
deterministic (no floating-point sums in a run-dependent order). Backward passes that would naturally
*scatter* (each dy element adds into several dx elements: conv input gradient, max-pool gradient) are
written instead as *gathers*: each dx thread finds the dy elements that touch it and sums them.

The readable CPU version of an op (``kernels/<op>/loops.py``) has the same structure, with the thread
index replaced by a loop over the same output elements: the body of its loop is the body of the CUDA
kernel. The fast CPU paths (``kernels/<op>/cpu.py``) are organised differently (BLAS, blocks of rows
per thread, vectorised runs) and say so in their docstrings.

The only kernel that shares work between threads is the matrix product (:func:`matmul`, ``dense_*``,
``tied_ae_*``): a block of 16 x 16 threads computes a 16 x 16 tile of C = A @ B. It walks along K in
steps of 16; at each step every thread copies one element of A and one of B into *shared memory*
(``cuda.shared.array``, fast memory seen by the whole block), ``cuda.syncthreads()`` waits until the
tiles are full, each thread adds its 16 products, and a second ``syncthreads()`` waits before the tiles
are overwritten. Each global-memory element is then read 16 times less often than in the naive kernel.
The same kernel reads A or B transposed (a flag), which is all the dense backward needs.

The math of each operation is in its folder's ``__init__.py`` (``kernels/<op>/__init__.py``).

Notes: numba compiles a kernel per argument-type signature, so float32 and float64 arrays each get their
own machine code. Float literals inside kernels are float64, so small expressions may be evaluated in
float64 before being stored in a float32 output. Only the matrix product keeps float32 throughout (its
shared-memory tile and accumulator follow the array dtype), since that is where the time goes.
"""
from __future__ import annotations

from .cuda_runtime import empty, fill, is_available, matmul, to_device, to_host, zeros
from .array.cuda import BINARY_OPS, UNARY_OPS, binary, copy_strided, is_device_array, reduce_sum, unary
from .conv2d.cuda import conv2d_forward, conv2d_backward_input, conv2d_backward_kernel, conv2d_backward_bias
from .pool2d.cuda import maxpool2d_forward, maxpool2d_backward
from .activations.cuda import (relu_forward, relu_backward, sigmoid_forward, sigmoid_backward, tanh_forward,
                               tanh_backward)
from .softmax.cuda import (softmax_forward, softmax_backward, log_softmax_forward, log_softmax_backward,
                           softmax_xent_sparse_forward, softmax_xent_sparse_backward,
                           softmax_xent_dense_forward, softmax_xent_dense_backward, bce_logits_forward,
                           bce_logits_backward)
from .dense.cuda import dense_forward, dense_backward, dropout_forward, dropout_backward
from .tied_ae.cuda import tied_ae_forward, tied_ae_backward
from .optimizers.cuda import (sgd_update, adam_update, rmsprop_update, adagrad_update, adadelta_update, nadam_update,
                              weight_decay_update)

__all__ = [
    "is_available", "to_device", "to_host", "empty", "zeros", "fill", "matmul", "conv2d_forward",
    "conv2d_backward_input", "conv2d_backward_kernel", "conv2d_backward_bias", "maxpool2d_forward",
    "maxpool2d_backward", "relu_forward", "relu_backward", "sigmoid_forward", "sigmoid_backward",
    "tanh_forward", "tanh_backward", "softmax_forward", "softmax_backward", "log_softmax_forward",
    "log_softmax_backward", "softmax_xent_sparse_forward", "softmax_xent_sparse_backward",
    "softmax_xent_dense_forward", "softmax_xent_dense_backward", "bce_logits_forward",
    "bce_logits_backward", "dense_forward", "dense_backward", "dropout_forward", "dropout_backward",
    "tied_ae_forward", "tied_ae_backward", "sgd_update", "adam_update", "rmsprop_update", "adagrad_update", "adadelta_update", "nadam_update", "weight_decay_update", "is_device_array",
    "binary", "unary", "copy_strided", "reduce_sum", "BINARY_OPS", "UNARY_OPS"
]
