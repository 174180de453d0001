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

import contextlib
import math
import re
from collections import defaultdict
from typing import Any, Iterator, Sequence

import numpy as np

from . import functional as F
from . import initializers
from . import ops
from .autograd import Function, Tensor, no_grad
from .functional._boundary import like_device
from .kernels.shapes import ACT_CODES, PADDINGS, as_pair
from .random import get_rng

__all__ = [
    "Layer", "InputLayer", "Input", "Dense", "Conv2D", "MaxPooling2D", "MaxPool2D", "Flatten", "Dropout",
    "Activation", "Reshape", "UpSampling2D", "GaussianNoise", "TiedAutoencoder", "DenseTranspose", "Conv2DTranspose",
    "get", "serialize", "deserialize",
]

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


# ---------------------------------------------------------------------------------------------------- regularizers
def _l1_coefficient(reg: Any) -> float | None:
    """The L1 coefficient of an activity regularizer: 'l1' (Keras's default 0.01), a number, ``{'l1': c}``,
    or an object with an ``l1`` attribute (``regularizers.l1(c)``-like). None means no penalty."""
    if reg is None:
        return None
    if isinstance(reg, str):
        if reg.lower() == "l1":
            return 0.01
        raise ValueError(f"unknown activity_regularizer {reg!r}; known: 'l1', a float L1 coefficient, or {{'l1': c}}")
    if isinstance(reg, dict) and "l1" in reg:
        return float(reg["l1"])
    if hasattr(reg, "l1"):
        return float(reg.l1)
    if isinstance(reg, (int, float)) and not isinstance(reg, bool):
        if reg < 0 or not math.isfinite(reg):
            raise ValueError(f"activity_regularizer coefficient must be a finite number >= 0, got {reg}")
        return float(reg)
    raise ValueError(f"cannot interpret {reg!r} as an activity_regularizer; use 'l1', a float, or {{'l1': c}}")


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
        self.name = name if name is not None else unique_name(_snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self._batch_input_shape: Shape | None = None
        if input_shape is not None:
            self._batch_input_shape = (None, *_check_sample_shape(input_shape, f"{self.name}: input_shape"))
        self.dtype = np.dtype(dtype)
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
        data = np.ascontiguousarray(init(tuple(int(s) for s in shape), dt, get_rng()), dtype=dt)
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
        self._trainable = bool(value)
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

        Raises:
            ValueError: naming the layer, for a wrong number of arrays or a wrong shape; nothing is
                changed then.
        """
        mine = self.weights
        weights = list(weights)
        if len(weights) != len(mine):
            hint = "" if self.built or mine else " (the layer is not built yet: call it on data or build() it first)"
            raise ValueError(f"layer {self.name!r} expects {len(mine)} weight array(s), got {len(weights)}{hint}")
        arrays = []
        for w, a in zip(mine, weights):  # check everything before changing anything
            a = np.asarray(a.numpy() if isinstance(a, Tensor) else a)
            if a.shape != tuple(w.shape):
                raise ValueError(
                    f"layer {self.name!r}: weight {w.name!r} has shape {tuple(w.shape)}, got an array of shape {a.shape}"
                )
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


# ---------------------------------------------------------------------------------------------------- Input
class InputLayer(Layer):
    """Declares the input shape of a model; passes its input through unchanged (no weights).

    Args:
        shape: one sample's shape, e.g. ``(28, 28, 1)``. ``input_shape=`` is accepted as in Keras 2.
    """

    def __init__(self, shape: Sequence[int] | None = None, name: str | None = None, dtype: Any = "float32",
                 input_shape: Sequence[int] | None = None, **kwargs: Any) -> None:
        shape = shape if shape is not None else input_shape
        if shape is None:
            raise ValueError("InputLayer needs shape=, the shape of one sample, e.g. (28, 28, 1)")
        super().__init__(name=name, input_shape=shape, dtype=dtype, **kwargs)

    @property
    def shape(self) -> Shape:
        return self._batch_input_shape

    def call(self, x, training=False):
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {"shape": list(self._batch_input_shape[1:]), "name": self.name, "dtype": self.dtype.name}


def Input(shape: Sequence[int], name: str | None = None, dtype: Any = "float32") -> InputLayer:  # noqa: N802
    """``Input((28, 28, 1))``: the first entry of ``Sequential([...])``, giving the model its input shape.
    (Keras returns a symbolic tensor; here it is an :class:`InputLayer`, which Sequential accepts.)"""
    return InputLayer(shape=shape, name=name or unique_name("input_layer"), dtype=dtype)


# ---------------------------------------------------------------------------------------------------- activations
class _ActivationMixin:
    """Layers ending in a named activation. ``pre_activation`` gives the output before it, which lets a
    model fuse softmax/sigmoid with cross-entropy (stable, and the gradient is simply ``p - t``)."""

    activation_name: str

    def _set_activation(self, activation: Any) -> None:
        self._act = F.activation(activation)  # ValueError listing the known names
        self.activation_name = "linear" if activation is None else (
            activation if isinstance(activation, str) else getattr(activation, "__name__", "custom"))


class Dense(_ActivationMixin, Layer):
    """A fully connected layer: ``activation(x @ kernel + bias)``.

    Shapes: x (N, in) -> (N, units); a higher-rank x (N, ..., in) is applied on its last axis, as in Keras.
    Weights: kernel (in, units), bias (units,).

    Args:
        units: number of outputs (> 0).
        activation: a name ('relu', 'sigmoid', 'tanh', 'softmax', 'linear') or None.
        use_bias: whether to add a bias.
        kernel_initializer, bias_initializer: names from :mod:`minidl.initializers`.
        activity_regularizer: 'l1' (0.01), a float L1 coefficient, ``{'l1': c}``: adds
            ``c * sum(|output|) / batch`` to the loss (e.g. sparse autoencoder codes).
        input_dim: Keras-2 shorthand for ``input_shape=(input_dim,)``.
    """

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 activity_regularizer: Any = None, input_dim: int | None = None, **kwargs: Any) -> None:
        if input_dim is not None and "input_shape" not in kwargs:
            kwargs["input_shape"] = (input_dim,)
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        self.units = int(units)
        self._set_activation(activation)
        self.use_bias = bool(use_bias)
        initializers.get(kernel_initializer), initializers.get(bias_initializer)  # fail now, not at build
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.activity_regularizer = _l1_coefficient(activity_regularizer)
        self._activity_regularizer_arg = activity_regularizer

    def build(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(f"layer {self.name!r} (Dense) needs inputs of rank >= 2, got shape {_shape_str(input_shape)}")
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer)
        self.bias = self.add_weight("bias", (self.units,), self.bias_initializer) if self.use_bias else None

    def pre_activation(self, x: Tensor, training: bool = False) -> Tensor:
        """``x @ kernel + bias``, before the activation."""
        if x.ndim == 2:
            return F.dense(x, self.kernel, self.bias)
        lead = x.shape[:-1]  # apply to the last axis of a higher-rank input
        y = F.dense(x.reshape(-1, x.shape[-1]), self.kernel, self.bias)
        return y.reshape(*lead, self.units)

    def call(self, x, training=False):
        return self._act(self.pre_activation(x, training))

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape)[:-1], self.units)

    def get_config(self):
        reg = self._activity_regularizer_arg
        if reg is not None and not isinstance(reg, (str, int, float, dict)):
            reg = {"l1": self.activity_regularizer}  # a regularizer object: save its coefficient
        return {**super().get_config(), "units": self.units, "activation": self.activation_name,
                "use_bias": self.use_bias, "kernel_initializer": _init_name(self.kernel_initializer),
                "bias_initializer": _init_name(self.bias_initializer), "activity_regularizer": reg}


def _init_name(init: Any) -> Any:
    return init if isinstance(init, str) else getattr(init, "__name__", str(init))


class Activation(_ActivationMixin, Layer):
    """Applies a named activation, e.g. ``Activation('softmax')``.

    Raises:
        ValueError: at construction, for an unknown name (listing the known ones).
    """

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._set_activation(activation)

    def pre_activation(self, x: Tensor, training: bool = False) -> Tensor:
        return x

    def call(self, x, training=False):
        return self._act(x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "activation": self.activation_name}


# ---------------------------------------------------------------------------------------------------- conv / pool
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


class _Conv(_ActivationMixin, Layer):
    """What Conv2D and Conv2DTranspose share: their arguments, checked at construction, and their config."""

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 activation: Any = None, use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        cls = type(self).__name__
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(f"{cls}: filters must be a positive integer, got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = as_pair(kernel_size, f"{cls}: kernel_size")
        self.strides = as_pair(strides, f"{cls}: strides")
        self.padding = _check_padding(padding, cls)
        self._set_activation(activation)
        self.use_bias = bool(use_bias)
        initializers.get(kernel_initializer), initializers.get(bias_initializer)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "activation": self.activation_name,
                "use_bias": self.use_bias, "kernel_initializer": _init_name(self.kernel_initializer),
                "bias_initializer": _init_name(self.bias_initializer)}


class Conv2D(_Conv):
    """2-D convolution of NHWC images: ``activation(conv2d(x, kernel) + bias)``.

    Shapes: x (N, H, W, C) -> (N, OH, OW, filters), with OH = ceil(H / sh) under 'same' and
    (H - kh) // sh + 1 under 'valid'. Weights: kernel (kh, kw, C, filters), bias (filters,).

    Args:
        filters: number of output channels.
        kernel_size: int or (kh, kw).
        strides: int or (sh, sw), positive.
        padding: 'valid' (no padding) or 'same' (zero padding keeping H / s).
        activation, use_bias, kernel_initializer, bias_initializer: as in :class:`Dense`.

    Raises:
        ValueError: at construction, for a non-positive size/stride or an unknown padding or activation.
    """

    def build(self, input_shape):
        _check_rank(self, input_shape, 4, "image (N, H, W, C)")
        kh, kw = self.kernel_size
        self.kernel = self.add_weight("kernel", (kh, kw, input_shape[-1], self.filters), self.kernel_initializer)
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer) if self.use_bias else None

    def pre_activation(self, x: Tensor, training: bool = False) -> Tensor:
        return F.conv2d(x, self.kernel, self.bias, self.strides, self.padding)

    def call(self, x, training=False):
        if self.activation_name == "relu":  # fused into the conv: no extra pass, no extra array
            return F.conv2d(x, self.kernel, self.bias, self.strides, self.padding, activation="relu")
        return self._act(F.conv2d(x, self.kernel, self.bias, self.strides, self.padding))

    def compute_output_shape(self, input_shape):
        _check_rank(self, input_shape, 4, "image (N, H, W, C)")
        n, h, w, _ = input_shape
        oh = _spatial_out(h, self.kernel_size[0], self.strides[0], self.padding, self)
        ow = _spatial_out(w, self.kernel_size[1], self.strides[1], self.padding, self)
        return (n, oh, ow, self.filters)



class MaxPooling2D(Layer):
    """Max over pool windows of NHWC images (no weights).

    Args:
        pool_size: int or (ph, pw).
        strides: int or pair; default ``pool_size`` (non-overlapping windows).
        padding: 'valid' or 'same'.
    """

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: str = "valid", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pool_size = as_pair(pool_size, "MaxPooling2D: pool_size")
        self.strides = self.pool_size if strides is None else as_pair(strides, "MaxPooling2D: strides")
        self.padding = _check_padding(padding, "MaxPooling2D")

    def call(self, x, training=False):
        return F.max_pool2d(x, self.pool_size, self.strides, self.padding)

    def compute_output_shape(self, input_shape):
        _check_rank(self, input_shape, 4, "image (N, H, W, C)")
        n, h, w, c = input_shape
        oh = _spatial_out(h, self.pool_size[0], self.strides[0], self.padding, self)
        ow = _spatial_out(w, self.pool_size[1], self.strides[1], self.padding, self)
        return (n, oh, ow, c)

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding}


MaxPool2D = MaxPooling2D  # Keras alias


# ---------------------------------------------------------------------------------------------------- shape layers
class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...)."""

    def call(self, x, training=False):
        return x.reshape(x.shape[0], -1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], int(np.prod(input_shape[1:], dtype=np.int64)))


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (no batch); one entry may be -1 (inferred).

    Raises:
        ValueError: at construction for a bad target (two -1s, zeros); when built, if the sizes differ.
    """

    def __init__(self, target_shape: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        t = tuple(int(d) for d in (target_shape if not isinstance(target_shape, int) else (target_shape,)))
        if sum(d == -1 for d in t) > 1 or any(d == 0 or d < -1 for d in t):
            raise ValueError(f"Reshape: target_shape must be positive ints with at most one -1, got {target_shape!r}")
        self.target_shape = t

    def _resolve(self, input_shape: Shape) -> tuple[int, ...]:
        size = int(np.prod(input_shape[1:], dtype=np.int64))
        known = int(np.prod([d for d in self.target_shape if d != -1], dtype=np.int64))
        if -1 in self.target_shape:
            if size % known:
                raise ValueError(f"layer {self.name!r} (Reshape): cannot reshape {_shape_str(input_shape)} into "
                                 f"{_shape_str((None, *self.target_shape))}")
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if known != size:
            raise ValueError(f"layer {self.name!r} (Reshape): cannot reshape {_shape_str(input_shape)} ({size} values "
                             f"per sample) into {_shape_str((None, *self.target_shape))} ({known} values)")
        return self.target_shape

    def call(self, x, training=False):
        return x.reshape(x.shape[0], *self.target_shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self._resolve(input_shape))

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class _Upsample2D(Function):
    """Nearest-neighbour up-sampling of NHWC images: every pixel becomes an sh x sw block.

    Backward: each input pixel was copied into sh * sw output pixels, so its gradient is the sum of
    their gradients (a reshape that exposes the block, then a sum over it)."""

    def forward(self, x, size=(2, 2)):
        sh, sw = self.size = size
        n, h, w, c = x.shape
        # Broadcast each pixel over a new (sh, sw) block, then merge the block into the image axes.
        out = np.broadcast_to(x[:, :, None, :, None, :], (n, h, sh, w, sw, c))
        return np.ascontiguousarray(out).reshape(n, h * sh, w * sw, c)

    def backward(self, g):
        sh, sw = self.size
        n, hh, ww, c = g.shape
        return g.reshape(n, hh // sh, sh, ww // sw, sw, c).sum(axis=(2, 4))


class UpSampling2D(Layer):
    """Repeats rows and columns of NHWC images: (N, H, W, C) -> (N, H * sh, W * sw, C) (nearest).

    Args:
        size: int or (sh, sw).
    """

    def __init__(self, size: Any = (2, 2), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = as_pair(size, "UpSampling2D: size")

    def call(self, x, training=False):
        if isinstance(x.data, np.ndarray):
            return _Upsample2D.apply(x, size=self.size)
        # On a GPU: the same thing with generic ops (a broadcasting multiply by ones, then a reshape).
        n, h, w, c = x.shape
        sh, sw = self.size
        ones = like_device(np.ones((1, 1, sh, 1, sw, 1), dtype=x.dtype), x)
        return (x.reshape(n, h, 1, w, 1, c) * Tensor(ones)).reshape(n, h * sh, w * sw, c)

    def compute_output_shape(self, input_shape):
        _check_rank(self, input_shape, 4, "image (N, H, W, C)")
        n, h, w, c = input_shape
        return (n, h * self.size[0], w * self.size[1], c)

    def get_config(self):
        return {**super().get_config(), "size": list(self.size)}


# ---------------------------------------------------------------------------------------------------- autoencoders
_TIED_ACTIVATIONS = tuple(ACT_CODES)  # the activations the fused tied-autoencoder kernel implements


def _tied_activation(value: Any, arg: str, cls: str) -> str:
    """An activation name accepted by the fused kernel (None is 'linear'); ValueError naming ``arg``."""
    name = "linear" if value is None else value
    if not isinstance(name, str) or name not in ACT_CODES:
        raise ValueError(f"{cls}: unknown {arg} {value!r}; known: {', '.join(_TIED_ACTIVATIONS)}")
    return name


class TiedAutoencoder(_ActivationMixin, Layer):
    """A one-layer autoencoder whose decoder uses the transpose of the encoder's kernel.

    Math, for x (N, D), kernel W (D, units), encoder bias b (units,), decoder bias c (D,)::

        y  = h(x W + b)          (the code, :meth:`encode`)
        x̂ = g(y W^T + c)        (the reconstruction, :meth:`decode`; what :meth:`call` returns)

    Both halves run in one fused op (:func:`minidl.functional.tied_autoencoder`); W is one weight, so its
    gradient is the sum of the encoder path ``x^T dA`` and the decoder path ``dZ^T y``. Parameters:
    D * units + units + D (W counted once), about half those of ``Dense(units)`` + ``Dense(D)``.

    ``Sequential([Input((784,)), TiedAutoencoder(128)])`` trains as an autoencoder with ``fit(x, x)``.
    With ``decoder_activation='sigmoid'`` and ``loss='binary_crossentropy'`` the model takes the
    decoder's logits (:meth:`pre_activation`) and uses the fused, stable BCE-with-logits, as it does for
    ``Dense(activation='sigmoid')``.

    Args:
        units: code size (> 0).
        encoder_activation, decoder_activation: h and g, each one of 'sigmoid', 'relu', 'tanh',
            'linear' (None is 'linear').
        kernel_initializer, bias_initializer: names from :mod:`minidl.initializers` (the bias initializer
            is used for both biases).

    Raises:
        ValueError: at construction for bad units or an unknown activation (naming the argument); when
            built, for inputs that are not (N, D); when called, for an input of another width than the
            layer was built for.
    """

    def __init__(self, units: int, encoder_activation: Any = "sigmoid", decoder_activation: Any = "sigmoid",
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"TiedAutoencoder: units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.encoder_activation = _tied_activation(encoder_activation, "encoder_activation", "TiedAutoencoder")
        self.decoder_activation = _tied_activation(decoder_activation, "decoder_activation", "TiedAutoencoder")
        self._enc_act = F.activation(self.encoder_activation)
        # activation_name / _act describe the *output* (the decoder), so that a model can fuse a final
        # sigmoid with binary cross-entropy through pre_activation.
        self._set_activation(self.decoder_activation)
        initializers.get(kernel_initializer), initializers.get(bias_initializer)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer

    def build(self, input_shape):
        _check_rank(self, input_shape, 2, "feature-vector (N, features)")
        d = int(input_shape[-1])
        self.kernel = self.add_weight("kernel", (d, self.units), self.kernel_initializer)
        self.bias = self.add_weight("bias", (self.units,), self.bias_initializer)
        self.decoder_bias = self.add_weight("decoder_bias", (d,), self.bias_initializer)

    def _as_input(self, x: Any, width: int, what: str) -> Tensor:
        if not isinstance(x, Tensor):
            x = Tensor(x, dtype=self.dtype)
        if x.ndim != 2 or x.shape[1] != width:
            raise ValueError(f"layer {self.name!r} (TiedAutoencoder): {what} must have shape (N, {width}), "
                             f"got {x.shape}")
        return x

    def _fused(self, x: Tensor, decoder: str) -> tuple[Tensor, Tensor]:
        x = self._as_input(x, self.kernel.shape[0], "the input")
        return F.tied_autoencoder(x, self.kernel, self.bias, self.decoder_bias, encoder=self.encoder_activation,
                                  decoder=decoder)

    def call(self, x, training=False):
        return self._fused(x, self.decoder_activation)[1]

    def pre_activation(self, x: Tensor, training: bool = False) -> Tensor:
        """The decoder's logits ``y W^T + c`` (before g), from the same fused op."""
        return self._fused(x, "linear")[1]

    def encode(self, x: Any) -> Tensor:
        """The code ``h(x W + b)``, (N, units); x is an array or a Tensor of shape (N, D). Differentiable
        (gradients reach the same W as :meth:`call`); builds the layer on first use."""
        if not isinstance(x, Tensor):
            x = Tensor(x, dtype=self.dtype)
        if not self.built:
            self._ensure_built((None, *x.shape[1:]))
        x = self._as_input(x, self.kernel.shape[0], "the input")
        return self._enc_act(F.dense(x, self.kernel, self.bias))

    def decode(self, y: Any) -> Tensor:
        """The reconstruction ``g(y W^T + c)``, (N, D), from codes y (N, units). Differentiable.

        Raises:
            ValueError: before the layer is built (D is unknown), or for codes of another width.
        """
        if not self.built:
            raise ValueError(f"layer {self.name!r} (TiedAutoencoder) is not built yet, so its output width is "
                             "unknown: call it (or encode) on data, or build() it first")
        y = self._as_input(y, self.units, "the codes")
        return self._act(F.dense(y, ops.transpose(self.kernel), self.decoder_bias))

    def compute_output_shape(self, input_shape):
        _check_rank(self, input_shape, 2, "feature-vector (N, features)")
        if self.built and input_shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"layer {self.name!r} (TiedAutoencoder) was built for {self.kernel.shape[0]} "
                             f"features, got shape {_shape_str(input_shape)}")
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "encoder_activation": self.encoder_activation,
                "decoder_activation": self.decoder_activation,
                "kernel_initializer": _init_name(self.kernel_initializer),
                "bias_initializer": _init_name(self.bias_initializer)}


# Layers rebuilt by the load in progress, by name: a DenseTranspose saved with ``tied_to='dense_1'`` finds
# the Dense it is tied to here. One dict per outermost load (nested Sequential models share it).
_LOADING: list[dict[str, "Layer"]] = []


@contextlib.contextmanager
def loading_scope() -> Iterator[dict[str, "Layer"]]:
    """The name -> layer dict of the load in progress (a new one for the outermost call)."""
    if _LOADING:
        yield _LOADING[-1]
        return
    _LOADING.append({})
    try:
        yield _LOADING[-1]
    finally:
        _LOADING.pop()


class DenseTranspose(_ActivationMixin, Layer):
    """A decoder layer tied to a :class:`Dense` layer: ``activation(x @ tied_to.kernel^T + bias)``.

    Shapes: x (N, units of ``tied_to``) -> (N, input width of ``tied_to``). It owns only its bias, shaped
    (input width of ``tied_to``,); the kernel *is* the Dense layer's Tensor, so in a model containing both
    layers the two uses' gradients add up in that one tensor and the optimizer updates it once (models
    collect weights by identity, and the summary counts W in the Dense row only).

    Put the DenseTranspose in the same model as its Dense (nested models are fine): a model holding only
    the DenseTranspose treats the kernel as a fixed input (it is neither trained nor saved by that model).
    Freezing the DenseTranspose freezes its bias only.

    Saving: the config stores ``tied_to`` as the Dense layer's *name*; :func:`minidl.models.load_model`
    re-links it to the Dense layer of that name loaded earlier in the same file (so the Dense must come
    first in the model, as it must anyway to be built first).

    Args:
        tied_to: a :class:`Dense` layer (or any layer with a 2-D ``kernel`` once built); while a model is
            being loaded, the name of one.
        activation: as in :class:`Dense`.
        use_bias: whether to add a bias.
        bias_initializer: a name from :mod:`minidl.initializers`.

    Raises:
        ValueError: at construction for an unknown activation, or a name that matches no layer loaded
            before it; when built, if ``tied_to`` is not built yet or its units differ from the input width.
        TypeError: when ``tied_to`` is not a layer.
    """

    def __init__(self, tied_to: Any, activation: Any = None, use_bias: bool = True, bias_initializer: Any = "zeros",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(tied_to, str):
            found = _LOADING[-1].get(tied_to) if _LOADING else None
            if found is None:
                where = ("no layer of that name was loaded before it" if _LOADING else
                         "a name can only be resolved while a model is being loaded; pass the Dense layer itself")
                raise ValueError(f"DenseTranspose: cannot find the layer tied_to={tied_to!r}: {where}")
            tied_to = found
        if not isinstance(tied_to, Layer):
            raise TypeError(f"DenseTranspose: tied_to must be a Dense layer, got {type(tied_to).__name__}")
        self._set_activation(activation)
        self.use_bias = bool(use_bias)
        initializers.get(bias_initializer)
        self.bias_initializer = bias_initializer
        # object.__setattr__: not a tracked sub-layer, so the tied kernel is not counted or saved twice.
        object.__setattr__(self, "tied_to", tied_to)

    @property
    def kernel(self) -> Tensor:
        """The tied layer's kernel, (in, units) of ``tied_to`` (this layer uses its transpose)."""
        return self.tied_to.kernel

    def _tied_kernel_shape(self) -> tuple[int, int]:
        tied = self.tied_to
        k = getattr(tied, "kernel", None) if tied.built else None
        if k is None or k.ndim != 2:
            state = "is not built yet" if not tied.built else "has no 2-D kernel"
            raise ValueError(
                f"layer {self.name!r} (DenseTranspose) is tied to {tied.name!r}, which {state}: build or call "
                f"{tied.name!r} first (in a Sequential model, put it before this layer)"
            )
        return tuple(k.shape)

    def _check_width(self, input_shape: Shape) -> int:
        d_in, units = self._tied_kernel_shape()
        if len(input_shape) < 2 or input_shape[-1] != units:
            raise ValueError(f"layer {self.name!r} (DenseTranspose) tied to {self.tied_to.name!r} expects inputs "
                             f"of width {units} (its units), got shape {_shape_str(input_shape)}")
        return d_in

    def build(self, input_shape):
        d_in = self._check_width(input_shape)
        self.bias = self.add_weight("bias", (d_in,), self.bias_initializer) if self.use_bias else None

    def pre_activation(self, x: Tensor, training: bool = False) -> Tensor:
        """``x @ kernel^T + bias``, before the activation."""
        self._check_width((None, *x.shape[1:]))
        kt = ops.transpose(self.kernel)
        if x.ndim == 2:
            return F.dense(x, kt, self.bias)
        lead = x.shape[:-1]
        return F.dense(x.reshape(-1, x.shape[-1]), kt, self.bias).reshape(*lead, kt.shape[1])

    def call(self, x, training=False):
        return self._act(self.pre_activation(x, training))

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape)[:-1], self._check_width(input_shape))

    def get_config(self):
        return {**super().get_config(), "tied_to": self.tied_to.name, "activation": self.activation_name,
                "use_bias": self.use_bias, "bias_initializer": _init_name(self.bias_initializer)}


class Conv2DTranspose(_Conv):
    """Transposed 2-D convolution of NHWC images (Keras semantics): ``activation(conv2d_transpose(x) + bias)``.

    The adjoint of :class:`Conv2D` with the same kernel, strides and padding (its gradient with respect to
    its input): every input pixel is multiplied by the kernel and scattered onto an output window, so a
    stride s up-samples by s. See :func:`minidl.functional.conv2d_transpose` for the math.

    Shapes: x (N, H, W, C) -> (N, OH, OW, filters) with, per axis, OH = H * s + max(k - s, 0) under
    'valid' (= (H - 1) * s + k when k >= s) and OH = H * s under 'same'. Weights: kernel
    (kh, kw, filters, C) (Keras's transpose layout: output channels before input channels), bias (filters,).

    Args:
        filters: number of output channels.
        kernel_size: int or (kh, kw).
        strides: int or (sh, sw), positive.
        padding: 'valid' or 'same'.
        activation, use_bias, kernel_initializer, bias_initializer: as in :class:`Conv2D`.

    Raises:
        ValueError: at construction, for a non-positive size/stride or an unknown padding or activation.
    """

    def build(self, input_shape):
        _check_rank(self, input_shape, 4, "image (N, H, W, C)")
        kh, kw = self.kernel_size
        self.kernel = self.add_weight("kernel", (kh, kw, self.filters, input_shape[-1]), self.kernel_initializer)
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer) if self.use_bias else None

    def pre_activation(self, x: Tensor, training: bool = False) -> Tensor:
        return F.conv2d_transpose(x, self.kernel, self.bias, self.strides, self.padding)

    def call(self, x, training=False):
        return self._act(self.pre_activation(x, training))

    def compute_output_shape(self, input_shape):
        _check_rank(self, input_shape, 4, "image (N, H, W, C)")
        if self.built and input_shape[-1] != self.kernel.shape[3]:
            raise ValueError(f"layer {self.name!r} (Conv2DTranspose) was built for {self.kernel.shape[3]} input "
                             f"channels, got shape {_shape_str(input_shape)}")
        kernel_shape = (*self.kernel_size, self.filters, input_shape[-1])
        return F.conv2d_transpose_output_shape(tuple(input_shape), kernel_shape, self.strides, self.padding)



# ---------------------------------------------------------------------------------------------------- noise
class Dropout(Layer):
    """Inverted dropout during training (zero with probability ``rate``, scale the rest by 1/(1-rate));
    the identity at inference.

    Args:
        rate: in [0, 1).
        seed: seeds this layer's own generator (masks still differ from batch to batch); None draws
            from minidl's global generator (:func:`minidl.utils.set_random_seed`).
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout: rate must be a number in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.seed = seed
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def call(self, x, training=False):
        if not training or self.rate == 0.0:
            return x
        seed = None if self._rng is None else int(self._rng.integers(2**63))
        return F.dropout(x, self.rate, training=True, seed=seed)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class GaussianNoise(Layer):
    """Adds N(0, stddev^2) noise during training (a regularizer, e.g. for denoising autoencoders); the
    identity at inference.

    Args:
        stddev: standard deviation (>= 0).
        seed: as in :class:`Dropout`.
    """

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float)) or not stddev >= 0 or not math.isfinite(stddev):
            raise ValueError(f"GaussianNoise: stddev must be a finite number >= 0, got {stddev!r}")
        self.stddev = float(stddev)
        self.seed = seed
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def call(self, x, training=False):
        if not training or self.stddev == 0.0:
            return x
        rng = self._rng if self._rng is not None else get_rng()
        noise = (rng.standard_normal(x.shape) * self.stddev).astype(x.dtype)  # drawn on the host, as dropout
        return x + Tensor(like_device(noise, x))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


# ---------------------------------------------------------------------------------------------------- lookup
_REGISTRY: dict[str, type[Layer]] = {
    cls.__name__: cls for cls in (InputLayer, Dense, Conv2D, MaxPooling2D, Flatten, Dropout, Activation, Reshape,
                                  UpSampling2D, GaussianNoise, TiedAutoencoder, DenseTranspose, Conv2DTranspose)
}
_REGISTRY["MaxPool2D"] = MaxPooling2D


def serialize(layer: Layer) -> dict[str, Any]:
    """``{'class_name': ..., 'config': layer.get_config()}``."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(spec: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Layer:
    """Rebuilds an (unbuilt) layer from :func:`serialize`'s dict.

    Raises:
        ValueError: for an unknown class name, listing the known ones.
    """
    name = spec.get("class_name")
    cls = (custom_objects or {}).get(name) or _REGISTRY.get(name)
    if cls is None:
        from . import models  # Sequential models nest as layers

        if name == "Sequential":
            cls = models.Sequential
        else:
            raise ValueError(f"unknown layer class {name!r}; known layers: {', '.join(sorted(_REGISTRY))} "
                             "(pass custom_objects={{name: cls}} for your own layers)")
    with loading_scope() as loaded:  # lets a DenseTranspose find its Dense by name
        layer = cls.from_config(dict(spec.get("config", {})))
        loaded[layer.name] = layer
    return layer


def get(identifier: Any) -> type[Layer]:
    """The layer class called ``identifier`` (e.g. 'Dense').

    Raises:
        ValueError: listing the known names.
    """
    try:
        return _REGISTRY[identifier]
    except (KeyError, TypeError):
        raise ValueError(f"unknown layer {identifier!r}; known layers: {', '.join(sorted(_REGISTRY))}") from None
