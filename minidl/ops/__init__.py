"""The basic differentiable operations on tensors, under Keras 3's ``keras.ops`` names.

``from minidl import ops`` then ``ops.square(x)``, ``ops.sum(x, axis=1)``, ``ops.expand_dims(x, 0)``... as a
custom layer's ``call`` does with ``keras.ops``. Every operation is a
:class:`~minidl.autograd.Function` (forward and backward side by side) in one of three files:

- :mod:`.arithmetic`: add, subtract, multiply, divide, negative, power, square, sqrt, exp, log, abs,
  sign, clip, maximum, minimum, matmul, cast.
- :mod:`.shape`: reshape, transpose, expand_dims, squeeze, indexing, concatenate, stack, where.
- :mod:`.reductions`: sum, mean, max, min.

Each is written once on the arrays of its operands' device (:mod:`.arrays` picks NumPy or the CUDA
primitives). This namespace also binds the Keras / NumPy names ``sum``, ``max``, ``min``, ``abs`` and
``pow``, as ``keras.ops`` and ``numpy`` do; the modules that define the operations use their own names
(``reduce_sum``, ``absolute``, ``power``...), so no module code shadows a builtin.
"""
from __future__ import annotations

from .arithmetic import (absolute, add, cast, clip, divide, exp, log, matmul, maximum, minimum, multiply,
                         negative, power, sign, sqrt, square, subtract, sum_to, to_device)
from .reductions import reduce_max, reduce_mean, reduce_min, reduce_sum
from .shape import concatenate, expand_dims, getitem, reshape, squeeze, stack, transpose, where

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
