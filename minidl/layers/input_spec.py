""":class:`InputSpec`: what a layer accepts (rank, sizes of some axes), checked each time it is called.

A layer sets ``self.input_spec = InputSpec(ndim=4)`` (in ``__init__``, or in ``build`` once the sizes it was
built for are known: ``InputSpec(min_ndim=2, axes={-1: 784})``); calling the layer on a tensor, real or
symbolic, that does not fit raises a ValueError naming the layer, what it expects and what it got, before
anything runs. A list of specs checks a list of inputs, one each.
"""
from __future__ import annotations

from typing import Any

__all__ = ["InputSpec", "assert_input_compatibility"]


class InputSpec:
    """Keras's InputSpec: constraints on one input of a layer. Every argument is optional.

    Args:
        dtype: expected dtype name.
        shape: the full expected shape, batch first; ``None`` entries match anything.
        ndim: exact rank. max_ndim, min_ndim: bounds on the rank.
        axes: ``{axis: size}`` for some axes (negative axes count from the end).
        allow_last_axis_squeeze: accept a rank one lower or higher when the last axis has size 1.
        name: the input's name (for dict inputs).
        optional: whether the input may be None.
    """

    def __init__(self, dtype: Any = None, shape: Any = None, ndim: int | None = None, max_ndim: int | None = None,
                 min_ndim: int | None = None, axes: dict[int, int] | None = None,
                 allow_last_axis_squeeze: bool = False, name: str | None = None, optional: bool = False) -> None:
        self.dtype = None if dtype is None else str(dtype)
        self.shape = None if shape is None else tuple(shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim, self.min_ndim = max_ndim, min_ndim
        self.axes = {int(k): v for k, v in (axes or {}).items()}
        for k in self.axes:
            if self.ndim is not None and not -self.ndim <= k < self.ndim:
                raise ValueError(f"InputSpec: axis {k} is out of range for ndim={self.ndim}")
        self.allow_last_axis_squeeze = bool(allow_last_axis_squeeze)
        self.name, self.optional = name, bool(optional)

    def __repr__(self) -> str:
        parts = [f"{k}={v}" for k, v in (("dtype", self.dtype), ("shape", self.shape), ("ndim", self.ndim),
                                          ("max_ndim", self.max_ndim), ("min_ndim", self.min_ndim))
                 if v is not None]
        if self.axes:
            parts.append(f"axes={self.axes}")
        return f"InputSpec({', '.join(parts)})"

    def get_config(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "shape": None if self.shape is None else list(self.shape), "ndim": self.ndim,
                "max_ndim": self.max_ndim, "min_ndim": self.min_ndim, "axes": dict(self.axes)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "InputSpec":
        return cls(**config)


def _shape_str(shape: Any) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def assert_input_compatibility(input_spec: Any, shapes: list[tuple], dtypes: list[str | None], layer_name: str) -> None:
    """Raises ValueError when an input (given by its shape and dtype) breaks its spec.

    Args:
        input_spec: an InputSpec, a list of them (one per input), or None.
        shapes, dtypes: of the flattened inputs, batch first.
        layer_name: for the message.
    """
    if input_spec is None:
        return
    specs = list(input_spec) if isinstance(input_spec, (list, tuple)) else [input_spec]
    if len(specs) > 1 and len(specs) != len(shapes):
        raise ValueError(f'Layer "{layer_name}" expects {len(specs)} input(s), but it received {len(shapes)} '
                         f"input tensor(s). Input shapes received: {[_shape_str(s) for s in shapes]}")
    for i, (spec, shape, dtype) in enumerate(zip(specs, shapes, dtypes)):
        if spec is None:
            continue
        head = f'Input {i} of layer "{layer_name}" is incompatible with the layer:'
        rank = len(shape)
        if spec.ndim is not None and not spec.allow_last_axis_squeeze and rank != spec.ndim:
            raise ValueError(f"{head} expected ndim={spec.ndim}, found ndim={rank}. Full shape received: "
                             f"{_shape_str(shape)}")
        if spec.max_ndim is not None and rank > spec.max_ndim:
            raise ValueError(f"{head} expected max_ndim={spec.max_ndim}, found ndim={rank}. Full shape received: "
                             f"{_shape_str(shape)}")
        if spec.min_ndim is not None and rank < spec.min_ndim:
            raise ValueError(f"{head} expected min_ndim={spec.min_ndim}, found ndim={rank}. Full shape received: "
                             f"{_shape_str(shape)}")
        if spec.dtype is not None and dtype is not None and dtype != spec.dtype:
            raise ValueError(f"{head} expected dtype={spec.dtype}, found dtype={dtype}")
        for axis, value in spec.axes.items():
            if value is None:
                continue
            if not -rank <= axis < rank:
                raise ValueError(f"{head} expected axis {axis} of input shape to exist, but received input with "
                                 f"shape {_shape_str(shape)}")
            got = shape[axis]
            if got is not None and got != value:
                raise ValueError(f"{head} expected axis {axis} of input shape to have value {value}, but received "
                                 f"input with shape {_shape_str(shape)}")
        if spec.shape is not None and rank == len(spec.shape):
            for want, got in zip(spec.shape, shape):
                if want is not None and got is not None and want != got:
                    raise ValueError(f"{head} expected shape={_shape_str(spec.shape)}, found shape={_shape_str(shape)}")
