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

``Residual()`` then works alone (``Residual()(Tensor(x))``) and inside :class:`minidl.models.Sequential`;
:meth:`Layer.compute_output_shape` defaults to running the layer once on a dummy batch, so summaries work
without overriding it. To save and load a custom layer, give it a :meth:`Layer.get_config` returning its
constructor arguments and pass ``custom_objects={'Residual': Residual}`` to :func:`minidl.models.load_model`.
"""
from __future__ import annotations
from __future__ import annotations

import re
import threading
from collections import defaultdict
from typing import Any, Sequence

import numpy as np

from .. import functional as F
from .. import initializers
from .. import ops
from .._validate import check_bool, check_float_dtype, describe
from ..autograd import Tensor, no_grad
from ..kernels.shapes import PADDINGS
from ..random import get_rng

__all__ = ["Layer", "unique_name"]

Shape = tuple  # a shape with the batch dimension first, as None: (None, 28, 28, 1)

# ---------------------------------------------------------------------------------------------------- names
# Keras numbers layers per class within a process: dense, dense_1, dense_2, ...
_NAME_COUNTS: dict[str, int] = defaultdict(int)


def _snake_case(name: str) -> str:
    """'MaxPooling2D' -> 'max_pooling2d', 'Conv2D' -> 'conv2d' (Keras's rule)."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def unique_name(prefix: str) -> str:
    """``prefix`` the first time, then ``prefix_1``, ``prefix_2``, ..."""
    n = _NAME_COUNTS[prefix]
    _NAME_COUNTS[prefix] = n + 1
    return prefix if n == 0 else f"{prefix}_{n}"


def _shape_str(shape: Any) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


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
        self.activity_regularizer: float | None = None

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
    def add_weight(self, name: str, shape: Sequence[int], initializer: Any = "glorot_uniform",
                   trainable: bool = True, dtype: Any = None) -> Tensor:
        """Creates, registers and returns a weight tensor.

        Args:
            name: short name ('kernel', 'bias'); the tensor is named ``'<layer>/<name>'``.
            shape: its shape.
            initializer: a name from :mod:`minidl.initializers` or a callable ``(shape, dtype, rng)``.
            trainable: False for weights the optimizer must never touch (e.g. running statistics).
            dtype: default the layer's dtype.

        Returns:
            A Tensor that requires grad when it (and this layer) is trainable.
        """
        init = initializers.get(initializer)
        dt = np.dtype(dtype) if dtype is not None else self.dtype
        shape = tuple(int(s) for s in shape)
        _charge_weight_budget(self, name, shape)  # a model being loaded may not allocate more than its file holds
        data = np.ascontiguousarray(init(shape, dt, get_rng()), dtype=dt)
        w = Tensor(data, requires_grad=bool(trainable and self._trainable), name=f"{self.name}/{name}")
        self._own_weights.append(w)
        self._own_trainable.append(bool(trainable))
        return w

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
        """The output shape for ``input_shape`` (batch dimension as None).

        This default builds the layer if needed and runs it on a one-sample batch of zeros; built-in
        layers override it with arithmetic, so it works before any data (model summaries).
        """
        self._ensure_built(input_shape)
        with no_grad():
            out = self.call(Tensor(np.zeros((1, *input_shape[1:]), dtype=self.dtype)), training=False)
        return (None, *out.shape[1:])

    def _ensure_built(self, input_shape: Shape) -> None:
        """Builds the layer for ``input_shape`` unless it already is; records its input/output shapes."""
        if self.built:
            return
        input_shape = (None, *tuple(input_shape)[1:])
        self.build(input_shape)
        self.built = True
        self.input_shape = input_shape
        # compute_output_shape of a custom layer may call the layer: mark it built first.
        self.output_shape = self.compute_output_shape(input_shape)

    def add_loss(self, value: Tensor) -> None:
        """Adds a scalar loss term for this call (read by the model after the forward pass)."""
        self.losses.append(value)

    def __call__(self, x: Any, training: bool = False) -> Tensor:
        """Builds on first use (from ``x.shape``), then runs :meth:`call`.

        Args:
            x: a Tensor (or an array, wrapped as a constant Tensor of the layer's dtype).
            training: True inside ``fit`` (dropout and noise active).
        """
        if not isinstance(x, Tensor):
            x = Tensor(x, dtype=self.dtype)
        if not self.built:
            self._ensure_built((None, *x.shape[1:]))
        if self.losses:  # losses describe the latest call only
            self.losses = []
        out = self.call(x, training=training)
        if self.activity_regularizer is not None:
            # L1 penalty on the outputs, averaged over the batch (tf.keras divides by the batch size, so
            # the penalty's weight does not depend on batch_size).
            self.losses.append(ops.abs(out).sum() * (self.activity_regularizer / max(1, out.shape[0])))
        return out

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


def _check_sample_shape(shape: Any, what: str) -> tuple[int, ...]:
    """A per-sample shape as a tuple of positive ints (an int is a 1-D shape)."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape),)
    try:
        dims = tuple(shape)
    except TypeError:
        raise ValueError(f"{what} must be a tuple of positive ints, got {shape!r}") from None
    if any(d is None for d in dims):
        raise ValueError(f"{what}: unknown (None) dimensions are not supported, got {shape!r}")
    if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0 for d in dims):
        raise ValueError(f"{what} must be a tuple of positive ints, got {shape!r}")
    return tuple(int(d) for d in dims)


def _check_rank(layer: Layer, input_shape: Shape, rank: int, what: str) -> None:
    if len(input_shape) != rank:
        raise ValueError(
            f"layer {layer.name!r} ({type(layer).__name__}) expects {what} inputs of rank {rank}, "
            f"got shape {_shape_str(input_shape)}"
        )


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
    return init if isinstance(init, str) else getattr(init, "__name__", str(init))


def _check_padding(padding: Any, cls: str) -> str:
    p = padding.lower() if isinstance(padding, str) else padding
    if p not in PADDINGS:
        raise ValueError(f"{cls}: unknown padding {padding!r}; known paddings: {', '.join(PADDINGS)}")
    return p


def _spatial_out(size: int, k: int, s: int, padding: str, layer: Layer) -> int:
    if padding == "same":
        return -(-size // s)
    if size < k:
        raise ValueError(
            f"layer {layer.name!r} ({type(layer).__name__}): window of size {k} is bigger than its input ({size}) "
            f"under padding='valid'; use padding='same' or a smaller window"
        )
    return (size - k) // s + 1
