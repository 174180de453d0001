"""Convolution layers on NHWC images: :class:`Conv2D` and :class:`Conv2DTranspose`."""
from __future__ import annotations

from typing import Any

from .. import functional as F
from .. import initializers
from .. import regularizers
from .._validate import check_bool, check_int_tuple, check_positive_int
from ..autograd import Tensor
from .core import _l1_coefficient, _reg_config
from .input_spec import InputSpec
from .base import Layer, _ActivationMixin, _check_padding, _check_rank, _init_name, _shape_str, _spatial_out

__all__ = ["Conv2D", "Conv2DTranspose"]


def _activity_config(layer: Layer) -> Any:
    reg = layer._activity_regularizer_arg
    if reg is not None and not isinstance(reg, (str, int, float, dict)):
        act = layer.activity_regularizer
        reg = {"l1": act} if isinstance(act, float) else _reg_config(act)
    return reg


class _Conv(_ActivationMixin, Layer):
    """What Conv2D and Conv2DTranspose share: their arguments, checked at construction, and their config."""

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 activation: Any = None, use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, **kwargs: Any) -> None:
        cls = type(self).__name__
        filters = check_positive_int(filters, f"{cls}: filters")
        kernel_size = check_int_tuple(kernel_size, f"{cls}: kernel_size", 2)  # NumPy ints yes, {2, 5} no
        strides = check_int_tuple(strides, f"{cls}: strides", 2)
        use_bias = check_bool(use_bias, f"{cls}: use_bias")
        super().__init__(**kwargs)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = _l1_coefficient(activity_regularizer)
        self._activity_regularizer_arg = activity_regularizer
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.padding = _check_padding(padding, cls)
        self._set_activation(activation)
        self.use_bias = use_bias
        initializers.get(kernel_initializer), initializers.get(bias_initializer)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "activation": self.activation_name,
                "use_bias": self.use_bias, "kernel_initializer": _init_name(self.kernel_initializer),
                "bias_initializer": _init_name(self.bias_initializer),
                "kernel_regularizer": _reg_config(self.kernel_regularizer),
                "bias_regularizer": _reg_config(self.bias_regularizer),
                "activity_regularizer": _activity_config(self)}


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
        self.kernel = self.add_weight("kernel", (kh, kw, input_shape[-1], self.filters), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer,
                                    regularizer=self.bias_regularizer) if self.use_bias else None
        self._graph_spec = InputSpec(ndim=4, axes={-1: int(input_shape[-1])})  # checked on KerasTensors

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
        self.kernel = self.add_weight("kernel", (kh, kw, self.filters, input_shape[-1]), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer,
                                    regularizer=self.bias_regularizer) if self.use_bias else None
        self._graph_spec = InputSpec(ndim=4, axes={-1: int(input_shape[-1])})  # checked on KerasTensors

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
