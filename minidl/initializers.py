"""Weight initialisers with Keras 3's names, arguments and formulas, as objects or strings.

Every initialiser is a callable ``init(shape, dtype=None, rng=None) -> np.ndarray`` (``dtype`` defaults to
``minidl.backend.floatx()``). Layers take an object (``Dense(8, kernel_initializer=HeNormal(seed=1))``), a
name (``'he_normal'``, ``'HeNormal'``) or a config dict (``{'class_name': 'VarianceScaling', 'config':
{...}}``).

Randomness, as in Keras 3: an initialiser built with an integer ``seed`` produces the same values at every
call (its own generator, started from the seed each time). Without a seed it draws from ``rng`` when given
(layers pass minidl's global generator, so ``minidl.utils.set_random_seed`` makes a model reproducible),
else from the global generator.

Fans are computed like Keras: a (fan_in, fan_out) matrix for Dense; for a conv kernel (KH, KW, C_in, C_out)
``fan_in = KH*KW*C_in`` and ``fan_out = KH*KW*C_out``; a vector (n,) has fan_in = fan_out = n.

``VarianceScaling(scale, mode, distribution)`` (``n`` = fan_in, fan_out or their mean by ``mode``):

- ``'truncated_normal'``: N(0, s²) truncated to ±2s by redrawing, ``s = sqrt(scale / n) / 0.87962566103423978``
  (the standard deviation of a unit normal truncated to [-2, 2]), so that the variance is ``scale / n``.
- ``'untruncated_normal'``: N(0, scale / n).
- ``'uniform'``: U(-l, l), ``l = sqrt(3 scale / n)``.

=================  ================================================================================
name               as
=================  ================================================================================
glorot_uniform     VarianceScaling(1, 'fan_avg', 'uniform'): U(-l, l), ``l = sqrt(6 / (fan_in + fan_out))``
glorot_normal      VarianceScaling(1, 'fan_avg', 'truncated_normal')
he_normal          VarianceScaling(2, 'fan_in', 'truncated_normal')
he_uniform         VarianceScaling(2, 'fan_in', 'uniform'): ``l = sqrt(6 / fan_in)``
lecun_normal       VarianceScaling(1, 'fan_in', 'truncated_normal')
lecun_uniform      VarianceScaling(1, 'fan_in', 'uniform'): ``l = sqrt(3 / fan_in)``
random_normal      RandomNormal(mean=0, stddev=0.05) (not truncated)
random_uniform     RandomUniform(minval=-0.05, maxval=0.05)
truncated_normal   TruncatedNormal(mean=0, stddev=0.05): draws beyond 2 stddev redrawn (no correction)
orthogonal         Orthogonal(gain=1): the Q of a QR decomposition of a normal matrix, signs fixed by R
zeros, ones        Zeros(), Ones(); Constant(value)
=================  ================================================================================
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .random import get_rng

__all__ = [
    "Initializer", "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform", "TruncatedNormal",
    "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeNormal", "HeUniform", "LecunNormal", "LecunUniform",
    "Orthogonal", "get", "serialize", "deserialize", "compute_fans", "truncated_normal", "KNOWN",
]

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


def _number(value: Any, name: str, cls: str, positive: bool = False) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(value)):
        raise ValueError(f"{cls}: {name} must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{cls}: {name} must be > 0, got {value!r}")
    return float(value)


class Initializer:
    """Base class: ``init(shape, dtype=None, rng=None)``; subclasses implement :meth:`_draw` (float64)."""

    def __init__(self, seed: int | None = None) -> None:
        if seed is not None and (isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer))
                                 or seed < 0):
            raise ValueError(f"{type(self).__name__}: seed must be a non-negative integer or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)

    def _draw(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def __call__(self, shape: Any, dtype: Any = None, rng: np.random.Generator | None = None) -> np.ndarray:
        shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
        if any(s < 0 for s in shape):
            raise ValueError(f"{type(self).__name__}: negative dimension in shape {shape}")
        if dtype is None:
            from .backend import floatx

            dtype = floatx()
        if getattr(self, "seed", None) is not None:  # a subclass that skipped __init__ has no seed
            rng = np.random.default_rng(self.seed)  # Keras 3: an integer seed gives the same values every call
        elif rng is None:
            rng = get_rng()
        return np.asarray(self._draw(shape, rng)).astype(dtype)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed} if hasattr(self, "seed") else {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Initializer":
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


class Constant(Initializer):
    """Every entry ``value``."""

    def __init__(self, value: float = 0.0) -> None:
        super().__init__(None)
        self.value = _number(value, "value", type(self).__name__)

    def _draw(self, shape, rng):
        return np.full(shape, self.value)

    def get_config(self):
        return {"value": self.value}


class Zeros(Constant):
    """Every entry 0."""

    def __init__(self) -> None:
        super().__init__(0.0)

    def get_config(self):
        return {}


class Ones(Constant):
    """Every entry 1."""

    def __init__(self) -> None:
        super().__init__(1.0)

    def get_config(self):
        return {}


class RandomNormal(Initializer):
    """N(mean, stddev²), not truncated."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        super().__init__(seed)
        self.mean = _number(mean, "mean", type(self).__name__)
        self.stddev = _number(stddev, "stddev", type(self).__name__, positive=True)

    def _draw(self, shape, rng):
        return self.mean + self.stddev * rng.standard_normal(shape)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    """N(mean, stddev²) with draws beyond 2 stddev from the mean redrawn (Keras applies no variance
    correction here: the result's standard deviation is about 0.88 stddev)."""

    def _draw(self, shape, rng):
        return self.mean + truncated_normal(shape, self.stddev, rng)


class RandomUniform(Initializer):
    """U(minval, maxval)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None) -> None:
        super().__init__(seed)
        cls = type(self).__name__
        self.minval, self.maxval = _number(minval, "minval", cls), _number(maxval, "maxval", cls)
        if self.maxval <= self.minval:
            raise ValueError(f"{cls}: maxval must be > minval, got minval={minval!r}, maxval={maxval!r}")

    def _draw(self, shape, rng):
        return rng.uniform(self.minval, self.maxval, size=shape)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class VarianceScaling(Initializer):
    """Keras's VarianceScaling: draws with variance ``scale / n`` (see the module docstring).

    Args:
        scale: > 0. mode: 'fan_in', 'fan_out' or 'fan_avg'. distribution: 'truncated_normal',
            'untruncated_normal' or 'uniform' ('normal' is Keras 2's name of 'truncated_normal').
        seed: an integer for the same values at every call, or None.
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: int | None = None) -> None:
        super().__init__(seed)
        cls = type(self).__name__
        self.scale = _number(scale, "scale", cls, positive=True)
        if mode not in self._MODES:
            raise ValueError(f"{cls}: mode must be one of {', '.join(self._MODES)}, got {mode!r}")
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(f"{cls}: distribution must be one of {', '.join(self._DISTRIBUTIONS)}, got {distribution!r}")
        self.mode, self.distribution = mode, distribution

    def variance(self, shape: tuple[int, ...]) -> float:
        """``scale / n`` for a weight of ``shape`` (n at least 1)."""
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        return self.scale / max(1.0, n)

    def _draw(self, shape, rng):
        var = self.variance(shape)
        if self.distribution == "truncated_normal":
            return truncated_normal(shape, math.sqrt(var) / _TRUNC_STD, rng)
        if self.distribution == "untruncated_normal":
            return math.sqrt(var) * rng.standard_normal(shape)
        limit = math.sqrt(3.0 * var)
        return rng.uniform(-limit, limit, size=shape)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


def _preset(name: str, scale: float, mode: str, distribution: str) -> type[VarianceScaling]:
    def __init__(self, seed: int | None = None) -> None:
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}

    doc = f"VarianceScaling(scale={scale:g}, mode='{mode}', distribution='{distribution}')."
    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config, "__doc__": doc})


GlorotUniform = _preset("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal")
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform")
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal")
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform")


class Orthogonal(Initializer):
    """An orthogonal matrix (Saxe et al.) times ``gain``, as Keras 3: shape flattened to
    (prod(shape[:-1]), shape[-1]); the Q of a QR of a standard normal matrix of that shape (transposed when
    it has fewer rows than columns), columns' signs set by ``diag(R)``."""

    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        super().__init__(seed)
        self.gain = _number(gain, "gain", type(self).__name__)

    def _draw(self, shape, rng):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: needs a shape of rank >= 2, got {shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = rng.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


# ---------------------------------------------------------------------------------------------------- lookup
_CLASSES: dict[str, type[Initializer]] = {
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal, "he_normal": HeNormal, "he_uniform": HeUniform,
    "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform, "random_normal": RandomNormal,
    "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal, "zeros": Zeros, "ones": Ones,
    "constant": Constant, "variance_scaling": VarianceScaling, "orthogonal": Orthogonal,
}
# One shared default instance per name; its __name__ is what a layer's config records.
KNOWN: dict[str, Initializer] = {}
for _name, _cls in _CLASSES.items():
    KNOWN[_name] = _cls()
    KNOWN[_name].__name__ = _name
# Keras's class names (GlorotUniform, HeNormal, ...) resolve too: compare with underscores removed.
_SQUASHED = {k.replace("_", ""): k for k in KNOWN}


def serialize(initializer: Initializer) -> dict[str, Any]:
    """``{'class_name': 'HeNormal', 'config': {...}}`` (JSON-able)."""
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}


def deserialize(config: dict[str, Any]) -> Initializer:
    """Rebuilds an initialiser from :func:`serialize`'s dict."""
    by_class = {c.__name__: c for c in _CLASSES.values()}
    cls = by_class.get(config.get("class_name"))
    if cls is None:
        raise ValueError(f"unknown initializer class {config.get('class_name')!r}; known: {', '.join(sorted(by_class))}")
    return cls.from_config(dict(config.get("config") or {}))


def get(identifier: Any) -> Callable[..., np.ndarray]:
    """The initialiser for ``identifier``: a name (any case; Keras class names like 'GlorotUniform' work),
    a config dict, an :class:`Initializer` or any callable ``(shape, dtype, rng)`` (returned as is).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if callable(identifier):
        return identifier
    if isinstance(identifier, dict):
        if "class_name" in identifier:
            return deserialize(identifier)
        identifier = identifier.get("name")
    if isinstance(identifier, str):
        key = _SQUASHED.get(identifier.lower().replace("_", ""))
        if key is not None:
            return KNOWN[key]
    raise ValueError(f"unknown initializer {identifier!r}; known initializers: {', '.join(KNOWN)}")
