"""The array operations each device offers the autograd ops: the one place that picks them.

Every :class:`~minidl.autograd.Function` in :mod:`minidl.ops` writes its forward and backward once, as
calls on ``X = arrays.of(a, b)``: ``X.mul(g, b)``, ``X.sum_to(g, shape)``... On 'cpu' ``X`` is
:data:`HOST` (NumPy, one line each); on 'cuda' it is :data:`DEVICE`, the same names built on the generic
device primitives of ``kernels/array`` (broadcasting element-wise kernels, reductions, strided copies)
and the tiled matmul. A new device adds one such namespace here and touches no op.

What 'cuda' does not offer yet (``maximum``/``minimum``, a tensor exponent, matmul of 1-D or stacked
operands, indexing, ``concatenate``, ``stack``, ``where``, ``max``/``min``) raises NotImplementedError
naming the operation. A 0-d host array (what a Python number becomes) is a scalar and combines with
arrays on any device, as in PyTorch; other mixes raise ValueError naming both devices.
"""
from __future__ import annotations

import builtins
from typing import Any, Sequence

import numpy as np

from .. import kernel_table

__all__ = ["of", "HOST", "DEVICE", "is_device_array", "device_name"]

is_device_array = kernel_table.is_device_array


def device_name(x: Any) -> str:
    return "cuda" if is_device_array(x) else "cpu"


def _keepdims_shape(shape: tuple, axes: tuple | None) -> tuple:
    red = range(len(shape)) if axes is None else axes
    return tuple(1 if d in red else n for d, n in enumerate(shape))


class _Host:
    """NumPy on host arrays."""

    name = "cpu"

    add = staticmethod(np.add)
    sub = staticmethod(np.subtract)
    mul = staticmethod(np.multiply)
    div = staticmethod(np.divide)
    neg = staticmethod(np.negative)
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    sqrt = staticmethod(np.sqrt)
    abs = staticmethod(np.abs)
    sign = staticmethod(np.sign)
    maximum = staticmethod(np.maximum)
    minimum = staticmethod(np.minimum)
    transpose = staticmethod(np.transpose)
    concatenate = staticmethod(np.concatenate)
    stack = staticmethod(np.stack)
    split = staticmethod(np.split)
    moveaxis = staticmethod(np.moveaxis)
    where = staticmethod(np.where)

    @staticmethod
    def pow(a: Any, p: Any) -> Any:
        return a ** p

    @staticmethod
    def log_positive(a: np.ndarray) -> np.ndarray:
        """log(a) where a > 0, else 0 (the exponent's gradient of a ** b needs a > 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(np.where(a > 0, a, 1))

    @staticmethod
    def clip(a: np.ndarray, lo: float | None, hi: float | None) -> np.ndarray:
        return np.clip(a, lo, hi)

    @staticmethod
    def inside(a: np.ndarray, lo: float | None, hi: float | None) -> np.ndarray:
        """1 where lo <= a <= hi (bounds None: open), else 0: clip's gradient mask."""
        mask = np.ones(a.shape, dtype=bool)
        if lo is not None:
            mask &= a >= lo
        if hi is not None:
            mask &= a <= hi
        return mask

    @staticmethod
    def tie_weight(a: np.ndarray, b: np.ndarray, larger: bool) -> np.ndarray:
        """1 where a wins (a > b, or a < b when not ``larger``), 0.5 on ties, else 0."""
        return ((a > b) if larger else (a < b)) + 0.5 * (a == b)

    @staticmethod
    def sum(a: np.ndarray, axes: tuple | None, keepdims: bool) -> np.ndarray:
        return np.asarray(a.sum(axis=axes, keepdims=keepdims))

    @staticmethod
    def extreme(a: np.ndarray, axes: tuple | None, keepdims: bool, largest: bool) -> np.ndarray:
        return np.asarray((np.max if largest else np.min)(a, axis=axes, keepdims=keepdims))

    @staticmethod
    def broadcast_to(g: np.ndarray, shape: tuple) -> np.ndarray:
        return np.broadcast_to(g, shape)

    @staticmethod
    def sum_to(g: np.ndarray, shape: tuple) -> np.ndarray:
        """Sums a broadcast gradient back down to ``shape`` (the inverse of broadcasting)."""
        if g.shape == shape:
            return g
        lead = g.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape)
                                          if n == 1 and g.shape[i + lead] != 1)
        if axes:
            g = g.sum(axis=axes, keepdims=True)
        if lead:
            g = g.reshape(g.shape[lead:])
        return g.reshape(shape)

    @staticmethod
    def astype(a: np.ndarray, dtype: Any) -> np.ndarray:
        return a.astype(dtype)

    @staticmethod
    def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a @ b

    @staticmethod
    def getitem(a: np.ndarray, index: Any) -> np.ndarray:
        return a[index]

    @staticmethod
    def scatter(shape: tuple, index: Any, g: np.ndarray, basic: bool) -> np.ndarray:
        """zeros(shape) with g added at ``index`` (advanced indices may repeat an element: they add up)."""
        out = np.zeros(shape, dtype=g.dtype)
        if basic:
            out[index] = g
        else:
            np.add.at(out, index, g)
        return out

    @staticmethod
    def like_operand(g: Any, operand: Any) -> Any:
        return g


def _not_on_cuda(what: str) -> NotImplementedError:
    return NotImplementedError(f"{what} is not available on 'cuda' yet; move the tensor to 'cpu' with .to('cpu')")


_REVERSED = {"add": "add", "mul": "mul", "sub": "rsub", "div": "rdiv"}


class _Device:
    """The same operations on numba device arrays, from the 'cuda' primitives of the kernel table."""

    name = "cuda"

    @staticmethod
    def _K():
        return kernel_table.get("cuda")

    _MISSING = {"extreme": "max/min", "getitem": "indexing (getitem)", "scatter": "indexing (getitem)",
                "tie_weight": "maximum/minimum", "log_positive": "the gradient for a tensor exponent",
                "split": "concatenate", "moveaxis": "stack"}

    def __getattr__(self, what: str) -> Any:  # an operation the device does not offer
        if what.startswith("__"):
            raise AttributeError(what)
        raise _not_on_cuda(self._MISSING.get(what, what))

    def _binary(self, op: str, a: Any, b: Any) -> Any:
        K = self._K()
        if not is_device_array(b):  # a host scalar
            out = K.empty(a.shape, dtype=a.dtype)
            K.unary(op, a, out, float(b))
            return out
        if not is_device_array(a):
            out = K.empty(b.shape, dtype=b.dtype)
            K.unary(_REVERSED[op], b, out, float(a))
            return out
        shape = np.broadcast_shapes(a.shape, b.shape)  # ValueError when they do not broadcast
        out = K.empty(shape, dtype=np.result_type(a.dtype, b.dtype))
        K.binary(op, a, b, out)
        return out

    def _unary(self, op: str, a: Any, p: float = 0.0, q: float = 0.0) -> Any:
        out = self._K().empty(a.shape, dtype=a.dtype)
        self._K().unary(op, a, out, p, q)
        return out

    def add(self, a, b):
        return self._binary("add", a, b)

    def sub(self, a, b):
        return self._binary("sub", a, b)

    def mul(self, a, b):
        return self._binary("mul", a, b)

    def div(self, a, b):
        return self._binary("div", a, b)

    def neg(self, a):
        return self._unary("neg", a)

    def exp(self, a):
        return self._unary("exp", a)

    def log(self, a):
        return self._unary("log", a)

    def sqrt(self, a):
        return self._unary("sqrt", a)

    def abs(self, a):
        return self._unary("abs", a)

    def sign(self, a):
        return self._unary("sign", a)

    def pow(self, a, p):
        if not is_device_array(a) or is_device_array(p):
            raise _not_on_cuda("power with a tensor exponent")
        return self._unary("pow", a, float(p))

    def clip(self, a, lo, hi):
        return self._unary("clip", a, -np.inf if lo is None else lo, np.inf if hi is None else hi)

    def inside(self, a, lo, hi):
        return self._unary("inside", a, -np.inf if lo is None else lo, np.inf if hi is None else hi)

    def sum(self, a, axes, keepdims, scale: float = 1.0):
        kept = _keepdims_shape(tuple(a.shape), axes)
        shape = kept if keepdims else tuple(n for d, n in enumerate(a.shape)
                                            if d not in (range(a.ndim) if axes is None else axes))
        out = self._K().empty(shape, dtype=a.dtype)
        self._K().reduce_sum(a, axes, out, scale)
        return out

    def broadcast_to(self, g, shape):
        """``g`` broadcast to ``shape``, as a real (contiguous) device array."""
        out = self._K().empty(shape, dtype=g.dtype)
        self._K().copy_strided(g, out)
        return out

    def sum_to(self, g, shape):
        if tuple(g.shape) == tuple(shape):
            return g
        lead = g.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape)
                                          if n == 1 and g.shape[i + lead] != 1)
        out = self._K().empty(shape, dtype=g.dtype)
        self._K().reduce_sum(g, axes, out)
        return out

    def astype(self, a, dtype):
        out = self._K().empty(a.shape, dtype=dtype)
        self._K().copy_strided(a, out)  # the kernel converts as it stores
        return out

    def transpose(self, a, axes=None):
        """A transposed *copy*: the copy kernel reads ``a`` with permuted steps."""
        nd = builtins.max(a.ndim, 1)
        axes = tuple(reversed(range(a.ndim))) if axes is None else tuple(int(x) % nd for x in axes)
        if sorted(axes) != list(range(a.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the {a.ndim} axes of shape {a.shape}")
        steps = [int(np.prod(a.shape[d + 1:])) for d in range(a.ndim)]
        out = self._K().empty(tuple(a.shape[d] for d in axes), dtype=a.dtype)
        self._K().copy_strided(a, out, tuple(steps[d] for d in axes))
        return out

    def matmul(self, a, b, ta: bool = False, tb: bool = False):
        if a.ndim != 2 or b.ndim != 2:
            raise _not_on_cuda(f"matmul of shapes {a.shape} and {b.shape} (only 2-D @ 2-D is)")
        m = a.shape[1] if ta else a.shape[0]
        n = b.shape[0] if tb else b.shape[1]
        out = self._K().empty((m, n), dtype=np.result_type(a.dtype, b.dtype))
        self._K().matmul(a, b, out, ta=ta, tb=tb)
        return out

    @staticmethod
    def like_operand(g: Any, operand: Any) -> Any:
        """The gradient of a host scalar operand goes back to the host (one number), like the operand."""
        return g.copy_to_host() if g is not None and not is_device_array(operand) else g


HOST = _Host()
DEVICE = _Device()


def of(*arrays: Any, op: str = "op") -> Any:
    """The namespace of the arrays' device: :data:`HOST` for host data, :data:`DEVICE` when some operand is
    a device array (host operands must then be 0-d scalars).

    Raises:
        ValueError: naming both devices when a device array meets a non-scalar host array.
    """
    if builtins.all(type(x) is np.ndarray for x in arrays):  # the common case, one type check each
        return HOST
    if not builtins.any(is_device_array(x) for x in arrays):
        return HOST  # NumPy scalars, ndarray subclasses
    for x in arrays:
        if not is_device_array(x) and np.ndim(x) != 0:
            raise ValueError(f"{op}: operands are on different devices: {device_name(arrays[0])} and "
                             f"{device_name(arrays[1])}; move one with .to()")
    return DEVICE
