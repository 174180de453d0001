"""Hypothesis strategies for property-based tests of tensors and gradients (needs ``hypothesis``).

- :func:`shapes`: array shapes with small sides.
- :func:`broadcast_shapes`: pairs of shapes that broadcast against each other (NumPy rules).
- :func:`arrays`: well-conditioned float arrays: values bounded away from zero (kinks of abs/relu, poles
  of log/division) and distinct (no ties for max/min), so finite differences are meaningful.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

__all__ = ["shapes", "broadcast_shapes", "arrays", "array_for"]


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4) -> st.SearchStrategy:
    """Tuples of ``min_dims..max_dims`` ints in ``[min_side, max_side]``."""
    return st.lists(st.integers(min_side, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


@st.composite
def broadcast_shapes(draw, min_dims: int = 0, max_dims: int = 3, max_side: int = 4):
    """A pair (a, b) of shapes that broadcast: each axis of b equals a's or is 1, or b has fewer axes."""
    a = draw(shapes(min_dims, max_dims, 1, max_side))
    drop = draw(st.integers(0, len(a)))
    b = list(a[drop:])
    for i in range(len(b)):
        if draw(st.booleans()):
            b[i] = 1
    b = tuple(b)
    if draw(st.booleans()):
        a, b = b, a
    return a, b


def array_for(shape: tuple[int, ...], seed: int, low: float = 0.2, high: float = 2.0, positive: bool = False,
              dtype=np.float64) -> np.ndarray:
    """A deterministic array with |values| in [low, high], pairwise distinct, random signs unless positive."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape, dtype=np.int64))
    # Evenly spaced magnitudes, shuffled: guaranteed distinct and away from zero.
    mags = np.linspace(low, high, max(n, 1))[:n]
    rng.shuffle(mags)
    signs = np.ones(n) if positive else rng.choice([-1.0, 1.0], size=n)
    vals = mags * signs
    return vals.reshape(shape).astype(dtype)


@st.composite
def arrays(draw, shape=None, positive: bool = False, low: float = 0.2, high: float = 2.0, dtype=np.float64):
    """Well-conditioned float arrays (see module docstring) of a given or drawn shape."""
    if shape is None:
        shape = draw(shapes())
    seed = draw(st.integers(0, 2**31 - 1))
    return array_for(tuple(shape), seed, low, high, positive, dtype)
