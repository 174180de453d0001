"""The checks fit / evaluate / predict run once per call on their arguments (not per batch): arrays of the
right kind, lengths that agree, finite values, positive sizes. Each raises ValueError / TypeError naming the
argument, what was expected and what it got."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Tensor

__all__ = ["_positive_int", "_as_x", "_as_y", "_check_verbose", "_take"]


def _positive_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _as_x(x: Any, what: str = "x", dtype: Any = np.float32) -> np.ndarray:
    """x as a C-contiguous float32 (float64 for a float64 model) array, checked once per call (not per batch)."""
    if isinstance(x, Tensor):
        x = x.numpy()
    if isinstance(x, (list, tuple)) and x and all(isinstance(a, np.ndarray) for a in x) and len(x) != 1 \
            and any(a.shape != x[0].shape for a in x):
        raise TypeError(f"{what}: a list of arrays (several inputs) is not supported by Sequential; pass one array")
    try:
        a = np.asarray(x)
    except (ValueError, TypeError) as e:
        raise TypeError(f"{what} must be a numeric array, got {type(x).__name__} ({e})") from None
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be numeric, got dtype {a.dtype} ({type(x).__name__})")
    if a.ndim == 0:
        raise ValueError(f"{what} must have a batch dimension, got a scalar")
    if a.shape[0] == 0:
        raise ValueError(f"{what} is empty (0 samples)")
    a = np.ascontiguousarray(a, dtype=dtype)
    if not np.isfinite(a).all():
        bad = int(a.size - np.count_nonzero(np.isfinite(a)))
        raise ValueError(f"{what} contains {bad} NaN or Inf value(s) (after conversion to "
                         f"{np.dtype(dtype).name}); clean or impute them before training")
    return a


def _as_y(y: Any, n: int, what: str = "y", dtype: Any = np.float32) -> np.ndarray:
    if y is None:
        raise ValueError(f"{what} is missing: fit/evaluate need targets")
    if isinstance(y, Tensor):
        y = y.numpy()
    a = np.asarray(y)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be numeric, got dtype {a.dtype}")
    if a.ndim == 0:
        raise ValueError(f"{what} must have a batch dimension, got a scalar")
    if len(a) != n:
        raise ValueError(f"x and {what} have different lengths: {n} samples in x, {len(a)} in {what}")
    if a.dtype.kind == "f":
        a = np.ascontiguousarray(a, dtype=dtype)  # cast once; the losses cast to the output dtype
    return a


def _check_verbose(verbose: Any) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
    return int(verbose)


def _take(a: np.ndarray | None, idx: Any) -> np.ndarray | None:
    return None if a is None else a[idx]
