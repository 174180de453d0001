"""Layer configs: :func:`serialize`, :func:`deserialize`, :func:`get`, and the registry of layer classes
(filled by :mod:`minidl.layers` once every family is imported)."""
from __future__ import annotations

import contextlib
import inspect
from typing import Any, Iterator

from .base import Layer

__all__ = ["serialize", "deserialize", "get", "register", "loading_scope"]

_REGISTRY: dict[str, type[Layer]] = {}


def register(*classes: type[Layer], name: str | None = None) -> None:
    """Makes layer classes known to :func:`deserialize` and :func:`get` (by class name, or ``name``)."""
    for cls in classes:
        _REGISTRY[name or cls.__name__] = cls


# Layers rebuilt by the load in progress, by name: a DenseTranspose saved with ``tied_to='dense_1'`` finds
# the Dense it is tied to here. One dict per outermost load (nested Sequential models share it).
_LOADING: list[dict[str, "Layer"]] = []


@contextlib.contextmanager
def loading_scope() -> Iterator[dict[str, "Layer"]]:
    """The name -> layer dict of the load in progress (a new one for the outermost call)."""
    if _LOADING:
        yield _LOADING[-1]
        return
    _LOADING.append({})
    try:
        yield _LOADING[-1]
    finally:
        _LOADING.pop()




def serialize(layer: Layer) -> dict[str, Any]:
    """``{'class_name': ..., 'config': layer.get_config()}``."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(spec: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Layer:
    """Rebuilds an (unbuilt) layer from :func:`serialize`'s dict.

    Raises:
        ValueError: for an unknown class name, listing the known ones.
    """
    name = spec.get("class_name")
    cls = (custom_objects or {}).get(name) or _REGISTRY.get(name)
    if cls is None:
        from .. import models  # models nest as layers

        if name in ("Sequential", "Model", "Functional"):
            cls = models.Sequential if name == "Sequential" else models.Model
        else:
            raise ValueError(f"unknown layer class {name!r}; known layers: {', '.join(sorted(_REGISTRY))} "
                             "(pass custom_objects={name: cls} for your own layers)")
    config = dict(spec.get("config", {}))
    with loading_scope() as loaded:  # lets a DenseTranspose find its Dense by name
        try:
            takes_objects = "custom_objects" in inspect.signature(cls.from_config).parameters
        except (TypeError, ValueError):
            takes_objects = False
        layer = cls.from_config(config, custom_objects) if takes_objects else cls.from_config(config)
        loaded[layer.name] = layer
    return layer


def get(identifier: Any) -> type[Layer]:
    """The layer class called ``identifier`` (e.g. 'Dense').

    Raises:
        ValueError: listing the known names.
    """
    try:
        return _REGISTRY[identifier]
    except (KeyError, TypeError):
        raise ValueError(f"unknown layer {identifier!r}; known layers: {', '.join(sorted(_REGISTRY))}") from None
