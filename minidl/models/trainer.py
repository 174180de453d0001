"""The training loop shared by every model (:class:`~minidl.models.Sequential` and the functional
:class:`~minidl.models.Model`): compile / fit / evaluate / predict / train_on_batch / test_on_batch.

A model class inherits :class:`Trainer` and provides the few hooks that depend on its structure
(:meth:`Trainer._check_input`, :meth:`Trainer._forward`, :meth:`Trainer._output_layer`,
:meth:`Trainer._all_layers`); everything else, the checks, the loop, callbacks and metrics, is written once here.
A Keras MNIST script runs with only its imports changed::

    from minidl import layers, models
    model = models.Sequential([layers.Input((28, 28, 1)), layers.Conv2D(32, 3, activation='relu'), ...])
    model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
    history = model.fit(x_train, y_train, batch_size=128, epochs=15, validation_split=0.1)

What ``fit`` does, and why:

- **Everything is checked before anything changes.** Shapes, lengths, labels against the loss, NaN/Inf in
  x, argument ranges: a bad call raises ValueError/TypeError saying what is wrong and leaves weights,
  optimizer state and history exactly as they were.
- **Fused output + loss.** When the last layer ends in softmax (sigmoid) and the loss is a cross-entropy
  that fuses with it (``loss.fuses_with``), the model computes the last layer's pre-activation output and
  calls ``loss.from_logits``: the same loss value, but no ``log(0)`` and the gradient is simply
  ``(p - t) / N``. ``predict`` and ``evaluate`` still see probabilities.
- **A training step** is: forward in graph mode, loss (+ the layers' activity-regularization terms),
  ``loss.backward()``, ``optimizer.apply_gradients(trainable weights)``, then ``p.grad = None``.
- **NaN/Inf loss** stops training (like Keras's TerminateOnNaN, but on by default) *before* the bad
  update is applied, prints ``Batch k: invalid loss nan, terminating training`` and warns with a
  RuntimeWarning; the history so far is kept.
- ``validation_split`` takes the *last* samples before shuffling (Keras); shuffling uses minidl's global
  generator (:func:`minidl.utils.set_random_seed` makes runs reproducible).
"""
from __future__ import annotations

from __future__ import annotations

import math
import time
import warnings
from typing import Any, Sequence

import numpy as np

from .. import callbacks as callbacks_module
from .. import losses as losses_module
from .. import metrics as metrics_module
from .. import optimizers as optimizers_module
from .._validate import check_bool, check_callable, check_rate, describe
from ..autograd import Tensor, no_grad
from ..layers import Activation, Dense, Layer, _ActivationMixin
from ..random import get_rng

__all__ = ["Trainer"]


# ---------------------------------------------------------------------------------------------------- checks
def _positive_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _as_x(x: Any, what: str = "x") -> np.ndarray:
    """x as a C-contiguous float32 array, checked once per call (not per batch)."""
    if isinstance(x, Tensor):
        x = x.numpy()
    if isinstance(x, (list, tuple)) and x and all(isinstance(a, np.ndarray) for a in x) and len(x) != 1 \
            and any(a.shape != x[0].shape for a in x):
        raise TypeError(f"{what}: a list of arrays (several inputs) is not supported by Sequential; pass one array")
    try:
        a = np.asarray(x)
    except (ValueError, TypeError) as e:
        raise TypeError(f"{what} must be a numeric array, got {type(x).__name__} ({e})") from None
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be numeric, got dtype {a.dtype} ({type(x).__name__})")
    if a.ndim == 0:
        raise ValueError(f"{what} must have a batch dimension, got a scalar")
    if a.shape[0] == 0:
        raise ValueError(f"{what} is empty (0 samples)")
    a = np.ascontiguousarray(a, dtype=np.float32)
    if not np.isfinite(a).all():
        bad = int(a.size - np.count_nonzero(np.isfinite(a)))
        raise ValueError(f"{what} contains {bad} NaN or Inf value(s) (after conversion to float32); clean or "
                         f"impute them before training")
    return a


def _as_y(y: Any, n: int, what: str = "y") -> np.ndarray:
    if y is None:
        raise ValueError(f"{what} is missing: fit/evaluate need targets")
    if isinstance(y, Tensor):
        y = y.numpy()
    a = np.asarray(y)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be numeric, got dtype {a.dtype}")
    if a.ndim == 0:
        raise ValueError(f"{what} must have a batch dimension, got a scalar")
    if len(a) != n:
        raise ValueError(f"x and {what} have different lengths: {n} samples in x, {len(a)} in {what}")
    if a.dtype.kind == "f":
        a = np.ascontiguousarray(a, dtype=np.float32)  # cast once; the losses cast to the output dtype
    return a


def _check_verbose(verbose: Any) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
    return int(verbose)


def _tree(layers: Sequence[Layer]) -> list[Layer]:
    """Every layer, nested ones included (depth first)."""
    out: list[Layer] = []
    for layer in layers:
        out.append(layer)
        out.extend(_tree(layer._sublayers()))
    return out



class Trainer:
    """compile / fit / evaluate / predict for a model; mixed into the model classes before :class:`Layer`.

    Attributes:
        optimizer, loss, metrics: set by :meth:`compile` (``loss`` is the Loss object).
        history: the :class:`~minidl.callbacks.History` of the last :meth:`fit`.
        stop_training: set it to True (a callback does) to stop :meth:`fit` after the current batch.
    """

    def _init_trainer(self) -> None:
        self.optimizer: optimizers_module.Optimizer | None = None
        self.loss: losses_module.Loss | None = None
        self.metrics: list[metrics_module.Metric] = []
        self.history: callbacks_module.History | None = None
        self.stop_training = False
        self._device = "cpu"

    # -------------------------------------------------------------- hooks of the model classes
    def _check_input(self, x: np.ndarray, what: str = "x") -> tuple:
        """Checks ``x`` against the model's input shape (building the model on first use); returns the
        output shape."""
        raise NotImplementedError

    def _forward(self, x: Tensor, training: bool, logits: bool) -> Tensor:
        """The model's output for ``x``; with ``logits`` the output layer's pre-activation instead."""
        raise NotImplementedError

    def _output_layer(self) -> Layer | None:
        """The layer that produces the output (whose activation may fuse with the loss)."""
        raise NotImplementedError

    def _all_layers(self) -> list[Layer]:
        """Every layer, nested ones included: their ``losses`` are added to the training loss."""
        raise NotImplementedError

    def _check_has_layers(self, what: str) -> None:
        """ValueError when the model has nothing to run."""

    # -------------------------------------------------------------- device
    def to(self, device: str) -> "Trainer":
        """Moves every weight (and the optimizer's slots) to ``device`` ('cpu' or 'cuda') in place; ``fit``
        then moves each batch there and ``predict`` returns NumPy arrays."""
        from ..device import move_model

        move_model(self, device, self.optimizer)
        self._device = device
        return self

    # -------------------------------------------------------------- compile
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, metrics: Sequence[Any] | None = None) -> None:
        """Chooses the optimizer, the loss and the metrics logged during training.

        Args:
            optimizer: a name ('sgd', 'adam', 'rmsprop') or an optimizer object.
            loss: a name ('categorical_crossentropy', 'sparse_categorical_crossentropy',
                'binary_crossentropy', 'mse'), a Loss, or a callable ``fn(y_true, y_pred) -> Tensor``.
            metrics: names ('accuracy', 'mae', ...) or callables.

        Raises:
            ValueError: for unknown names (listing the known ones); the model is unchanged then.
        """
        if callable(loss) and not isinstance(loss, (losses_module.Loss, type)):
            check_callable(loss, "compile: loss", 2, purpose="a loss: a name, a Loss, or fn(y_true, y_pred) "
                           "returning a scalar Tensor")
        opt = optimizers_module.get(optimizer)
        loss_obj = losses_module.get(loss) if loss is not None else None
        if metrics is None:
            metrics = []
        elif isinstance(metrics, (str, metrics_module.Metric)) or callable(metrics):
            metrics = [metrics]
        mets = [metrics_module.get(m, loss_obj) for m in metrics]
        names = [m.name for m in mets]
        if len(set(names)) != len(names) or "loss" in names:
            raise ValueError(f"metric names must be unique and differ from 'loss', got {names}")
        self.optimizer, self.loss, self.metrics = opt, loss_obj, mets
        if self._device != "cpu":
            from ..device import move_model

            move_model(self, self._device, opt)

    @property
    def metrics_names(self) -> list[str]:
        return ["loss", *(m.name for m in self.metrics)]

    # -------------------------------------------------------------- validation shared by fit/evaluate/predict
    def _check_compiled(self, what: str) -> None:
        if self.optimizer is None or self.loss is None:
            raise RuntimeError(f"{what}: the model must be compiled with a loss first; call "
                               f"model.compile(optimizer=..., loss=...)")

    def _check_targets(self, y: np.ndarray, out_shape: tuple, what: str = "y") -> None:
        try:
            self.loss.check_targets(y, (len(y), *out_shape[1:]))
        except ValueError as e:
            raise ValueError(f"{what}: {e}") from None

    # -------------------------------------------------------------- steps
    def _fused(self) -> bool:
        """Whether the loss can be computed from the output layer's pre-activation output."""
        fw = getattr(self.loss, "fuses_with", None)
        last = self._output_layer()
        if fw is None or not isinstance(last, _ActivationMixin) or last.activation_name != fw:
            return False
        if last.activity_regularizer is not None:
            return False
        if fw == "softmax":  # the fused softmax cross-entropy works on (N, K) rows
            return isinstance(last, (Dense, Activation)) and len(self.output_shape) == 2
        return True

    def _loss_tensor(self, x: Tensor, y: np.ndarray, training: bool) -> tuple[Tensor, Tensor]:
        """(loss, output) for one batch; the output is the logits when fused (see :meth:`_fused`)."""
        out = self._forward(x, training=training, logits=self._fused_now)
        loss = self.loss.from_logits(y, out) if self._fused_now else self.loss(y, out)
        if not isinstance(loss, Tensor):
            raise TypeError(f"the loss {getattr(self.loss, 'name', self.loss)!r} returned {describe(loss)}; a loss "
                            "must return a scalar Tensor computed from y_pred with minidl ops")
        for layer in self._loss_layers:
            for term in layer.losses:
                loss = loss + term
        return loss, out

    def _probs(self, out: Tensor) -> np.ndarray:
        if not self._fused_now:
            return out.numpy()
        with no_grad():
            return self._output_layer()._act(out.detach()).numpy()

    def _prepare_run(self) -> None:
        """Per-call caches of the hot loop (the model may have changed between calls)."""
        self._fused_now = self._fused()
        self._loss_layers = self._all_layers()
        self._params = self.trainable_weights

    def _batch_tensor(self, xb: np.ndarray) -> Tensor:
        if self._device == "cpu":
            return Tensor._make(xb, False)
        from ..device import to_device

        return Tensor._make(to_device(xb, self._device), False)

    def _train_step(self, xb: np.ndarray, yb: np.ndarray) -> tuple[float, Tensor]:
        loss, out = self._loss_tensor(self._batch_tensor(xb), yb, training=True)
        value = loss.item()
        if not math.isfinite(value):
            return value, out  # no update from a NaN/Inf loss: the weights stay usable
        if loss.requires_grad:  # False only when every layer is frozen
            loss.backward()
            self.optimizer.apply_gradients(self._params)
            for p in self._params:
                p.grad = None
        return value, out

    def _test_step(self, xb: np.ndarray, yb: np.ndarray) -> tuple[float, Tensor]:
        with no_grad():
            loss, out = self._loss_tensor(self._batch_tensor(xb), yb, training=False)
        return loss.item(), out

    # -------------------------------------------------------------- fit
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = 32, epochs: int = 1, verbose: Any = 1,
            callbacks: Sequence[callbacks_module.Callback] | None = None, validation_split: float = 0.0,
            validation_data: tuple | None = None, shuffle: bool = True,
            initial_epoch: int = 0) -> callbacks_module.History:
        """Trains for ``epochs`` passes over ``(x, y)``.

        Args:
            x: inputs (N, *input_shape). y: targets (N, ...) suited to the loss.
            batch_size: samples per step (default 32). epochs: index of the last epoch (Keras meaning,
                with ``initial_epoch``).
            verbose: 0 silent, 1 progress bar, 2 one line per epoch.
            callbacks: :class:`minidl.callbacks.Callback` objects.
            validation_split: fraction in [0, 1) of the data, taken from the *end* before shuffling, held
                out to compute ``val_`` values after each epoch.
            validation_data: ``(x_val, y_val)``; overrides validation_split.
            shuffle: reshuffle the training samples before each epoch.
            initial_epoch: epoch to start from (to resume a run).

        Returns:
            The :class:`~minidl.callbacks.History` (also ``model.history``).

        Raises:
            RuntimeError: before compile. ValueError/TypeError: for any bad argument or data, with nothing
            changed.
        """
        # ---- validate everything before touching any state
        self._check_compiled("fit")
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size")
        epochs = _positive_int(epochs, "epochs", 0)
        initial_epoch = _positive_int(initial_epoch, "initial_epoch", 0)
        verbose = _check_verbose(verbose)
        validation_split = check_rate(validation_split, "validation_split")  # NumPy floats accepted
        shuffle = check_bool(shuffle, "shuffle")
        cb_list = list(callbacks or [])
        for cb in cb_list:
            if not isinstance(cb, callbacks_module.Callback):
                raise TypeError(f"callbacks must be minidl.callbacks.Callback instances, got {type(cb).__name__}")
        x = _as_x(x)
        y = _as_y(y, len(x))
        out_shape = self._check_input(x)
        self._check_targets(y, out_shape)
        x_val = y_val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a tuple (x_val, y_val)")
            x_val = _as_x(validation_data[0], "validation_data x")
            y_val = _as_y(validation_data[1], len(x_val), "validation_data y")
            self._check_input(x_val, "validation_data x")
            self._check_targets(y_val, out_shape, "validation_data y")
        elif validation_split > 0:
            split_at = int(math.floor(len(x) * (1.0 - validation_split)))
            if split_at == 0 or split_at == len(x):
                raise ValueError(f"validation_split={validation_split} of {len(x)} samples leaves "
                                 f"{split_at} for training and {len(x) - split_at} for validation; both need some")
            x, x_val, y, y_val = x[:split_at], x[split_at:], y[:split_at], y[split_at:]

        # ---- train
        n = len(x)
        steps = -(-n // batch_size)
        history = callbacks_module.History()
        cbs = callbacks_module.CallbackList([*cb_list, history], model=self,
                                            params={"verbose": verbose, "epochs": epochs, "steps": steps})
        self.stop_training = False
        self._prepare_run()
        rng = get_rng()
        names = [m.name for m in self.metrics]
        cbs.on_train_begin()
        logs: dict[str, float] = {}
        for epoch in range(initial_epoch, epochs):
            if verbose:
                print(f"Epoch {epoch + 1}/{epochs}")
            cbs.on_epoch_begin(epoch)
            bar = callbacks_module.ProgressBar(steps, verbose)
            start = time.monotonic()
            order = rng.permutation(n) if shuffle else None
            seen, loss_sum = 0, 0.0
            metric_sums = [0.0] * len(self.metrics)
            nan_batch = None
            for step in range(steps):
                cbs.on_train_batch_begin(step)
                lo, hi = step * batch_size, min(n, (step + 1) * batch_size)
                if order is None:
                    xb, yb = x[lo:hi], y[lo:hi]
                else:
                    idx = order[lo:hi]
                    xb, yb = x[idx], y[idx]
                value, out = self._train_step(xb, yb)
                m = hi - lo
                seen += m
                loss_sum += value * m
                logs = {"loss": loss_sum / seen}
                if self.metrics:
                    probs = self._probs(out)
                    for i, metric in enumerate(self.metrics):
                        metric_sums[i] += metric(yb, probs) * m
                        logs[names[i]] = metric_sums[i] / seen
                bar.update(step + 1, logs)
                cbs.on_train_batch_end(step, logs)
                if not math.isfinite(value):
                    nan_batch = step
                    msg = f"Batch {step}: invalid loss {value}, terminating training"
                    print(("\n" if verbose == 1 else "") + msg)
                    warnings.warn(msg, RuntimeWarning, stacklevel=2)
                    self.stop_training = True
                if self.stop_training:
                    break
            if nan_batch is None and x_val is not None:
                val = self._evaluate_arrays(x_val, y_val, batch_size)
                logs.update({f"val_{k}": v for k, v in zip(self.metrics_names, val)})
            bar.end(logs, time.monotonic() - start)
            cbs.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        cbs.on_train_end(logs)
        self.history = history
        return history

    # -------------------------------------------------------------- evaluate / predict
    def _evaluate_arrays(self, x: np.ndarray, y: np.ndarray, batch_size: int,
                         bar: Any = None) -> list[float]:
        """[loss, *metrics], means over all samples (batches weighted by their size)."""
        n = len(x)
        steps = -(-n // batch_size)
        loss_sum = 0.0
        metric_sums = [0.0] * len(self.metrics)
        for step in range(steps):
            lo, hi = step * batch_size, min(n, (step + 1) * batch_size)
            value, out = self._test_step(x[lo:hi], y[lo:hi])
            m = hi - lo
            loss_sum += value * m
            if self.metrics:
                probs = self._probs(out)
                for i, metric in enumerate(self.metrics):
                    metric_sums[i] += metric(y[lo:hi], probs) * m
            if bar is not None:
                bar.update(step + 1, dict(zip(self.metrics_names, [loss_sum / hi, *(s / hi for s in metric_sums)])))
        return [loss_sum / n, *(s / n for s in metric_sums)]

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = 32, verbose: Any = 1) -> Any:
        """Loss and metrics on ``(x, y)`` in inference mode.

        Returns:
            ``[loss, *metrics]``, or the loss alone (a float) when no metrics were compiled.
        """
        self._check_compiled("evaluate")
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size")
        verbose = _check_verbose(verbose)
        x = _as_x(x)
        y = _as_y(y, len(x))
        out_shape = self._check_input(x)
        self._check_targets(y, out_shape)
        self._prepare_run()
        steps = -(-len(x) // batch_size)
        bar = callbacks_module.ProgressBar(steps, verbose) if verbose else None
        start = time.monotonic()
        result = self._evaluate_arrays(x, y, batch_size, bar)
        if bar is not None:
            bar.end(dict(zip(self.metrics_names, result)), time.monotonic() - start)
        return result if self.metrics else result[0]

    def predict(self, x: Any, batch_size: int | None = 32, verbose: Any = 0) -> np.ndarray:
        """Outputs for ``x`` in inference mode (dropout and noise off), as a NumPy array.

        Raises:
            ValueError: for a model without layers or an input of the wrong shape.
        """
        self._check_has_layers("predict")
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size")
        verbose = _check_verbose(verbose)
        x = _as_x(x)
        out_shape = self._check_input(x)
        n = len(x)
        steps = -(-n // batch_size)
        bar = callbacks_module.ProgressBar(steps, verbose) if verbose else None
        result: np.ndarray | None = None
        with no_grad():
            for step in range(steps):
                lo, hi = step * batch_size, min(n, (step + 1) * batch_size)
                out = self.call(self._batch_tensor(x[lo:hi]), training=False).numpy()
                if result is None:
                    result = np.empty((n, *out.shape[1:]), dtype=out.dtype)
                result[lo:hi] = out
                if bar is not None:
                    bar.update(step + 1)
        if bar is not None:
            bar.end()
        return result

    def train_on_batch(self, x: Any, y: Any) -> Any:
        """One training step on one batch. Returns the loss, or ``[loss, *metrics]`` with metrics."""
        self._check_compiled("train_on_batch")
        x = _as_x(x)
        y = _as_y(y, len(x))
        self._check_targets(y, self._check_input(x))
        self._prepare_run()
        value, out = self._train_step(x, y)
        if not math.isfinite(value):
            warnings.warn(f"train_on_batch: invalid loss {value}; the update was skipped", RuntimeWarning, stacklevel=2)
        if not self.metrics:
            return value
        probs = self._probs(out)
        return [value, *(m(y, probs) for m in self.metrics)]

    def test_on_batch(self, x: Any, y: Any) -> Any:
        """Loss (and metrics) on one batch in inference mode."""
        self._check_compiled("test_on_batch")
        x = _as_x(x)
        y = _as_y(y, len(x))
        self._check_targets(y, self._check_input(x))
        self._prepare_run()
        result = self._evaluate_arrays(x, y, len(x))
        return result if self.metrics else result[0]
