"""Saving and loading whole models: architecture (config), weights and optimizer state in one ``.npz``.

What a save promises (issue #18):

- **Atomic.** The file is written to a uniquely named temporary next to the target
  (``.name.<host>-<pid>.<random>.tmp``), flushed to disk, then renamed over the target: a reader, a crash or
  ``kill -9`` sees the old file or the new one, never a mix. Threads and processes saving to one path never
  share a temporary; temporaries of writers that died are removed by the next save to that path.
- **Complete.** Weights, the optimizer's state (``iterations`` and slots) and the random state of seeded
  layers (``Dropout(seed=...)``, ``GaussianNoise(seed=...)``): a loaded model continues bit for bit.
- **Names are unique.** A model with two different layers of the same name is refused at save (a
  ``DenseTranspose`` is re-linked by name, so a duplicate could tie it to the wrong layer).

What a load checks before it allocates or changes anything: the format and a supported version, the header's
types, every array (float32/float64, finite; the iteration count an integer >= 0), unique layer names, and that
the config asks for no more weight values than the file holds (``units=10**10`` is refused, not allocated).
Every problem is a ``ValueError`` naming the file (``TypeError`` for a bad ``custom_objects``).
"""
from __future__ import annotations

import json
import os
import re
import warnings
from typing import Any

import numpy as np

from .. import losses as losses_module
from .. import metrics as metrics_module
from .. import optimizers as optimizers_module
from .._atomic import _pid_alive, atomic_write
from .._validate import describe
from ..layers import base as layers_base
from ..symbolic import KerasTensor

__all__ = ["save_model", "load_model"]

_FORMAT = "minidl-model"
_FORMAT_VERSION = 1
_HEADER_KEY = "__minidl_model__"
#: Largest input sample (values) a loaded model may declare: the default compute_output_shape runs a layer on
#: one sample of zeros, so a crafted input shape would otherwise allocate at will.
_MAX_SAMPLE_VALUES = 2**28


def _to_json(obj: Any) -> Any:
    """Tuples to lists, NumPy scalars to Python numbers (for json.dumps)."""
    if isinstance(obj, dict):
        return {k: _to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_json(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _distinct_layers(model: Any) -> list[Any]:
    """Every layer of the model, nested ones included, each object once (depth-first order)."""
    out: list[Any] = []
    for layer in model._all_layers():
        if not any(layer is o for o in out):
            out.append(layer)
    return out


def _seeded_rngs(model: Any) -> dict[str, Any]:
    """``{index in _distinct_layers: bit-generator state}`` of the layers owning a seeded generator."""
    out = {}
    for i, layer in enumerate(_distinct_layers(model)):
        rng = layer.__dict__.get("_rng")
        if isinstance(rng, np.random.Generator):
            out[str(i)] = rng.bit_generator.state
    return out


def _clean_legacy_temporaries(path: str) -> None:
    """Removes ``<path>.tmp<pid>`` files that saves before issue #18 left when their process was killed."""
    folder, base = os.path.split(os.path.abspath(path))
    pattern = re.compile(re.escape(base) + r"\.tmp(\d+)$")
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        m = pattern.match(name)
        if m and not _pid_alive(int(m.group(1))):
            try:
                os.unlink(os.path.join(folder, name))
            except OSError:
                pass


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


def _check_reloadable(model: Any, layers: list[Any]) -> None:
    """Refuses, before writing, what :func:`load_model` could never rebuild: activations and initializers
    that are saved by name but have no built-in name, and a tied layer whose partner is not in the model."""
    from .. import functional as F
    from .. import initializers

    for layer in layers:
        cfg = layer.get_config() if not hasattr(layer, "_layers") else {}
        for key, value in cfg.items():
            if not isinstance(value, str):
                continue
            try:
                if key == "activation" or key.endswith("_activation"):
                    F.activation(value)
                elif key.endswith("_initializer"):
                    initializers.get(value)
            except ValueError:
                raise ValueError(
                    f"save: layer {layer.name!r} uses the custom {key} {value!r}, which load_model cannot rebuild "
                    "(activations and initializers are saved by name): use a built-in one, or a custom Layer "
                    "subclass with get_config (loaded with custom_objects)") from None
        tied = layer.__dict__.get("tied_to")
        if tied is not None and not any(tied is o for o in layers):
            raise ValueError(f"save: layer {layer.name!r} is tied to {tied.name!r}, which is not part of model "
                             f"{model.name!r}, so the file could not re-link it; save the model that contains both")


def save_model(model: Any, filepath: Any) -> None:
    """Saves ``model`` (built) to one ``.npz`` file at exactly ``filepath``: its class and config, its
    weights in :attr:`~minidl.layers.Layer.weights` order, the random state of seeded layers and, when
    compiled, the optimizer (config and state), the loss and the metric names. Atomic and safe from several
    threads or processes (see the module docstring). See :meth:`minidl.models.Sequential.save`.

    Raises:
        ValueError: when two different layers of the model share a name, a layer uses a custom activation or
            initializer (saved by name, so it could not be rebuilt), or a tied layer's partner is outside the
            model; nothing is written then.
    """
    path = os.fspath(filepath)
    from .weights_file import check_extension

    check_extension(filepath, "save")  # every model class: Keras's .keras / .h5 names are refused clearly
    seen: dict[str, Any] = {}
    for layer in _distinct_layers(model):
        if layer.name in seen:
            raise ValueError(f"save: model {model.name!r} has two different layers named {layer.name!r} "
                             f"({type(seen[layer.name]).__name__} and {type(layer).__name__}); layer names must be "
                             "unique to be saved (pass name=... when creating them)")
        seen[layer.name] = layer
    _check_reloadable(model, list(seen.values()))
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
    rngs = _seeded_rngs(model)
    if rngs:
        header["rng_states"] = rngs
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
    _clean_legacy_temporaries(path)
    with atomic_write(path, ".tmp") as f:
        np.savez(f, **arrays)


# ---------------------------------------------------------------------------------------------------- loading
def _count(value: Any, what: str, bad: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise bad(f"{what} must be a non-negative integer, got {value!r}")
    return value


def _check_header(header: Any, n_files: int, bad: Any) -> dict[str, Any]:
    if not isinstance(header, dict) or header.get("format") != _FORMAT:
        raise bad("unknown format")
    version = header.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise bad(f"format version must be an integer, got {version!r}")
    if not 1 <= version <= _FORMAT_VERSION:
        newer = " (written by a newer minidl?)" if version > _FORMAT_VERSION else ""
        raise bad(f"unsupported format version {version}{newer}; this minidl reads versions 1 to {_FORMAT_VERSION}")
    if header.get("class_name") not in ("Sequential", "Functional", "Model"):
        raise bad(f"unknown model class {header.get('class_name')!r}")
    if not isinstance(header.get("config"), dict):
        raise bad("the model config is missing or not a dict")
    if _count(header.get("n_weights"), "n_weights", bad) > n_files:
        raise bad(f"n_weights={header['n_weights']} but the file holds {n_files} arrays")
    if header["class_name"] == "Sequential":
        shape = header.get("build_input_shape")
        if not isinstance(shape, list) or not all(
                isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape):
            raise bad(f"build_input_shape must be a list of positive integers, got {shape!r}")
        if int(np.prod(shape, dtype=object)) > _MAX_SAMPLE_VALUES:
            raise bad(f"build_input_shape {shape} declares more than {_MAX_SAMPLE_VALUES} values per sample")
    comp = header.get("compile")
    if comp is not None:
        if not isinstance(comp, dict) or not isinstance(comp.get("metrics", []), list) \
                or not isinstance(comp.get("loss"), (dict, list, str)):
            raise bad("the compile section is not a dict with a list of metrics")
        if _count(comp.get("n_state"), "n_state", bad) > n_files:
            raise bad(f"n_state={comp['n_state']} but the file holds {n_files} arrays")
    rngs = header.get("rng_states", {})
    if not isinstance(rngs, dict):
        raise bad("rng_states must be a dict")
    return header


def _check_arrays(arrays: list[np.ndarray], what: str, bad: Any) -> None:
    for i, a in enumerate(arrays):
        if a.dtype not in (np.float32, np.float64):
            raise bad(f"{what} {i} has dtype {a.dtype}; model files hold float32 or float64 arrays only")
        if not np.isfinite(a).all():
            raise bad(f"{what} {i} (shape {a.shape}) contains NaN or Inf")


def _config_names(config: dict[str, Any], bad: Any) -> list[str]:
    names = []
    for spec in config.get("layers", []) or []:
        if not isinstance(spec, dict) or not isinstance(spec.get("config", {}), dict):
            raise bad(f"a layer entry of the config is not a dict: {spec!r:.80}")
        cfg = spec.get("config", {})
        if "name" in cfg:
            names.append(cfg["name"])
        if spec.get("class_name") in ("Sequential", "Functional", "Model"):
            names.extend(_config_names(cfg, bad))
    return names


def load_model(filepath: Any, custom_objects: dict[str, Any] | None = None, compile: bool = True) -> Any:
    """Loads a model written by :meth:`Sequential.save` or :meth:`Model.save`: same predictions bit for bit, and (with
    ``compile=True``) the same optimizer, loss, metrics and optimizer state, and seeded layers' random state.

    Everything read is checked before the model is built (see the module docstring).

    Args:
        filepath: the file.
        custom_objects: ``{'ClassName': cls}`` for custom layers.
        compile: restore the training configuration too.

    Raises:
        FileNotFoundError: naming the path, when it does not exist.
        TypeError: when ``custom_objects`` is not a dict of names to classes.
        ValueError: naming the path, when the file is not a valid minidl model file (unknown format, a newer
            version, a corrupted or crafted file, a config that does not match the weights).
    """
    if custom_objects is not None and (not isinstance(custom_objects, dict) or not all(
            isinstance(k, str) for k in custom_objects)):
        raise TypeError(f"load_model: custom_objects must be a dict {{'ClassName': cls}} or None, got "
                        f"{describe(custom_objects)}")
    if not isinstance(compile, (bool, np.bool_)):
        raise TypeError(f"load_model: compile must be a bool, got {describe(compile)}")
    from .weights_file import check_extension

    check_extension(filepath, "load_model")
    path = os.fspath(filepath)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_model: no such file: {path!r}")
    not_ours = f"load_model: {path!r} is not a minidl model file"

    class _Bad(ValueError):
        def __init__(self, why: str) -> None:
            super().__init__(f"{not_ours} ({why})")

    try:
        with np.load(path, allow_pickle=False) as f:
            if not hasattr(f, "files") or _HEADER_KEY not in f.files:
                raise _Bad("no model description inside")
            header = _check_header(json.loads(str(f[_HEADER_KEY])), len(f.files), _Bad)
            weights = [f[f"weight_{i:04d}"] for i in range(header["n_weights"])]
            comp = header.get("compile")
            state = [f[f"optimizer_{i:04d}"] for i in range(comp["n_state"])] if comp else None
    except _Bad:
        raise
    except Exception as e:  # noqa: BLE001 -- a corrupted file can fail anywhere in zipfile / zlib / NumPy / json
        raise ValueError(f"{not_ours} ({type(e).__name__}: {e})") from None
    _check_arrays(weights, "weight", _Bad)
    if state is not None:
        it = state[0] if state else None
        if it is None or it.size != 1 or it.dtype.kind not in "iu" or int(it.reshape(-1)[0]) < 0:
            raise _Bad(f"the optimizer's iteration count must be one integer >= 0, got "
                       f"{None if it is None else it.reshape(-1)[:3]!r}")
        _check_arrays(state[1:], "optimizer state array", _Bad)
    names = _config_names(header["config"], _Bad)
    dupes = sorted({n for n in names if names.count(n) > 1}, key=str)
    if dupes:
        raise _Bad(f"layer names must be unique, {dupes} occur more than once")
    from .sequential import Sequential

    # The config may not allocate more weight values than the file holds (units=10**10 fails here, cheaply).
    layers_base._LOAD_BUDGET.values_left = sum(int(w.size) for w in weights)
    try:
        if header["class_name"] == "Sequential":
            model = Sequential.from_config(header["config"], custom_objects)
            if not model.built:
                model.build((None, *header["build_input_shape"]))
        else:
            from .functional import Model

            model = Model.from_config(header["config"], custom_objects)
        model.set_weights(weights)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, NotImplementedError, OverflowError,
            RecursionError) as e:
        raise ValueError(f"load_model: {path!r}: cannot rebuild the model from its config "
                         f"({type(e).__name__}: {e})") from e
    finally:
        layers_base._LOAD_BUDGET.values_left = None
    _restore_rngs(model, header.get("rng_states", {}), _Bad)
    if compile and comp:
        multi = isinstance(comp["loss"], list)
        try:
            loss = [None if l is None else losses_module.get(l) for l in comp["loss"]] if multi \
                else losses_module.get(comp["loss"])
        except (ValueError, TypeError, KeyError):
            warnings.warn(f"load_model: cannot rebuild the loss {comp.get('loss')!r}; the model is loaded "
                          "uncompiled (call compile again)", stacklevel=2)
            return model

        def rebuild(names: Any, loss_obj: Any) -> list:
            out = []
            for name in names if isinstance(names, list) else []:
                try:
                    out.append(metrics_module.get(name, loss_obj or losses_module.get("mse")))
                except (ValueError, TypeError):
                    warnings.warn(f"load_model: cannot rebuild the metric {name!r}; it is left out", stacklevel=2)
            return out

        try:
            if multi:
                metrics = [rebuild(ms, l) for ms, l in zip(comp["metrics"], loss)]
            else:
                metrics = rebuild(comp["metrics"], loss)
            model.compile(optimizers_module.deserialize(comp["optimizer"]), loss, metrics,
                          loss_weights=comp.get("loss_weights") if multi else None)
            model.optimizer.set_state(model.trainable_weights, state)
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            raise ValueError(f"load_model: {path!r}: cannot restore the optimizer ({type(e).__name__}: {e})") from e
    return model


def _restore_rngs(model: Any, states: dict[str, Any], bad: Any) -> None:
    layers = _distinct_layers(model)
    for key, state in states.items():
        i = int(key) if isinstance(key, str) and key.isdigit() else -1
        rng = layers[i].__dict__.get("_rng") if 0 <= i < len(layers) else None
        if not isinstance(rng, np.random.Generator):
            raise bad(f"rng_states names layer {key!r}, which has no seeded generator")
        try:
            rng.bit_generator.state = state
        except (TypeError, ValueError, KeyError) as e:
            raise bad(f"invalid random state for layer {layers[i].name!r}: {e}") from None
