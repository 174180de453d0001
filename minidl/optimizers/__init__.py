"""Optimizers with Keras 3's update formulas and defaults, and learning-rate schedules.

::

    opt = minidl.optimizers.get("adadelta")                    # a name, with Keras 3's defaults
    opt = minidl.optimizers.Adam(learning_rate=schedules.CosineDecay(1e-3, decay_steps=1000), clipnorm=1.0)
    loss.backward(); opt.apply_gradients(model.trainable_weights)

- :mod:`.base`: :class:`Optimizer` (argument checks, learning rate or schedule, clipping, weight decay, slots,
  state, atomic steps).
- :mod:`.algorithms`: SGD, Adam, AdamW, RMSprop, Adadelta, Adagrad, Nadam (the table of formulas is there).
- :mod:`.reference`: each update rule in plain NumPy (the oracle of the kernels).
- :mod:`.schedules`: ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay, CosineDecay.
"""
from __future__ import annotations

from typing import Any

from . import schedules
from .algorithms import SGD, Adadelta, Adagrad, Adam, AdamW, Nadam, RMSprop
from .base import Optimizer

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adadelta", "Adagrad", "Nadam", "schedules", "get",
           "serialize", "deserialize"]

_REGISTRY: dict[str, type[Optimizer]] = {
    "sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adadelta": Adadelta, "adagrad": Adagrad,
    "nadam": Nadam,
}


def _known() -> str:
    return ", ".join(sorted(_REGISTRY))


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """``optimizer.get_config()`` (its ``'name'`` says the class)."""
    return optimizer.get_config()


def deserialize(config: dict[str, Any]) -> Optimizer:
    """Rebuilds an optimizer from :func:`serialize`'s dict."""
    name = config.get("name")
    cls = _REGISTRY.get(str(name).lower()) if name is not None else None
    if cls is None:
        raise ValueError(f"unknown optimizer {name!r}; known optimizers: {_known()}")
    return cls.from_config(config)


def get(identifier: Any) -> Optimizer:
    """An optimizer from an instance (returned as is), a name ('adam', 'Adadelta', any case, with Keras 3's
    default hyper-parameters) or a config dict (``{'name': 'adam', 'learning_rate': 1e-3, ...}``).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _REGISTRY.get(identifier.lower())
        if cls is None:
            raise ValueError(f"unknown optimizer {identifier!r}; known optimizers: {_known()}")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(f"cannot interpret {identifier!r} as an optimizer; pass an Optimizer, a config dict or one "
                     f"of: {_known()}")
