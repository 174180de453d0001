"""CSVLogger: one row per epoch (``epoch`` then the sorted log keys), as Keras 3 writes it."""
from __future__ import annotations

import collections
import csv
import os
from typing import Any

import numpy as np

from .base import Callback, Logs, _check_bool

__all__ = ["CSVLogger"]


class CSVLogger(Callback):
    """Streams the epoch results to a CSV file.

    The file is opened in ``on_train_begin`` (so a bad path fails before any weight changes) and flushed
    after every row. The header is ``epoch`` followed by the first epoch's log keys in sorted order; a key
    missing in a later epoch is written as ``NA``. With ``append=True`` rows are added to an existing file
    and the header is written only when the file is empty.

    Args:
        filename: path of the CSV file.
        separator: the one-character field delimiter.
        append: append to an existing file instead of overwriting it.
    """

    def __init__(self, filename: Any, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        try:
            self.filename = os.fspath(filename)
        except TypeError:
            raise ValueError(f"CSVLogger: filename must be a string or path-like, got {filename!r}") from None
        if not isinstance(self.filename, str) or not self.filename:
            raise ValueError(f"CSVLogger: filename must be a non-empty string, got {filename!r}")
        if not isinstance(separator, str) or len(separator) != 1 or separator in "\r\n\"":
            raise ValueError(f"CSVLogger: separator must be one character (not a quote or newline), got {separator!r}")
        self.sep = separator
        self.append = _check_bool(append, "append", "CSVLogger")
        self.append_header = True
        self.csv_file: Any = None
        self.writer: Any = None
        self.keys: list[str] | None = None

    def on_train_begin(self, logs: Logs = None) -> None:
        if os.path.isdir(self.filename):
            raise ValueError(f"CSVLogger: {self.filename!r} is a folder; give a file name such as 'training.csv'")
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, "r", newline="") as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        try:
            self.csv_file = open(self.filename, mode, newline="")
        except OSError as err:
            raise ValueError(f"CSVLogger: cannot open {self.filename!r} for writing: {err}") from None
        self.writer = None
        self.keys = None

    @staticmethod
    def _value(v: Any) -> Any:
        if isinstance(v, str):
            return v
        if isinstance(v, collections.abc.Iterable) and not (isinstance(v, np.ndarray) and v.ndim == 0):
            return f"\"[{', '.join(map(str, v))}]\""
        return v

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        if self.writer is None:
            class Dialect(csv.excel):
                delimiter = self.sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch", *self.keys], dialect=Dialect)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch, **{k: self._value(logs.get(k, "NA")) for k in self.keys}}
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs: Logs = None) -> None:
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None
