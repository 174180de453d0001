"""Argument checks shared by the estimator and the seeding (clear errors, raised before any state changes)."""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["NotFittedError", "check_array", "check_n_clusters", "make_rng"]


class NotFittedError(ValueError, AttributeError):
    """Raised when an estimator is used before ``fit``; a ValueError and an AttributeError, like scikit-learn's."""



def check_array(X: Any, name: str = "X") -> np.ndarray:
    """Validate a sample matrix: 2-D, non-empty, real, finite. float32 stays float32, anything else -> float64.

    Returns:
        A C-contiguous ``(n_samples, n_features)`` float32/float64 array (a copy only when needed).
    """
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} could not be converted to a numeric array: {exc}") from exc
    if arr.dtype == object or np.iscomplexobj(arr) or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_
    ):
        raise ValueError(f"{name} must be a real numeric array, got dtype {arr.dtype}.")
    if arr.ndim != 2:
        raise ValueError(
            f"Expected a 2-D array {name} of shape (n_samples, n_features), got a {arr.ndim}-D array of shape "
            f"{arr.shape}. Reshape with {name}.reshape(-1, 1) for a single feature or {name}.reshape(1, -1) "
            "for a single sample."
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {arr.shape}; need at least one sample and one feature.")
    dtype = np.float32 if arr.dtype == np.float32 else np.float64
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    return arr


def make_rng(random_state: Any) -> np.random.Generator:
    """None / int / Generator / RandomState -> a Generator (a RandomState is used to draw a seed)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    if random_state is None or isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return np.random.default_rng(random_state)
    raise ValueError(f"random_state must be None, an int or a numpy Generator/RandomState, got {random_state!r}.")


def check_n_clusters(n_clusters: Any, n_samples: int | None = None) -> None:
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)):
        raise ValueError(f"n_clusters must be an int, got {n_clusters!r}.")
    if n_clusters < 1:
        raise ValueError(f"n_clusters must be >= 1, got {n_clusters}.")
    if n_samples is not None and n_clusters > n_samples:
        raise ValueError(f"n_clusters={n_clusters} must be <= n_samples={n_samples}.")

