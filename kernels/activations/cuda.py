"""activations: ``numba.cuda`` kernels plus their launch wrappers (one GPU thread per output element; see
:mod:`minidl.kernels.cuda` for the layout of a CUDA kernel). Same names and arguments as :mod:`.reference`,
on device arrays.
"""
from __future__ import annotations


from numba import cuda

from ..cuda_runtime import _act, _act_grad_from_out, _elementwise, _same_size

__all__ = ["relu_forward", "relu_backward", "sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward"]


@cuda.jit
def _act_forward_kernel(x, out, code):
    i = cuda.grid(1)
    if i < out.size:
        out[i] = _act(code, x[i])


@cuda.jit
def _act_backward_kernel(y, dy, dx, code):
    # relu gets x here (x > 0 and relu(x) > 0 agree), the others their output y.
    i = cuda.grid(1)
    if i < dx.size:
        dx[i] = dy[i] * _act_grad_from_out(code, y[i])



def relu_forward(x, out) -> None:
    """out = max(x, 0)."""
    _elementwise(_act_forward_kernel, x, out, 1, n=_same_size(x, out))


def relu_backward(x, dy, dx) -> None:
    """dx = dy * (x > 0)."""
    _elementwise(_act_backward_kernel, x, dy, dx, 1, n=_same_size(x, dy, dx))


def sigmoid_forward(x, out) -> None:
    """out = 1 / (1 + exp(-x)), computed without overflow for large |x|."""
    _elementwise(_act_forward_kernel, x, out, 2, n=_same_size(x, out))


def sigmoid_backward(y, dy, dx) -> None:
    """dx = dy * y * (1 - y), y = sigmoid(x)."""
    _elementwise(_act_backward_kernel, y, dy, dx, 2, n=_same_size(y, dy, dx))


def tanh_forward(x, out) -> None:
    """out = tanh(x)."""
    _elementwise(_act_forward_kernel, x, out, 3, n=_same_size(x, out))


def tanh_backward(y, dy, dx) -> None:
    """dx = dy * (1 - y**2), y = tanh(x)."""
    _elementwise(_act_backward_kernel, y, dy, dx, 3, n=_same_size(y, dy, dx))

