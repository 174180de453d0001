"""Keras-style layers: objects that own weights and turn a batch of inputs into a batch of outputs.

A layer is three things:

1. **Configuration** (``Dense(64, activation='relu')``), checked at construction so that a typo fails on
   the line that made it (unknown activation or padding names raise ValueError listing the known ones).
2. **Weights**, created by :meth:`Layer.build` the first time the layer sees an input shape, because the
   kernel of ``Dense(64)`` is (in, 64) and ``in`` is only known then. Weights are :class:`~minidl.Tensor`
   objects with ``requires_grad=True``; the optimizer updates their ``data`` in place.
3. **The computation**, :meth:`Layer.call`, written with differentiable ops (:mod:`minidl.functional`,
   :mod:`minidl.ops`), so the backward pass comes for free from autograd.

Shapes follow Keras: images are NHWC ``(batch, height, width, channels)``, and shapes printed or passed to
:meth:`Layer.compute_output_shape` include the batch dimension as ``None``, e.g. ``(None, 26, 26, 32)``.

Writing your own layer::

    class Residual(Layer):
        '''y = relu(x + Dense(x)): a residual block on feature vectors.'''

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.inner = Dense(8)            # a sub-layer set as an attribute: its weights are tracked
                                             # (Dense(8) must match the input width for the sum below)

        def build(self, input_shape):        # input_shape = (None, features); self.inner builds itself
            self.scale = self.add_weight("scale", (input_shape[-1],), initializer="ones")

        def call(self, x, training=False):
            return F.relu(x + self.inner(x) * self.scale)

``Residual()`` then works alone (``Residual()(Tensor(x))``), inside :class:`minidl.models.Sequential`, and in
a functional graph (``Residual()(Input((8,)))`` records a node, see :mod:`minidl.symbolic`);
:meth:`Layer.compute_output_shape` defaults to running the layer once on a dummy batch, so summaries work
without overriding it. To save and load a custom layer, give it a :meth:`Layer.get_config` returning its
constructor arguments and pass ``custom_objects={'Residual': Residual}`` to :func:`minidl.models.load_model`.
"""
from __future__ import annotations

import inspect
import threading
from typing import Any, Sequence

import numpy as np

from .. import functional as F
from .. import initializers
from .. import ops
from .._validate import check_bool, check_float_dtype, describe
from ..autograd import Tensor, no_grad
from ..random import get_rng
from ..symbolic import KerasTensor, Node, any_symbolic, flatten, map_structure
from .input_spec import assert_input_compatibility
from .layer_utils import (Shape, _check_padding, _check_rank, _check_sample_shape, _flatten_shapes,
                          _is_shape, _map_shapes, _shape_str, _snake_case, _spatial_out, unique_name)

__all__ = ["Layer", "unique_name"]

# How many weights add_weight has created in this process. The trainer caches the trainable weights per
# fit; a custom layer whose sub-layers build on their first call adds weights during the first step, and
# a changed count tells the trainer to collect them again (one integer compare per step).
WEIGHTS_CREATED = [0]


def _as_tensors(x: Any, dtype: Any) -> Any:
    """``x`` with every array in it wrapped as a constant Tensor (a list of inputs stays a list)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (list, tuple)) and x and all(isinstance(v, (Tensor, np.ndarray)) for v in flatten(x)):
        return map_structure(lambda v: v if isinstance(v, Tensor) else Tensor(v, dtype=dtype), x)
    if isinstance(x, dict):
        return {k: _as_tensors(v, dtype) for k, v in x.items()}
    return Tensor(x, dtype=dtype)


def _unique(tensors: list[Tensor]) -> list[Tensor]:
    """``tensors`` with repeats removed by identity, first occurrence kept. A layer used twice in a model
    (shared weights) must count, save and update its weights once: the optimizer would otherwise apply
    the summed gradient twice."""
    seen: set[int] = set()
    out = []
    for t in tensors:
        if id(t) not in seen:
            seen.add(id(t))
            out.append(t)
    return out


# ---------------------------------------------------------------------------------------------------- load budget
# While minidl.models.load_model rebuilds a model, the number of weight values the file holds (per thread): a
# crafted config (units=10**10) is refused before it allocates, instead of asking for hundreds of GiB.
_LOAD_BUDGET = threading.local()


def _charge_weight_budget(layer: "Layer", name: str, shape: tuple[int, ...]) -> None:
    left = getattr(_LOAD_BUDGET, "values_left", None)
    if any(d < 0 for d in shape):
        raise ValueError(f"layer {layer.name!r}: weight {name!r} cannot have a negative size, got shape {shape}")
    if left is None:
        return
    size = int(np.prod(shape, dtype=object))
    if size > left:
        raise ValueError(f"layer {layer.name!r}: weight {name!r} of shape {shape} ({size} values) exceeds what the "
                         f"model file holds ({left} values left); the file's config does not match its weights")
    _LOAD_BUDGET.values_left = left - size


# ---------------------------------------------------------------------------------------------------- Layer
class Layer:
    """Base class of every layer (and of :class:`minidl.models.Sequential`).

    Subclasses override :meth:`build` (create weights with :meth:`add_weight`), :meth:`call` (the
    computation) and, when cheap to state, :meth:`compute_output_shape`; :meth:`get_config` when they
    take constructor arguments. Layers assigned as attributes (``self.inner = Dense(8)``) are tracked:
    their weights count in :attr:`weights`, :meth:`count_params` and saving.

    Args:
        name: unique name; default the snake-cased class name numbered per class ('dense', 'dense_1').
        trainable: whether the optimizer updates this layer's weights.
        input_shape: the shape of one sample (no batch), e.g. ``(28, 28, 1)``; tells a
            :class:`~minidl.models.Sequential` its input shape when this is its first layer.
        dtype: dtype of the weights (float32 by default, as in Keras).

    Attributes:
        built: whether :meth:`build` has run.
        input_shape, output_shape: with the batch as None, once built.
        losses: extra loss terms (scalar Tensors) added by the last call (activity regularization);
            a model adds them to its loss.
    """

    def __init__(self, name: str | None = None, trainable: bool = True, input_shape: Sequence[int] | None = None,
                 dtype: Any = "float32", **kwargs: Any) -> None:
        if kwargs:  # Keras raises for misspelled keyword arguments too; say which.
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {', '.join(sorted(kwargs))}")
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"{type(self).__name__}: name must be a non-empty string or None, got {describe(name)}")
        cls = type(self).__name__
        trainable = check_bool(trainable, f"{cls}: trainable")
        dtype = check_float_dtype(dtype, f"{cls}: dtype")  # float32 / float64 only: the kernels compute in those
        self.name = name if name is not None else unique_name(_snake_case(type(self).__name__))
        self._trainable = trainable
        self._batch_input_shape: Shape | None = None
        if input_shape is not None:
            self._batch_input_shape = (None, *_check_sample_shape(input_shape, f"{self.name}: input_shape"))
        self.dtype = dtype
        self.built = False
        self.input_shape: Shape | None = None
        self.output_shape: Shape | None = None
        self.losses: list[Tensor] = []
        # Own weights in creation order, with each one's own trainable flag (add_weight(trainable=...)).
        self._own_weights: list[Tensor] = []
        self._own_trainable: list[bool] = []
        self.activity_regularizer: Any = None  # an L1 coefficient (float) or a regularizer
        self._weight_regularizers: list[tuple[Tensor, Any]] = []
        self.input_spec: Any = None  # an InputSpec (or list of them), checked by __call__
        # what build() learnt about its inputs (Dense: the width), checked on KerasTensors only, so that a
        # graph fails where it is built while eager calls keep the kernels' own messages
        self._graph_spec: Any = None
        self._inbound_nodes: list[Node] = []  # one per call on KerasTensors (minidl.symbolic)

    # -------------------------------------------------------------- sub-layer tracking
    def __setattr__(self, key: str, value: Any) -> None:
        # Remember layers assigned as attributes, in order, so that a custom layer's weights include its
        # sub-layers' weights. A list of layers (self.blocks = [Dense(4), Dense(4)]) is tracked too.
        if isinstance(value, Layer) or (isinstance(value, (list, tuple)) and value
                                         and all(isinstance(v, Layer) for v in value)):
            tracked = self.__dict__.setdefault("_tracked", {})
            tracked[key] = value
        elif "_tracked" in self.__dict__ and key in self.__dict__["_tracked"]:
            del self.__dict__["_tracked"][key]
        object.__setattr__(self, key, value)

    def _sublayers(self) -> list["Layer"]:
        """Directly tracked sub-layers, in assignment order (each object once)."""
        out: list[Layer] = []
        for v in self.__dict__.get("_tracked", {}).values():
            for layer in (v if isinstance(v, (list, tuple)) else [v]):
                if not any(layer is o for o in out):
                    out.append(layer)
        return out

    # -------------------------------------------------------------- weights
    def add_weight(self, name: Any = None, shape: Sequence[int] | None = None, initializer: Any = None,
                   trainable: bool = True, dtype: Any = None, regularizer: Any = None) -> Tensor:
        """Creates, registers and returns a weight tensor.

        Both Keras orders are accepted: ``add_weight('kernel', (3, 4), 'zeros')`` (minidl / Keras 2 with
        name first) and Keras 3's ``add_weight(shape=(3, 4), initializer='zeros', name='kernel')`` or
        ``add_weight((3, 4), 'zeros')`` (shape first).

        Args:
            name: short name ('kernel', 'bias'); the tensor is named ``'<layer>/<name>'``; default
                'weight', 'weight_1', ...
            shape: its shape.
            initializer: a name from :mod:`minidl.initializers` or a callable ``(shape, dtype, rng)``;
                default 'glorot_uniform'.
            trainable: False for weights the optimizer must never touch (e.g. running statistics).
            dtype: default the layer's dtype.
            regularizer: a :mod:`minidl.regularizers` penalty on this weight, added to the training loss.

        Returns:
            A Tensor that requires grad when it (and this layer) is trainable.

        Raises:
            TypeError: when no shape is given.
        """
        if name is not None and not isinstance(name, str):  # Keras 3 positional order: shape first
            name, shape, initializer = None, name, (shape if initializer is None else initializer)
        if shape is None:
            raise TypeError(f"layer {self.name!r}: add_weight needs a shape")
        if isinstance(shape, (int, np.integer)):
            shape = (int(shape),)
        if name is None:
            k = len(self._own_weights)
            name = "weight" if k == 0 else f"weight_{k}"
        if initializer is None:
            initializer = "glorot_uniform"
        init = initializers.get(initializer)
        dt = np.dtype(dtype) if dtype is not None else self.dtype
        shape = tuple(int(s) for s in shape)
        _charge_weight_budget(self, name, shape)  # a model being loaded may not allocate more than its file holds
        data = np.ascontiguousarray(init(shape, dt, get_rng()), dtype=dt)
        w = Tensor(data, requires_grad=bool(trainable and self._trainable), name=f"{self.name}/{name}")
        self._own_weights.append(w)
        self._own_trainable.append(bool(trainable))
        WEIGHTS_CREATED[0] += 1
        if regularizer is not None:
            from .. import regularizers

            self._weight_regularizers.append((w, regularizers.get(regularizer)))
        return w

    def regularization_losses(self) -> list[Tensor]:
        """The weight penalties (kernel / bias regularizers) of this layer and its sub-layers, computed
        now from the current weights (each layer once, even when shared); the trainer adds them to the loss."""
        out: list[Tensor] = []
        seen: set[int] = set()
        stack: list[Layer] = [self]
        while stack:
            layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            for w, reg in layer.__dict__.get("_weight_regularizers", []):
                out.append(reg(w))  # frozen weights count too (as in Keras); they just get no update
            stack.extend(reversed(layer._sublayers()))
        return out

    @property
    def weights(self) -> list[Tensor]:
        """All weights, own then sub-layers', in creation order (stable under freezing; the order of
        :meth:`get_weights` and of saved files). A tensor shared by several layers appears once."""
        out = list(self._own_weights)
        for layer in self._sublayers():
            out.extend(layer.weights)
        return _unique(out)

    @property
    def trainable_weights(self) -> list[Tensor]:
        if not self._trainable:
            return []
        out = [w for w, t in zip(self._own_weights, self._own_trainable) if t]
        for layer in self._sublayers():
            out.extend(layer.trainable_weights)
        return _unique(out)

    @property
    def non_trainable_weights(self) -> list[Tensor]:
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """Freezing (False) stops gradients at this layer's weights and moves them to non-trainable;
        it applies to sub-layers too, as in Keras."""
        self._trainable = check_bool(value, f"layer {self.name!r}: trainable")
        for w, t in zip(self._own_weights, self._own_trainable):
            w.requires_grad = bool(value and t)
            if not w.requires_grad:
                w.grad = None
        for layer in self._sublayers():
            layer.trainable = value

    def count_params(self) -> int:
        """Number of scalars in all weights (trainable or not)."""
        return int(sum(w.size for w in self.weights))

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights as NumPy arrays, in :attr:`weights` order."""
        return [np.array(w.numpy(), copy=True) for w in self.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Sets the weights from arrays in :attr:`weights` order (values are copied in place, so an
        optimizer keeps tracking the same tensors).

        Every array is checked before any weight changes: the count, each shape, a real numeric dtype (a complex
        array would lose its imaginary part, strings and objects are not numbers) and finite values once cast to
        the weight's dtype (1e300 overflows float32 to inf).

        Raises:
            ValueError: naming the layer and the weight, for a wrong number of arrays, a wrong shape, a dtype that
                is not real numeric, or NaN / Inf values; nothing is changed then.
        """
        mine = self.weights
        if isinstance(weights, (str, bytes, dict)) or not hasattr(weights, "__iter__"):
            raise TypeError(f"layer {self.name!r}: set_weights expects a list of arrays, got {describe(weights)}")
        weights = list(weights)
        if len(weights) != len(mine):
            hint = "" if self.built or mine else " (the layer is not built yet: call it on data or build() it first)"
            raise ValueError(f"layer {self.name!r} expects {len(mine)} weight array(s), got {len(weights)}{hint}")
        arrays = []
        for w, a in zip(mine, weights):  # check everything before changing anything
            try:
                a = np.asarray(a.numpy() if isinstance(a, Tensor) else a)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"layer {self.name!r}: weight {w.name!r} must be an array, got {describe(a)} "
                                 f"({exc})") from None
            if a.shape != tuple(w.shape):
                raise ValueError(
                    f"layer {self.name!r}: weight {w.name!r} has shape {tuple(w.shape)}, got an array of shape {a.shape}"
                )
            if a.dtype.kind not in "iuf":
                raise ValueError(f"layer {self.name!r}: weight {w.name!r} needs real numbers, got an array of dtype "
                                 f"{a.dtype}" + (" (its imaginary part would be lost)" if a.dtype.kind == "c" else ""))
            with np.errstate(over="ignore"):  # an overflow to inf is reported just below
                a = np.asarray(a, dtype=w.dtype)
            if not np.isfinite(a).all():
                bad = int(a.size - np.count_nonzero(np.isfinite(a)))
                raise ValueError(f"layer {self.name!r}: weight {w.name!r} would hold {bad} NaN or Inf value(s) "
                                 f"(as {np.dtype(w.dtype).name})")
            arrays.append(a)
        for w, a in zip(mine, arrays):
            if isinstance(w.data, np.ndarray):
                w.data[...] = a
            else:  # on a GPU: copy into the existing device array
                w.data.copy_to_device(np.ascontiguousarray(a, dtype=w.data.dtype))

    # -------------------------------------------------------------- building and calling
    def build(self, input_shape: Shape) -> None:
        """Creates the weights for inputs of ``input_shape`` (batch dimension first, as None).
        The base class has no weights."""

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        """The computation: a Tensor in, a Tensor out, using differentiable ops. Override it."""
        raise NotImplementedError(f"{type(self).__name__} must implement call(x, training=False)")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """The output shape for ``input_shape`` (batch dimension as None; a list of shapes for a layer
        taking a list of inputs).

        This default builds the layer if needed and runs it on a one-sample batch of zeros; built-in
        layers override it with arithmetic, so it works before any data (model summaries).
        """
        self._ensure_built(input_shape)
        dummy = _map_shapes(lambda s: Tensor(np.zeros((1, *s[1:]), dtype=self.dtype)), input_shape)
        with no_grad():
            out = self._call_with_training(dummy, (), {}, False)
        return map_structure(lambda t: (None, *t.shape[1:]), out)

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        """The KerasTensor(s) this layer returns when called on KerasTensors: by default shaped by
        :meth:`compute_output_shape` of the first argument's shape(s). Layers whose output depends on more
        than shapes (an op of several arguments) override this."""
        shapes = _map_shapes(lambda t: t.shape, args[0], leaf=KerasTensor)
        dtype = next((t.dtype for t in flatten(args[0]) if isinstance(t, KerasTensor)), self.dtype.name)
        out = self.compute_output_shape(shapes)
        return _map_shapes(lambda s: KerasTensor(s, dtype=dtype), out)

    def _ensure_built(self, input_shape: Shape) -> None:
        """Builds the layer for ``input_shape`` unless it already is; records its input/output shapes."""
        if self.built:
            return
        input_shape = _map_shapes(lambda s: (None, *tuple(s)[1:]), input_shape)
        self.build(input_shape)
        self.built = True
        self.input_shape = input_shape
        # compute_output_shape of a custom layer may call the layer: mark it built first.
        self.output_shape = self.compute_output_shape(input_shape)

    def add_loss(self, value: Tensor) -> None:
        """Adds a scalar loss term for this call (read by the model after the forward pass)."""
        self.losses.append(value)

    def _call_with_training(self, x: Any, args: tuple, kwargs: dict, training: bool) -> Any:
        # Keras passes ``training`` only to a call() that takes it: ``def call(self, inputs)`` is fine too.
        cls = type(self)
        takes = cls.__dict__.get("_call_takes_training")
        if takes is None:
            try:
                params = inspect.signature(cls.call).parameters
                takes = "training" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
            except (TypeError, ValueError):
                takes = True
            setattr(cls, "_call_takes_training", takes)
        if takes:
            return self.call(x, *args, training=training, **kwargs)
        return self.call(x, *args, **kwargs)

    def __call__(self, x: Any, *args: Any, training: bool = False, **kwargs: Any) -> Any:
        """Builds on first use (from ``x.shape``), checks :attr:`input_spec`, then runs :meth:`call`.

        On :class:`~minidl.symbolic.KerasTensor` inputs nothing is computed: the layer is built for their
        shapes and a node is recorded (see :mod:`minidl.symbolic`); the result is KerasTensors.

        Args:
            x: a Tensor (or an array, wrapped as a constant Tensor of the layer's dtype), a list of them
                for layers taking several inputs, or KerasTensors.
            training: True inside ``fit`` (dropout and noise active).

        Raises:
            ValueError: naming the layer, when the input breaks the layer's :attr:`input_spec` or cannot be
                built for; nothing is recorded then.
        """
        if not (isinstance(x, Tensor) and not args and not kwargs) and any_symbolic(x, args, kwargs):
            return self._symbolic_call(x, args, kwargs)
        if isinstance(x, Tensor):
            shapes = x.shape
        else:
            x = _as_tensors(x, self.dtype)
            shapes = _map_shapes(lambda t: t.shape, x, leaf=Tensor)
        if self.input_spec is not None:
            self._check_input_spec(shapes, x)
        if not self.built:
            self._ensure_built(_map_shapes(lambda s: (None, *s[1:]), shapes))
        if self.losses:  # losses describe the latest call only
            self.losses = []
        out = self._call_with_training(x, args, kwargs, training)
        reg = self.activity_regularizer
        if reg is not None:
            # A penalty on the outputs, averaged over the batch (tf.keras divides by the batch size, so
            # the penalty's weight does not depend on batch_size). A float is an L1 coefficient.
            if isinstance(reg, float):
                self.losses.append(ops.abs(out).sum() * (reg / max(1, out.shape[0])))
            else:
                self.losses.append(reg(out) * (1.0 / max(1, out.shape[0])))
        return out

    def _check_input_spec(self, shapes: Any, x: Any, spec: Any = None) -> None:
        flat = [s for s in _flatten_shapes(shapes)]
        dtypes = [getattr(t, "dtype", None) for t in flatten(x)]
        dtypes = [None if d is None else np.dtype(d).name for d in dtypes]
        assert_input_compatibility(self.input_spec if spec is None else spec, flat, dtypes, self.name)

    def _symbolic_call(self, x: Any, args: tuple, kwargs: dict) -> Any:
        """Builds the layer for the KerasTensors' shapes and records a :class:`~minidl.symbolic.Node`."""
        shapes = _map_shapes(lambda t: t.shape if isinstance(t, KerasTensor) else tuple(np.shape(t)), x,
                             leaf=KerasTensor)
        if self.input_spec is not None:
            self._check_input_spec(shapes, x)
        if self._graph_spec is not None:
            self._check_input_spec(shapes, x, self._graph_spec)
        if not self.built:
            self._ensure_built(shapes)
            if self.input_spec is not None:  # build() may have pinned sizes
                self._check_input_spec(shapes, x)
        outputs = self.compute_output_spec(x, *args, **kwargs)
        Node(self, (x, *args), kwargs, outputs)
        return outputs

    # -------------------------------------------------------------- the functional graph
    def _node_attribute(self, attr: str, what: str) -> Any:
        if not self._inbound_nodes:
            raise AttributeError(f"The layer {self.name!r} has never been called on a symbolic input and thus has "
                                 f"no defined {what}.")
        values = getattr(self._inbound_nodes[0], attr)
        return values[0] if len(values) == 1 else list(values)

    @property
    def input(self) -> Any:
        """The KerasTensor(s) this layer was first called on (a list when several)."""
        return self._node_attribute("input_tensors", "input")

    @property
    def output(self) -> Any:
        """The KerasTensor(s) its first call on symbolic inputs returned (a list when several)."""
        return self._node_attribute("output_tensors", "output")

    # -------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        """JSON-able constructor arguments; ``type(layer)(**config)`` makes an equivalent, unbuilt layer."""
        cfg: dict[str, Any] = {"name": self.name, "trainable": self._trainable, "dtype": self.dtype.name}
        if self._batch_input_shape is not None:
            cfg["input_shape"] = list(self._batch_input_shape[1:])
        return cfg

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Layer":
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}, built={self.built}>"


# ---------------------------------------------------------------------------------------------------- activations
class _ActivationMixin:
    """Layers ending in a named activation. ``pre_activation`` gives the output before it, which lets a
    model fuse softmax/sigmoid with cross-entropy (stable, and the gradient is simply ``p - t``)."""

    activation_name: str

    def _set_activation(self, activation: Any) -> None:
        self._act = F.activation(activation)  # ValueError listing the known names
        self.activation_name = "linear" if activation is None else (
            activation if isinstance(activation, str) else getattr(activation, "__name__", "custom"))


def _init_name(init: Any) -> Any:
    if isinstance(init, dict):  # a config dict, as load_model passes it back
        return init
    if isinstance(init, str) or hasattr(init, "__name__"):
        return init if isinstance(init, str) else init.__name__
    # an initializer object (HeNormal(seed=1)): its config dict, which initializers.get reads back
    return initializers.serialize(init) if hasattr(init, "get_config") else str(init)
