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


def save_model(model: Any, filepath: Any) -> None:
    """Saves ``model`` (built) to one ``.npz`` file at exactly ``filepath``: its class and config, its
    weights in :attr:`~minidl.layers.Layer.weights` order, and, when compiled, the optimizer (config and
    state), the loss and the metric names. See :meth:`minidl.models.Sequential.save`."""
    path = os.fspath(filepath)
    header: dict[str, Any] = {"format": _FORMAT, "version": _FORMAT_VERSION, "class_name": type(model).__name__,
                              "config": model.get_config(), "build_input_shape": list(model.input_shape[1:])}
    arrays: dict[str, np.ndarray] = {}
    weights = model.get_weights()
    for i, w in enumerate(weights):
        arrays[f"weight_{i:04d}"] = w
    header["n_weights"] = len(weights)
    if model.optimizer is not None and model.loss is not None:
        state = model.optimizer.get_state(model.trainable_weights)
        for i, s in enumerate(state):
            arrays[f"optimizer_{i:04d}"] = s
        header["compile"] = {"optimizer": model.optimizer.get_config(), "loss": model.loss.get_config(),
                             "metrics": [m.name for m in model.metrics], "n_state": len(state)}
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
    """Loads a model written by :meth:`Sequential.save`: same predictions bit for bit, and (with
    ``compile=True``) the same optimizer, loss, metrics and optimizer state.

    Args:
        filepath: the file.
        custom_objects: ``{'ClassName': cls}`` for custom layers.
        compile: restore the training configuration too.

    Raises:
        FileNotFoundError: naming the path, when it does not exist.
        ValueError: when the file is not a minidl model file (naming the path).
    """
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
    if header.get("class_name") != "Sequential":
        raise ValueError(f"{not_ours} (unknown model class {header.get('class_name')!r})")
    from .sequential import Sequential

    model = Sequential.from_config(header["config"], custom_objects)
    if not model.built:
        model.build((None, *header["build_input_shape"]))
    model.set_weights(weights)
    if compile and comp:
        try:
            loss = losses_module.get(comp["loss"])
        except ValueError:
            warnings.warn(f"load_model: cannot rebuild the loss {comp['loss']!r}; the model is loaded uncompiled "
                          "(call compile again)", stacklevel=2)
            return model
        metrics = []
        for name in comp["metrics"]:
            try:
                metrics.append(metrics_module.get(name, loss))
            except ValueError:
                warnings.warn(f"load_model: cannot rebuild the metric {name!r}; it is left out", stacklevel=2)
        model.compile(optimizers_module.deserialize(comp["optimizer"]), loss, metrics)
        model.optimizer.set_state(model.trainable_weights, state)
    return model
