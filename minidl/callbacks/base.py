"""Callback base classes: :class:`Callback` (every hook a no-op), :class:`CallbackList` (calls them in
order), :class:`History` (``fit``'s return value) and the helpers the monitoring callbacks share.

``fit`` drives a :class:`CallbackList`; each hook receives ``logs``, a dict of floats (``loss``, metric
names, and their ``val_`` versions at the end of an epoch). A callback stops training by setting
``model.stop_training = True``. ``set_model`` and ``on_train_begin`` run before the first batch, so a
callback checks there what only the model can tell (ModelCheckpoint's path) before any weight changes.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Iterable

import numpy as np

__all__ = ["Callback", "CallbackList", "History"]

Logs = dict[str, Any] | None


# ---------------------------------------------------------------------------------------------------- base
class Callback:
    """Base class; every hook is a no-op. Override the ones you need.

    Attributes:
        model: the model being trained (set by :meth:`set_model`).
        params: ``fit``'s parameters, e.g. ``{'epochs': 10, 'steps': 422, 'verbose': 1}``.
    """

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def __iter__(self):
        # fit(callbacks=EarlyStopping()) would otherwise fail with "object is not iterable".
        raise TypeError(f"callbacks must be a list of Callback objects, got a single {type(self).__name__}; "
                        f"pass callbacks=[{type(self).__name__}(...)]")

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = dict(params or {})

    def on_train_begin(self, logs: Logs = None) -> None: ...
    def on_train_end(self, logs: Logs = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None: ...

    # Keras keeps on_batch_* as the old names of the training-batch hooks; overriding either works.
    def on_batch_begin(self, batch: int, logs: Logs = None) -> None: ...
    def on_batch_end(self, batch: int, logs: Logs = None) -> None: ...

    def on_train_batch_begin(self, batch: int, logs: Logs = None) -> None:
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs: Logs = None) -> None: ...
    def on_test_end(self, logs: Logs = None) -> None: ...
    def on_test_batch_begin(self, batch: int, logs: Logs = None) -> None: ...
    def on_test_batch_end(self, batch: int, logs: Logs = None) -> None: ...
    def on_predict_begin(self, logs: Logs = None) -> None: ...
    def on_predict_end(self, logs: Logs = None) -> None: ...
    def on_predict_batch_begin(self, batch: int, logs: Logs = None) -> None: ...
    def on_predict_batch_end(self, batch: int, logs: Logs = None) -> None: ...


class CallbackList:
    """Calls each hook on every callback, in order.

    Args:
        callbacks: the callbacks (None for none).
        model: given to each callback's ``set_model`` when not None.
        params: given to each callback's ``set_params`` when not None.
    """

    def __init__(self, callbacks: Iterable[Callback] | None = None, model: Any = None,
                 params: dict[str, Any] | None = None) -> None:
        self.callbacks: list[Callback] = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be Callback instances, got {type(cb).__name__}")
        self.model = None
        self.params: dict[str, Any] = {}
        if model is not None:
            self.set_model(model)
        if params is not None:
            self.set_params(params)

    def append(self, callback: Callback) -> None:
        self.callbacks.append(callback)
        if self.model is not None:
            callback.set_model(self.model)
        if self.params:
            callback.set_params(self.params)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def set_model(self, model: Any) -> None:
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = dict(params or {})
        for cb in self.callbacks:
            cb.set_params(self.params)

    def _call(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_train_begin(self, logs: Logs = None) -> None: self._call("on_train_begin", logs)
    def on_train_end(self, logs: Logs = None) -> None: self._call("on_train_end", logs)
    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None: self._call("on_epoch_begin", epoch, logs)
    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None: self._call("on_epoch_end", epoch, logs)
    def on_train_batch_begin(self, batch: int, logs: Logs = None) -> None: self._call("on_train_batch_begin", batch, logs)
    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None: self._call("on_train_batch_end", batch, logs)
    def on_test_begin(self, logs: Logs = None) -> None: self._call("on_test_begin", logs)
    def on_test_end(self, logs: Logs = None) -> None: self._call("on_test_end", logs)
    def on_test_batch_begin(self, batch: int, logs: Logs = None) -> None: self._call("on_test_batch_begin", batch, logs)
    def on_test_batch_end(self, batch: int, logs: Logs = None) -> None: self._call("on_test_batch_end", batch, logs)
    def on_predict_begin(self, logs: Logs = None) -> None: self._call("on_predict_begin", logs)
    def on_predict_end(self, logs: Logs = None) -> None: self._call("on_predict_end", logs)
    def on_predict_batch_begin(self, batch: int, logs: Logs = None) -> None: self._call("on_predict_batch_begin", batch, logs)
    def on_predict_batch_end(self, batch: int, logs: Logs = None) -> None: self._call("on_predict_batch_end", batch, logs)


# ---------------------------------------------------------------------------------------------------- History
class History(Callback):
    """Records the logs of every epoch: ``history.history['val_loss'][e]``, ``history.epoch``.

    ``fit`` returns it. Both are reset at the start of each training run, as Keras does (each ``fit``
    gets a fresh History). The model, when it allows it, gets ``model.history = self``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[Any]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: Logs = None) -> None:
        self.history = {}
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        if self.model is not None:
            try:
                self.model.history = self
            except AttributeError:  # a model with __slots__ or a read-only attribute: nothing to do
                pass


# ---------------------------------------------------------------------------------------------------- helpers
def _monitor_op(mode: str, monitor: str, cls: str) -> Callable[[float, float], bool]:
    _check_mode(mode, cls)
    if mode == "auto":
        # Keras 2's rule: accuracies (and AUC) are maximised, everything else (losses, errors) minimised.
        name = monitor.removeprefix("val_")
        mode = "max" if ("acc" in name or name.startswith("auc")) else "min"
    return np.greater if mode == "max" else np.less


def _scalar(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(np.asarray(value).reshape(()))
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------------- argument checks
def _check_str(value: Any, name: str, cls: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{cls}: {name} must be a non-empty string, got {value!r}")
    return value


def _check_int(value: Any, name: str, cls: str, minimum: int = 0) -> int:
    # bool is an int subclass: patience=True is a mistake. NumPy integers are fine.
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{cls}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_number(value: Any, name: str, cls: str, minimum: float | None = None, allow_none: bool = False,
                  strict: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(value)):
        raise ValueError(f"{cls}: {name} must be a finite number, got {value!r}")
    v = float(value)
    if minimum is not None and (v <= minimum if strict else v < minimum):
        raise ValueError(f"{cls}: {name} must be {'>' if strict else '>='} {minimum}, got {value!r}")
    return v


def _check_bool(value: Any, name: str, cls: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{cls}: {name} must be True or False, got {value!r}")
    return bool(value)


def _check_verbose(value: Any, cls: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value not in (0, 1, 2):
        raise ValueError(f"{cls}: verbose must be 0, 1 or 2, got {value!r}")
    return int(value)


def _check_mode(mode: Any, cls: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{cls}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    return mode
