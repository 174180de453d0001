"""Small helpers: one-hot encoding of labels and seeding every random generator minidl touches."""
from __future__ import annotations

import random as _pyrandom
from typing import Any

import numpy as np

from . import random as _mrandom

__all__ = ["to_categorical", "set_random_seed"]


def to_categorical(y: Any, num_classes: int | None = None, dtype: Any = "float32") -> np.ndarray:
    """One-hot encodes integer class labels, as ``keras.utils.to_categorical``.

    Args:
        y: labels of shape (N,) or (N, 1) (any shape works; a trailing axis of size 1 is dropped, as Keras
            does), integer-valued (float arrays holding whole numbers are accepted).
        num_classes: number of classes K; default ``max(y) + 1``.
        dtype: dtype of the result.

    Returns:
        Array of shape ``y.shape + (K,)`` (after dropping the trailing 1) with ``out[..., y] = 1``.

    Raises:
        ValueError: for negative or non-integer labels, labels >= num_classes, or num_classes < 1.
    """
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise ValueError(f"to_categorical: labels must be integers, got dtype {y.dtype}")
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y.reshape(y.shape[:-1])
    if y.dtype.kind == "f" and (not np.all(np.isfinite(y)) or np.any(y != np.round(y))):
        raise ValueError("to_categorical: labels must be whole numbers, found non-integer values")
    if y.size and y.min() < 0:
        raise ValueError(f"to_categorical: labels must be >= 0, found {y.min():g}")
    labels = y.astype(np.int64)
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    else:
        if isinstance(num_classes, bool) or int(num_classes) != num_classes or num_classes < 1:
            raise ValueError(f"to_categorical: num_classes must be a positive integer, got {num_classes!r}")
        num_classes = int(num_classes)
        if labels.size and labels.max() >= num_classes:
            raise ValueError(
                f"to_categorical: label {labels.max()} is out of range for num_classes={num_classes} "
                f"(labels must be in 0..{num_classes - 1})"
            )
    out = np.zeros(labels.shape + (num_classes,), dtype=dtype)
    # put_along_axis writes one 1 per row without a Python loop.
    np.put_along_axis(out, labels[..., None], 1, axis=-1)
    return out


def set_random_seed(seed: int) -> None:
    """Seeds minidl's global generator (initialisers, dropout, shuffling), NumPy's legacy global RNG and
    Python's :mod:`random`, so that a run is reproducible end to end.

    Args:
        seed: a non-negative integer.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"set_random_seed: seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    _mrandom.seed(seed)
    np.random.seed(seed % 2**32)  # the legacy API only takes 32-bit seeds
    _pyrandom.seed(seed)
