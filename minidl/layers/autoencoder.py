"""Autoencoder layers with tied weights: :class:`TiedAutoencoder` (one fused layer) and
:class:`DenseTranspose` (a decoder tied to a :class:`~minidl.layers.Dense`)."""
from __future__ import annotations

from typing import Any


from .. import functional as F
from .. import initializers
from .. import ops
from .._validate import check_bool, check_positive_int
from ..autograd import Tensor
from ..kernels.shapes import ACT_CODES
from . import serialization
from .base import Layer, Shape, _ActivationMixin, _check_rank, _init_name, _shape_str

__all__ = ["TiedAutoencoder", "DenseTranspose"]


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
        units = check_positive_int(units, "TiedAutoencoder: units")
        super().__init__(**kwargs)
        self.units = units
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
            found = serialization._LOADING[-1].get(tied_to) if serialization._LOADING else None
            if found is None:
                where = ("no layer of that name was loaded before it" if serialization._LOADING else
                         "a name can only be resolved while a model is being loaded; pass the Dense layer itself")
                raise ValueError(f"DenseTranspose: cannot find the layer tied_to={tied_to!r}: {where}")
            tied_to = found
        if not isinstance(tied_to, Layer):
            raise TypeError(f"DenseTranspose: tied_to must be a Dense layer, got {type(tied_to).__name__}")
        self._set_activation(activation)
        self.use_bias = check_bool(use_bias, "DenseTranspose: use_bias")
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
