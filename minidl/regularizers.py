"""Weight and activity regularizers (Keras 3's ``keras.regularizers``): penalties added to the training loss.

``Dense(64, kernel_regularizer=regularizers.l2(0.01))`` adds ``0.01 * sum(kernel ** 2)`` to the loss of every
training step; ``activity_regularizer=`` penalizes a layer's outputs instead (averaged over the batch, as
tf.keras did, so the penalty's weight does not depend on the batch size). The model's trainer adds both
(:meth:`minidl.layers.Layer.regularization_losses`).

- :class:`L1` (``l1``): ``l1 * sum(|x|)``, default l1 = 0.01.
- :class:`L2` (``l2``): ``l2 * sum(x ** 2)``, default l2 = 0.01.
- :class:`L1L2` (``l1_l2``): both, defaults 0.0 (Keras 3).

Names work too: ``kernel_regularizer='l2'`` is ``L2()``. Each regularizer is differentiable (made of Tensor
ops), and saves as ``{'class_name': 'L2', 'config': {'l2': 0.01}}``.
"""
from __future__ import annotations

import math
from typing import Any

from . import ops
from .autograd import Tensor

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "serialize", "deserialize"]


def _coef(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


class Regularizer:
    """Base class: ``regularizer(x) -> scalar Tensor`` to add to the loss."""

    def __call__(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Regularizer":
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v}' for k, v in self.get_config().items())})"


class L1(Regularizer):
    """``l1 * sum(|x|)``."""

    def __init__(self, l1: float = 0.01) -> None:
        self.l1 = _coef(l1, "L1: l1")

    def __call__(self, x):
        return ops.abs(x).sum() * self.l1

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(x ** 2)``."""

    def __init__(self, l2: float = 0.01) -> None:
        self.l2 = _coef(l2, "L2: l2")

    def __call__(self, x):
        return (x * x).sum() * self.l2

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x ** 2)``."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1, self.l2 = _coef(l1, "L1L2: l1"), _coef(l2, "L1L2: l2")

    def __call__(self, x):
        total = None
        if self.l1:
            total = ops.abs(x).sum() * self.l1
        if self.l2 or total is None:
            sq = (x * x).sum() * self.l2
            total = sq if total is None else total + sq
        return total

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


l1, l2, l1_l2 = L1, L2, L1L2  # Keras's lowercase aliases

_NAMES = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}
_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2}


def serialize(reg: Regularizer | None) -> Any:
    """``{'class_name': ..., 'config': ...}`` (None stays None)."""
    if reg is None:
        return None
    return {"class_name": type(reg).__name__, "config": reg.get_config()}


def deserialize(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Regularizer:
    """The inverse of :func:`serialize`.

    Raises:
        ValueError: for an unknown class name, listing the known ones.
    """
    name = config.get("class_name")
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name)
    if cls is None:
        raise ValueError(f"unknown regularizer {name!r}; known: {', '.join(sorted(_CLASSES))}")
    return cls.from_config(dict(config.get("config", {})))


def get(identifier: Any) -> Regularizer | None:
    """A regularizer from a name ('l1', 'l2', 'l1_l2'), a config dict, a Regularizer or a callable.

    Raises:
        ValueError: for an unknown name (listing the known ones) or anything else.
    """
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        cls = _NAMES.get(identifier.lower())
        if cls is None:
            raise ValueError(f"unknown regularizer {identifier!r}; known: {', '.join(sorted(_NAMES))}")
        return cls()
    if isinstance(identifier, dict) and "class_name" in identifier:
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"cannot interpret {identifier!r} as a regularizer; use 'l1', 'l2', 'l1_l2' or "
                     "minidl.regularizers.L1(...) / L2(...) / L1L2(...)")
