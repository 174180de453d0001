"""Keras's ``keras.backend`` module, as scripts use it: configuration and session helpers.

(The per-device table of kernel primitives that used to live here is :mod:`minidl.kernel_table`.)

::

    from minidl import backend as K
    K.image_data_format()        # 'channels_last' (minidl is NHWC only)
    K.floatx(), K.epsilon()      # 'float32', 1e-07
    K.int_shape(layer_output)    # (None, 28, 28, 32) for a symbolic tensor, (4, 3) for a Tensor
    K.clear_session()            # layer names start again at 'dense'; the global generator is fresh

What each setting means here:

- ``image_data_format``: always ``'channels_last'``; :func:`set_image_data_format` accepts only that value
  (minidl's convolution kernels are NHWC) and says so for ``'channels_first'``.
- ``floatx``: the float type scripts read to cast their data (``x.astype(K.floatx())``), 'float32' or
  'float64'. Layers built without a ``dtype`` argument are float32 whatever it says (pass ``dtype=``).
- ``epsilon``: the fuzz factor Keras scripts read to clip probabilities; minidl's losses use 1e-7 too.
- :func:`clear_session`: as Keras 3, drops the global state: the per-class layer name counters (so the next
  ``Dense`` is named 'dense' again) and the global random generator, which starts afresh *unseeded* (call
  ``minidl.utils.set_random_seed`` after it for a reproducible run, as in Keras 3).
"""
from __future__ import annotations

import gc
import math
from typing import Any

import numpy as np

__all__ = [
    "image_data_format", "set_image_data_format", "floatx", "set_floatx", "epsilon", "set_epsilon",
    "int_shape", "clear_session", "backend",
]

_IMAGE_DATA_FORMAT = "channels_last"
_FLOATX = "float32"
_EPSILON = 1e-7
_FLOAT_TYPES = ("float32", "float64")


def backend() -> str:
    """The backend's name, ``'minidl'`` (Keras returns 'tensorflow', 'jax', 'torch' or 'numpy')."""
    return "minidl"


def image_data_format() -> str:
    """``'channels_last'``: images are (N, H, W, C) everywhere in minidl."""
    return _IMAGE_DATA_FORMAT


def set_image_data_format(data_format: str) -> None:
    """Accepts only ``'channels_last'``, the one layout minidl's kernels implement.

    Raises:
        ValueError: for ``'channels_first'`` (not supported) or any other value.
    """
    if not isinstance(data_format, str):
        raise TypeError(f"set_image_data_format: data_format must be a string, got {type(data_format).__name__}")
    value = data_format.lower()
    if value == "channels_first":
        raise ValueError(
            "set_image_data_format: minidl supports only 'channels_last' (NHWC images, (N, H, W, C)); "
            "got 'channels_first'. Transpose your data instead: x.transpose(0, 2, 3, 1)"
        )
    if value != "channels_last":
        raise ValueError(f"set_image_data_format: data_format must be 'channels_last', got {data_format!r}")


def floatx() -> str:
    """The default float type as a string ('float32' unless :func:`set_floatx` changed it)."""
    return _FLOATX


def set_floatx(value: Any) -> None:
    """Sets the default float type: 'float32' or 'float64' (minidl has no float16/bfloat16 kernels).

    Raises:
        ValueError: for any other dtype, naming the supported ones.
    """
    global _FLOATX
    name = None
    if value is not None:  # np.dtype(None) is float64: None must not pass for a choice
        try:
            name = np.dtype(value).name
        except TypeError:
            pass
    if name not in _FLOAT_TYPES:
        raise ValueError(f"set_floatx: value must be one of {', '.join(_FLOAT_TYPES)}, got {value!r}")
    _FLOATX = name


def epsilon() -> float:
    """The fuzz factor (1e-7 unless :func:`set_epsilon` changed it)."""
    return _EPSILON


def set_epsilon(value: Any) -> None:
    """Sets the fuzz factor returned by :func:`epsilon`.

    Raises:
        ValueError: unless ``value`` is a finite number > 0.
    """
    global _EPSILON
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(value)) or float(value) <= 0:
        raise ValueError(f"set_epsilon: value must be a finite number > 0, got {value!r}")
    _EPSILON = float(value)


def int_shape(x: Any) -> tuple[int | None, ...]:
    """The shape of ``x`` as a tuple of ints (None for unknown dimensions, e.g. a symbolic batch).

    Works on :class:`minidl.Tensor`, NumPy arrays, device arrays and symbolic tensors (anything with a
    ``shape``).

    Raises:
        TypeError: when ``x`` has no shape.
    """
    shape = getattr(x, "shape", None)
    if shape is None:
        raise TypeError(f"int_shape: expected a tensor or an array, got {type(x).__name__}")
    return tuple(None if d is None else int(d) for d in shape)


def clear_session(free_memory: bool = True) -> None:
    """Resets minidl's global state, as ``keras.backend.clear_session``.

    The per-class layer name counters restart (the next ``Dense()`` is 'dense' again) and the global random
    generator is replaced by a fresh, unseeded one (Keras 3 drops its global seed generator too). The
    settings of this module (floatx, epsilon) are kept, as in Keras.

    Args:
        free_memory: run the garbage collector afterwards.
    """
    from . import layers
    from . import random as _random

    # The counters live next to unique_name wherever the layers package defines it.
    counts = layers.unique_name.__globals__["_NAME_COUNTS"]
    counts.clear()
    _random.seed(None)  # default_rng(None): fresh OS entropy, i.e. unseeded
    if free_memory:
        gc.collect()
