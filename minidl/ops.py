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

Devices. A tensor's data is a NumPy array ('cpu') or a numba device array ('cuda'). Every op keeps the
NumPy code as its first, unchanged branch (``if type(a) is np.ndarray``: one type check, so the CPU path
does not slow down) and otherwise runs the same formula with the device primitives of
:mod:`minidl.kernels.cuda` (``binary``, ``unary``, ``reduce_sum``, ``copy_strided``, ``matmul``), through
the small ``_d_*`` helpers below. Operands on different devices raise ValueError naming both; a 0-d NumPy
array (what a Python number becomes) is a scalar and combines with a tensor on any device, as in PyTorch.

Available on 'cuda': add, sub, mul, div (broadcasting), neg, pow with a scalar exponent, matmul of 2-D
operands, exp, log, sqrt, abs, clip, cast, reshape, transpose, sum, mean, to_device. Not yet (they raise
NotImplementedError saying so): maximum/minimum, pow with a tensor exponent, matmul of 1-D or stacked
operands, getitem, concatenate, stack, where, max, min.
"""
from __future__ import annotations

import builtins
from typing import Any, Sequence

import numpy as np

from . import kernel_table
from .autograd import Function, Tensor
from .device import to_device as _transfer

__all__ = [
    "sum_to", "add", "sub", "mul", "div", "neg", "pow", "matmul", "exp", "log", "sqrt", "abs", "clip",
    "maximum", "minimum", "reshape", "transpose", "getitem", "sum", "mean", "max", "min", "concatenate",
    "stack", "where", "cast", "to_device",
]


def sum_to(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sums a broadcast gradient ``g`` back down to ``shape`` (the inverse of broadcasting)."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1)
    if type(g) is not np.ndarray and _dev(g):  # device: one reduction kernel
        out = _K().empty(shape, dtype=g.dtype)
        _K().reduce_sum(g, axes, out)
        return out
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


# ---------------------------------------------------------------------- device ('cuda') helpers
def _K():
    """The 'cuda' primitives (kernels.cuda through the kernel table), loaded on first use."""
    return kernel_table.get("cuda")


def _dev(x: Any) -> bool:
    """True for a device array (NumPy arrays and NumPy scalars live on the host)."""
    return hasattr(x, "copy_to_host")


def _device_name(x: Any) -> str:
    return "cuda" if _dev(x) else "cpu"


def _not_on_cuda(what: str) -> NotImplementedError:
    return NotImplementedError(f"{what} is not available on 'cuda' yet; move the tensor to 'cpu' with .to('cpu')")


def _on_device(name: str, *arrays: Any) -> bool:
    """True when some operand is a device array; ValueError when a (non-scalar) host array is mixed in."""
    if not any(_dev(x) for x in arrays):
        return False  # e.g. NumPy scalars or an ndarray subclass: the NumPy path handles them
    for x in arrays:
        if not _dev(x) and np.ndim(x) != 0:
            raise ValueError(
                f"{name}: operands are on different devices: {_device_name(arrays[0])} and "
                f"{_device_name(arrays[1])}; move one with .to()"
            )
    return True


_REVERSED = {"add": "add", "mul": "mul", "sub": "rsub", "div": "rdiv"}


def _d_binary(op: str, a: Any, b: Any, name: str | None = None) -> Any:
    """a <op> b (op 'add', 'sub', 'mul', 'div') into a new device array; a 0-d host array is a scalar."""
    K = _K()
    if not _dev(b):
        out = K.empty(a.shape, dtype=a.dtype)
        K.unary(op, a, out, float(b))
        return out
    if not _dev(a):
        out = K.empty(b.shape, dtype=b.dtype)
        K.unary(_REVERSED[op], b, out, float(a))
        return out
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{name or op}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None
    out = K.empty(shape, dtype=np.result_type(a.dtype, b.dtype))
    K.binary(op, a, b, out)
    return out


def _d_unary(op: str, a: Any, p: float = 0.0, q: float = 0.0) -> Any:
    """f(a) into a new device array (op one of kernels.cuda.UNARY_OPS, p and q its scalars)."""
    out = _K().empty(a.shape, dtype=a.dtype)
    _K().unary(op, a, out, p, q)
    return out


def _d_sum(a: Any, axes: tuple | None, keepdims: bool, scale: float = 1.0) -> Any:
    """scale * a.sum(axes, keepdims) into a new device array."""
    red = range(a.ndim) if axes is None else axes
    shape = tuple(1 if d in red else n for d, n in enumerate(a.shape)) if keepdims else \
        tuple(n for d, n in enumerate(a.shape) if d not in red)
    out = _K().empty(shape, dtype=a.dtype)
    _K().reduce_sum(a, axes, out, scale)
    return out


def _d_broadcast(g: Any, shape: tuple) -> Any:
    """g broadcast to ``shape``, as a real (contiguous) device array."""
    out = _K().empty(shape, dtype=g.dtype)
    _K().copy_strided(g, out)
    return out


def _host_if(g: Any, like: Any) -> Any:
    """The gradient of a host scalar operand goes back to the host (one number), like the operand."""
    return g.copy_to_host() if g is not None and not _dev(like) else g


class _Binary(Function):
    """Shared plumbing: remember input shapes for sum_to, turn broadcast failures into clear errors.

    On 'cuda', ``op`` names the device primitive and the backward pass is written once with the ``_d_*``
    helpers in :meth:`backward_device` (the same formula as the NumPy ``backward``).
    """

    op_name = "op"
    op = ""

    def forward(self, a, b):
        self.a_shape, self.b_shape = a.shape, b.shape
        if (type(a) is not np.ndarray or type(b) is not np.ndarray) and _on_device(self.op_name, a, b):
            self.a, self.b = a, b
            return self.forward_device(a, b)
        try:
            return self.compute(a, b)
        except ValueError:
            raise _broadcast_error(np.asarray(a), np.asarray(b), self.op_name) from None

    def forward_device(self, a, b):
        if not self.op:
            raise _not_on_cuda(self.op_name)
        return _d_binary(self.op, a, b, self.op_name)

    def backward_device(self, g):  # pragma: no cover - every device op overrides it
        raise _not_on_cuda(self.op_name)

    def _device_grads(self, ga, gb):
        return (_host_if(sum_to(ga, self.a_shape) if ga is not None else None, self.a),
                _host_if(sum_to(gb, self.b_shape) if gb is not None else None, self.b))


class Add(_Binary):
    op_name, op = "add", "add"

    def compute(self, a, b):
        return a + b

    def backward(self, g):
        if type(g) is not np.ndarray and _dev(g):
            return self._device_grads(g, g)
        return sum_to(g, self.a_shape), sum_to(g, self.b_shape)


class Sub(_Binary):
    op_name, op = "subtract", "sub"

    def compute(self, a, b):
        return a - b

    def backward(self, g):
        if type(g) is not np.ndarray and _dev(g):
            return self._device_grads(g, _d_unary("neg", g) if self.needs_input_grad[1] else None)
        return sum_to(g, self.a_shape), (sum_to(-g, self.b_shape) if self.needs_input_grad[1] else None)


class Mul(_Binary):
    op_name, op = "multiply", "mul"

    def compute(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        if type(g) is not np.ndarray and _dev(g):
            need = self.needs_input_grad
            return self._device_grads(_d_binary("mul", g, self.b) if need[0] else None,
                                      _d_binary("mul", g, self.a) if need[1] else None)
        ga = sum_to(g * self.b, self.a_shape) if self.needs_input_grad[0] else None
        gb = sum_to(g * self.a, self.b_shape) if self.needs_input_grad[1] else None
        return ga, gb


class Div(_Binary):
    op_name, op = "divide", "div"

    def compute(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        if type(g) is not np.ndarray and _dev(g):
            need, a, b = self.needs_input_grad, self.a, self.b
            gb = None
            if need[1]:  # -g * a / b**2
                gb = _d_unary("neg", _d_binary("div", _d_binary("mul", g, a), _d_binary("mul", b, b)))
            return self._device_grads(_d_binary("div", g, b) if need[0] else None, gb)
        ga = sum_to(g / self.b, self.a_shape) if self.needs_input_grad[0] else None
        gb = sum_to(-g * self.a / (self.b * self.b), self.b_shape) if self.needs_input_grad[1] else None
        return ga, gb


class Pow(_Binary):
    op_name = "power"

    def compute(self, a, b):
        self.a, self.b = a, b
        self.out = a ** b
        return self.out

    def forward_device(self, a, b):
        # On 'cuda' only a device base with a scalar exponent (x ** 2, x ** 0.5).
        if not _dev(a) or _dev(b) or self.needs_input_grad[1]:
            raise _not_on_cuda("power with a tensor exponent (or a gradient for the exponent)")
        self.p = float(b)
        return _d_unary("pow", a, self.p)

    def backward(self, g):
        if type(g) is not np.ndarray and _dev(g):  # g * p * a ** (p - 1)
            ga = _d_binary("mul", g, _d_unary("mul", _d_unary("pow", self.a, self.p - 1.0), self.p))
            return ga, None
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
        return -a if type(a) is np.ndarray or not _dev(a) else _d_unary("neg", a)

    def backward(self, g):
        return -g if type(g) is np.ndarray or not _dev(g) else _d_unary("neg", g)


def neg(a: Tensor) -> Tensor:
    return Neg.apply(a)


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
        if (type(a) is not np.ndarray or type(b) is not np.ndarray) and _on_device("matmul", a, b):
            if a.ndim != 2 or b.ndim != 2:
                raise _not_on_cuda(f"matmul of shapes {a.shape} and {b.shape} (only 2-D @ 2-D is)")
            out = _K().empty((a.shape[0], b.shape[1]), dtype=np.result_type(a.dtype, b.dtype))
            _K().matmul(a, b, out)
            return out
        try:
            return a @ b
        except ValueError:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} cannot be broadcast together") from None

    def backward(self, g):
        a, b = self.a, self.b
        if type(g) is not np.ndarray and _dev(g):  # 2-D on the device: the kernel reads b or a transposed
            K, ga, gb = _K(), None, None
            if self.needs_input_grad[0]:
                ga = K.empty(a.shape, dtype=a.dtype)
                K.matmul(g, b, ga, tb=True)
            if self.needs_input_grad[1]:
                gb = K.empty(b.shape, dtype=b.dtype)
                K.matmul(a, g, gb, ta=True)
            return ga, gb
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
        self.out = np.exp(a) if type(a) is np.ndarray or not _dev(a) else _d_unary("exp", a)
        return self.out

    def backward(self, g):
        return g * self.out if type(g) is np.ndarray or not _dev(g) else _d_binary("mul", g, self.out)


class Log(Function):
    def forward(self, a):
        self.a = a
        return np.log(a) if type(a) is np.ndarray or not _dev(a) else _d_unary("log", a)

    def backward(self, g):
        return g / self.a if type(g) is np.ndarray or not _dev(g) else _d_binary("div", g, self.a)


class Sqrt(Function):
    def forward(self, a):
        self.out = np.sqrt(a) if type(a) is np.ndarray or not _dev(a) else _d_unary("sqrt", a)
        return self.out

    def backward(self, g):
        if type(g) is not np.ndarray and _dev(g):
            return _d_binary("div", _d_unary("mul", g, 0.5), self.out)
        return g / (2 * self.out)


class Abs(Function):
    def forward(self, a):
        self.a = a
        return np.abs(a) if type(a) is np.ndarray or not _dev(a) else _d_unary("abs", a)

    def backward(self, g):
        if type(g) is not np.ndarray and _dev(g):
            return _d_binary("mul", g, _d_unary("sign", self.a))
        return g * np.sign(self.a)


class Clip(Function):
    def forward(self, a, lo=None, hi=None):
        self.a, self.lo, self.hi = a, lo, hi
        if type(a) is not np.ndarray and _dev(a):
            lo = -np.inf if lo is None else lo
            hi = np.inf if hi is None else hi
            return _d_unary("clip", a, lo, hi)
        return np.clip(a, lo, hi)

    def backward(self, g):
        if type(g) is not np.ndarray and _dev(g):  # g where lo <= a <= hi, else 0
            lo = -np.inf if self.lo is None else self.lo
            hi = np.inf if self.hi is None else self.hi
            return _d_binary("mul", g, _d_unary("inside", self.a, lo, hi))
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


def _astype(a: Any, dtype: Any) -> Any:
    if type(a) is np.ndarray or not _dev(a):
        return a.astype(dtype)
    out = _K().empty(a.shape, dtype=dtype)
    _K().copy_strided(a, out)  # the kernel converts as it stores
    return out


class Cast(Function):
    def forward(self, a, dtype=None):
        self.dtype = a.dtype
        return _astype(a, dtype)

    def backward(self, g):
        return _astype(g, self.dtype)


def cast(a: Tensor, dtype: Any) -> Tensor:
    """Converts to another float dtype, differentiably."""
    return Cast.apply(a, dtype=np.dtype(dtype))


class ToDevice(Function):
    """A copy on another device; the gradient is copied back to where the input lives."""

    def forward(self, a, device="cpu"):
        self.source = _device_name(a)
        return _transfer(a, device)

    def backward(self, g):
        return _transfer(g, self.source)


def to_device(a: Tensor, device: str) -> Tensor:
    """``a`` on ``device`` ('cpu' or 'cuda'), differentiably (``a`` itself when it is already there)."""
    if a.device == device:
        return a
    return ToDevice.apply(a, device=device)


# ---------------------------------------------------------------------- shape and indexing
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
    return Reshape.apply(a, shape=tuple(shape))


def _d_transpose(a: Any, axes: Sequence[int] | None) -> Any:
    """A transposed *copy* of a device array: the copy kernel reads a with permuted steps."""
    axes = tuple(reversed(range(a.ndim))) if axes is None else tuple(int(x) % builtins.max(a.ndim, 1) for x in axes)
    if sorted(axes) != list(range(a.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of the {a.ndim} axes of shape {a.shape}")
    steps = [int(np.prod(a.shape[d + 1:])) for d in range(a.ndim)]
    out = _K().empty(tuple(a.shape[d] for d in axes), dtype=a.dtype)
    _K().copy_strided(a, out, tuple(steps[d] for d in axes))
    return out


class Transpose(Function):
    def forward(self, a, axes=None):
        self.axes = axes
        if type(a) is not np.ndarray and _dev(a):
            return _d_transpose(a, axes)
        return np.transpose(a, axes)

    def backward(self, g):
        if type(g) is not np.ndarray and _dev(g):
            return _d_transpose(g, None if self.axes is None else np.argsort(self.axes))
        if self.axes is None:
            return np.transpose(g)
        return np.transpose(g, np.argsort(self.axes))


def transpose(a: Tensor, axes: Sequence[int] | None = None) -> Tensor:
    return Transpose.apply(a, axes=None if axes is None else tuple(axes))


def _is_basic_index(index: Any) -> bool:
    """True for ints, slices, None and Ellipsis only: such an index never selects an element twice."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


def _host_only(what: str, *arrays: Any) -> None:
    for a in arrays:
        if type(a) is not np.ndarray and _dev(a):
            raise _not_on_cuda(what)


class GetItem(Function):
    def forward(self, a, index=None):
        _host_only("indexing (getitem)", a)
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
        _host_only("concatenate", *arrays)
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
        _host_only("stack", *arrays)
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
        _host_only("where", a, b)
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
        if type(a) is not np.ndarray and _dev(a):
            return _d_sum(a, axis, keepdims)
        return np.asarray(a.sum(axis=axis, keepdims=keepdims))

    def backward(self, g):
        if type(g) is not np.ndarray and _dev(g):  # reshape to the keepdims layout, then a real broadcast copy
            red = range(len(self.shape)) if self.axis is None else self.axis
            kept = tuple(1 if d in red else n for d, n in enumerate(self.shape))
            return _d_broadcast(g.reshape(kept), self.shape)
        return np.broadcast_to(_expand(g, self.shape, self.axis, self.keepdims), self.shape)


class Mean(Sum):
    def forward(self, a, axis=None, keepdims=False):
        self.count = a.size if axis is None else int(np.prod([a.shape[i] for i in axis]))
        if type(a) is not np.ndarray and _dev(a):
            self.shape, self.axis, self.keepdims = a.shape, axis, keepdims
            return _d_sum(a, axis, keepdims, 1.0 / builtins.max(self.count, 1))
        return super().forward(a, axis, keepdims) / np.asarray(self.count, dtype=a.dtype)

    def backward(self, g):
        if type(g) is not np.ndarray and _dev(g):
            return super().backward(_d_unary("div", g, self.count))
        return super().backward(g / np.asarray(self.count, dtype=g.dtype))


class Max(Function):
    def forward(self, a, axis=None, keepdims=False, fn=np.max):
        _host_only("max/min", a)
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
