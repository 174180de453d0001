"""Keras-style callbacks and the progress bar printed by ``fit``.

``fit`` drives a :class:`CallbackList`; each hook receives ``logs``, a dict of floats (``loss``, metric
names, and their ``val_`` versions at the end of an epoch). A callback stops training by setting
``model.stop_training = True``. Semantics follow Keras 3 unless stated:

- :class:`History` records every epoch's logs (reset at each ``on_train_begin``, i.e. per ``fit``).
- :class:`EarlyStopping` counts epochs without an improvement larger than ``min_delta``; after ``patience``
  of them it stops; ``restore_best_weights`` puts back the best epoch's weights at the end of training.
- :class:`ModelCheckpoint` saves ``model.save(filepath.format(epoch=epoch + 1, **logs))``.
- :class:`TerminateOnNaN`, :class:`LambdaCallback`.
- :class:`ProgressBar`: ``422/422 [==============================] - 3s 7ms/step - loss: 0.2954 - ...``.
"""
from __future__ import annotations

import math
import os
import sys
import time
import warnings
from typing import Any, Callable, Iterable, TextIO

import numpy as np

__all__ = [
    "Callback", "CallbackList", "History", "EarlyStopping", "ModelCheckpoint", "TerminateOnNaN",
    "LambdaCallback", "ProgressBar",
]

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
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{cls}: mode must be 'auto', 'min' or 'max', got {mode!r}")
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


# ---------------------------------------------------------------------------------------------------- EarlyStopping
class EarlyStopping(Callback):
    """Stops training when the monitored quantity has stopped improving.

    An epoch improves when ``current - min_delta`` beats the best so far (``<`` in 'min' mode; in 'max' mode
    ``current - min_delta > best``, i.e. ``min_delta`` always demands that much progress). Each epoch without
    improvement increments ``wait``; once ``wait >= patience`` (and it is not the first epoch) training
    stops and ``stopped_epoch`` is that epoch. With a ``baseline``, ``wait`` is only reset by epochs that
    also beat the baseline. Epochs before ``start_from_epoch`` are ignored.

    Args:
        monitor: log key to watch, e.g. 'val_loss', 'val_accuracy'.
        min_delta: smallest change that counts as an improvement (its sign is ignored).
        patience: epochs without improvement before stopping.
        mode: 'min', 'max' or 'auto' ('max' when the name contains 'acc', else 'min').
        restore_best_weights: at the end of training, set the weights of the best epoch
            (``model.get_weights()`` / ``model.set_weights``), whether or not training stopped early.
        baseline: value the monitored quantity must beat.
        start_from_epoch: number of warm-up epochs not monitored.
        verbose: 1 prints when it stops and when it restores weights.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0, mode: str = "auto",
                 restore_best_weights: bool = False, baseline: float | None = None, start_from_epoch: int = 0,
                 verbose: int = 0) -> None:
        super().__init__()
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self.monitor = monitor
        self.patience = int(patience)
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = int(start_from_epoch)
        self.mode = mode
        self.monitor_op = _monitor_op(mode, monitor, "EarlyStopping")
        # Stored with the sign that makes `op(current - min_delta, best)` the improvement test in both modes.
        self.min_delta = abs(min_delta) if self.monitor_op is np.greater else -abs(min_delta)
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best: float | None = None
        self.best_weights: Any = None
        self.best_epoch = 0

    def on_train_begin(self, logs: Logs = None) -> None:
        self._reset()

    def _is_improvement(self, value: float, reference: float | None) -> bool:
        return reference is None or bool(self.monitor_op(value - self.min_delta, reference))

    def get_monitor_value(self, logs: Logs) -> float | None:
        logs = logs or {}
        value = _scalar(logs.get(self.monitor))
        if value is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(logs)}", RuntimeWarning, stacklevel=3)
        return value

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Nothing better seen yet: the current weights are the best so far.
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: Logs = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


# ---------------------------------------------------------------------------------------------------- ModelCheckpoint
class ModelCheckpoint(Callback):
    """Saves the model at the end of every epoch (or only when the monitored quantity improves).

    Args:
        filepath: str or path-like, formatted with ``epoch`` (1-based) and the epoch's logs, e.g.
            ``'ckpt/model-{epoch:02d}-{val_loss:.2f}.npz'``. Missing folders are created.
        monitor: log key compared when ``save_best_only``.
        save_best_only: save only when ``monitor`` beats the best value so far (strictly).
        mode: 'min', 'max' or 'auto' (as for :class:`EarlyStopping`).
        verbose: 1 prints a line for each decision.
    """

    def __init__(self, filepath: Any, monitor: str = "val_loss", save_best_only: bool = False, mode: str = "auto",
                 verbose: int = 0) -> None:
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.save_best_only = bool(save_best_only)
        self.verbose = verbose
        self.monitor_op = _monitor_op(mode, monitor, "ModelCheckpoint")
        self.best = -np.inf if self.monitor_op is np.greater else np.inf

    def _get_file_path(self, epoch: int, logs: dict[str, Any]) -> str:
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as err:
            raise KeyError(
                f"ModelCheckpoint: filepath {self.filepath!r} uses {err} which is not in the logs "
                f"(available: epoch, {', '.join(logs)})"
            ) from err

    def _save(self, path: str) -> None:
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        self.model.save(path)

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        logs = dict(logs or {})
        path = self._get_file_path(epoch, logs)
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {path}")
            self._save(path)
            return
        current = _scalar(logs.get(self.monitor))
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available, skipping.", RuntimeWarning,
                          stacklevel=2)
            return
        if self.monitor_op(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to {current:.5f}, "
                      f"saving model to {path}")
            self.best = current
            self._save(path)
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")


# ---------------------------------------------------------------------------------------------------- small ones
class TerminateOnNaN(Callback):
    """Stops training as soon as a batch's loss is NaN or infinite."""

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        loss = _scalar((logs or {}).get("loss"))
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback from plain functions, e.g. ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``.

    Keyword arguments: ``on_train_begin(logs)``, ``on_train_end(logs)``, ``on_epoch_begin(epoch, logs)``,
    ``on_epoch_end(epoch, logs)``, ``on_train_batch_begin(batch, logs)``, ``on_train_batch_end(batch, logs)``
    (also under their Keras aliases ``on_batch_begin`` / ``on_batch_end``).
    """

    _HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
              "on_train_batch_end", "on_batch_begin", "on_batch_end")

    def __init__(self, **hooks: Callable[..., Any]) -> None:
        super().__init__()
        for name, fn in hooks.items():
            if name not in self._HOOKS:
                raise ValueError(f"LambdaCallback: unknown hook {name!r}; known hooks: {', '.join(self._HOOKS)}")
            if fn is not None:
                setattr(self, name, fn)  # instance attribute shadows the no-op method


# ---------------------------------------------------------------------------------------------------- ProgressBar
def _format_value(v: Any) -> str:
    x = _scalar(v)
    if x is None:
        return f" {v}"
    return f" {x:.4f}" if abs(x) > 1e-3 else f" {x:.4e}"


def _format_time(seconds: float, unit: str) -> str:
    """Keras's per-unit time: whole seconds, milliseconds or microseconds."""
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/{unit}"
    return f" {seconds * 1e6:.0f}us/{unit}"


class ProgressBar:
    """Keras's progress display for one epoch.

    verbose=1 rewrites one line with ``'\\r'`` while training, at most every ``interval`` seconds (so the hot
    loop pays one clock read per batch), and ends with::

        422/422 [==============================] - 3s 7ms/step - loss: 0.2954 - accuracy: 0.9151

    verbose=2 prints only the final line, ``422/422 - 3s - loss: 0.2954 - accuracy: 0.9151``; verbose=0
    prints nothing. Values print with 4 decimals (``.4e`` when ``|x| <= 1e-3``).

    Args:
        steps: batches in the epoch (None when unknown).
        verbose: 0, 1 or 2.
        stream: where to write; default ``sys.stdout`` at construction time.
        width: characters inside the brackets.
        interval: minimum seconds between two redraws.
    """

    def __init__(self, steps: int | None, verbose: int = 1, stream: TextIO | None = None, width: int = 30,
                 interval: float = 0.05) -> None:
        self.steps = steps
        self.verbose = verbose
        self.stream = stream if stream is not None else sys.stdout
        self.width = width
        self.interval = interval
        self._start = time.monotonic()
        self._last_update = -math.inf
        self._prev_width = 0
        self._seen = 0  # last step passed to update(); the count shown at the end when steps is None

    def _bar(self, current: int) -> str:
        if self.steps is None:
            return f"{current:7d}/Unknown"
        digits = len(str(self.steps))
        bar = f"{current:{digits}d}/{self.steps} ["
        filled = int(self.width * min(current / self.steps, 1.0)) if self.steps else self.width
        if filled > 0:
            bar += "=" * (filled - 1) + (">" if current < self.steps else "=")
        return bar + "." * (self.width - filled) + "]"

    @staticmethod
    def _values(logs: Logs) -> str:
        return "".join(f" - {k}:{_format_value(v)}" for k, v in (logs or {}).items())

    def _write_line(self, text: str, final: bool) -> None:
        # Pad with spaces when the previous line was longer, so no characters of it remain visible.
        pad = " " * max(0, self._prev_width - len(text))
        self._prev_width = len(text)
        self.stream.write("\r" + text + pad + ("\n" if final else ""))
        self.stream.flush()

    def update(self, step: int, logs: Logs = None) -> None:
        """Shows progress after ``step`` batches (1-based) with the running ``logs`` (verbose=1 only)."""
        self._seen = step
        if self.verbose != 1:
            return
        now = time.monotonic()
        if now - self._last_update < self.interval:
            return
        self._last_update = now
        info = ""
        if step and self.steps is not None:
            eta = (now - self._start) / step * (self.steps - step)
            if eta > 3600:
                eta_s = f"{int(eta // 3600)}:{int(eta % 3600 // 60):02d}:{int(eta % 60):02d}"
            elif eta > 60:
                eta_s = f"{int(eta // 60)}:{int(eta % 60):02d}"
            else:
                eta_s = f"{int(eta)}s"
            info = f" - ETA: {eta_s}"
        self._write_line(self._bar(step) + info + self._values(logs), final=False)

    def end(self, logs: Logs = None, elapsed_seconds: float | None = None) -> None:
        """Prints the epoch's final line with its total time and time per step.

        Args:
            logs: the epoch's final logs (training and validation values).
            elapsed_seconds: the epoch's duration; default the time since construction.
        """
        if self.verbose not in (1, 2):
            return
        elapsed = time.monotonic() - self._start if elapsed_seconds is None else float(elapsed_seconds)
        steps = self.steps if self.steps is not None else self._seen
        if self.verbose == 1:
            per_step = elapsed / steps if steps else 0.0
            line = self._bar(steps if self.steps is not None else self._seen) + f" - {elapsed:.0f}s" + _format_time(per_step, "step") + self._values(logs)
            self._write_line(line, final=True)
        else:
            count = f"{steps}/{steps}" if self.steps is not None else f"{steps}/Unknown"
            self.stream.write(count + f" - {elapsed:.0f}s" + self._values(logs) + "\n")
            self.stream.flush()
