"""Learning-rate schedules, as ``keras.optimizers.schedules``: pass one as an optimizer's ``learning_rate``.

A schedule is called with the optimizer's step count *before* the step (0 for the first update, as
Keras 3 evaluates ``learning_rate(iterations)``) and returns the learning rate of that step::

    lr = schedules.ExponentialDecay(0.1, decay_steps=1000, decay_rate=0.96, staircase=True)
    opt = minidl.optimizers.SGD(learning_rate=lr)

==========================  =================================================================================
schedule                    ``lr(step)``
==========================  =================================================================================
ExponentialDecay            ``lr0 · rate^(step / decay_steps)`` (staircase: the exponent is floored)
InverseTimeDecay            ``lr0 / (1 + rate · step / decay_steps)`` (staircase: floored); Keras 2's ``decay=``
                            is ``InverseTimeDecay(lr0, decay_steps=1, decay_rate=decay)``
PiecewiseConstantDecay      ``values[0]`` for ``step <= boundaries[0]``, ``values[i]`` for
                            ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after the last
CosineDecay                 ``s = min(step, decay_steps)``; ``lr0 · ((1 - alpha) · 0.5 (1 + cos(pi s / decay_steps)) + alpha)``;
                            with ``warmup_target``: a linear ramp from ``lr0`` to the target over
                            ``warmup_steps``, then the cosine decay from the target
==========================  =================================================================================

Subclass :class:`LearningRateSchedule` (``__call__(step)`` and ``get_config``) for your own; a subclass
defined before ``load_model`` is found by its class name when a saved model is read back.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

__all__ = [
    "LearningRateSchedule", "ExponentialDecay", "InverseTimeDecay", "PiecewiseConstantDecay", "CosineDecay",
    "serialize", "deserialize",
]


def _num(value: Any, name: str, cls: str, positive: bool = False, nonneg: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{cls}: {name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{cls}: {name} must be finite, got {value!r}")
    if positive and v <= 0:
        raise ValueError(f"{cls}: {name} must be > 0, got {value!r}")
    if nonneg and v < 0:
        raise ValueError(f"{cls}: {name} must be >= 0, got {value!r}")
    return v


def _bool(value: Any, name: str, cls: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{cls}: {name} must be a bool, got {value!r}")
    return bool(value)


class LearningRateSchedule:
    """Base class: ``schedule(step) -> float`` with ``step`` the number of updates done so far."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError(f"learning rate schedule {type(self).__name__!r} must override __call__(self, step)")

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(f"learning rate schedule {type(self).__name__!r} must override get_config() "
                                  "to be saved")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "LearningRateSchedule":
        return cls(**config)

    def __repr__(self) -> str:
        try:
            cfg = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            cfg = ""
        return f"{type(self).__name__}({cfg})"


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate · decay_rate^(step / decay_steps)``; ``staircase`` floors the exponent.

    Raises:
        ValueError: for ``decay_steps <= 0``, a non-positive initial rate or a negative decay rate.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float, staircase: bool = False,
                 name: str = "ExponentialDecay") -> None:
        cls = type(self).__name__
        self.initial_learning_rate = _num(initial_learning_rate, "initial_learning_rate", cls, positive=True)
        self.decay_steps = _num(decay_steps, "decay_steps", cls, positive=True)
        self.decay_rate = _num(decay_rate, "decay_rate", cls, nonneg=True)
        self.staircase = _bool(staircase, "staircase", cls)
        self.name = name

    def __call__(self, step: int) -> float:
        p = float(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate ** p

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate · step / decay_steps)``; ``staircase`` floors the ratio."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float, staircase: bool = False,
                 name: str = "InverseTimeDecay") -> None:
        cls = type(self).__name__
        self.initial_learning_rate = _num(initial_learning_rate, "initial_learning_rate", cls, positive=True)
        self.decay_steps = _num(decay_steps, "decay_steps", cls, positive=True)
        self.decay_rate = _num(decay_rate, "decay_rate", cls, nonneg=True)
        self.staircase = _bool(staircase, "staircase", cls)
        self.name = name

    def __call__(self, step: int) -> float:
        p = float(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate / (1 + self.decay_rate * p)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[i]`` on the i-th interval of ``boundaries`` (each interval closed on the right, as Keras).

    Raises:
        ValueError: unless ``len(values) == len(boundaries) + 1``, boundaries strictly increase and values
            are finite numbers >= 0.
    """

    def __init__(self, boundaries: Sequence[float], values: Sequence[float], name: str = "PiecewiseConstant") -> None:
        cls = type(self).__name__
        if not isinstance(boundaries, (list, tuple)) or not isinstance(values, (list, tuple)):
            raise ValueError(f"{cls}: boundaries and values must be lists, got {type(boundaries).__name__} and "
                             f"{type(values).__name__}")
        if len(boundaries) != len(values) - 1:
            raise ValueError(f"{cls}: the length of boundaries should be 1 less than the length of values; got "
                             f"{len(boundaries)} boundaries and {len(values)} values")
        b = [_num(x, "boundaries", cls) for x in boundaries]
        if any(hi <= lo for lo, hi in zip(b, b[1:])):
            raise ValueError(f"{cls}: boundaries must be strictly increasing, got {list(boundaries)}")
        self.boundaries = [int(x) if float(x).is_integer() else x for x in b]
        self.values = [_num(v, "values", cls, nonneg=True) for v in values]
        self.name = name

    def __call__(self, step: int) -> float:
        for bound, value in zip(self.boundaries, self.values):
            if step <= bound:
                return value
        return self.values[-1]

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": list(self.boundaries), "values": list(self.values), "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay from ``initial_learning_rate`` (or ``warmup_target`` after a linear warm-up) to ``alpha``
    times it over ``decay_steps``; constant afterwards.

    Args:
        initial_learning_rate: the start (of the warm-up when ``warmup_target`` is given).
        decay_steps: steps of the cosine part (> 0).
        alpha: final rate as a fraction of the decay's start.
        warmup_target: the rate reached after ``warmup_steps`` of linear warm-up; None for no warm-up.
        warmup_steps: length of the warm-up.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0, name: str = "CosineDecay",
                 warmup_target: float | None = None, warmup_steps: int = 0) -> None:
        cls = type(self).__name__
        self.initial_learning_rate = _num(initial_learning_rate, "initial_learning_rate", cls, nonneg=True)
        self.decay_steps = _num(decay_steps, "decay_steps", cls, positive=True)
        self.alpha = _num(alpha, "alpha", cls, nonneg=True)
        self.name = name
        self.warmup_target = None if warmup_target is None else _num(warmup_target, "warmup_target", cls, nonneg=True)
        self.warmup_steps = _num(warmup_steps, "warmup_steps", cls, nonneg=True)
        if self.warmup_target is not None and self.warmup_steps <= 0:
            raise ValueError(f"{cls}: warmup_steps must be > 0 when warmup_target is given, got {warmup_steps!r}")

    def _decay(self, step: float, start: float) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return start * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step: int) -> float:
        s = float(step)
        if self.warmup_target is None:
            return self._decay(min(s, self.decay_steps), self.initial_learning_rate)
        s = min(s, self.decay_steps + self.warmup_steps)
        if s < self.warmup_steps:
            frac = s / self.warmup_steps
            return (self.warmup_target - self.initial_learning_rate) * frac + self.initial_learning_rate
        return self._decay(s - self.warmup_steps, self.warmup_target)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


def _all_subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_all_subclasses(sub))
    return out


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """``{'class_name': 'ExponentialDecay', 'config': {...}}`` (JSON-able)."""
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config: dict[str, Any]) -> LearningRateSchedule:
    """Rebuilds a schedule from :func:`serialize`'s dict; user subclasses are found by class name.

    Raises:
        ValueError: for an unknown class name, listing the known ones.
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"cannot interpret {config!r} as a learning rate schedule; expected "
                         "{'class_name': ..., 'config': {...}}")
    known = {c.__name__: c for c in _all_subclasses(LearningRateSchedule)}
    cls = known.get(config["class_name"])
    if cls is None:
        raise ValueError(f"unknown learning rate schedule {config['class_name']!r}; known schedules: "
                         f"{', '.join(sorted(known))}")
    return cls.from_config(dict(config.get("config") or {}))
