"""The basic differentiable operations on tensors, under Keras 3's ``keras.ops`` names.

``from minidl import ops`` then ``ops.square(x)``, ``ops.sum(x, axis=1)``, ``ops.expand_dims(x, 0)``... as a
custom layer's ``call`` does with ``keras.ops``. Every operation is a
:class:`~minidl.autograd.Function` (forward and backward side by side) in one of three files:

- :mod:`.arithmetic`: add, subtract, multiply, divide, negative, power, square, sqrt, exp, log, abs,
  sign, clip, maximum, minimum, matmul, cast.
- :mod:`.shape`: reshape, transpose, expand_dims, squeeze, indexing, concatenate, stack, where.
- :mod:`.reductions`: sum, mean, max, min.

On a KerasTensor (a functional model's symbolic input) each records a node instead of computing, so
``ops.square(Input((3,)))`` builds a graph as in Keras. Each is written once on the arrays of its operands' device (:mod:`.arrays` picks NumPy or the CUDA
primitives). This namespace also binds the Keras / NumPy names ``sum``, ``max``, ``min``, ``abs`` and
``pow``, as ``keras.ops`` and ``numpy`` do; the modules that define the operations use their own names
(``reduce_sum``, ``absolute``, ``power``...), so no module code shadows a builtin.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from ..symbolic import KerasTensor, apply_op
from .arithmetic import (absolute, add, cast, clip, divide, exp, log, matmul, maximum, minimum, multiply,
                         negative, power, sign, sqrt, square, subtract, sum_to, to_device)
from .reductions import reduce_max, reduce_mean, reduce_min, reduce_sum
from .shape import concatenate, expand_dims, getitem, reshape, squeeze, stack, transpose, where



def _is_symbolic(value: Any) -> bool:
    return isinstance(value, KerasTensor) or (
        isinstance(value, (list, tuple)) and any(isinstance(v, KerasTensor) for v in value))


def _symbolic_aware(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` as this namespace offers it: eager on Tensors and arrays, recorded as a node of a functional
    graph (through :func:`minidl.symbolic.apply_op`) when an argument is a KerasTensor, as keras.ops does.
    The check is a few isinstance tests, so the eager path costs next to nothing more."""
    @functools.wraps(fn)
    def op(*args: Any, **kwargs: Any) -> Any:
        if any(_is_symbolic(a) for a in args) or any(_is_symbolic(v) for v in kwargs.values()):
            return apply_op(fn, *args, **kwargs)
        return fn(*args, **kwargs)
    return op


(absolute, add, cast, clip, divide, exp, log, matmul, maximum, minimum, multiply, negative, power, sign, sqrt,
 square, subtract, reduce_max, reduce_mean, reduce_min, reduce_sum, concatenate, expand_dims, getitem, reshape,
 squeeze, stack, transpose, where) = map(_symbolic_aware, (
    absolute, add, cast, clip, divide, exp, log, matmul, maximum, minimum, multiply, negative, power, sign, sqrt,
    square, subtract, reduce_max, reduce_mean, reduce_min, reduce_sum, concatenate, expand_dims, getitem, reshape,
    squeeze, stack, transpose, where))

# Keras's and NumPy's public names for the same functions (builtins shadowed in this namespace only).
sum = reduce_sum  # noqa: A001
mean = reduce_mean
max = reduce_max  # noqa: A001
min = reduce_min  # noqa: A001
abs = absolute  # noqa: A001
pow = power  # noqa: A001
sub, mul, div, neg = subtract, multiply, divide, negative  # minidl's short names, kept

__all__ = [
    "add", "subtract", "multiply", "divide", "negative", "power", "square", "sqrt", "exp", "log", "abs",
    "absolute", "sign", "clip", "maximum", "minimum", "matmul", "cast", "to_device", "reshape", "transpose",
    "expand_dims", "squeeze", "getitem", "concatenate", "stack", "where", "sum", "mean", "max", "min",
    "reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "pow", "sub", "mul", "div", "neg", "sum_to",
]
