"""Keras-style layers, in Keras's families (one module each):

- :mod:`~minidl.layers.base`: :class:`Layer`, the base class (build / call / compute_output_shape, weights,
  freezing, configs) and how to write your own layer.
- :mod:`~minidl.layers.core`: :func:`Input` / :class:`InputLayer`, :class:`Dense`, :class:`Activation`.
- :mod:`~minidl.layers.convolutional`: :class:`Conv2D`, :class:`Conv2DTranspose`.
- :mod:`~minidl.layers.pooling`: :class:`MaxPooling2D` (``MaxPool2D``).
- :mod:`~minidl.layers.reshaping`: :class:`Flatten`, :class:`Reshape`, :class:`UpSampling2D`.
- :mod:`~minidl.layers.regularization`: :class:`Dropout`, :class:`GaussianNoise`.
- :mod:`~minidl.layers.autoencoder`: :class:`TiedAutoencoder`, :class:`DenseTranspose`.
- :mod:`~minidl.layers.serialization`: :func:`serialize`, :func:`deserialize`, :func:`get`.

Every name is importable from :mod:`minidl.layers` itself (``from minidl.layers import Dense``).
"""
from __future__ import annotations

from .autoencoder import DenseTranspose, TiedAutoencoder
from .base import Layer, _ActivationMixin, _check_rank, _init_name, _shape_str, unique_name
from .convolutional import Conv2D, Conv2DTranspose
from .core import Activation, Dense, Input, InputLayer
from .pooling import MaxPool2D, MaxPooling2D
from .regularization import Dropout, GaussianNoise
from .reshaping import Flatten, Reshape, UpSampling2D
from .serialization import deserialize, get, loading_scope, register, serialize

__all__ = [
    "Layer", "InputLayer", "Input", "Dense", "Conv2D", "MaxPooling2D", "MaxPool2D", "Flatten", "Dropout",
    "Activation", "Reshape", "UpSampling2D", "GaussianNoise", "TiedAutoencoder", "DenseTranspose", "Conv2DTranspose",
    "get", "serialize", "deserialize",
]

register(InputLayer, Dense, Conv2D, MaxPooling2D, Flatten, Dropout, Activation, Reshape, UpSampling2D, GaussianNoise,
         TiedAutoencoder, DenseTranspose, Conv2DTranspose)
register(MaxPooling2D, name="MaxPool2D")
