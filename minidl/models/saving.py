"""Saving and loading whole models: architecture (config), weights and optimizer state in one ``.npz``."""
from __future__ import annotations

import json
import os
import warnings
import zipfile
from typing import Any

import numpy as np

from .. import losses as losses_module
from .. import metrics as metrics_module
from .. import optimizers as optimizers_module
from ..symbolic import KerasTensor

__all__ = ["save_model", "load_model"]

_FORMAT = "minidl-model"
_FORMAT_VERSION = 1
_HEADER_KEY = "__minidl_model__"


def _to_json(obj: Any) -> Any:
    """Tuples to lists, NumPy scalars to Python numbers (for json.dumps)."""
    if isinstance(obj, dict):
        return {k: _to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_json(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def encode_args(struct: Any, ref: Any) -> Any:
    """A JSON-able copy of a node's arguments: KerasTensors become ``ref(t)`` (``{'__keras_tensor__':
    [layer, node, index]}``), tuples, slices and Ellipsis get tagged dicts, NumPy values become lists."""
    if isinstance(struct, KerasTensor):
        return ref(struct)
    if isinstance(struct, dict):
        return {str(k): encode_args(v, ref) for k, v in struct.items()}
    if isinstance(struct, list):
        return [encode_args(v, ref) for v in struct]
    if isinstance(struct, tuple):
        return {"__tuple__": [encode_args(v, ref) for v in struct]}
    if isinstance(struct, slice):
        return {"__slice__": [encode_args(v, ref) for v in (struct.start, struct.stop, struct.step)]}
    if struct is Ellipsis:
        return {"__ellipsis__": True}
    if isinstance(struct, np.ndarray):
        return {"__array__": struct.tolist(), "dtype": struct.dtype.name}
    if isinstance(struct, np.generic):
        return struct.item()
    if struct is None or isinstance(struct, (bool, int, float, str)):
        return struct
    raise ValueError(f"cannot save a node argument of type {type(struct).__name__}: {struct!r}")


def decode_args(struct: Any, resolve: Any) -> Any:
    """The inverse of :func:`encode_args`; ``resolve([layer, node, index])`` gives the KerasTensor."""
    if isinstance(struct, dict):
        if "__keras_tensor__" in struct:
            return resolve(struct["__keras_tensor__"])
        if "__tuple__" in struct:
            return tuple(decode_args(v, resolve) for v in struct["__tuple__"])
        if "__slice__" in struct:
            return slice(*(decode_args(v, resolve) for v in struct["__slice__"]))
        if "__ellipsis__" in struct:
            return Ellipsis
        if "__array__" in struct:
            return np.array(struct["__array__"], dtype=struct.get("dtype"))
        return {k: decode_args(v, resolve) for k, v in struct.items()}
    if isinstance(struct, list):
        return [decode_args(v, resolve) for v in struct]
    return struct


def save_model(model: Any, filepath: Any) -> None:
    """Saves ``model`` (built) to one ``.npz`` file at exactly ``filepath``: its class and config, its
    weights in :attr:`~minidl.layers.Layer.weights` order, and, when compiled, the optimizer (config and
    state), the loss and the metric names. See :meth:`minidl.models.Sequential.save`."""
    path = os.fspath(filepath)
    from .weights_file import check_extension

    check_extension(filepath, "save")  # every model class: Keras's .keras / .h5 names are refused clearly
    if not model.built:
        raise ValueError(f"save: model {model.name!r} is not built yet (no weights); build or fit it first")
    if getattr(model, "_subclassed", False):
        model.get_config()  # raises, saying what to do instead
    from ..distributed._world import writes_files

    if not writes_files():  # data-parallel run: the replicas are identical, rank 0 writes the one file
        return
    class_name = "Sequential" if type(model).__name__ == "Sequential" else "Functional"
    header: dict[str, Any] = {"format": _FORMAT, "version": _FORMAT_VERSION, "class_name": class_name,
                              "config": model.get_config()}
    if class_name == "Sequential":
        header["build_input_shape"] = list(model.input_shape[1:])
    arrays: dict[str, np.ndarray] = {}
    weights = model.get_weights()
    for i, w in enumerate(weights):
        arrays[f"weight_{i:04d}"] = w
    header["n_weights"] = len(weights)
    if model.optimizer is not None and model.loss is not None:
        state = model.optimizer.get_state(model.trainable_weights)
        for i, s in enumerate(state):
            arrays[f"optimizer_{i:04d}"] = s
        multi = len(model._output_losses) > 1
        header["compile"] = {"optimizer": model.optimizer.get_config(),
                             "loss": [None if l is None else l.get_config() for l in model._output_losses]
                             if multi else model.loss.get_config(),
                             "metrics": [[m.name for m in ms] for ms in model._output_metrics]
                             if multi else [m.name for m in model.metrics],
                             "loss_weights": list(model._loss_weights), "n_state": len(state)}
    arrays[_HEADER_KEY] = np.array(json.dumps(_to_json(header)))
    # Write next to the target and rename, so an interrupted save never leaves a half-written model.
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


# ---------------------------------------------------------------------------------------------------- loading
def load_model(filepath: Any, custom_objects: dict[str, Any] | None = None, compile: bool = True) -> Any:
    """Loads a model written by :meth:`Sequential.save` or :meth:`Model.save`: same predictions bit for bit, and (with
    ``compile=True``) the same optimizer, loss, metrics and optimizer state.

    Args:
        filepath: the file.
        custom_objects: ``{'ClassName': cls}`` for custom layers.
        compile: restore the training configuration too.

    Raises:
        FileNotFoundError: naming the path, when it does not exist.
        ValueError: when the file is not a minidl model file (naming the path).
    """
    from .weights_file import check_extension

    check_extension(filepath, "load_model")
    path = os.fspath(filepath)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_model: no such file: {path!r}")
    not_ours = f"load_model: {path!r} is not a minidl model file"
    try:
        with np.load(path, allow_pickle=False) as f:
            if not hasattr(f, "files") or _HEADER_KEY not in f.files:
                raise ValueError(f"{not_ours} (no model description inside)")
            header = json.loads(str(f[_HEADER_KEY]))
            if not isinstance(header, dict) or header.get("format") != _FORMAT:
                raise ValueError(f"{not_ours} (unknown format)")
            weights = [f[f"weight_{i:04d}"] for i in range(int(header["n_weights"]))]
            comp = header.get("compile")
            state = [f[f"optimizer_{i:04d}"] for i in range(int(comp["n_state"]))] if comp else None
    except (OSError, EOFError, KeyError, zipfile.BadZipFile, json.JSONDecodeError, TypeError) as e:
        raise ValueError(f"{not_ours} ({type(e).__name__}: {e})") from None
    except ValueError as e:
        if str(e).startswith(not_ours):
            raise
        raise ValueError(f"{not_ours} ({e})") from None
    class_name = header.get("class_name")
    if class_name not in ("Sequential", "Functional", "Model"):
        raise ValueError(f"{not_ours} (unknown model class {class_name!r})")
    if class_name == "Sequential":
        from .sequential import Sequential

        model = Sequential.from_config(header["config"], custom_objects)
        if not model.built:
            model.build((None, *header["build_input_shape"]))
    else:
        from .functional import Model

        model = Model.from_config(header["config"], custom_objects)
    model.set_weights(weights)
    if compile and comp:
        multi = isinstance(comp["loss"], list)
        try:
            loss = [None if l is None else losses_module.get(l) for l in comp["loss"]] if multi \
                else losses_module.get(comp["loss"])
        except ValueError:
            warnings.warn(f"load_model: cannot rebuild the loss {comp['loss']!r}; the model is loaded uncompiled "
                          "(call compile again)", stacklevel=2)
            return model

        def rebuild(names: list[str], loss_obj: Any) -> list:
            out = []
            for name in names:
                try:
                    out.append(metrics_module.get(name, loss_obj or losses_module.get("mse")))
                except ValueError:
                    warnings.warn(f"load_model: cannot rebuild the metric {name!r}; it is left out", stacklevel=2)
            return out

        if multi:
            metrics = [rebuild(ms, l) for ms, l in zip(comp["metrics"], loss)]
        else:
            metrics = rebuild(comp["metrics"], loss)
        model.compile(optimizers_module.deserialize(comp["optimizer"]), loss, metrics,
                      loss_weights=comp.get("loss_weights") if multi else None)
        model.optimizer.set_state(model.trainable_weights, state)
    return model
