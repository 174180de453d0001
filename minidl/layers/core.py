"""Core layers: :class:`InputLayer` / :func:`Input`, :class:`Dense`, :class:`Activation`."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import functional as F
from .. import initializers
from .. import regularizers
from .._validate import check_bool, check_float, check_positive_int
from ..autograd import Tensor
from ..symbolic import KerasTensor, Node
from .input_spec import InputSpec
from .base import Layer, Shape, _ActivationMixin, _init_name, _shape_str, unique_name

__all__ = ["InputLayer", "Input", "Dense", "Activation"]


# ---------------------------------------------------------------------------------------------------- regularizers
def _l1_coefficient(reg: Any) -> Any:
    """An activity regularizer: the L1 coefficient (a float) for 'l1' (Keras's default 0.01), a number,
    ``{'l1': c}`` or an :class:`~minidl.regularizers.L1`; a :class:`~minidl.regularizers.Regularizer` for
    anything else ('l2', 'l1_l2', L2(...), a config dict). None means no penalty."""
    from .. import regularizers

    if reg is None:
        return None
    if isinstance(reg, str):
        if reg.lower() == "l1":
            return 0.01
        if reg.lower() in ("l2", "l1_l2", "l1l2"):
            return regularizers.get(reg)
        raise ValueError(f"unknown activity_regularizer {reg!r}; known: 'l1', 'l2', 'l1_l2', a float L1 coefficient, "
                         "{'l1': c}, or a minidl.regularizers object")
    if isinstance(reg, dict) and "class_name" in reg:
        return _l1_coefficient(regularizers.get(reg))
    if isinstance(reg, dict) and "l1" in reg:
        return check_float(reg["l1"], "activity_regularizer coefficient l1", minimum=0.0)
    if type(reg) is regularizers.L1:
        return check_float(reg.l1, "activity_regularizer coefficient l1", minimum=0.0)
    if isinstance(reg, regularizers.Regularizer):
        return reg
    if hasattr(reg, "l1") and not hasattr(reg, "l2"):
        return check_float(reg.l1, "activity_regularizer coefficient l1", minimum=0.0)
    if isinstance(reg, (int, float, np.integer, np.floating)) and not isinstance(reg, (bool, np.bool_)):
        return check_float(reg, "activity_regularizer coefficient", minimum=0.0)
    raise ValueError(f"cannot interpret {reg!r} as an activity_regularizer; use 'l1', a float, {{'l1': c}} or a "
                     "minidl.regularizers object")


# ---------------------------------------------------------------------------------------------------- Input
class InputLayer(Layer):
    """The entry of a model: declares the input shape, holds the symbolic input tensor
    (:attr:`output`, a :class:`~minidl.symbolic.KerasTensor`) and passes real inputs through unchanged.

    Usually made by :func:`Input`. No weights.

    Args:
        shape: one sample's shape, e.g. ``(28, 28, 1)``. ``input_shape=`` is accepted as in Keras 2.
        batch_size: an optional fixed batch size (shown in the symbolic shape only).
        batch_shape: the full shape instead of ``shape``, batch first.
    """

    def __init__(self, shape: Sequence[int] | None = None, name: str | None = None, dtype: Any = "float32",
                 input_shape: Sequence[int] | None = None, batch_size: int | None = None,
                 batch_shape: Sequence[Any] | None = None, **kwargs: Any) -> None:
        if shape is None and batch_shape is not None:
            batch_shape = tuple(batch_shape)
            if not batch_shape:
                raise ValueError("InputLayer: batch_shape must include the batch dimension, got ()")
            batch_size, shape = batch_shape[0], batch_shape[1:]
        shape = shape if shape is not None else input_shape
        if shape is None:
            raise ValueError("InputLayer needs shape=, the shape of one sample, e.g. (28, 28, 1)")
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                       or batch_size <= 0):
            raise ValueError(f"InputLayer: batch_size must be a positive integer or None, got {batch_size!r}")
        super().__init__(name=name, input_shape=shape, dtype=dtype, **kwargs)
        self.batch_size = None if batch_size is None else int(batch_size)
        self.built = True
        self.input_shape = self.output_shape = self._batch_input_shape
        tensor = KerasTensor((self.batch_size, *self._batch_input_shape[1:]), dtype=self.dtype, name=self.name)
        Node(self, (), {}, tensor)  # the input node: no inputs, one output

    @property
    def shape(self) -> Shape:
        return self._batch_input_shape

    def call(self, x, training=False):
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        cfg = {"shape": list(self._batch_input_shape[1:]), "name": self.name, "dtype": self.dtype.name}
        if self.batch_size is not None:
            cfg["batch_size"] = self.batch_size
        return cfg


def Input(shape: Sequence[int] | None = None, batch_size: int | None = None, dtype: Any = "float32",  # noqa: N802
          batch_shape: Sequence[Any] | None = None, name: str | None = None) -> KerasTensor:
    """``Input((28, 28, 1))``: a symbolic input tensor (:class:`~minidl.symbolic.KerasTensor`, shape
    ``(None, 28, 28, 1)``) to build a functional :class:`minidl.Model` on; as the first entry of
    ``Sequential([...])`` it gives the model its input shape.

    Args:
        shape: one sample's shape (no batch). batch_size: optional fixed batch size.
        dtype: 'float32' by default. batch_shape: the full shape instead of ``shape``.
        name: default 'input_layer', 'input_layer_1', ... (the tensor and its InputLayer share it).
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, batch_shape=batch_shape,
                       name=name or unique_name("input_layer"))
    return layer.output


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
                 activity_regularizer: Any = None, input_dim: int | None = None, kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, **kwargs: Any) -> None:
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
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def build(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(f"layer {self.name!r} (Dense) needs inputs of rank >= 2, got shape {_shape_str(input_shape)}")
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.bias = self.add_weight("bias", (self.units,), self.bias_initializer,
                                    regularizer=self.bias_regularizer) if self.use_bias else None
        # checked when called on KerasTensors (eager calls keep the kernels' own shape errors)
        self._graph_spec = InputSpec(min_ndim=2, axes={-1: int(input_shape[-1])})

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
            act = self.activity_regularizer  # a regularizer object: save its coefficient or its config
            reg = {"l1": act} if isinstance(act, float) else regularizers.serialize(act)
        return {**super().get_config(), "units": self.units, "activation": self.activation_name,
                "use_bias": self.use_bias, "kernel_initializer": _init_name(self.kernel_initializer),
                "bias_initializer": _init_name(self.bias_initializer), "activity_regularizer": reg,
                "kernel_regularizer": _reg_config(self.kernel_regularizer),
                "bias_regularizer": _reg_config(self.bias_regularizer)}


def _reg_config(reg: Any) -> Any:
    if reg is None:
        return None
    if isinstance(reg, regularizers.Regularizer):
        return regularizers.serialize(reg)
    raise ValueError(f"cannot save the regularizer {reg!r}: only minidl.regularizers objects are saved")


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
