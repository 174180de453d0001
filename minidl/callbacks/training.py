"""Callbacks that watch or steer training: EarlyStopping, ModelCheckpoint, TerminateOnNaN, LambdaCallback.

Semantics follow Keras 3 unless stated. Every argument is checked when the callback is made; what only
the model can tell (ModelCheckpoint's file name placeholders and path) is checked in ``on_train_begin``,
before the first batch changes any weight.
"""
from __future__ import annotations

import inspect
import math
import os
import string
import warnings
from typing import Any, Callable

import numpy as np

from .base import (
    Callback, Logs, _check_bool, _check_int, _check_mode, _check_number, _check_str, _check_verbose, _monitor_op,
    _scalar,
)

__all__ = ["EarlyStopping", "ModelCheckpoint", "TerminateOnNaN", "LambdaCallback"]


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
        cls = "EarlyStopping"
        self.monitor = _check_str(monitor, "monitor", cls)
        min_delta = _check_number(min_delta, "min_delta", cls)
        self.patience = _check_int(patience, "patience", cls)
        self.verbose = _check_verbose(verbose, cls)
        self.baseline = _check_number(baseline, "baseline", cls, allow_none=True)
        self.restore_best_weights = _check_bool(restore_best_weights, "restore_best_weights", cls)
        self.start_from_epoch = _check_int(start_from_epoch, "start_from_epoch", cls)
        self.mode = _check_mode(mode, cls)
        self.monitor_op = _monitor_op(mode, monitor, cls)
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
        save_weights_only: save only the weights (``model.save_weights``), not the whole model.
        mode: 'min', 'max' or 'auto' (as for :class:`EarlyStopping`).
        verbose: 1 prints a line for each decision.

    Raises:
        ValueError: at construction for bad arguments; in ``on_train_begin`` (before any weight changes) for
            a placeholder the logs will not have, a malformed format, a path that is a folder, a folder that
            cannot be written, or a Keras-only extension (.h5 / .keras).
    """

    def __init__(self, filepath: Any, monitor: str = "val_loss", save_best_only: bool = False,
                 save_weights_only: bool = False, mode: str = "auto", verbose: int = 0) -> None:
        super().__init__()
        cls = "ModelCheckpoint"
        try:
            self.filepath = os.fspath(filepath)
        except TypeError:
            raise ValueError(f"{cls}: filepath must be a string or path-like, got {filepath!r}") from None
        if not isinstance(self.filepath, str) or not self.filepath:
            raise ValueError(f"{cls}: filepath must be a non-empty string, got {filepath!r}")
        self.monitor = _check_str(monitor, "monitor", cls)
        self.save_best_only = _check_bool(save_best_only, "save_best_only", cls)
        self.save_weights_only = _check_bool(save_weights_only, "save_weights_only", cls)
        self.verbose = _check_verbose(verbose, cls)
        self.monitor_op = _monitor_op(mode, monitor, cls)
        self.best = -np.inf if self.monitor_op is np.greater else np.inf
        self._check_format_syntax()

    def _fields(self) -> list[str]:
        return [f for _, f, _, _ in string.Formatter().parse(self.filepath) if f is not None]

    def _check_format_syntax(self) -> None:
        try:
            fields = self._fields()
        except ValueError as err:
            raise ValueError(f"ModelCheckpoint: filepath {self.filepath!r} is not a valid format string: {err}") from None
        for f in fields:
            if f == "" or not f.isidentifier():
                raise ValueError(f"ModelCheckpoint: filepath {self.filepath!r} has the placeholder {{{f}}}; use "
                                 "names like {epoch:02d} or {val_loss:.2f}")

    def _available_keys(self) -> list[str] | None:
        names = getattr(self.model, "metrics_names", None)
        if not names:  # a model that does not say what it logs: only the syntax can be checked
            return None
        # fit says whether it validates (params['do_validation']); without it the val_ keys never come
        val = [f"val_{n}" for n in names] if self.params.get("do_validation", True) else []
        return ["epoch", *names, *val]

    def on_train_begin(self, logs: Logs = None) -> None:
        cls = "ModelCheckpoint"
        known = self._available_keys()
        missing = [f for f in self._fields() if known is not None and f not in known]
        if known is None:
            known = ["epoch", *(f for f in self._fields() if f != "epoch")]
        if missing:
            raise ValueError(f"{cls}: filepath {self.filepath!r} uses {{{missing[0]}}}, which the logs will not have "
                             f"(available: {', '.join(known)})")
        try:
            path = self.filepath.format(**{k: (1 if k == "epoch" else 0.5) for k in known})
        except (ValueError, TypeError) as err:
            raise ValueError(f"{cls}: filepath {self.filepath!r} cannot be formatted: {err}") from None
        if self.save_weights_only and not callable(getattr(self.model, "save_weights", None)):
            raise ValueError(f"{cls}: save_weights_only=True but {type(self.model).__name__} has no save_weights()")
        if os.path.splitext(path)[1].lower() in (".h5", ".hdf5", ".keras"):
            raise ValueError(f"{cls}: filepath {self.filepath!r} asks for a Keras-only format "
                             f"({os.path.splitext(path)[1]}); minidl saves .npz files: use e.g. "
                             f"{os.path.splitext(self.filepath)[0]!r} + '.npz'")
        if os.path.isdir(path):
            raise ValueError(f"{cls}: filepath {path!r} is a folder; give a file name, e.g. "
                             f"{os.path.join(self.filepath, 'model-{epoch:02d}.npz')!r}")
        folder = os.path.dirname(os.path.abspath(path))
        existing = folder
        while not os.path.exists(existing):
            existing = os.path.dirname(existing)
        if not os.path.isdir(existing) or not os.access(existing, os.W_OK | os.X_OK):
            raise ValueError(f"{cls}: cannot write {path!r}: {existing!r} is not a writable folder")

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
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
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

    Raises:
        ValueError: for an unknown hook, or a hook that is not callable with its arguments (checked now,
            not when training reaches it).
    """

    _HOOKS = {"on_train_begin": 1, "on_train_end": 1, "on_epoch_begin": 2, "on_epoch_end": 2,
              "on_train_batch_begin": 2, "on_train_batch_end": 2, "on_batch_begin": 2, "on_batch_end": 2}

    def __init__(self, **hooks: Callable[..., Any]) -> None:
        super().__init__()
        for name, fn in hooks.items():
            if name not in self._HOOKS:
                raise ValueError(f"LambdaCallback: unknown hook {name!r}; known hooks: {', '.join(self._HOOKS)}")
            if fn is None:
                continue
            args = ("logs",) if self._HOOKS[name] == 1 else ("epoch" if "epoch" in name else "batch", "logs")
            if not callable(fn):
                raise ValueError(f"LambdaCallback: {name} must be a function of ({', '.join(args)}), got {fn!r}")
            try:
                inspect.signature(fn).bind(*args)
            except TypeError:
                raise ValueError(f"LambdaCallback: {name} is called as {name}({', '.join(args)}) but "
                                 f"{getattr(fn, '__name__', fn)!r} takes {inspect.signature(fn)}") from None
            except ValueError:  # no signature (some builtins): trust it
                pass
            setattr(self, name, fn)  # instance attribute shadows the no-op method
