"""``model.save_weights(path)`` / ``model.load_weights(path)``: the weights alone, in one ``.npz`` file, and
the refusal of Keras-only formats (``.h5``, ``.hdf5``, ``.keras``) for every save and load path.

The file holds ``weight_0000``, ``weight_0001``, ... in :attr:`~minidl.layers.Layer.weights` order and a
JSON header (format, version, each weight's name and shape). :func:`load_weights` also reads the weights of
a full model file written by ``model.save``. Everything is checked (format, count, shapes, real finite
values) before any weight changes; a save writes a uniquely named temporary file next to the target and
renames it, so an interrupted or concurrent save never leaves a half-written file.
"""
from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import numpy as np

__all__ = ["check_extension", "save_weights", "load_weights"]

_FORMAT = "minidl-weights"
_VERSION = 1
_KERAS_ONLY = (".h5", ".hdf5", ".keras")


def check_extension(filepath: Any, what: str) -> str:
    """``filepath`` as a string; ValueError for a Keras-only format, naming the supported one (.npz)."""
    try:
        path = os.fspath(filepath)
    except TypeError:
        raise TypeError(f"{what}: filepath must be a string or path-like, got {type(filepath).__name__}") from None
    if not isinstance(path, str) or not path:
        raise ValueError(f"{what}: filepath must be a non-empty string, got {filepath!r}")
    ext = os.path.splitext(path)[1].lower()
    if ext in _KERAS_ONLY:
        raise ValueError(f"{what}: {path!r} asks for Keras's {ext} format, which minidl does not write or read; "
                         f"minidl's format is a NumPy .npz file: use {os.path.splitext(path)[0] + '.npz'!r}")
    return path


def save_weights(model: Any, filepath: Any, overwrite: bool = True) -> None:
    """Writes ``model.get_weights()`` to ``filepath`` (.npz).

    Raises:
        ValueError: for a Keras-only extension, an unbuilt model, or an existing file with ``overwrite=False``.
    """
    path = check_extension(filepath, "save_weights")
    if not isinstance(overwrite, (bool, np.bool_)):
        raise ValueError(f"save_weights: overwrite must be True or False, got {overwrite!r}")
    if not getattr(model, "built", True):
        raise ValueError(f"save_weights: model {getattr(model, 'name', '')!r} is not built yet (no weights)")
    if not overwrite and os.path.exists(path):
        raise ValueError(f"save_weights: {path!r} exists and overwrite=False")
    weights = model.get_weights()
    header = {"format": _FORMAT, "version": _VERSION,
              "names": [str(getattr(w, "name", "") or "") for w in model.weights],
              "shapes": [list(w.shape) for w in weights]}
    arrays = {f"weight_{i:04d}": w for i, w in enumerate(weights)}
    arrays["__header__"] = np.array(json.dumps(header))
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_weights(model: Any, filepath: Any) -> None:
    """Sets ``model``'s weights from a :func:`save_weights` file (or a full ``model.save`` file).

    Raises:
        ValueError: for a Keras-only extension, a file that is not a minidl file, or weights whose count,
            shapes or values (non-finite, complex) do not fit; nothing is changed then.
    """
    path = check_extension(filepath, "load_weights")
    try:
        with np.load(path, allow_pickle=False) as f:
            files = dict(f.items())
    except (OSError, ValueError) as err:
        raise ValueError(f"load_weights: {path!r} is not a minidl .npz file ({err})") from None
    keys = sorted(k for k in files if k.startswith("weight_"))
    if not keys:
        raise ValueError(f"load_weights: {path!r} holds no minidl weights")
    weights = [files[k] for k in keys]
    mine = model.weights
    if len(weights) != len(mine):
        raise ValueError(f"load_weights: {path!r} holds {len(weights)} weight arrays, the model has {len(mine)}")
    for i, (w, t) in enumerate(zip(weights, mine)):
        name = getattr(t, "name", None) or f"weight {i}"
        if w.shape != tuple(t.shape):
            raise ValueError(f"load_weights: {name} has shape {tuple(t.shape)} in the model, {w.shape} in the file")
        if w.dtype.kind != "f":
            raise ValueError(f"load_weights: {name} has dtype {w.dtype} in the file; expected a real float array")
        if not np.all(np.isfinite(w)):
            raise ValueError(f"load_weights: {name} holds non-finite values in the file")
    model.set_weights(weights)
