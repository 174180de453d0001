"""Small helpers: one-hot encoding of labels, seeding every random generator minidl touches, and
:class:`PyDataset` (alias :class:`Sequence`), Keras 3's base class for batch-producing datasets."""
from __future__ import annotations

import random as _pyrandom
from typing import Any

import numpy as np

from . import random as _mrandom

__all__ = ["to_categorical", "set_random_seed", "PyDataset", "Sequence"]


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


class PyDataset:
    """Keras 3's ``keras.utils.PyDataset``: a dataset that hands out whole batches by index.

    Subclass it and define ``__len__`` (batches per epoch) and ``__getitem__(index)`` returning one batch,
    ``(x, y)`` (or ``x`` alone for ``predict``); override :meth:`on_epoch_end` to reshuffle between epochs.
    ``fit`` / ``evaluate`` / ``predict`` take an instance directly::

        class Batches(minidl.utils.PyDataset):
            def __init__(self, x, y, batch_size, **kwargs):
                super().__init__(**kwargs)
                self.x, self.y, self.batch_size = x, y, batch_size
            def __len__(self):
                return -(-len(self.x) // self.batch_size)
            def __getitem__(self, i):
                sl = slice(i * self.batch_size, (i + 1) * self.batch_size)
                return self.x[sl], self.y[sl]

        model.fit(Batches(x, y, 32), epochs=5)

    Args:
        workers, use_multiprocessing, max_queue_size: Keras's parallel loading options; accepted, and
            batches are produced in the calling thread in index order (minidl has no loader pool).
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10) -> None:
        for name, value in (("workers", workers), ("max_queue_size", max_queue_size)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"PyDataset: {name} must be an integer >= 1, got {value!r}")
        if not isinstance(use_multiprocessing, (bool, np.bool_)):
            raise ValueError(f"PyDataset: use_multiprocessing must be True or False, got {use_multiprocessing!r}")
        self.workers = int(workers)
        self.use_multiprocessing = bool(use_multiprocessing)
        self.max_queue_size = int(max_queue_size)

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index) returning a batch")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__() (the number of batches)")

    @property
    def num_batches(self) -> int | None:
        """Batches per epoch (``len(self)``)."""
        return len(self)

    def on_epoch_begin(self) -> None:
        """Called before each epoch of ``fit``."""

    def on_epoch_end(self) -> None:
        """Called after each epoch of ``fit`` (shuffle here)."""


Sequence = PyDataset
