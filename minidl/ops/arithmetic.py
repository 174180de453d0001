"""Element-wise arithmetic, powers, exp / log, clipping, the matrix product, casts and device copies.

Each operation is a :class:`~minidl.autograd.Function` with ``forward`` and ``backward`` side by side,
written once on the arrays of the operands' device (``X = arrays.of(...)``, see :mod:`.arrays`). The calculus:

- ``a + b``: both inputs receive the upstream gradient ``g``.   ``a * b``: ``g * b`` and ``g * a``.
- ``a / b``: ``g / b`` and ``-g * a / b**2``.   ``a ** p``: ``g * p * a**(p-1)`` and ``g * log(a) * a**p``.
- ``a @ b``: ``g @ b.T`` and ``a.T @ g``.   ``exp``: ``g * exp(a)``; ``log``: ``g / a``; ``sqrt``: ``g / (2 sqrt a)``.
- ``maximum(a, b)``: ``g`` goes to the larger input (split evenly between ties).
- Broadcasting: an input that was broadcast to a larger shape receives the gradient *summed* over the
  broadcast axes (``X.sum_to``), because each of its elements was used once per broadcast copy.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function, Tensor
from ..device import to_device as _transfer
from . import arrays

__all__ = ["add", "subtract", "multiply", "divide", "negative", "power", "square", "maximum", "minimum",
           "matmul", "exp", "log", "sqrt", "absolute", "sign", "clip", "cast", "to_device", "sum_to"]


def sum_to(g: Any, shape: tuple[int, ...]) -> Any:
    """Sums a broadcast gradient ``g`` back down to ``shape`` (the inverse of broadcasting)."""
    return arrays.of(g).sum_to(g, shape)


class _Binary(Function):
    """Shared plumbing: remembers the operands and their shapes for ``sum_to``, turns broadcast failures
    into errors naming the operation and both shapes."""

    op_name = "op"

    def forward(self, a, b):
        self.a, self.b, self.a_shape, self.b_shape = a, b, a.shape, b.shape
        X = arrays.of(a, b, op=self.op_name)
        try:
            return self.compute(X, a, b)
        except ValueError:
            raise ValueError(f"{self.op_name}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None

    def grads(self, X, ga, gb):
        """The two gradients summed back to the operands' shapes (and devices); None where not needed."""
        need = self.needs_input_grad
        return (X.like_operand(X.sum_to(ga, self.a_shape), self.a) if need[0] and ga is not None else None,
                X.like_operand(X.sum_to(gb, self.b_shape), self.b) if need[1] and gb is not None else None)


class Add(_Binary):
    op_name = "add"

    def compute(self, X, a, b):
        return X.add(a, b)

    def backward(self, g):
        return self.grads(arrays.of(g), g, g)


class Sub(_Binary):
    op_name = "subtract"

    def compute(self, X, a, b):
        return X.sub(a, b)

    def backward(self, g):
        X = arrays.of(g)
        return self.grads(X, g, X.neg(g) if self.needs_input_grad[1] else None)


class Mul(_Binary):
    op_name = "multiply"

    def compute(self, X, a, b):
        return X.mul(a, b)

    def backward(self, g):
        X, need = arrays.of(g), self.needs_input_grad
        return self.grads(X, X.mul(g, self.b) if need[0] else None, X.mul(g, self.a) if need[1] else None)


class Div(_Binary):
    op_name = "divide"

    def compute(self, X, a, b):
        return X.div(a, b)

    def backward(self, g):
        X, need, a, b = arrays.of(g), self.needs_input_grad, self.a, self.b
        ga = X.div(g, b) if need[0] else None
        gb = X.neg(X.div(X.mul(g, a), X.mul(b, b))) if need[1] else None  # -g a / b^2
        return self.grads(X, ga, gb)


class Pow(_Binary):
    op_name = "power"

    def compute(self, X, a, b):
        self.out = X.pow(a, b)
        return self.out

    def backward(self, g):
        X, need, a, b = arrays.of(g), self.needs_input_grad, self.a, self.b
        ga = X.mul(g, X.mul(X.pow(a, b - 1), b)) if need[0] else None  # g b a^(b-1)
        gb = X.mul(g, X.mul(self.out, X.log_positive(a))) if need[1] else None  # g a^b log a (a > 0)
        return self.grads(X, ga, gb)


class Maximum(_Binary):
    op_name = "maximum"
    larger = True

    def compute(self, X, a, b):
        return X.maximum(a, b) if self.larger else X.minimum(a, b)

    def backward(self, g):
        # Ties split the gradient evenly, so the result is a valid subgradient either way.
        X = arrays.of(g)
        wa = X.tie_weight(self.a, self.b, self.larger)
        return self.grads(X, X.mul(g, wa), X.mul(g, X.sub(1, wa)))


class Minimum(Maximum):
    op_name = "minimum"
    larger = False


def _lift(a: Any, like: Tensor) -> Any:
    """Python scalars stay scalars (NumPy keeps the tensor's dtype); arrays/lists become constants."""
    if isinstance(a, (Tensor, int, float)):
        return a
    return Tensor(a, dtype=like.dtype if np.asarray(a).dtype.kind != "f" else None)


def _binary(cls, a, b):
    if not isinstance(a, Tensor):
        a = _lift(a, b)
    elif not isinstance(b, Tensor):
        b = _lift(b, a)
    if not isinstance(a, Tensor):
        a = Tensor(np.asarray(a, dtype=b.dtype))
    if not isinstance(b, Tensor):
        b = Tensor(np.asarray(b, dtype=a.dtype))
    return cls.apply(a, b)


def add(a, b) -> Tensor:
    """``a + b`` with broadcasting."""
    return _binary(Add, a, b)


def subtract(a, b) -> Tensor:
    """``a - b`` with broadcasting."""
    return _binary(Sub, a, b)


def multiply(a, b) -> Tensor:
    """``a * b`` with broadcasting."""
    return _binary(Mul, a, b)


def divide(a, b) -> Tensor:
    """``a / b`` with broadcasting."""
    return _binary(Div, a, b)


def power(a, b) -> Tensor:
    """``a ** b`` with broadcasting (the gradient for b needs a > 0)."""
    return _binary(Pow, a, b)


def square(a) -> Tensor:
    """``a * a`` (``keras.ops.square``)."""
    return _binary(Pow, a, 2.0)


def maximum(a, b) -> Tensor:
    """Element-wise maximum; ties share the gradient evenly."""
    return _binary(Maximum, a, b)


def minimum(a, b) -> Tensor:
    """Element-wise minimum; ties share the gradient evenly."""
    return _binary(Minimum, a, b)


class MatMul(Function):
    """C = A @ B for 1-D and 2-D operands and stacks of matrices (broadcast over leading axes)."""

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: operands must be at least 1-D, got shapes {a.shape} and {b.shape}")
        ka = a.shape[a.ndim - 1]  # not shape[-1]: the CUDA simulator's shapes reject negative indices
        kb = b.shape[b.ndim - 2] if b.ndim > 1 else b.shape[0]
        if ka != kb:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} are not aligned ({ka} != {kb} in the inner dimension)"
            )
        self.a, self.b = a, b
        X = arrays.of(a, b, op="matmul")
        try:
            return X.matmul(a, b)
        except ValueError:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} cannot be broadcast together") from None

    def backward(self, g):
        a, b, need = self.a, self.b, self.needs_input_grad
        X = arrays.of(g)
        if X is not arrays.HOST:  # 2-D on the device: the kernel reads b or a transposed, no copy
            return (X.matmul(g, b, tb=True) if need[0] else None, X.matmul(a, g, ta=True) if need[1] else None)
        if a.ndim == 1 and b.ndim == 1:  # inner product: a scalar output
            return g * b, g * a
        # Promote 1-D operands to matrices so one formula serves all cases, then undo it.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        if b.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        ga = X.sum_to(g2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape) if need[0] else None
        gb = X.sum_to(np.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape) if need[1] else None
        return ga, gb


def matmul(a, b) -> Tensor:
    """Matrix product a @ b (NumPy semantics).

    Raises:
        ValueError: naming both shapes when the inner dimensions differ.
    """
    return _binary(MatMul, a, b)


class Neg(Function):
    def forward(self, a):
        return arrays.of(a).neg(a)

    def backward(self, g):
        return arrays.of(g).neg(g)


class Exp(Function):
    def forward(self, a):
        self.out = arrays.of(a).exp(a)
        return self.out

    def backward(self, g):
        return arrays.of(g).mul(g, self.out)


class Log(Function):
    def forward(self, a):
        self.a = a
        return arrays.of(a).log(a)

    def backward(self, g):
        return arrays.of(g).div(g, self.a)


class Sqrt(Function):
    def forward(self, a):
        self.out = arrays.of(a).sqrt(a)
        return self.out

    def backward(self, g):
        X = arrays.of(g)
        return X.div(X.mul(g, 0.5), self.out)


class Abs(Function):
    def forward(self, a):
        self.a = a
        return arrays.of(a).abs(a)

    def backward(self, g):
        X = arrays.of(g)
        return X.mul(g, X.sign(self.a))


class Sign(Function):
    def forward(self, a):
        self.shape = a.shape
        return arrays.of(a).sign(a)

    def backward(self, g):
        return arrays.of(g).mul(g, 0.0)  # piecewise constant: zero almost everywhere


class Clip(Function):
    def forward(self, a, lo=None, hi=None):
        self.a, self.lo, self.hi = a, lo, hi
        return arrays.of(a).clip(a, lo, hi)

    def backward(self, g):
        # The gradient passes where the input was inside [lo, hi] and stops where it was clipped.
        X = arrays.of(g)
        return X.mul(g, X.inside(self.a, self.lo, self.hi))


def negative(a: Tensor) -> Tensor:
    """``-a``."""
    return Neg.apply(a)


def exp(a: Tensor) -> Tensor:
    """``e ** a``."""
    return Exp.apply(a)


def log(a: Tensor) -> Tensor:
    """Natural logarithm."""
    return Log.apply(a)


def sqrt(a: Tensor) -> Tensor:
    """Square root."""
    return Sqrt.apply(a)


def absolute(a: Tensor) -> Tensor:
    """``|a|`` (gradient ``sign(a)``)."""
    return Abs.apply(a)


def sign(a: Tensor) -> Tensor:
    """-1, 0 or 1 (gradient zero)."""
    return Sign.apply(a)


def clip(a: Tensor, lo: float | None = None, hi: float | None = None) -> Tensor:
    """Clips values to [lo, hi]; gradient zero outside."""
    return Clip.apply(a, lo=lo, hi=hi)


class Cast(Function):
    def forward(self, a, dtype=None):
        self.dtype = a.dtype
        return arrays.of(a).astype(a, dtype)

    def backward(self, g):
        return arrays.of(g).astype(g, self.dtype)


def cast(a: Tensor, dtype: Any) -> Tensor:
    """Converts to another float dtype, differentiably."""
    return Cast.apply(a, dtype=np.dtype(dtype))


class ToDevice(Function):
    """A copy on another device; the gradient is copied back to where the input lives."""

    def forward(self, a, device="cpu"):
        self.source = arrays.device_name(a)
        return _transfer(a, device)

    def backward(self, g):
        return _transfer(g, self.source)


def to_device(a: Tensor, device: str) -> Tensor:
    """``a`` on ``device`` ('cpu' or 'cuda'), differentiably (``a`` itself when it is already there)."""
    if a.device == device:
        return a
    return ToDevice.apply(a, device=device)
