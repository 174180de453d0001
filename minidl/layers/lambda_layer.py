"""Layers wrapping a function: :class:`Lambda` (Keras's, for user code) and :class:`OpLayer` (what
arithmetic on KerasTensors and :func:`minidl.symbolic.apply_op` record in a functional graph).

Both infer their output shape by running the function on small dummy batches of ones, of two batch sizes:
a dimension that differs between the two follows the batch and is ``None``.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable

import numpy as np

from ..autograd import Tensor, no_grad
from ..symbolic import KerasTensor, any_symbolic, flatten, map_structure
from .base import Layer, _map_shapes, _snake_case, unique_name

__all__ = ["Lambda", "OpLayer", "function_to_config", "function_from_config"]


def _infer_spec(fn: Callable[..., Any], args: tuple, kwargs: dict, dtype: str) -> Any:
    """KerasTensors for ``fn(*args, **kwargs)``, found by running it on dummy batches of 2 and 3."""
    results = []
    for batch in (2, 3):
        def dummy(v: Any, batch: int = batch) -> Any:
            if not isinstance(v, KerasTensor):
                return v
            shape = tuple(batch if d is None else d for d in v.shape)
            return Tensor(np.ones(shape, dtype=v.dtype))

        a, k = map_structure(dummy, (list(args), kwargs))
        with no_grad(), np.errstate(all="ignore"):
            results.append(fn(*a, **k))
    flat2, flat3 = flatten(results[0]), flatten(results[1])

    def spec(i: int, t: Any) -> KerasTensor:
        s2, s3 = tuple(np.shape(t.data if isinstance(t, Tensor) else t)), tuple(np.shape(flat3[i].data
                                                                                       if isinstance(flat3[i], Tensor)
                                                                                       else flat3[i]))
        shape = tuple(a if a == b else None for a, b in zip(s2, s3)) if len(s2) == len(s3) else s2
        dt = t.dtype if isinstance(t, Tensor) else np.result_type(t)
        return KerasTensor(shape, dtype=np.dtype(dt).name if np.dtype(dt).kind == "f" else dtype)

    counter = iter(range(len(flat2)))
    return map_structure(lambda t: spec(next(counter), t), results[0])


# Modules whose functions a saved model may name (a file never makes load_model import anything else).
_SAFE_MODULES = ("operator", "_operator", "minidl")


def function_to_config(fn: Callable[..., Any], where: str) -> dict[str, str]:
    """``{'module': ..., 'name': ...}`` naming a module-level function.

    Raises:
        ValueError: for a lambda or a nested function, which cannot be named (``where`` says which layer).
    """
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if name is None or "<" in name:
        raise ValueError(f"{where}: cannot save the function {fn!r}: a lambda or nested function has no name "
                         "to save; define it with `def` at module level and pass custom_objects={name: fn} to "
                         "load_model")
    return {"module": getattr(fn, "__module__", None) or "", "name": name}


def function_from_config(config: dict[str, str], custom_objects: dict[str, Any] | None, where: str) -> Callable:
    """The function a :func:`function_to_config` dict names: from ``custom_objects`` first, then from
    :mod:`operator` or minidl's own modules.

    Raises:
        ValueError: saying to pass ``custom_objects={name: fn}`` when it cannot be found.
    """
    name, module = config.get("name", ""), config.get("module", "")
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if module.split(".")[0] in _SAFE_MODULES:
        try:
            obj: Any = importlib.import_module(module)
            for part in name.split("."):
                obj = getattr(obj, part)
            return obj
        except (ImportError, AttributeError):
            pass
    raise ValueError(f"{where}: the function {name!r} (module {module!r}) is not saved in the file (Python code is "
                     f"never loaded from it): pass custom_objects={{{name!r}: {name.split('.')[-1]}}} to load_model")


class OpLayer(Layer):
    """A function of tensors recorded in a functional graph (``a + b`` on KerasTensors, ``apply_op``).

    No weights. On real Tensors it is just ``fn(*args, **kwargs)``.

    Args:
        fn: the function.
    """

    def __init__(self, fn: Callable[..., Any], name: str | None = None, **kwargs: Any) -> None:
        if not callable(fn):
            raise TypeError(f"OpLayer: fn must be callable, got {type(fn).__name__}")
        base = getattr(fn, "__name__", "op").strip("<>_") or "op"
        super().__init__(name=name or unique_name(_snake_case(base)), **kwargs)
        self.fn = fn
        self.built = True

    def __call__(self, *args: Any, training: bool = False, **kwargs: Any) -> Any:
        if any_symbolic(args, kwargs):
            return self._symbolic_call(args[0], args[1:], kwargs)
        return self.fn(*args, **kwargs)

    def call(self, *args: Any, training: bool = False, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        return _infer_spec(self.fn, args, kwargs, self.dtype.name)

    def compute_output_shape(self, input_shape: Any) -> Any:
        raise NotImplementedError(f"layer {self.name!r} (OpLayer): its output shape depends on all its arguments; "
                                  "call it on KerasTensors instead")

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "function": function_to_config(self.fn, f"layer {self.name!r} (OpLayer)")}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> "OpLayer":
        fn = function_from_config(config["function"], custom_objects, f"layer {config.get('name')!r} (OpLayer)")
        return cls(fn, name=config.get("name"))


class Lambda(Layer):
    """Wraps a function of tensors as a layer: ``Lambda(lambda x: x[:, :2] * 2)``.

    The function must be written with differentiable minidl ops (Tensor operators, :mod:`minidl.ops`,
    :mod:`minidl.functional`) so that gradients flow through it. No weights.

    Saving: the function is Python code, which a model file never holds. A model with a Lambda saves the
    function's *name*; :func:`minidl.models.load_model` needs ``custom_objects={name: fn}`` to load it,
    and a lambda expression (which has no name) cannot be saved at all: both errors say so.

    Args:
        function: ``fn(x, **arguments) -> Tensor``.
        output_shape: the output shape without the batch (optional; inferred by running the function on
            dummy batches otherwise).
        arguments: extra keyword arguments passed to the function.
    """

    def __init__(self, function: Callable[..., Any], output_shape: Any = None, mask: Any = None,
                 arguments: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda: function must be callable, got {type(function).__name__}")
        if mask is not None:
            raise ValueError("Lambda: masks are not supported (mask must be None)")
        self.function = function
        self.arguments = dict(arguments or {})
        self._output_shape = None if output_shape is None else tuple(output_shape)

    def call(self, x: Any, training: bool = False) -> Any:
        return self.function(x, **self.arguments)

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self._output_shape is not None:
            return (None, *self._output_shape)
        dummies = _map_shapes(lambda s: KerasTensor(s), input_shape)
        spec = _infer_spec(self.function, (dummies,), dict(self.arguments), self.dtype.name)
        return map_structure(lambda t: t.shape, spec)

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        if self._output_shape is not None:
            return KerasTensor((None, *self._output_shape), dtype=self.dtype)
        return _infer_spec(self.function, args, {**self.arguments, **kwargs}, self.dtype.name)

    def get_config(self) -> dict[str, Any]:
        cfg = {**super().get_config(), "function": function_to_config(self.function, f"layer {self.name!r} (Lambda)"),
               "arguments": self.arguments}
        if self._output_shape is not None:
            cfg["output_shape"] = list(self._output_shape)
        return cfg

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> "Lambda":
        config = dict(config)
        fn_cfg = config.pop("function")
        where = f"layer {config.get('name')!r} (Lambda)"
        if not (custom_objects and fn_cfg.get("name") in custom_objects):
            raise ValueError(f"{where}: its function {fn_cfg.get('name')!r} is Python code, which is not saved in the "
                             f"file: pass custom_objects={{{fn_cfg.get('name')!r}: <the function>}} to load_model")
        return cls(function_from_config(fn_cfg, custom_objects, where), **config)
