"""Symbolic tensors: what :func:`minidl.Input` returns and what a layer returns when it is called on one.

The functional API (:class:`minidl.Model`) describes a model as a graph *before* any data exists::

    inputs = Input((784,))              # a KerasTensor: shape (None, 784), no values
    h = Dense(32, activation='relu')(inputs)
    model = Model(inputs, Dense(784)(h))

A :class:`KerasTensor` has a ``shape`` (batch dimension ``None``), a ``dtype`` and a ``name``, and remembers
where it came from: ``_keras_history = (layer, node_index, tensor_index)``. Calling a layer on KerasTensors
does not compute anything; it builds the layer for those shapes, records a :class:`Node` (the layer, the
arguments it was called with, the KerasTensors it returned) in ``layer._inbound_nodes``, and returns new
KerasTensors shaped by the layer's ``compute_output_shape``. :class:`minidl.Model` walks these nodes from the
outputs back to the inputs to find what to run, in which order.

Arithmetic on KerasTensors (``a + b``, ``x * 2``, ``-x``, ``a @ w``, ``x[:, 0]``) records nodes too: each
operator goes through :func:`apply_op`, which wraps the function in a small op layer
(:class:`minidl.layers.lambda_layer.OpLayer`) and calls it. :func:`apply_op` is the one hook that makes any
function work on symbolic inputs: ``apply_op(ops.exp, x)`` computes ``ops.exp(x)`` for a Tensor and records
a node for a KerasTensor.

Structures (lists, tuples, dicts of tensors) are walked by :func:`flatten` and :func:`map_structure`; dicts
are flattened in sorted-key order, as Keras (optree) does.
"""
from __future__ import annotations

import operator
from typing import Any, Callable

import numpy as np

__all__ = ["KerasTensor", "Node", "apply_op", "any_symbolic", "is_keras_tensor", "flatten", "map_structure",
           "pack_like"]

_TENSOR_COUNT = [0]


def _shape_str(shape: Any) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


class KerasTensor:
    """A symbolic tensor: a shape (``None`` for the batch, or any unknown dimension), a dtype and a name.

    It has no values; :class:`minidl.Model` turns a graph of KerasTensors into a model that computes them.

    Args:
        shape: the full shape, batch dimension first (``(None, 28, 28, 1)``).
        dtype: a dtype name, 'float32' by default.
        name: default 'keras_tensor', 'keras_tensor_1', ...
    """

    def __init__(self, shape: Any, dtype: Any = "float32", name: str | None = None) -> None:
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = np.dtype(dtype).name
        if name is None:
            n = _TENSOR_COUNT[0]
            _TENSOR_COUNT[0] += 1
            name = "keras_tensor" if n == 0 else f"keras_tensor_{n}"
        self.name = name
        # (layer, node_index, tensor_index): which call of which layer produced this tensor.
        self._keras_history: tuple[Any, int, int] | None = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={_shape_str(self.shape)}, dtype={self.dtype}, name={self.name}>"

    # A KerasTensor has no value: say so instead of failing somewhere deep in NumPy.
    def numpy(self) -> Any:
        raise TypeError(f"{self!r} is symbolic (it has no values): build a Model(inputs, outputs) and call "
                        "model.predict(x) to compute it")

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        self.numpy()

    def __bool__(self) -> bool:
        raise TypeError(f"{self!r} is symbolic: it cannot be used as a boolean (in an `if` or `and`)")

    def __len__(self) -> int:
        raise TypeError(f"{self!r} is symbolic: it has no length (its batch size is unknown)")

    def __iter__(self) -> Any:
        raise TypeError(f"{self!r} is symbolic: it cannot be iterated over")

    __hash__ = object.__hash__  # identity: KerasTensors are graph vertices, not values

    # ------------------------------------------------------------ operators record nodes
    def __add__(self, other: Any) -> "KerasTensor":
        return apply_op(operator.add, self, other)

    def __radd__(self, other: Any) -> "KerasTensor":
        return apply_op(operator.add, other, self)

    def __sub__(self, other: Any) -> "KerasTensor":
        return apply_op(operator.sub, self, other)

    def __rsub__(self, other: Any) -> "KerasTensor":
        return apply_op(operator.sub, other, self)

    def __mul__(self, other: Any) -> "KerasTensor":
        return apply_op(operator.mul, self, other)

    def __rmul__(self, other: Any) -> "KerasTensor":
        return apply_op(operator.mul, other, self)

    def __truediv__(self, other: Any) -> "KerasTensor":
        return apply_op(operator.truediv, self, other)

    def __rtruediv__(self, other: Any) -> "KerasTensor":
        return apply_op(operator.truediv, other, self)

    def __matmul__(self, other: Any) -> "KerasTensor":
        return apply_op(operator.matmul, self, other)

    def __rmatmul__(self, other: Any) -> "KerasTensor":
        return apply_op(operator.matmul, other, self)

    def __pow__(self, other: Any) -> "KerasTensor":
        return apply_op(operator.pow, self, other)

    def __neg__(self) -> "KerasTensor":
        return apply_op(operator.neg, self)

    def __getitem__(self, index: Any) -> "KerasTensor":
        return apply_op(operator.getitem, self, index)


def is_keras_tensor(x: Any) -> bool:
    """Whether ``x`` is a :class:`KerasTensor` (Keras's ``keras.backend.is_keras_tensor``)."""
    return isinstance(x, KerasTensor)


# ---------------------------------------------------------------------------------------------------- structures
def flatten(struct: Any) -> list:
    """The leaves of nested lists / tuples / dicts (dicts in sorted-key order), depth first, no recursion."""
    out: list = []
    stack = [struct]
    while stack:
        s = stack.pop()
        if isinstance(s, dict):
            stack.extend(s[k] for k in reversed(sorted(s)))
        elif isinstance(s, (list, tuple)):
            stack.extend(reversed(s))
        else:
            out.append(s)
    return out


def map_structure(fn: Callable[[Any], Any], struct: Any) -> Any:
    """``struct`` with every leaf replaced by ``fn(leaf)`` (lists stay lists, tuples tuples, dicts dicts)."""
    if isinstance(struct, dict):
        return {k: map_structure(fn, v) for k, v in struct.items()}
    if isinstance(struct, list):
        return [map_structure(fn, v) for v in struct]
    if isinstance(struct, tuple):
        return tuple(map_structure(fn, v) for v in struct)
    return fn(struct)


def pack_like(struct: Any, flat: list) -> Any:
    """The inverse of :func:`flatten`: ``flat`` (in flatten order) arranged like ``struct``."""
    it = iter(flat)

    def fill(s: Any) -> Any:
        if isinstance(s, dict):
            filled = {k: fill(s[k]) for k in sorted(s)}
            return {k: filled[k] for k in s}
        if isinstance(s, list):
            return [fill(v) for v in s]
        if isinstance(s, tuple):
            return tuple(fill(v) for v in s)
        return next(it)

    return fill(struct)


def any_symbolic(*structs: Any) -> bool:
    """Whether any leaf of ``structs`` is a :class:`KerasTensor`."""
    return any(isinstance(leaf, KerasTensor) for s in structs for leaf in flatten(s))


# ---------------------------------------------------------------------------------------------------- nodes
class Node:
    """One call of a layer on KerasTensors: the layer, its arguments (with KerasTensors in them) and its
    outputs. Appending itself to ``layer._inbound_nodes`` gives the node its index, and each output its
    ``_keras_history``.

    Attributes:
        layer: the layer called.
        args, kwargs: the call's arguments as given (structures holding KerasTensors and constants).
        outputs: the structure the call returned; ``output_tensors`` flattened.
        input_tensors: the KerasTensors among the arguments, flattened.
    """

    def __init__(self, layer: Any, args: tuple, kwargs: dict, outputs: Any) -> None:
        self.layer = layer
        self.args = args
        self.kwargs = kwargs
        self.outputs = outputs
        self.input_tensors = [t for t in flatten((args, kwargs)) if isinstance(t, KerasTensor)]
        self.output_tensors = flatten(outputs)
        index = len(layer._inbound_nodes)
        layer._inbound_nodes.append(self)
        for i, t in enumerate(self.output_tensors):
            t._keras_history = (layer, index, i)

    @property
    def is_input(self) -> bool:
        """True for the node of an InputLayer (no inputs of its own)."""
        return not self.input_tensors

    @property
    def parent_nodes(self) -> list["Node"]:
        """The nodes that produced this node's inputs."""
        out = []
        for t in self.input_tensors:
            if t._keras_history is not None:
                layer, i, _ = t._keras_history
                out.append(layer._inbound_nodes[i])
        return out

    def __repr__(self) -> str:
        return f"<Node {self.layer.name}: {[t.name for t in self.input_tensors]} -> {[t.name for t in self.output_tensors]}>"


# ---------------------------------------------------------------------------------------------------- ops
def apply_op(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, eager for Tensors and arrays; recorded as a node when an argument is symbolic.

    On KerasTensors, ``fn`` is wrapped in an :class:`~minidl.layers.lambda_layer.OpLayer` (no weights)
    called on the arguments: the output shape comes from running ``fn`` on small dummy batches, and
    ``Model`` later runs ``fn`` on the real tensors. The ops of :mod:`minidl.ops` call this on symbolic
    inputs, so ``ops.exp(Input((3,)))`` works inside a functional model.

    Args:
        fn: a differentiable function of Tensors (e.g. ``operator.add``, ``minidl.ops.exp``). A model
            holding it can be saved when ``fn`` is a module-level function of :mod:`operator` or of minidl.
        args, kwargs: its arguments; KerasTensors anywhere inside them (lists included).

    Returns:
        ``fn``'s result, or KerasTensors standing for it.
    """
    if not any_symbolic(args, kwargs):
        return fn(*args, **kwargs)
    from .layers.lambda_layer import OpLayer

    return OpLayer(fn)(*args, **kwargs)
