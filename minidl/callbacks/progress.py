"""Keras's progress bar, printed by ``fit`` / ``evaluate`` / ``predict``."""
from __future__ import annotations

import math
import os
import sys
import time
import warnings
from typing import Any, Callable, Iterable, TextIO

import numpy as np

from .base import Logs, _scalar

__all__ = ["ProgressBar"]


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
