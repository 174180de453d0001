"""Reductions: sum, mean, max and min over some axes.

``sum``: the gradient is broadcast back over the summed axes; ``mean`` also divides it by the count;
``max`` / ``min``: the gradient goes to the position(s) that hold the extreme value, split evenly between ties.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function, Tensor
from . import arrays

__all__ = ["reduce_sum", "reduce_mean", "reduce_max", "reduce_min"]


def _norm_axis(axis: Any, ndim: int) -> tuple[int, ...] | None:
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    nd = ndim if ndim > 0 else 1
    out = []
    for ax in axes:
        if not -ndim <= ax < nd:
            raise ValueError(f"axis {ax} is out of range for a tensor with {ndim} dimensions")
        out.append(int(ax) % nd)
    return tuple(out)


def _kept(shape: tuple, axes: tuple | None) -> tuple:
    """``shape`` with the reduced axes set to 1 (the keepdims layout, which broadcasts against the input)."""
    red = range(len(shape)) if axes is None else axes
    return tuple(1 if d in red else n for d, n in enumerate(shape))


class Sum(Function):
    def forward(self, a, axis=None, keepdims=False):
        self.shape, self.axis = a.shape, axis
        return arrays.of(a).sum(a, axis, keepdims)

    def backward(self, g):
        return arrays.of(g).broadcast_to(g.reshape(_kept(self.shape, self.axis)), self.shape)


class Mean(Sum):
    def forward(self, a, axis=None, keepdims=False):
        self.count = a.size if axis is None else int(np.prod([a.shape[i] for i in axis]))
        X = arrays.of(a)
        return X.div(super().forward(a, axis, keepdims), np.asarray(self.count, dtype=a.dtype))

    def backward(self, g):
        return super().backward(arrays.of(g).div(g, np.asarray(self.count, dtype=g.dtype)))


class Extreme(Function):
    def forward(self, a, axis=None, keepdims=False, largest=True):
        if a.size == 0:
            raise ValueError("max/min of an empty tensor")
        X = arrays.of(a)
        self.a, self.axis = a, axis
        self.out = X.extreme(a, axis, True, largest)
        return self.out if keepdims else X.extreme(a, axis, False, largest)

    def backward(self, g):
        mask = self.a == self.out  # the position(s) holding the extreme value
        count = mask.sum(axis=self.axis, keepdims=True)
        return g.reshape(_kept(self.a.shape, self.axis)) * mask / count


def reduce_sum(a: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Sum over ``axis`` (all axes when None)."""
    return Sum.apply(a, axis=_norm_axis(axis, a.ndim), keepdims=keepdims)


def reduce_mean(a: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis`` (all axes when None)."""
    return Mean.apply(a, axis=_norm_axis(axis, a.ndim), keepdims=keepdims)


def reduce_max(a: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Maximum over ``axis``; ties share the gradient evenly."""
    return Extreme.apply(a, axis=_norm_axis(axis, a.ndim), keepdims=keepdims, largest=True)


def reduce_min(a: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Minimum over ``axis``; ties share the gradient evenly."""
    return Extreme.apply(a, axis=_norm_axis(axis, a.ndim), keepdims=keepdims, largest=False)
