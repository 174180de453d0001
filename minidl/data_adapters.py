"""Batch sources for ``fit`` / ``evaluate`` / ``predict``: Python generators and iterators,
:class:`minidl.utils.PyDataset` (Keras's ``Sequence``), and the training loop over them.

Arrays keep the trainer's own path (shuffling, ``validation_split``); everything else goes through here:

- a :class:`~minidl.utils.PyDataset` (or any object with ``__len__`` and ``__getitem__`` that is not an
  array, list or tuple): batch ``i`` is ``ds[i]`` for ``i < len(ds)`` (or ``steps_per_epoch``) each epoch,
  then ``ds.on_epoch_end()``;
- a generator / iterator: ``steps_per_epoch`` batches are drawn per epoch from the same iterator (Keras
  semantics: the next epoch continues where the last one stopped). Without ``steps_per_epoch`` the first
  epoch runs until the iterator is exhausted and later epochs stop training with a warning, as Keras does
  ("your input ran out of data").

A batch is ``(x, y)`` or ``(x, y, sample_weight)`` (sample weights are not supported: a clear error) for
training and evaluation, ``x`` or ``(x,)`` / ``(x, y)`` for prediction. Each batch goes through the same
checks as arrays (dtype, shape, targets). An unsupported input (a string, a set, a DataFrame-like
object without the protocol) raises TypeError at once, before anything changes.
"""
from __future__ import annotations

import collections.abc
import time
import warnings
from typing import Any, Iterator

import numpy as np

from .autograd import Tensor, no_grad
from .utils import PyDataset

__all__ = ["is_batch_source", "check_array_input", "BatchSource", "fit_batches", "evaluate_batches",
           "predict_batches"]


def _is_indexed_dataset(x: Any) -> bool:
    if isinstance(x, PyDataset):
        return True
    if isinstance(x, (np.ndarray, Tensor, list, tuple, str, bytes, dict)):
        return False
    return hasattr(x, "__getitem__") and hasattr(x, "__len__") and not hasattr(x, "shape") \
        and not hasattr(x, "__array__")


def is_batch_source(x: Any) -> bool:
    """True for inputs handled here (generators, iterators, PyDataset-like), False for array-likes."""
    if _is_indexed_dataset(x):
        return True
    return isinstance(x, collections.abc.Iterator)


def check_array_input(x: Any, what: str = "x") -> None:
    """Raises TypeError at once for inputs that are neither array-like nor a batch source.

    Args:
        x: what was passed as ``x``.
        what: the argument's name in the message.
    """
    if isinstance(x, (str, bytes, set, frozenset)) or (isinstance(x, collections.abc.Iterable)
                                                           and not isinstance(x, (list, tuple, dict, np.ndarray, Tensor))
                                                           and not hasattr(x, "__array__")
                                                           and not is_batch_source(x)):
        raise TypeError(
            f"{what}: unsupported input type {type(x).__name__}; pass a NumPy array, a Tensor (a list or dict of "
            "them for several inputs), a Python "
            "generator or iterator yielding (x, y) batches, or a minidl.utils.PyDataset")


def _positive(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer or None, got {value!r}")
    return int(value)


class BatchSource:
    """One epoch of batches at a time from a generator, iterator or PyDataset.

    Args:
        data: the source. steps: batches per epoch (None: ``len(data)`` for a dataset, until exhausted for
            an iterator). what: the argument's name in messages.
    """

    def __init__(self, data: Any, steps: int | None = None, what: str = "x") -> None:
        self.data = data
        self.what = what
        self.indexed = _is_indexed_dataset(data)
        self.steps = _positive(steps, f"{what}: steps")
        if self.indexed:
            n = len(data)
            if self.steps is None:
                self.steps = int(n)
            elif self.steps > n:
                raise ValueError(f"{what}: steps={self.steps} but the dataset has only {n} batches")
            if self.steps == 0:
                raise ValueError(f"{what}: the dataset has no batches (len() is 0)")
            self._iter = None
        else:
            self._iter = iter(data)
        self.exhausted = False

    def epoch(self) -> Iterator[Any]:
        """Yields this epoch's batches (fewer than ``steps`` only when an iterator runs out)."""
        if self.indexed:
            for i in range(self.steps):
                yield self.data[i]
            return
        k = 0
        while self.steps is None or k < self.steps:
            try:
                batch = next(self._iter)
            except StopIteration:
                self.exhausted = True
                return
            k += 1
            yield batch

    def end_epoch(self) -> None:
        if self.indexed and hasattr(self.data, "on_epoch_end"):
            self.data.on_epoch_end()


def _split(batch: Any, what: str, need_y: bool) -> tuple[Any, Any]:
    if isinstance(batch, (tuple, list)) and not isinstance(batch, np.ndarray):
        if len(batch) == 3:
            raise NotImplementedError(f"{what}: batches (x, y, sample_weight) are not supported by minidl; "
                                      "yield (x, y)")
        if len(batch) == 2:
            return batch[0], batch[1]
        if len(batch) == 1:
            batch = batch[0]
        else:
            raise ValueError(f"{what}: a batch must be (x, y), got a sequence of {len(batch)} items")
    if need_y:
        raise ValueError(f"{what}: a batch must be a tuple (x, y), got {type(batch).__name__}")
    return batch, None


def _prepare(model: Any, batch: Any, what: str, need_y: bool = True) -> tuple[list, Any]:
    """One batch as the trainer's lists: (inputs, targets), checked against the model's inputs / outputs."""
    xb, yb = _split(batch, what, need_y)
    xs = model._as_xs(xb, f"{what} batch x")
    out_shapes = model._check_inputs(xs, f"{what} batch x")
    ys = None
    if yb is not None:
        ys = model._as_ys(yb, len(xs[0]), f"{what} batch y")
        if need_y:
            model._check_targets(ys, out_shapes, f"{what} batch y")
    return xs, ys


def _epoch_metrics(model: Any, batches: Iterator[Any], what: str, train: bool, bar: Any = None,
                   cbs: Any = None) -> tuple[dict[str, float], int, bool]:
    """Runs one pass; returns (logs, batches done, whether a non-finite loss stopped it)."""
    import math

    names = model.metrics_names
    seen, step = 0, 0
    sums = [0.0] * len(names)
    logs: dict[str, float] = {}
    for step, batch in enumerate(batches, start=1):
        if cbs is not None:
            cbs.on_train_batch_begin(step - 1)
        xs, ys = _prepare(model, batch, what)
        if train:
            value, values = model._train_step(xs, ys)
        else:
            values = model._test_step(xs, ys)
            value = values[0]
        m = len(xs[0])
        seen += m
        for i, v in enumerate(values):
            sums[i] += v * m
        logs = {k: s / seen for k, s in zip(names, sums)}
        if bar is not None:
            bar.update(step, logs)
        if cbs is not None:
            cbs.on_train_batch_end(step - 1, logs)
        if not math.isfinite(value):
            if train:
                msg = f"Batch {step - 1}: invalid loss {value}, terminating training"
                warnings.warn(msg, RuntimeWarning, stacklevel=3)
                return logs, step, True
        if train and getattr(model, "stop_training", False):
            break
    return logs, step, False


def fit_batches(model: Any, x: Any, epochs: int, verbose: int, callbacks: list, validation_data: Any,
                initial_epoch: int, steps_per_epoch: int | None, validation_steps: int | None) -> Any:
    """``fit`` over a batch source (see the module docstring); returns the History."""
    from . import callbacks as callbacks_module

    source = BatchSource(x, steps_per_epoch, "x")
    val_source = val_arrays = None
    if validation_data is not None:
        if is_batch_source(validation_data):
            val_source = BatchSource(validation_data, validation_steps, "validation_data")
        else:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a tuple (x_val, y_val), a generator or a PyDataset")
            xv = model._as_xs(validation_data[0], "validation_data x")
            yv = model._as_ys(validation_data[1], len(xv[0]), "validation_data y")
            model._check_targets(yv, model._check_inputs(xv, "validation_data x"), "validation_data y")
            val_arrays = (xv, yv)
    history = callbacks_module.History()
    cbs = callbacks_module.CallbackList([*callbacks, history], model=model,
                                        params={"verbose": verbose, "epochs": epochs, "steps": source.steps,
                                                "do_validation": validation_data is not None})
    model.stop_training = False
    model._prepare_run()
    cbs.on_train_begin()
    logs: dict[str, float] = {}
    for epoch in range(initial_epoch, epochs):
        if verbose:
            print(f"Epoch {epoch + 1}/{epochs}")
        if source.indexed and hasattr(source.data, "on_epoch_begin"):
            source.data.on_epoch_begin()
        cbs.on_epoch_begin(epoch)
        bar = callbacks_module.ProgressBar(source.steps, verbose)
        start = time.monotonic()
        logs, done, bad = _epoch_metrics(model, source.epoch(), "x", True, bar, cbs)
        if done == 0:
            warnings.warn("Your input ran out of data; interrupting training. Make sure that your dataset or "
                          "generator can generate at least `steps_per_epoch * epochs` batches.", UserWarning,
                          stacklevel=3)
            break
        if bad:
            model.stop_training = True
        elif val_arrays is not None:
            val = model._evaluate_arrays(*val_arrays, 32)
            logs.update({f"val_{k}": v for k, v in zip(model.metrics_names, val)})
        elif val_source is not None:
            with no_grad():
                vlogs, _, _ = _epoch_metrics(model, val_source.epoch(), "validation_data", False)
            val_source.end_epoch()
            logs.update({f"val_{k}": v for k, v in vlogs.items()})
        bar.end(logs, time.monotonic() - start)
        source.end_epoch()
        cbs.on_epoch_end(epoch, logs)
        if source.steps is None and source.exhausted:
            source.steps = done  # an iterator without steps_per_epoch: later epochs find it empty
        if model.stop_training:
            break
    cbs.on_train_end(logs)
    model.history = history
    return history


def evaluate_batches(model: Any, x: Any, steps: int | None, verbose: int) -> Any:
    """``evaluate`` over a batch source: ``[loss, *metrics]`` (the loss alone without metrics), means over
    all samples."""
    from . import callbacks as callbacks_module

    source = BatchSource(x, steps, "x")
    model._prepare_run()
    bar = callbacks_module.ProgressBar(source.steps, verbose) if verbose else None
    start = time.monotonic()
    with no_grad():
        logs, done, _ = _epoch_metrics(model, source.epoch(), "x", False, bar)
    if done == 0:
        raise ValueError("evaluate: the input produced no batches")
    if bar is not None:
        bar.end(logs, time.monotonic() - start)
    result = [logs[k] for k in model.metrics_names]
    return result if len(result) > 1 else result[0]


def predict_batches(model: Any, x: Any, steps: int | None, verbose: int) -> Any:
    """``predict`` over a batch source: the outputs of every batch, concatenated (one array per output)."""
    from . import callbacks as callbacks_module

    source = BatchSource(x, steps, "x")
    bar = callbacks_module.ProgressBar(source.steps, verbose) if verbose else None
    k = model._n_outputs()
    outs: list[list[np.ndarray]] = []
    with no_grad():
        for i, batch in enumerate(source.epoch(), start=1):
            xs, _ = _prepare(model, batch, "x", need_y=False)
            outs.append([o.numpy() for o in model._forward_all([model._batch_tensor(a) for a in xs], False,
                                                                [False] * k)])
            if bar is not None:
                bar.update(i)
    if bar is not None:
        bar.end()
    if not outs:
        raise ValueError("predict: the input produced no batches")
    return model._pack_outputs([np.concatenate(parts, axis=0) for parts in zip(*outs)])
