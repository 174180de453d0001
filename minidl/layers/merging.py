"""Merge layers: combine a list of tensors into one (Keras's ``keras.layers.Add`` and friends).

``Add()([a, b])`` (or the function ``add([a, b])``) on KerasTensors builds a graph node; on Tensors it
computes. Element-wise merges broadcast as NumPy does when the shapes allow it (a size-1 axis or an equal
axis), otherwise they raise ValueError naming the layer and the shapes. Gradients come from the
differentiable ops they are written with (``+``, ``*``, :func:`minidl.ops.maximum`, ...): for ``Add`` each
input gets the upstream gradient, for ``Multiply`` the product of the others, for ``Maximum`` the gradient
goes to the larger input.
"""
from __future__ import annotations

from typing import Any

from .. import ops
from .base import Layer, _shape_str

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate",
           "add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate"]


class _Merge(Layer):
    """Element-wise merge of a list of at least two tensors of broadcast-compatible shapes."""

    _min_inputs = 2
    _max_inputs: int | None = None

    def _check_list(self, shapes: Any) -> list[tuple]:
        if not isinstance(shapes, (list, tuple)) or not shapes or not all(isinstance(s, tuple) for s in shapes):
            raise ValueError(f"layer {self.name!r} ({type(self).__name__}) must be called on a list of tensors, "
                             f"got shape {shapes!r}")
        n = len(shapes)
        if n < self._min_inputs or (self._max_inputs is not None and n > self._max_inputs):
            want = (f"exactly {self._min_inputs}" if self._max_inputs == self._min_inputs
                    else f"at least {self._min_inputs}")
            raise ValueError(f"layer {self.name!r} ({type(self).__name__}) should be called on a list of {want} "
                             f"inputs, got {n}")
        return list(shapes)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape):
        shapes = self._check_list(input_shape)
        out = list(shapes[0])
        for s in shapes[1:]:
            if len(s) != len(out):
                raise ValueError(f"layer {self.name!r} ({type(self).__name__}): inputs have incompatible shapes. "
                                 f"Received shapes {[_shape_str(x) for x in shapes]} (different ranks)")
            for i, (a, b) in enumerate(zip(out, s)):
                if a is None or b is None:
                    out[i] = a if b is None else b if a is None else a
                elif a == 1:
                    out[i] = b
                elif b != 1 and a != b:
                    raise ValueError(f"layer {self.name!r} ({type(self).__name__}): inputs have incompatible "
                                     f"shapes. Received shapes {[_shape_str(x) for x in shapes]}")
        out[0] = None
        return tuple(out)

    def _merge(self, xs: list) -> Any:
        raise NotImplementedError

    def call(self, inputs, training=False):
        return self._merge(list(inputs))


class Add(_Merge):
    """The sum of the inputs: ``a + b + ...``."""

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Subtract(_Merge):
    """``a - b``, for exactly two inputs."""

    _max_inputs = 2

    def _merge(self, xs):
        return xs[0] - xs[1]


class Multiply(_Merge):
    """The element-wise product of the inputs."""

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Average(_Merge):
    """The element-wise mean of the inputs: ``(a + b + ...) / n``."""

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out * (1.0 / len(xs))


class Maximum(_Merge):
    """The element-wise maximum of the inputs."""

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = ops.maximum(out, x)
        return out


class Minimum(_Merge):
    """The element-wise minimum of the inputs."""

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = ops.minimum(out, x)
        return out


class Concatenate(_Merge):
    """Joins the inputs along ``axis`` (default the last, the channels); the other axes must match.

    Args:
        axis: the axis to join on (counted with the batch as 0; negative from the end).
    """

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"Concatenate: axis must be an integer, got {axis!r}")
        self.axis = axis

    def compute_output_shape(self, input_shape):
        shapes = self._check_list(input_shape)
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes):
            raise ValueError(f"layer {self.name!r} (Concatenate): all inputs must have the same rank, got shapes "
                             f"{[_shape_str(s) for s in shapes]}")
        axis = self.axis % rank if -rank <= self.axis < rank else None
        if axis is None or axis == 0:
            raise ValueError(f"layer {self.name!r} (Concatenate): axis={self.axis} is out of range for inputs of rank "
                             f"{rank} (the batch axis 0 cannot be joined)")
        out = list(shapes[0])
        for s in shapes[1:]:
            for i in range(1, rank):
                if i == axis:
                    continue
                if out[i] is not None and s[i] is not None and out[i] != s[i]:
                    raise ValueError(f"layer {self.name!r} (Concatenate) requires inputs with matching shapes except "
                                     f"for the concatenation axis {self.axis}. Received: input_shape="
                                     f"{[_shape_str(x) for x in shapes]}")
        total = 0
        for s in shapes:
            if s[axis] is None:
                total = None
                break
            total += s[axis]
        out[axis] = total
        out[0] = None
        return tuple(out)

    def _merge(self, xs):
        return ops.concatenate(xs, axis=self.axis % xs[0].ndim)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def add(inputs: list, **kwargs: Any) -> Any:
    """``Add(**kwargs)(inputs)``."""
    return Add(**kwargs)(inputs)


def subtract(inputs: list, **kwargs: Any) -> Any:
    """``Subtract(**kwargs)(inputs)``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs: list, **kwargs: Any) -> Any:
    """``Multiply(**kwargs)(inputs)``."""
    return Multiply(**kwargs)(inputs)


def average(inputs: list, **kwargs: Any) -> Any:
    """``Average(**kwargs)(inputs)``."""
    return Average(**kwargs)(inputs)


def maximum(inputs: list, **kwargs: Any) -> Any:
    """``Maximum(**kwargs)(inputs)``."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: list, **kwargs: Any) -> Any:
    """``Minimum(**kwargs)(inputs)``."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: list, axis: int = -1, **kwargs: Any) -> Any:
    """``Concatenate(axis=axis, **kwargs)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)
