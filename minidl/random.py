"""minidl's global random generator: weight initialisers, dropout masks, noise and shuffling draw from it.

``minidl.utils.set_random_seed(seed)`` (or :func:`seed` here) makes a run reproducible.
"""
from __future__ import annotations

import numpy as np

__all__ = ["seed", "get_rng"]

_rng = np.random.default_rng()


def seed(value: int) -> None:
    """Re-seeds the global generator."""
    global _rng
    _rng = np.random.default_rng(value)


def get_rng() -> np.random.Generator:
    """The global generator (re-read it after :func:`seed`)."""
    return _rng
