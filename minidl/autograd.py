"""Reverse-mode automatic differentiation: :class:`Tensor`, :class:`Function` and the backward pass.

How it works, in four sentences. Every operation on tensors is a :class:`Function` subclass with a
``forward`` (arrays in, array out) and a ``backward`` (the gradient of the output in, the gradients of the
inputs out), side by side. ``Function.apply`` runs ``forward`` and, when some input requires a gradient,
remembers the inputs on the result (``tensor._ctx``), so the computation leaves a graph behind it.
``Tensor.backward()`` orders that graph so that every function comes after everything that consumed its
output (a topological order, computed with an explicit stack so that 10,000-op chains do not hit Python's
recursion limit) and walks it once, applying the chain rule. A value used twice receives both
contributions: gradients add up (``+``), which is the multivariate chain rule.

Gradients are kept for leaf tensors (``requires_grad=True`` tensors created by the user, i.e. parameters);
intermediate gradients live only during the walk, as in PyTorch.

Devices: ``data`` is a NumPy array ('cpu') or a numba device array ('cuda'); see :mod:`minidl.device`. The
engine itself touches arrays in three places only (the seed gradient of a scalar, the sum of two
gradients, zeros for an unused output). Grad mode (:func:`no_grad`) is per thread, as in PyTorch.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Any, Iterator, Sequence

import numpy as np

from . import kernel_table
from .device import check_device, to_device

__all__ = ["Tensor", "Function", "no_grad", "enable_grad", "is_grad_enabled", "tensor"]

class _GradMode(threading.local):
    """Whether operations record a graph, per thread (as in PyTorch): a ``no_grad`` block in one thread
    (a ``predict`` beside a ``fit``) never switches recording off in another."""

    enabled = True  # the class attribute is every new thread's starting value


_grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """Whether operations currently record a graph in the calling thread."""
    return _grad_mode.enabled


@contextlib.contextmanager
def _set_grad_enabled(value: bool) -> Iterator[None]:
    prev, _grad_mode.enabled = _grad_mode.enabled, value
    try:
        yield
    finally:
        _grad_mode.enabled = prev


def no_grad() -> contextlib.AbstractContextManager[None]:
    """Context manager inside which the calling thread records no graph (inference, optimizer updates)."""
    return _set_grad_enabled(False)


def enable_grad() -> contextlib.AbstractContextManager[None]:
    """Context manager that switches graph recording back on inside a :func:`no_grad` block."""
    return _set_grad_enabled(True)


_is_device_array = kernel_table.is_device_array  # the one definition (NumPy arrays and scalars are host data)


def _as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Converts user data to a float array: float32 by default, float64 kept, a given dtype obeyed."""
    if isinstance(data, Tensor):
        data = data.data
    if _is_device_array(data):  # already on the GPU: check the dtype, convert there if asked
        if data.dtype.kind not in "biuf":
            raise TypeError(f"Tensor data must be numeric (bool, int or float), got dtype {data.dtype}")
        if dtype is not None and np.dtype(dtype) != data.dtype:
            return _ops().arrays.of(data).astype(data, np.dtype(dtype))
        return data
    arr = np.asarray(data)
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"Tensor data must be numeric (bool, int or float), got dtype {arr.dtype} "
            f"({type(data).__name__})"
        )
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype.kind not in "biuf":
            raise TypeError(f"Tensor dtype must be numeric, got {dtype}")
        return arr.astype(dtype, copy=False)
    if arr.dtype == np.float64 or arr.dtype == np.float32:
        return arr
    return arr.astype(np.float32)


class Tensor:
    """An n-dimensional array that can record the operations applied to it and differentiate them.

    Args:
        data: array-like (list, NumPy array, scalar or Tensor). Float64 data stays float64; anything
            else becomes float32 unless ``dtype`` is given.
        requires_grad: whether :meth:`backward` should compute a gradient for this tensor.
        dtype: optional NumPy dtype to convert to.
        device: 'cpu' or 'cuda'; None keeps the data where it is (NumPy data and lists: 'cpu', a numba
            device array: 'cuda'). See :mod:`minidl.device`.

    Raises:
        TypeError: for non-numeric data (strings, objects), naming the dtype.
        ValueError: for an unknown device; RuntimeError for 'cuda' without a GPU or numba-cuda.

    Example:
        >>> x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        array([2., 4., 6.], dtype=float32)
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_idx", "name", "__weakref__")
    # Makes `ndarray + Tensor` call Tensor.__radd__ instead of NumPy broadcasting over the object.
    __array_priority__ = 1000.0

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None,
                 device: str | None = None):
        self.data = _as_array(data, dtype)
        if device is not None:
            self.data = to_device(self.data, device)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients, got dtype {self.data.dtype}")
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self._ctx: Function | None = None
        self._idx = 0
        self.name = name

    @classmethod
    def _make(cls, data: np.ndarray, requires_grad: bool = False) -> "Tensor":
        """Wraps an array produced by an op, skipping the checks of ``__init__`` (hot path)."""
        t = cls.__new__(cls)
        t.data = data
        t.grad = None
        t.requires_grad = requires_grad
        t._ctx = None
        t._idx = 0
        t.name = None
        return t

    # ------------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple[int, ...]:
        s = self.data.shape
        return s if type(s) is tuple else tuple(s)  # the CUDA simulator's shape type rejects shape[-1]

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def device(self) -> str:
        """'cpu' (the data is a NumPy array) or 'cuda' (a numba device array)."""
        return "cuda" if _is_device_array(self.data) else "cpu"

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        dev = f", device='{self.device}'" if _is_device_array(self.data) else ""
        body = np.array2string(self.numpy(), separator=", ", prefix="Tensor(")
        return f"Tensor({body}, dtype={self.data.dtype}{dev}{grad})"

    # ------------------------------------------------------------------ conversions
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array: the array itself on 'cpu' (shared, not copied), a host copy on 'cuda'."""
        if _is_device_array(self.data):
            return self.data.copy_to_host()
        return self.data

    def item(self) -> float:
        """The value of a one-element tensor as a Python number (copied from the GPU on 'cuda')."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.numpy().item()

    def to(self, device: str) -> "Tensor":
        """This tensor on ``device`` ('cpu' or 'cuda'): ``self`` when it is already there, else a copy that
        stays in the graph (gradients flow back to this tensor's device).

        Raises:
            ValueError: for an unknown device; RuntimeError for 'cuda' without a GPU or numba-cuda.
        """
        check_device(device)
        return _ops().to_device(self, device)

    def cpu(self) -> "Tensor":
        """Shorthand for ``to('cpu')``."""
        return self.to("cpu")

    def cuda(self) -> "Tensor":
        """Shorthand for ``to('cuda')``."""
        return self.to("cuda")

    def detach(self) -> "Tensor":
        """A tensor sharing the data but cut from the graph."""
        return Tensor._make(self.data, False)

    def astype(self, dtype: Any) -> "Tensor":
        from . import ops

        return ops.cast(self, dtype)

    def zero_grad(self) -> None:
        """Forgets the accumulated gradient (sets it to None)."""
        self.grad = None

    def __array__(self, dtype=None, copy=None):
        if _is_device_array(self.data):
            raise TypeError(
                f"cannot convert a '{self.device}' tensor to a NumPy array implicitly; "
                "use .numpy() (a host copy) or .to('cpu')"
            )
        return self.data if dtype is None else self.data.astype(dtype)

    # ------------------------------------------------------------------ backward
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Computes the gradient of this tensor with respect to every leaf that requires grad.

        Args:
            grad: the upstream gradient dL/dself, same shape as self; may be omitted for a scalar
                (one-element) tensor, where it is 1.
            retain_graph: keep the graph so that backward can be called through it again.

        Raises:
            RuntimeError: if this tensor does not require grad, if ``grad`` is omitted for a
                non-scalar tensor, or if the graph was already freed by an earlier backward.
            ValueError: if ``grad`` has the wrong shape.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() called on a tensor that does not require grad: no input of the "
                "computation had requires_grad=True (or it ran inside no_grad())"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a scalar (one-element) tensor, got shape "
                    f"{self.shape}; pass grad= of that shape"
                )
            d = self.data
            grad = np.ones_like(d) if type(d) is np.ndarray or not _is_device_array(d) else _device_full(d, 1)
        else:
            grad = grad.data if isinstance(grad, Tensor) else grad
            if not _is_device_array(self.data) or not _is_device_array(grad):
                grad = np.asarray(grad, dtype=self.data.dtype)
            grad = to_device(_ops().arrays.of(grad).astype(grad, self.data.dtype) if grad.dtype != self.data.dtype else grad,
                             self.device)
            if grad.shape != self.shape:
                raise ValueError(f"backward(): grad has shape {grad.shape} but the tensor has shape {self.shape}")
        if self._ctx is None:
            _accumulate_leaf(self, grad)
            return
        _run_backward(self, grad, retain_graph)

    # ------------------------------------------------------------------ operators
    def __add__(self, other):
        return _ops().add(self, other)

    def __radd__(self, other):
        return _ops().add(other, self)

    def __sub__(self, other):
        return _ops().sub(self, other)

    def __rsub__(self, other):
        return _ops().sub(other, self)

    def __mul__(self, other):
        return _ops().mul(self, other)

    def __rmul__(self, other):
        return _ops().mul(other, self)

    def __truediv__(self, other):
        return _ops().div(self, other)

    def __rtruediv__(self, other):
        return _ops().div(other, self)

    def __pow__(self, other):
        return _ops().pow(self, other)

    def __rpow__(self, other):
        return _ops().pow(other, self)

    def __matmul__(self, other):
        return _ops().matmul(self, other)

    def __rmatmul__(self, other):
        return _ops().matmul(other, self)

    def __neg__(self):
        return _ops().neg(self)

    def __getitem__(self, index):
        return _ops().getitem(self, index)

    # Comparisons give boolean tensors and never record a graph ('cpu' only for now).
    def __lt__(self, other):
        return Tensor._make(_host(self) < _raw(other))

    def __le__(self, other):
        return Tensor._make(_host(self) <= _raw(other))

    def __gt__(self, other):
        return Tensor._make(_host(self) > _raw(other))

    def __ge__(self, other):
        return Tensor._make(_host(self) >= _raw(other))

    def __eq__(self, other):  # type: ignore[override]
        return Tensor._make(_host(self) == _raw(other))

    def __ne__(self, other):  # type: ignore[override]
        return Tensor._make(_host(self) != _raw(other))

    __hash__ = object.__hash__  # identity: tensors stay usable as dict keys although == is element-wise

    def __bool__(self) -> bool:
        """The truth of a one-element tensor; more elements raise, as in NumPy and PyTorch (``if t == u:``
        and ``t in [a, b]`` would otherwise be silently True for any non-empty tensor)."""
        if self.size != 1:
            raise ValueError(f"the truth value of a tensor with {self.size} elements is ambiguous; use "
                             "t.any() or t.all()")
        return bool(_host(self).reshape(-1)[0])

    def any(self) -> bool:
        """Whether some element is non-zero (not differentiable)."""
        return bool(np.any(_host(self)))

    def all(self) -> bool:
        """Whether every element is non-zero (not differentiable)."""
        return bool(np.all(_host(self)))

    # ------------------------------------------------------------------ methods mirroring ops
    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops().reshape(self, shape)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _ops().transpose(self, axes or None)

    @property
    def T(self):
        return _ops().transpose(self, None)

    def sum(self, axis=None, keepdims=False):
        return _ops().sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return _ops().mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        return _ops().max(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        return _ops().min(self, axis, keepdims)

    def exp(self):
        return _ops().exp(self)

    def log(self):
        return _ops().log(self)

    def sqrt(self):
        return _ops().sqrt(self)

    def abs(self):
        return _ops().abs(self)

    def clip(self, lo=None, hi=None):
        return _ops().clip(self, lo, hi)

    def flatten(self):
        return _ops().reshape(self, (-1,))


def _raw(x: Any) -> Any:
    return _host(x) if isinstance(x, Tensor) else x


def _host(t: Tensor) -> np.ndarray:
    if not _is_device_array(t.data):
        return t.data
    raise NotImplementedError("comparisons are not available on 'cuda' yet; move the tensor to 'cpu' with .to('cpu')")


def _device_full(like: Any, value: float) -> Any:
    """A new device array shaped like ``like``, every element ``value``."""
    B = kernel_table.of(like)
    out = B.empty(like.shape, dtype=like.dtype)
    B.fill(out, value)
    return out


def _device_add(a: Any, b: Any) -> Any:
    """a + b for device arrays of one shape, into a new array (out of place: either may be shared)."""
    B = kernel_table.of(a)
    if b.dtype != a.dtype:
        b = _ops().arrays.of(b).astype(b, a.dtype)
    out = B.empty(a.shape, dtype=a.dtype)
    B.binary("add", a, b, out)
    return out


_ops_module = None


def _ops():
    # ops imports autograd; a lazy reference avoids the import cycle and costs one global read.
    global _ops_module
    if _ops_module is None:
        from . import ops

        _ops_module = ops
    return _ops_module


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Lowercase constructor, like ``torch.tensor``."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


class Function:
    """One differentiable operation: ``forward`` and ``backward`` side by side.

    Subclasses implement:

    - ``forward(self, *arrays, **params) -> ndarray`` (or a tuple of arrays for several outputs); it may
      save whatever backward needs on ``self``.
    - ``backward(self, grad) -> ndarray | tuple``: one gradient per input array, in order (None for an
      input that needs none). ``self.needs_input_grad[i]`` says whether input ``i`` needs one, so work can
      be skipped. A multi-output function receives one gradient per output (zeros for unused outputs).

    ``Function.apply(*inputs, **params)`` is the only entry point: non-Tensor inputs are treated as
    constants.
    """

    def forward(self, *args: np.ndarray, **kwargs: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **kwargs: Any) -> Any:
        ctx = cls()
        tensors = [x if isinstance(x, Tensor) else Tensor(x) for x in inputs]
        needs = tuple(t.requires_grad for t in tensors)
        requires = _grad_mode.enabled and any(needs)
        ctx.needs_input_grad = needs
        out = ctx.forward(*[t.data for t in tensors], **kwargs)
        if isinstance(out, tuple):
            ctx.n_outputs = len(out)
            ctx.out_meta = [(o.shape, o.dtype, kernel_table.of(o).zeros) for o in out]
            results = tuple(Tensor._make(o, requires) for o in out)
            if requires:
                ctx.parents = tensors
                for i, r in enumerate(results):
                    r._ctx, r._idx = ctx, i
            return results
        ctx.n_outputs = 1
        result = Tensor._make(out, requires)
        if requires:
            ctx.parents = tensors
            result._ctx = ctx
        return result


def _accumulate_leaf(t: Tensor, g: np.ndarray) -> None:
    if type(g) is not np.ndarray and _is_device_array(g):
        _accumulate_leaf_device(t, g)
        return
    if g.dtype != t.data.dtype:
        g = g.astype(t.data.dtype)
    if not g.flags.c_contiguous:  # e.g. a broadcast view from sum(): kernels and optimizers want real arrays
        g = np.ascontiguousarray(g)
    if t.grad is None:
        t.grad = g
    else:
        # Out of place: `g` may be the very array another input also received (e.g. from add).
        t.grad = t.grad + g


def _accumulate_leaf_device(t: Tensor, g: Any) -> None:
    """The device version of :func:`_accumulate_leaf` (device arrays here are always contiguous)."""
    if not _is_device_array(t.data):  # a host scalar used with device tensors: its gradient comes home
        g = g.copy_to_host()
        _accumulate_leaf(t, g.reshape(t.data.shape))
        return
    if g.dtype != t.data.dtype:
        g = _ops().arrays.of(g).astype(g, t.data.dtype)
    t.grad = g if t.grad is None else _device_add(t.grad, g)


def _zeros(shape: tuple, dtype: Any, zeros: Any) -> Any:
    return zeros(shape, dtype=dtype)


def _toposort(root: Function) -> list[Function]:
    """Functions reachable from ``root``, each before the functions that produced its inputs."""
    order: list[Function] = []
    visited: set[int] = set()
    stack: list[tuple[Function, bool]] = [(root, False)]
    while stack:
        fn, expanded = stack.pop()
        if expanded:  # all of fn's producers are already in `order`: post-order
            order.append(fn)
            continue
        if id(fn) in visited:
            continue
        visited.add(id(fn))
        stack.append((fn, True))
        parents = getattr(fn, "parents", None)
        if parents is None:
            raise RuntimeError(
                "backward() through a graph that was already freed: call backward(retain_graph=True) "
                "the first time to go through the same graph twice"
            )
        for p in parents:
            c = p._ctx
            if c is not None and p.requires_grad and id(c) not in visited:
                stack.append((c, False))
    order.reverse()
    return order


def _run_backward(root_tensor: Tensor, grad: np.ndarray, retain_graph: bool) -> None:
    root = root_tensor._ctx
    order = _toposort(root)
    pending: dict[int, list] = {id(root): [None] * root.n_outputs}
    pending[id(root)][root_tensor._idx] = grad
    for fn in order:
        outs = pending.pop(id(fn), None)
        if outs is None:  # reachable only through tensors that got no gradient
            continue
        if fn.n_outputs == 1:
            grads = fn.backward(outs[0])
        else:
            outs = [_zeros(*fn.out_meta[i]) if g is None else g for i, g in enumerate(outs)]
            grads = fn.backward(tuple(outs))
        if not isinstance(grads, tuple):
            grads = (grads,)
        for p, g in zip(fn.parents, grads):
            if g is None or not p.requires_grad:
                continue
            c = p._ctx
            if c is None:
                _accumulate_leaf(p, g)
            else:
                slot = pending.get(id(c))
                if slot is None:
                    slot = pending[id(c)] = [None] * c.n_outputs
                prev = slot[p._idx]
                if prev is None:
                    slot[p._idx] = g
                elif type(prev) is np.ndarray or not _is_device_array(prev):
                    slot[p._idx] = prev + g
                else:
                    slot[p._idx] = _device_add(prev, g)
        if not retain_graph:
            fn.parents = None
            fn.__dict__.clear()

