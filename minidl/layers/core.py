"""Core layers: :class:`InputLayer` / :func:`Input`, :class:`Dense`, :class:`Activation`."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import functional as F
from .. import initializers
from .._validate import check_bool, check_float, check_positive_int
from ..autograd import Tensor
from .base import Layer, Shape, _ActivationMixin, _init_name, _shape_str, unique_name

__all__ = ["InputLayer", "Input", "Dense", "Activation"]


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
        return check_float(reg["l1"], "activity_regularizer coefficient l1", minimum=0.0)
    if hasattr(reg, "l1"):
        return check_float(reg.l1, "activity_regularizer coefficient l1", minimum=0.0)
    if isinstance(reg, (int, float, np.integer, np.floating)) and not isinstance(reg, (bool, np.bool_)):
        return check_float(reg, "activity_regularizer coefficient", minimum=0.0)
    raise ValueError(f"cannot interpret {reg!r} as an activity_regularizer; use 'l1', a float, or {{'l1': c}}")



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
        units = check_positive_int(units, "Dense: units")
        use_bias = check_bool(use_bias, "Dense: use_bias")
        super().__init__(**kwargs)
        self.units = units
        self._set_activation(activation)
        self.use_bias = use_bias
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
