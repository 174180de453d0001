"""Names and shape arithmetic shared by every layer family: Keras's layer naming (dense, dense_1, ...),
shape structures (a shape, or lists / dicts of shapes), and the checks and output-size rule of windows.

Re-exported by :mod:`minidl.layers.base`, where layers import them from.
"""
from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import numpy as np

from ..kernels.shapes import PADDINGS

__all__ = ["unique_name"]

Shape = tuple  # a shape with the batch dimension first, as None: (None, 28, 28, 1)

# ---------------------------------------------------------------------------------------------------- names
# Keras numbers layers per class within a process: dense, dense_1, dense_2, ...
_NAME_COUNTS: dict[str, int] = defaultdict(int)


def _snake_case(name: str) -> str:
    """'MaxPooling2D' -> 'max_pooling2d', 'Conv2D' -> 'conv2d' (Keras's rule)."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def unique_name(prefix: str) -> str:
    """``prefix`` the first time, then ``prefix_1``, ``prefix_2``, ..."""
    n = _NAME_COUNTS[prefix]
    _NAME_COUNTS[prefix] = n + 1
    return prefix if n == 0 else f"{prefix}_{n}"


def _shape_str(shape: Any) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _is_shape(s: Any) -> bool:
    """A shape is a tuple of ints / None; anything else (a list of shapes, ...) is a structure of shapes."""
    return isinstance(s, tuple) and all(d is None or isinstance(d, (int, np.integer)) for d in s)


def _map_shapes(fn: Any, struct: Any, leaf: Any = None) -> Any:
    """``fn`` applied to every shape of ``struct`` (a shape or a list / tuple / dict of shapes), or, with
    ``leaf`` a type, to every object of that type (a KerasTensor, a Tensor) in it."""
    if (leaf is not None and isinstance(struct, leaf)) or (leaf is None and _is_shape(struct)):
        return fn(struct)
    if isinstance(struct, dict):
        return {k: _map_shapes(fn, v, leaf) for k, v in struct.items()}
    if isinstance(struct, list):
        return [_map_shapes(fn, v, leaf) for v in struct]
    if isinstance(struct, tuple):
        return tuple(_map_shapes(fn, v, leaf) for v in struct)
    return fn(struct)


def _flatten_shapes(struct: Any) -> list:
    out: list = []
    _map_shapes(out.append, struct)
    return out


def _check_sample_shape(shape: Any, what: str) -> tuple[int, ...]:
    """A per-sample shape as a tuple of positive ints (an int is a 1-D shape)."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape),)
    try:
        dims = tuple(shape)
    except TypeError:
        raise ValueError(f"{what} must be a tuple of positive ints, got {shape!r}") from None
    if any(d is None for d in dims):
        raise ValueError(f"{what}: unknown (None) dimensions are not supported, got {shape!r}")
    if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0 for d in dims):
        raise ValueError(f"{what} must be a tuple of positive ints, got {shape!r}")
    return tuple(int(d) for d in dims)


def _check_rank(layer: Layer, input_shape: Shape, rank: int, what: str) -> None:
    if len(input_shape) != rank:
        raise ValueError(
            f"layer {layer.name!r} ({type(layer).__name__}) expects {what} inputs of rank {rank}, "
            f"got shape {_shape_str(input_shape)}"
        )


def _check_padding(padding: Any, cls: str) -> str:
    p = padding.lower() if isinstance(padding, str) else padding
    if p not in PADDINGS:
        raise ValueError(f"{cls}: unknown padding {padding!r}; known paddings: {', '.join(PADDINGS)}")
    return p


def _spatial_out(size: int, k: int, s: int, padding: str, layer: Layer) -> int:
    if padding == "same":
        return -(-size // s)
    if size < k:
        raise ValueError(
            f"layer {layer.name!r} ({type(layer).__name__}): window of size {k} is bigger than its input ({size}) "
            f"under padding='valid'; use padding='same' or a smaller window"
        )
    return (size - k) // s + 1
