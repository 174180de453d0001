"""The basic differentiable operations: arithmetic, reductions, shape and indexing.

Each operation is a :class:`~minidl.autograd.Function` subclass with ``forward`` and ``backward`` side by
side, plus a lowercase wrapper. The calculus, op by op:

- ``a + b``: both inputs receive the upstream gradient ``g``.   ``a * b``: ``g * b`` and ``g * a``.
- ``a / b``: ``g / b`` and ``-g * a / b**2``.   ``a ** p``: ``g * p * a**(p-1)`` and ``g * log(a) * a**p``.
- ``a @ b``: ``g @ b.T`` and ``a.T @ g``.   ``exp``: ``g * exp(a)``; ``log``: ``g / a``; ``sqrt``: ``g / (2 sqrt a)``.
- ``sum``: the gradient is broadcast back over the summed axes; ``mean`` divides it by the count.
- ``max``: the gradient goes to the positions that hold the maximum (split evenly between ties).
- Broadcasting: an input that was broadcast to a larger shape receives the gradient *summed* over the
  broadcast axes (:func:`sum_to`), because each of its elements was used once per broadcast copy.
"""
from __future__ import annotations

import builtins
from typing import Any, Sequence

import numpy as np

from .autograd import Function, Tensor

__all__ = [
    "sum_to", "add", "sub", "mul", "div", "neg", "pow", "matmul", "exp", "log", "sqrt", "abs", "clip",
    "maximum", "minimum", "reshape", "transpose", "getitem", "sum", "mean", "max", "min", "concatenate",
    "stack", "where", "cast",
]


def sum_to(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sums a broadcast gradient ``g`` back down to ``shape`` (the inverse of broadcasting)."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if lead:
        g = g.reshape(g.shape[lead:])
    return g.reshape(shape)


def _broadcast_error(a: np.ndarray, b: np.ndarray, op: str) -> ValueError:
    return ValueError(f"{op}: shapes {a.shape} and {b.shape} cannot be broadcast together")


def _lift(a: Any, like: Tensor) -> Any:
    """Python scalars stay scalars (NumPy keeps the tensor's dtype); arrays/lists become constants."""
    if isinstance(a, (Tensor, int, float)):
        return a
    return Tensor(a, dtype=like.dtype if np.asarray(a).dtype.kind != "f" else None)


class _Binary(Function):
    """Shared plumbing: remember input shapes for sum_to, turn broadcast failures into clear errors."""

    op_name = "op"

    def forward(self, a, b):
        self.a_shape, self.b_shape = np.shape(a), np.shape(b)
        try:
            return self.compute(a, b)
        except ValueError:
            raise _broadcast_error(np.asarray(a), np.asarray(b), self.op_name) from None


class Add(_Binary):
    op_name = "add"

    def compute(self, a, b):
        return a + b

    def backward(self, g):
        return sum_to(g, self.a_shape), sum_to(g, self.b_shape)


class Sub(_Binary):
    op_name = "subtract"

    def compute(self, a, b):
        return a - b

    def backward(self, g):
        return sum_to(g, self.a_shape), (sum_to(-g, self.b_shape) if self.needs_input_grad[1] else None)


class Mul(_Binary):
    op_name = "multiply"

    def compute(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        ga = sum_to(g * self.b, self.a_shape) if self.needs_input_grad[0] else None
        gb = sum_to(g * self.a, self.b_shape) if self.needs_input_grad[1] else None
        return ga, gb


class Div(_Binary):
    op_name = "divide"

    def compute(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        ga = sum_to(g / self.b, self.a_shape) if self.needs_input_grad[0] else None
        gb = sum_to(-g * self.a / (self.b * self.b), self.b_shape) if self.needs_input_grad[1] else None
        return ga, gb


class Pow(_Binary):
    op_name = "power"

    def compute(self, a, b):
        self.a, self.b = a, b
        self.out = a ** b
        return self.out

    def backward(self, g):
        a, b = self.a, self.b
        ga = sum_to(g * b * a ** (b - 1), self.a_shape) if self.needs_input_grad[0] else None
        gb = None
        if self.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                gb = sum_to(g * self.out * np.log(np.where(a > 0, a, 1)), self.b_shape)
        return ga, gb


class Maximum(_Binary):
    op_name = "maximum"

    def compute(self, a, b):
        self.a, self.b = a, b
        return np.maximum(a, b)

    def backward(self, g):
        # Ties split the gradient evenly, so the result is a valid subgradient either way.
        wa = (self.a > self.b) + 0.5 * (self.a == self.b)
        return sum_to(g * wa, self.a_shape), sum_to(g * (1 - wa), self.b_shape)


class Minimum(_Binary):
    op_name = "minimum"

    def compute(self, a, b):
        self.a, self.b = a, b
        return np.minimum(a, b)

    def backward(self, g):
        wa = (self.a < self.b) + 0.5 * (self.a == self.b)
        return sum_to(g * wa, self.a_shape), sum_to(g * (1 - wa), self.b_shape)


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
    """a + b with broadcasting."""
    return _binary(Add, a, b)


def sub(a, b) -> Tensor:
    """a - b with broadcasting."""
    return _binary(Sub, a, b)


def mul(a, b) -> Tensor:
    """a * b with broadcasting."""
    return _binary(Mul, a, b)


def div(a, b) -> Tensor:
    """a / b with broadcasting."""
    return _binary(Div, a, b)


def pow(a, b) -> Tensor:
    """a ** b with broadcasting (the gradient for b needs a > 0)."""
    return _binary(Pow, a, b)


def maximum(a, b) -> Tensor:
    """Element-wise maximum; ties share the gradient evenly."""
    return _binary(Maximum, a, b)


def minimum(a, b) -> Tensor:
    """Element-wise minimum; ties share the gradient evenly."""
    return _binary(Minimum, a, b)


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


def neg(a: Tensor) -> Tensor:
    return Neg.apply(a)


class MatMul(Function):
    """C = A @ B for 1-D and 2-D operands and stacks of matrices (broadcast over leading axes)."""

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: operands must be at least 1-D, got shapes {a.shape} and {b.shape}")
        ka = a.shape[-1]
        kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
        if ka != kb:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} are not aligned ({ka} != {kb} in the inner dimension)"
            )
        self.a, self.b = a, b
        try:
            return a @ b
        except ValueError:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} cannot be broadcast together") from None

    def backward(self, g):
        a, b = self.a, self.b
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
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = g2 @ np.swapaxes(b2, -1, -2)
            ga = sum_to(ga, a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            gb = np.swapaxes(a2, -1, -2) @ g2
            gb = sum_to(gb, b2.shape).reshape(b.shape)
        return ga, gb


def matmul(a, b) -> Tensor:
    """Matrix product a @ b (NumPy semantics).

    Raises:
        ValueError: naming both shapes when the inner dimensions differ.
    """
    return _binary(MatMul, a, b)


class Exp(Function):
    def forward(self, a):
        self.out = np.exp(a)
        return self.out

    def backward(self, g):
        return g * self.out


class Log(Function):
    def forward(self, a):
        self.a = a
        return np.log(a)

    def backward(self, g):
        return g / self.a


class Sqrt(Function):
    def forward(self, a):
        self.out = np.sqrt(a)
        return self.out

    def backward(self, g):
        return g / (2 * self.out)


class Abs(Function):
    def forward(self, a):
        self.a = a
        return np.abs(a)

    def backward(self, g):
        return g * np.sign(self.a)


class Clip(Function):
    def forward(self, a, lo=None, hi=None):
        self.a, self.lo, self.hi = a, lo, hi
        return np.clip(a, lo, hi)

    def backward(self, g):
        # The gradient passes where the input was inside [lo, hi] and stops where it was clipped.
        mask = np.ones(self.a.shape, dtype=bool)
        if self.lo is not None:
            mask &= self.a >= self.lo
        if self.hi is not None:
            mask &= self.a <= self.hi
        return g * mask


def exp(a: Tensor) -> Tensor:
    return Exp.apply(a)


def log(a: Tensor) -> Tensor:
    return Log.apply(a)


def sqrt(a: Tensor) -> Tensor:
    return Sqrt.apply(a)


def abs(a: Tensor) -> Tensor:  # noqa: A001 - mirrors numpy.abs
    return Abs.apply(a)


def clip(a: Tensor, lo: float | None = None, hi: float | None = None) -> Tensor:
    """Clips values to [lo, hi]; gradient zero outside."""
    return Clip.apply(a, lo=lo, hi=hi)


class Cast(Function):
    def forward(self, a, dtype=None):
        self.dtype = a.dtype
        return a.astype(dtype)

    def backward(self, g):
        return g.astype(self.dtype)


def cast(a: Tensor, dtype: Any) -> Tensor:
    """Converts to another float dtype, differentiably."""
    return Cast.apply(a, dtype=np.dtype(dtype))


# ---------------------------------------------------------------------- shape and indexing
class Reshape(Function):
    def forward(self, a, shape=None):
        self.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {a.shape} into shape {shape}") from None

    def backward(self, g):
        return g.reshape(self.shape)


def reshape(a: Tensor, shape: Sequence[int]) -> Tensor:
    return Reshape.apply(a, shape=tuple(shape))


class Transpose(Function):
    def forward(self, a, axes=None):
        self.axes = axes
        return np.transpose(a, axes)

    def backward(self, g):
        if self.axes is None:
            return np.transpose(g)
        return np.transpose(g, np.argsort(self.axes))


def transpose(a: Tensor, axes: Sequence[int] | None = None) -> Tensor:
    return Transpose.apply(a, axes=None if axes is None else tuple(axes))


def _is_basic_index(index: Any) -> bool:
    """True for ints, slices, None and Ellipsis only: such an index never selects an element twice."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


class GetItem(Function):
    def forward(self, a, index=None):
        self.shape, self.dtype, self.index = a.shape, a.dtype, index
        return a[index]

    def backward(self, g):
        # Scatter the gradient into zeros; advanced indices may repeat an element, so they add up.
        out = np.zeros(self.shape, dtype=g.dtype)
        if _is_basic_index(self.index):
            out[self.index] = g
        else:
            np.add.at(out, self.index, g)
        return out


def getitem(a: Tensor, index: Any) -> Tensor:
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return GetItem.apply(a, index=index)


class Concatenate(Function):
    def forward(self, *arrays, axis=0):
        self.axis = axis
        self.splits = np.cumsum([x.shape[axis] for x in arrays])[:-1]
        try:
            return np.concatenate(arrays, axis=axis)
        except ValueError:
            shapes = ", ".join(str(x.shape) for x in arrays)
            raise ValueError(f"concatenate: shapes {shapes} do not match except along axis {axis}") from None

    def backward(self, g):
        return tuple(np.split(g, self.splits, axis=self.axis))


class Stack(Function):
    def forward(self, *arrays, axis=0):
        self.axis = axis
        try:
            return np.stack(arrays, axis=axis)
        except ValueError:
            shapes = ", ".join(str(x.shape) for x in arrays)
            raise ValueError(f"stack: all shapes must be equal, got {shapes}") from None

    def backward(self, g):
        return tuple(np.moveaxis(g, self.axis, 0))


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    return Concatenate.apply(*tensors, axis=axis)


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    return Stack.apply(*tensors, axis=axis)


class Where(Function):
    def forward(self, a, b, cond=None):
        self.cond, self.a_shape, self.b_shape = cond, a.shape, b.shape
        return np.where(cond, a, b)

    def backward(self, g):
        zero = np.zeros((), dtype=g.dtype)
        return sum_to(np.where(self.cond, g, zero), self.a_shape), sum_to(np.where(self.cond, zero, g), self.b_shape)


def where(cond: Any, a: Any, b: Any) -> Tensor:
    """Chooses a where cond is true, else b; cond is not differentiated."""
    cond = np.asarray(cond.data if isinstance(cond, Tensor) else cond, dtype=bool)
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else Tensor(a)
    a = a if isinstance(a, Tensor) else Tensor(np.asarray(a, dtype=like.dtype))
    b = b if isinstance(b, Tensor) else Tensor(np.asarray(b, dtype=like.dtype))
    return Where.apply(a, b, cond=cond)


# ---------------------------------------------------------------------- reductions
def _norm_axis(axis: Any, ndim: int) -> tuple[int, ...] | None:
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for ax in axes:
        if not -ndim <= ax < builtins.max(ndim, 1):
            raise ValueError(f"axis {ax} is out of range for a tensor with {ndim} dimensions")
        out.append(int(ax) % builtins.max(ndim, 1))
    return tuple(out)


def _expand(g: np.ndarray, shape: tuple, axes: tuple | None, keepdims: bool) -> np.ndarray:
    """Re-inserts the reduced axes into g so that it broadcasts against the input."""
    if not keepdims:
        g = np.expand_dims(g, axes if axes is not None else tuple(range(len(shape))))
    return g


class Sum(Function):
    def forward(self, a, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = a.shape, axis, keepdims
        return np.asarray(a.sum(axis=axis, keepdims=keepdims))

    def backward(self, g):
        return np.broadcast_to(_expand(g, self.shape, self.axis, self.keepdims), self.shape)


class Mean(Sum):
    def forward(self, a, axis=None, keepdims=False):
        self.count = a.size if axis is None else int(np.prod([a.shape[i] for i in axis]))
        return super().forward(a, axis, keepdims) / np.asarray(self.count, dtype=a.dtype)

    def backward(self, g):
        return super().backward(g / np.asarray(self.count, dtype=g.dtype))


class Max(Function):
    def forward(self, a, axis=None, keepdims=False, fn=np.max):
        if a.size == 0:
            raise ValueError("max/min of an empty tensor")
        self.a, self.axis, self.keepdims = a, axis, keepdims
        self.out = np.asarray(fn(a, axis=axis, keepdims=True))
        return self.out if keepdims else np.asarray(fn(a, axis=axis, keepdims=False))

    def backward(self, g):
        # The gradient goes to the position(s) that hold the extreme value, split evenly between ties.
        mask = self.a == self.out
        count = mask.sum(axis=self.axis, keepdims=True)
        return _expand(g, self.a.shape, self.axis, self.keepdims) * mask / count


def sum(a: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return Sum.apply(a, axis=_norm_axis(axis, a.ndim), keepdims=keepdims)


def mean(a: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    return Mean.apply(a, axis=_norm_axis(axis, a.ndim), keepdims=keepdims)


def max(a: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return Max.apply(a, axis=_norm_axis(axis, a.ndim), keepdims=keepdims, fn=np.max)


def min(a: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return Max.apply(a, axis=_norm_axis(axis, a.ndim), keepdims=keepdims, fn=np.min)
