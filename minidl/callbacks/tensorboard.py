"""TensorBoard: real event files that ``tensorboard --logdir <log_dir>`` shows, written without TensorFlow.

As Keras 3 lays them out: ``<log_dir>/train`` holds ``epoch_<name>`` scalars of the training logs (and
``epoch_learning_rate``), ``<log_dir>/validation`` the ``val_`` ones under the same names (so TensorBoard
draws train and validation curves in one chart), one point per epoch at step = epoch (0-based). With
``update_freq='batch'`` or an integer N, ``batch_<name>`` scalars are added every N batches at the global
batch number; ``histogram_freq=N`` writes a ``<weight name>/histogram`` of every weight every N epochs.
The record format is in :mod:`minidl.callbacks._events`.
"""
from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from ._events import EventFileWriter
from .base import Callback, Logs, _check_bool, _check_int, _scalar

__all__ = ["TensorBoard"]


class TensorBoard(Callback):
    """Writes scalars (and optionally weight histograms) for TensorBoard.

    Args:
        log_dir: root folder of the run (created as needed).
        histogram_freq: every how many epochs to write weight histograms (0: never).
        write_graph: accepted for Keras compatibility; minidl writes no graph.
        write_images, profile_batch, embeddings_freq, embeddings_metadata: Keras features minidl does not
            have; only their defaults (False, 0, 0, None) are accepted.
        write_steps_per_second: also log ``epoch_steps_per_second``.
        update_freq: 'epoch', 'batch' (every batch) or an integer N (every N batches) for ``batch_`` scalars.

    Raises:
        ValueError: for bad or unsupported arguments at construction; in ``on_train_begin`` when
            ``log_dir`` cannot be created (before any weight changes).
    """

    def __init__(self, log_dir: Any = "logs", histogram_freq: int = 0, write_graph: bool = True,
                 write_images: bool = False, write_steps_per_second: bool = False, update_freq: Any = "epoch",
                 profile_batch: int = 0, embeddings_freq: int = 0, embeddings_metadata: Any = None) -> None:
        super().__init__()
        cls = "TensorBoard"
        try:
            self.log_dir = os.fspath(log_dir)
        except TypeError:
            raise ValueError(f"{cls}: log_dir must be a string or path-like, got {log_dir!r}") from None
        if not isinstance(self.log_dir, str) or not self.log_dir:
            raise ValueError(f"{cls}: log_dir must be a non-empty string, got {log_dir!r}")
        self.histogram_freq = _check_int(histogram_freq, "histogram_freq", cls)
        self.write_graph = _check_bool(write_graph, "write_graph", cls)
        self.write_steps_per_second = _check_bool(write_steps_per_second, "write_steps_per_second", cls)
        if _check_bool(write_images, "write_images", cls):
            raise ValueError(f"{cls}: write_images=True is not supported by minidl (weights as images: see "
                             "minidl.viz)")
        if profile_batch not in (0, None) or embeddings_freq not in (0, None) or embeddings_metadata is not None:
            raise ValueError(f"{cls}: profiling and embeddings are not supported by minidl; leave profile_batch=0, "
                             "embeddings_freq=0, embeddings_metadata=None")
        if update_freq == "epoch":
            self.update_freq = 0
        elif update_freq == "batch":
            self.update_freq = 1
        else:
            self.update_freq = _check_int(update_freq, "update_freq ('epoch', 'batch' or an integer)", cls, 1)
        self._train: EventFileWriter | None = None
        self._val: EventFileWriter | None = None
        self._global_batch = 0
        self._epoch_start = 0.0
        self._epoch_batches = 0

    # ------------------------------------------------------------------ writers
    def _writer(self, which: str) -> EventFileWriter:
        if which == "train":
            if self._train is None:
                self._train = EventFileWriter(os.path.join(self.log_dir, "train"))
            return self._train
        if self._val is None:
            self._val = EventFileWriter(os.path.join(self.log_dir, "validation"))
        return self._val

    def on_train_begin(self, logs: Logs = None) -> None:
        if os.path.exists(self.log_dir) and not os.path.isdir(self.log_dir):
            raise ValueError(f"TensorBoard: log_dir {self.log_dir!r} exists and is not a folder")
        try:
            self._writer("train")
        except OSError as err:
            raise ValueError(f"TensorBoard: cannot write in log_dir {self.log_dir!r}: {err}") from None
        self._global_batch = 0

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        self._epoch_start = time.monotonic()
        self._epoch_batches = 0

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._global_batch += 1
        self._epoch_batches += 1
        if self.update_freq and self._global_batch % self.update_freq == 0:
            scalars = {f"batch_{k}": v for k, v in (logs or {}).items() if _scalar(v) is not None}
            if scalars:
                self._writer("train").add(self._global_batch, scalars)

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        logs = logs or {}
        train, val = {}, {}
        for k, v in logs.items():
            x = _scalar(v)
            if x is None:
                continue
            if k.startswith("val_"):
                val[f"epoch_{k[4:]}"] = x
            else:
                train[f"epoch_{k}"] = x
        opt = getattr(self.model, "optimizer", None)
        if "epoch_learning_rate" not in train and opt is not None:
            try:
                train["epoch_learning_rate"] = float(opt.learning_rate)
            except (TypeError, ValueError):
                pass
        if self.write_steps_per_second:
            elapsed = time.monotonic() - self._epoch_start
            train["epoch_steps_per_second"] = self._epoch_batches / elapsed if elapsed > 0 else 0.0
        histograms = None
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            histograms = {}
            for i, w in enumerate(getattr(self.model, "weights", [])):
                name = (getattr(w, "name", None) or f"weight_{i}").replace(":", "_")
                data = w.data if isinstance(w.data, np.ndarray) else w.data.copy_to_host()
                histograms[f"{name}/histogram"] = data
        writer = self._writer("train")
        writer.add(epoch, train, histograms)
        writer.flush()
        if val:
            vw = self._writer("validation")
            vw.add(epoch, val)
            vw.flush()

    def on_train_end(self, logs: Logs = None) -> None:
        for w in (self._train, self._val):
            if w is not None:
                w.close()
        self._train = self._val = None
