"""Keras-style layers, in Keras's families (one module each):

- :mod:`~minidl.layers.base`: :class:`Layer`, the base class (build / call / compute_output_shape, weights,
  freezing, configs) and how to write your own layer.
- :mod:`~minidl.layers.core`: :func:`Input` / :class:`InputLayer`, :class:`Dense`, :class:`Activation`.
- :mod:`~minidl.layers.convolutional`: :class:`Conv2D`, :class:`Conv2DTranspose`.
- :mod:`~minidl.layers.pooling`: :class:`MaxPooling2D`, :class:`AveragePooling2D`, :class:`GlobalAveragePooling2D`,
  :class:`GlobalMaxPooling2D`.
- :mod:`~minidl.layers.merging`: :class:`Add`, :class:`Subtract`, :class:`Multiply`, :class:`Average`,
  :class:`Maximum`, :class:`Minimum`, :class:`Concatenate` (and their lowercase functions).
- :mod:`~minidl.layers.normalization`: :class:`BatchNormalization`.
- :mod:`~minidl.layers.reshaping`: :class:`Flatten`, :class:`Reshape`, :class:`UpSampling2D`, :class:`ZeroPadding2D`,
  :class:`Cropping2D`.
- :mod:`~minidl.layers.regularization`: :class:`Dropout`, :class:`GaussianNoise`, :class:`SpatialDropout2D`.
- :mod:`~minidl.layers.autoencoder`: :class:`TiedAutoencoder`, :class:`DenseTranspose`.
- :mod:`~minidl.layers.lambda_layer`: :class:`Lambda`, and the op layers of KerasTensor arithmetic.
- :mod:`~minidl.layers.input_spec`: :class:`InputSpec`, what a layer accepts, checked on each call.
- :mod:`~minidl.layers.serialization`: :func:`serialize`, :func:`deserialize`, :func:`get`.

Every name is importable from :mod:`minidl.layers` itself (``from minidl.layers import Dense``).
"""
from __future__ import annotations

from .autoencoder import DenseTranspose, TiedAutoencoder
from .base import Layer, _ActivationMixin, _check_rank, _init_name, _shape_str, unique_name
from .convolutional import Conv2D, Conv2DTranspose
from .core import Activation, Dense, Input, InputLayer
from .input_spec import InputSpec
from .lambda_layer import Lambda, OpLayer
from .merging import (
    Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract, add, average, concatenate, maximum, minimum,
    multiply, subtract,
)
from .normalization import BatchNormalization
from .pooling import (
    AveragePooling2D, AvgPool2D, GlobalAveragePooling2D, GlobalAvgPool2D, GlobalMaxPool2D, GlobalMaxPooling2D,
    MaxPool2D, MaxPooling2D,
)
from .regularization import Dropout, GaussianNoise, SpatialDropout2D
from .reshaping import Cropping2D, Flatten, Reshape, UpSampling2D, ZeroPadding2D
from ..symbolic import KerasTensor
from .serialization import deserialize, get, loading_scope, register, serialize

__all__ = [
    "Layer", "InputLayer", "Input", "Dense", "Conv2D", "MaxPooling2D", "MaxPool2D", "Flatten", "Dropout",
    "Activation", "Reshape", "UpSampling2D", "GaussianNoise", "TiedAutoencoder", "DenseTranspose", "Conv2DTranspose",
    "Lambda", "InputSpec", "KerasTensor", "get", "serialize", "deserialize",
    "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "add", "subtract", "multiply",
    "average", "maximum", "minimum", "concatenate", "BatchNormalization", "AveragePooling2D", "AvgPool2D",
    "GlobalAveragePooling2D", "GlobalMaxPooling2D", "GlobalAvgPool2D", "GlobalMaxPool2D", "ZeroPadding2D",
    "Cropping2D", "SpatialDropout2D",
]

register(InputLayer, Dense, Conv2D, MaxPooling2D, Flatten, Dropout, Activation, Reshape, UpSampling2D, GaussianNoise,
         TiedAutoencoder, DenseTranspose, Conv2DTranspose, Lambda, OpLayer, Add, Subtract, Multiply, Average,
         Maximum, Minimum, Concatenate, BatchNormalization, AveragePooling2D, GlobalAveragePooling2D,
         GlobalMaxPooling2D, ZeroPadding2D, Cropping2D, SpatialDropout2D)
register(MaxPooling2D, name="MaxPool2D")
register(AveragePooling2D, name="AvgPool2D")
register(GlobalAveragePooling2D, name="GlobalAvgPool2D")
register(GlobalMaxPooling2D, name="GlobalMaxPool2D")
