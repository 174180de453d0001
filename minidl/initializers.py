"""Weight initialisers with Keras's names and formulas.

Every initialiser is a callable ``init(shape, dtype='float32', rng=None) -> np.ndarray``; ``rng`` is a
:class:`numpy.random.Generator` and defaults to minidl's global one (:func:`minidl.random.get_rng`), so
``minidl.utils.set_random_seed`` makes initialisation reproducible.

Fans are computed like Keras: a (fan_in, fan_out) matrix for Dense; for a conv kernel (KH, KW, C_in, C_out)
``fan_in = KH*KW*C_in`` and ``fan_out = KH*KW*C_out``; a vector (n,) has fan_in = fan_out = n.

=================  ======================================================================================
name               distribution
=================  ======================================================================================
glorot_uniform     U(-l, l), ``l = sqrt(6 / (fan_in + fan_out))``
glorot_normal      truncated N(0, s²), ``s = sqrt(2 / (fan_in + fan_out)) / 0.8796``
he_normal          truncated N(0, s²), ``s = sqrt(2 / fan_in) / 0.8796``
he_uniform         U(-l, l), ``l = sqrt(6 / fan_in)``
lecun_normal       truncated N(0, s²), ``s = sqrt(1 / fan_in) / 0.8796``
lecun_uniform      U(-l, l), ``l = sqrt(3 / fan_in)``
random_normal      N(0, 0.05²)  (not truncated, as Keras's RandomNormal)
random_uniform     U(-0.05, 0.05)
zeros, ones        constants
=================  ======================================================================================

"Truncated" means, as in Keras's VarianceScaling: draws beyond two standard deviations are redrawn (exact
truncation by rejection, not clipping), and the standard deviation is divided by 0.87962566, the standard
deviation of a standard normal truncated to [-2, 2], so that the variance is the intended ``scale / fan``.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .random import get_rng

__all__ = ["get", "compute_fans", "truncated_normal", "KNOWN"]

Initializer = Callable[..., np.ndarray]
_TRUNC_STD = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2]


def compute_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of ``shape``, as Keras computes them (see the module docstring)."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def truncated_normal(shape: tuple[int, ...], stddev: float, rng: np.random.Generator) -> np.ndarray:
    """N(0, stddev²) draws restricted to [-2 stddev, 2 stddev] by redrawing the ones outside (float64)."""
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2
    # About 4.6% of draws fall outside each round, so this loop runs a handful of times at most.
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return out * stddev


def _prep(shape: Any, rng: np.random.Generator | None) -> tuple[tuple[int, ...], np.random.Generator]:
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"initializer: negative dimension in shape {shape}")
    return shape, (rng if rng is not None else get_rng())


def _uniform(limit_fn: Callable[[int, int], float]) -> Initializer:
    def init(shape: Any, dtype: Any = "float32", rng: np.random.Generator | None = None) -> np.ndarray:
        shape, rng = _prep(shape, rng)
        limit = limit_fn(*compute_fans(shape))
        return rng.uniform(-limit, limit, size=shape).astype(dtype)
    return init


def _trunc(std_fn: Callable[[int, int], float]) -> Initializer:
    def init(shape: Any, dtype: Any = "float32", rng: np.random.Generator | None = None) -> np.ndarray:
        shape, rng = _prep(shape, rng)
        return truncated_normal(shape, std_fn(*compute_fans(shape)) / _TRUNC_STD, rng).astype(dtype)
    return init


def _const(value: float) -> Initializer:
    def init(shape: Any, dtype: Any = "float32", rng: np.random.Generator | None = None) -> np.ndarray:
        shape, _ = _prep(shape, rng)
        return np.full(shape, value, dtype=dtype)
    return init


def _random_normal(shape: Any, dtype: Any = "float32", rng: np.random.Generator | None = None) -> np.ndarray:
    shape, rng = _prep(shape, rng)
    return (rng.standard_normal(shape) * 0.05).astype(dtype)


def _random_uniform(shape: Any, dtype: Any = "float32", rng: np.random.Generator | None = None) -> np.ndarray:
    shape, rng = _prep(shape, rng)
    return rng.uniform(-0.05, 0.05, size=shape).astype(dtype)


KNOWN: dict[str, Initializer] = {
    "glorot_uniform": _uniform(lambda fi, fo: math.sqrt(6.0 / max(1, fi + fo))),
    "glorot_normal": _trunc(lambda fi, fo: math.sqrt(2.0 / max(1, fi + fo))),
    "he_normal": _trunc(lambda fi, fo: math.sqrt(2.0 / max(1, fi))),
    "he_uniform": _uniform(lambda fi, fo: math.sqrt(6.0 / max(1, fi))),
    "lecun_normal": _trunc(lambda fi, fo: math.sqrt(1.0 / max(1, fi))),
    "lecun_uniform": _uniform(lambda fi, fo: math.sqrt(3.0 / max(1, fi))),
    "random_normal": _random_normal,
    "random_uniform": _random_uniform,
    "zeros": _const(0.0),
    "ones": _const(1.0),
}
for _name, _fn in KNOWN.items():
    _fn.__name__ = _fn.__qualname__ = _name

# Keras's class names (GlorotUniform, HeNormal, ...) resolve too: compare with underscores removed.
_SQUASHED = {k.replace("_", ""): k for k in KNOWN}


def get(identifier: Any) -> Initializer:
    """The initialiser named ``identifier`` (any case; Keras class names like 'GlorotUniform' work), or
    ``identifier`` itself when it is callable.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if callable(identifier):
        return identifier
    if isinstance(identifier, dict):
        identifier = identifier.get("name")
    if isinstance(identifier, str):
        key = _SQUASHED.get(identifier.lower().replace("_", ""))
        if key is not None:
            return KNOWN[key]
    raise ValueError(f"unknown initializer {identifier!r}; known initializers: {', '.join(KNOWN)}")
