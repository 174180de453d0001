"""Shape and indexing: reshape, transpose, expand_dims, squeeze, indexing, concatenate, stack, where.

These move elements without arithmetic, so each backward puts the gradient back where its element came
from: reshape and transpose undo themselves, indexing scatters into zeros (repeated advanced indices add
up), concatenate splits, stack unstacks, ``where`` routes the gradient to the branch that was chosen.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..autograd import Function, Tensor
from . import arrays

__all__ = ["reshape", "transpose", "expand_dims", "squeeze", "getitem", "concatenate", "stack", "where"]


class Reshape(Function):
    def forward(self, a, shape=None):
        self.shape = a.shape
        try:
            return a.reshape(shape)  # device arrays reshape too (they are always C-contiguous here)
        except (ValueError, NotImplementedError):
            raise ValueError(f"reshape: cannot reshape a tensor of shape {a.shape} into shape {shape}") from None

    def backward(self, g):
        return g.reshape(self.shape)


def reshape(a: Tensor, shape: Sequence[int]) -> Tensor:
    """The same elements in a new shape (one entry may be -1)."""
    return Reshape.apply(a, shape=tuple(shape))


def expand_dims(a: Tensor, axis: int) -> Tensor:
    """A new axis of length 1 at ``axis`` (``keras.ops.expand_dims``)."""
    nd = a.ndim + 1
    if not -nd <= int(axis) < nd:
        raise ValueError(f"expand_dims: axis {axis} is out of range for a result with {nd} dimensions")
    ax = int(axis) % nd
    return reshape(a, a.shape[:ax] + (1,) + a.shape[ax:])


def squeeze(a: Tensor, axis: int | Sequence[int] | None = None) -> Tensor:
    """Drops axes of length 1 (all of them, or those named by ``axis``; naming another raises)."""
    if axis is None:
        axes = {d for d, n in enumerate(a.shape) if n == 1}
    else:
        axes = {int(x) % max(a.ndim, 1) for x in ((axis,) if isinstance(axis, (int, np.integer)) else axis)}
        bad = [d for d in axes if a.shape[d] != 1]
        if bad:
            raise ValueError(f"squeeze: axis {bad[0]} of shape {a.shape} has length {a.shape[bad[0]]}, not 1")
    return reshape(a, tuple(n for d, n in enumerate(a.shape) if d not in axes))


class Transpose(Function):
    def forward(self, a, axes=None):
        self.axes = axes
        return arrays.of(a).transpose(a, axes)

    def backward(self, g):
        return arrays.of(g).transpose(g, None if self.axes is None else tuple(np.argsort(self.axes)))


def transpose(a: Tensor, axes: Sequence[int] | None = None) -> Tensor:
    """Permutes the axes (reverses them when ``axes`` is None)."""
    return Transpose.apply(a, axes=None if axes is None else tuple(axes))


def _is_basic_index(index: Any) -> bool:
    """True for ints, slices, None and Ellipsis only: such an index never selects an element twice."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


class GetItem(Function):
    def forward(self, a, index=None):
        self.shape, self.index = a.shape, index
        return arrays.of(a).getitem(a, index)

    def backward(self, g):
        return arrays.of(g).scatter(self.shape, self.index, g, _is_basic_index(self.index))


def getitem(a: Tensor, index: Any) -> Tensor:
    """``a[index]`` with NumPy's indexing; tensors in the index are read as constants."""
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return GetItem.apply(a, index=index)


class Concatenate(Function):
    def forward(self, *parts, axis=0):
        X = arrays.of(*parts, op="concatenate")
        self.axis = axis
        self.splits = np.cumsum([x.shape[axis] for x in parts])[:-1]
        try:
            return X.concatenate(parts, axis=axis)
        except ValueError:
            shapes = ", ".join(str(x.shape) for x in parts)
            raise ValueError(f"concatenate: shapes {shapes} do not match except along axis {axis}") from None

    def backward(self, g):
        return tuple(arrays.of(g).split(g, self.splits, axis=self.axis))


class Stack(Function):
    def forward(self, *parts, axis=0):
        X = arrays.of(*parts, op="stack")
        self.axis = axis
        try:
            return X.stack(parts, axis=axis)
        except ValueError:
            shapes = ", ".join(str(x.shape) for x in parts)
            raise ValueError(f"stack: all shapes must be equal, got {shapes}") from None

    def backward(self, g):
        return tuple(arrays.of(g).moveaxis(g, self.axis, 0))


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Joins tensors along an existing axis."""
    return Concatenate.apply(*tensors, axis=axis)


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Joins tensors of one shape along a new axis."""
    return Stack.apply(*tensors, axis=axis)


class Where(Function):
    def forward(self, a, b, cond=None):
        self.cond, self.a_shape, self.b_shape = cond, a.shape, b.shape
        return arrays.of(a, b, op="where").where(cond, a, b)

    def backward(self, g):
        X = arrays.of(g)
        zero = np.zeros((), dtype=g.dtype)
        return (X.sum_to(X.where(self.cond, g, zero), self.a_shape),
                X.sum_to(X.where(self.cond, zero, g), self.b_shape))


def where(cond: Any, a: Any, b: Any) -> Tensor:
    """Chooses a where cond is true, else b; cond is not differentiated."""
    cond = np.asarray(cond.data if isinstance(cond, Tensor) else cond, dtype=bool)
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else Tensor(a)
    a = a if isinstance(a, Tensor) else Tensor(np.asarray(a, dtype=like.dtype))
    b = b if isinstance(b, Tensor) else Tensor(np.asarray(b, dtype=like.dtype))
    return Where.apply(a, b, cond=cond)
