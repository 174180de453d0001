"""Callbacks that change the learning rate: ReduceLROnPlateau and LearningRateScheduler (Keras 3's rules).

Both write the optimizer's ``learning_rate`` and add ``'learning_rate'`` to the epoch's logs (so History,
CSVLogger and TensorBoard record it). An optimizer driven by a
:class:`~minidl.optimizers.schedules.LearningRateSchedule` cannot be set to a number: they raise in
``on_train_begin``, before any weight changes.
"""
from __future__ import annotations

import inspect
import warnings
from typing import Any, Callable

import numpy as np

from .base import Callback, Logs, _check_int, _check_mode, _check_number, _check_str, _check_verbose, _scalar

__all__ = ["ReduceLROnPlateau", "LearningRateScheduler"]


def _settable_lr(model: Any, cls: str) -> None:
    opt = getattr(model, "optimizer", None)
    if opt is None:
        raise ValueError(f"{cls}: the model has no optimizer; compile it first")
    if getattr(opt, "learning_rate_schedule", None) is not None:
        raise ValueError(f"{cls}: the optimizer's learning rate is driven by "
                         f"{opt.learning_rate_schedule!r} and cannot be set by a callback; create the optimizer "
                         "with a float learning_rate")


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by ``factor`` when ``monitor`` has not improved for ``patience`` epochs.

    Keras 3's rule: an epoch improves when ``current < best - min_delta`` ('min') or
    ``current > best + min_delta`` ('max'; 'auto' is 'max' when the name contains 'acc'). While
    ``cooldown`` epochs run after a reduction, ``wait`` stays 0. Otherwise each epoch without improvement
    increments ``wait``; at ``wait >= patience`` the rate becomes ``max(lr · factor, min_lr)`` (only when
    ``lr > min_lr``), the cooldown starts and ``wait`` resets.

    Args:
        monitor: log key, default 'val_loss'. factor: in (0, 1). patience: epochs (>= 0). verbose: 0 or 1.
        mode: 'auto', 'min' or 'max'. min_delta: >= 0. cooldown: epochs (>= 0). min_lr: >= 0.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0) -> None:
        super().__init__()
        cls = "ReduceLROnPlateau"
        self.monitor = _check_str(monitor, "monitor", cls)
        self.factor = _check_number(factor, "factor", cls, minimum=0.0, strict=True)
        if self.factor >= 1.0:
            raise ValueError(f"{cls}: does not support a factor >= 1.0, got factor={factor!r}")
        self.patience = _check_int(patience, "patience", cls)
        self.verbose = _check_verbose(verbose, cls)
        self.mode = _check_mode(mode, cls)
        self.min_delta = _check_number(min_delta, "min_delta", cls, minimum=0.0)
        self.cooldown = _check_int(cooldown, "cooldown", cls)
        self.min_lr = _check_number(min_lr, "min_lr", cls, minimum=0.0)
        self._reset()

    def _reset(self) -> None:
        if self.mode == "min" or (self.mode == "auto" and "acc" not in self.monitor):
            self.monitor_op = lambda a, b: np.less(a, b - self.min_delta)
            self.best = np.inf
        else:
            self.monitor_op = lambda a, b: np.greater(a, b + self.min_delta)
            self.best = -np.inf
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_train_begin(self, logs: Logs = None) -> None:
        _settable_lr(self.model, "ReduceLROnPlateau")
        self._reset()

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        logs = logs if logs is not None else {}
        opt = self.model.optimizer
        logs["learning_rate"] = float(opt.learning_rate)
        current = _scalar(logs.get(self.monitor))
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs)}.", RuntimeWarning, stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self.monitor_op(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(opt.learning_rate)
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    if new_lr > 0:  # min_lr = 0 and an underflowing product: keep the last positive rate
                        opt.learning_rate = new_lr
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of each epoch to ``schedule(epoch, lr)`` (0-based ``epoch``,
    ``lr`` the current rate), or ``schedule(epoch)`` for a one-argument function, as Keras 3.

    Raises:
        ValueError: for a schedule that is not a function of (epoch, lr) or (epoch); at the start of an
            epoch, for a returned value that is not a finite number > 0 (before that epoch's first batch).
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        cls = "LearningRateScheduler"
        if not callable(schedule):
            raise ValueError(f"{cls}: schedule must be a function of (epoch, lr), got {schedule!r}")
        self._two_args = True
        try:
            sig = inspect.signature(schedule)
            try:
                sig.bind(0, 0.1)
            except TypeError:
                sig.bind(0)
                self._two_args = False
        except TypeError:
            raise ValueError(f"{cls}: schedule is called as schedule(epoch, lr) or schedule(epoch), but "
                             f"{getattr(schedule, '__name__', schedule)!r} takes {inspect.signature(schedule)}") from None
        except ValueError:  # no signature available: call it with two arguments
            pass
        self.schedule = schedule
        self.verbose = _check_verbose(verbose, cls)

    def on_train_begin(self, logs: Logs = None) -> None:
        _settable_lr(self.model, "LearningRateScheduler")

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        opt = self.model.optimizer
        lr = float(opt.learning_rate)
        new = self.schedule(epoch, lr) if self._two_args else self.schedule(epoch)
        value = _scalar(new)
        if value is None or isinstance(new, (bool, np.bool_)) or not np.isfinite(value) or value <= 0:
            raise ValueError(f"LearningRateScheduler: the schedule returned {new!r} for epoch {epoch}; it must "
                             "return a finite number > 0")
        opt.learning_rate = value
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {value}.")

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)
