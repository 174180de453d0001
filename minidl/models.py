"""Keras-style models: :class:`Sequential` (compile / fit / evaluate / predict / summary / save) and
:func:`load_model`.

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

import json
import math
import os
import time
import warnings
import zipfile
from typing import Any, Callable, Sequence

import numpy as np

from . import callbacks as callbacks_module
from . import functional as F
from . import layers as layers_module
from . import losses as losses_module
from . import metrics as metrics_module
from . import optimizers as optimizers_module
from .autograd import Tensor, no_grad
from .layers import InputLayer, Layer, _ActivationMixin, _shape_str
from .random import get_rng

__all__ = ["Sequential", "load_model"]

_FORMAT = "minidl-model"
_FORMAT_VERSION = 1
_HEADER_KEY = "__minidl_model__"


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


def _readable_size(n_bytes: float) -> str:
    units = ["Byte", "KB", "MB", "GB", "TB"]
    i = 0
    while n_bytes >= 1024 and i < len(units) - 1:
        n_bytes /= 1024
        i += 1
    return f"{n_bytes:.2f} {units[i]}"


def _tree(layers: Sequence[Layer]) -> list[Layer]:
    """Every layer, nested ones included (depth first)."""
    out: list[Layer] = []
    for layer in layers:
        out.append(layer)
        out.extend(_tree(layer._sublayers()))
    return out


def _to_json(obj: Any) -> Any:
    """Tuples to lists, NumPy scalars to Python numbers (for json.dumps)."""
    if isinstance(obj, dict):
        return {k: _to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_json(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


# ---------------------------------------------------------------------------------------------------- Sequential
class Sequential(Layer):
    """A stack of layers, each feeding the next.

    Args:
        layers: the layers (an :func:`~minidl.layers.Input` first gives the input shape).
        name: default 'sequential', 'sequential_1', ...

    Attributes:
        optimizer, loss, metrics: set by :meth:`compile` (``loss`` is the Loss object).
        history: the :class:`~minidl.callbacks.History` of the last :meth:`fit`.
        stop_training: set it to True (a callback does) to stop :meth:`fit` after the current batch.
    """

    def __init__(self, layers: Sequence[Layer] | None = None, name: str | None = None, trainable: bool = True) -> None:
        super().__init__(name=name, trainable=trainable)
        self._layers: list[Layer] = []
        self._input_layer: InputLayer | None = None
        self.optimizer: optimizers_module.Optimizer | None = None
        self.loss: losses_module.Loss | None = None
        self.metrics: list[metrics_module.Metric] = []
        self.history: callbacks_module.History | None = None
        self.stop_training = False
        self._device = "cpu"
        for layer in layers or []:
            self.add(layer)

    # -------------------------------------------------------------- structure
    def _sublayers(self) -> list[Layer]:
        return list(self._layers)

    @property
    def layers(self) -> list[Layer]:
        """The layers (the Input is not one of them, as in Keras)."""
        return list(self._layers)

    def _known_input_shape(self) -> tuple | None:
        if self._batch_input_shape is not None:
            return self._batch_input_shape
        if self._layers and self._layers[0].built and self._layers[0].input_shape is not None:
            return self._layers[0].input_shape
        return None

    def _propagate(self, input_shape: tuple, layers: Sequence[Layer]) -> tuple:
        """Builds unbuilt layers along the way and returns the output shape; checks that already-built
        layers with weights (shared with another model) get the shape they were built for."""
        shape = (None, *tuple(input_shape)[1:])
        for layer in layers:
            if layer.built:
                if layer.weights and layer.input_shape is not None and tuple(layer.input_shape[1:]) != shape[1:]:
                    raise ValueError(
                        f"layer {layer.name!r} ({type(layer).__name__}) was built for inputs of shape "
                        f"{_shape_str(layer.input_shape)} but receives {_shape_str(shape)}"
                    )
                shape = tuple(layer.compute_output_shape(shape))
            else:
                layer._ensure_built(shape)
                shape = tuple(layer.output_shape)
        return shape

    def add(self, layer: Layer) -> None:
        """Appends a layer. When the input shape is known, the layer is built at once, so that a layer that
        cannot take the previous output fails here.

        Raises:
            TypeError: for something that is not a Layer.
            ValueError: for an incompatible layer (the model is unchanged).
        """
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a Layer, got {type(layer).__name__}")
        if isinstance(layer, InputLayer):
            if self._layers or self._input_layer is not None:
                raise ValueError("an Input can only be the first entry of a Sequential model")
            self._input_layer = layer
            self._batch_input_shape = layer.shape
            return
        if not self._layers and self._batch_input_shape is None and layer._batch_input_shape is not None:
            self._batch_input_shape = layer._batch_input_shape
        shape = self._known_input_shape()
        if shape is not None:
            self._propagate(shape, [*self._layers, layer])  # raises before the layer is appended
        self._layers.append(layer)
        self._refresh_shapes()

    def pop(self) -> Layer:
        """Removes and returns the last layer.

        Raises:
            ValueError: when there are no layers.
        """
        if not self._layers:
            raise ValueError("pop: the model has no layers")
        layer = self._layers.pop()
        self._refresh_shapes()
        return layer

    def _refresh_shapes(self) -> None:
        shape = self._known_input_shape()
        if shape is not None and self._layers:
            self.output_shape = self._propagate(shape, self._layers)
            self.input_shape = (None, *tuple(shape)[1:])
            self.built = True
        else:
            self.built = False
            self.output_shape = None

    def build(self, input_shape: Sequence[Any] | None = None) -> None:
        """Builds every layer for inputs of ``input_shape`` (batch first, e.g. ``(None, 784)``); default
        the shape given by an Input or the first layer's ``input_shape=``.

        Raises:
            ValueError: when no input shape is known, or a layer cannot take its input.
        """
        if input_shape is None:
            input_shape = self._known_input_shape()
            if input_shape is None:
                raise ValueError(
                    f"model {self.name!r}: no input shape is known; pass build((None, ...)), start the model with "
                    "Input(shape) or give the first layer input_shape=, or call the model on a batch of data"
                )
        input_shape = tuple(input_shape)
        if not self._layers:
            raise ValueError(f"model {self.name!r} has no layers; add() some first")
        self._propagate(input_shape, self._layers)
        if self._batch_input_shape is None:
            self._batch_input_shape = (None, *input_shape[1:])
        self.built = True
        self.input_shape = (None, *input_shape[1:])
        self.output_shape = self._propagate(input_shape, self._layers)

    def _ensure_built(self, input_shape):
        if not self.built:
            self.build(input_shape)

    def compute_output_shape(self, input_shape):
        return self._propagate(input_shape, self._layers)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        for layer in self._layers:
            x = layer(x, training=training)
        return x

    def __call__(self, x: Any, training: bool = False) -> Tensor:
        """Tensor in, Tensor out (graph recorded unless inside ``no_grad``): ``Sequential(model.layers[:k])``
        shares the layer objects, so it is the encoder half of an autoencoder."""
        if not self._layers:
            raise ValueError(f"model {self.name!r} has no layers")
        return super().__call__(x, training=training)

    def to(self, device: str) -> "Sequential":
        """Moves every weight (and the optimizer's slots) to ``device`` ('cpu' or 'cuda') in place; ``fit``
        then moves each batch there and ``predict`` returns NumPy arrays."""
        from .device import move_model

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
            from .device import move_model

            move_model(self, self._device, opt)

    @property
    def metrics_names(self) -> list[str]:
        return ["loss", *(m.name for m in self.metrics)]

    # -------------------------------------------------------------- validation shared by fit/evaluate/predict
    def _check_compiled(self, what: str) -> None:
        if self.optimizer is None or self.loss is None:
            raise RuntimeError(f"{what}: the model must be compiled with a loss first; call "
                               f"model.compile(optimizer=..., loss=...)")

    def _check_input(self, x: np.ndarray, what: str = "x") -> tuple:
        """Checks ``x`` against the model's input shape (building the model on first use); returns the output
        shape. Raises ValueError with the expected and received shapes."""
        if not self._layers:
            raise ValueError(f"model {self.name!r} has no layers; add() some before using it")
        expected = self._known_input_shape()
        got = (None, *x.shape[1:])
        if expected is not None and tuple(expected[1:]) != got[1:]:
            raise ValueError(
                f"{what} does not match the model's input: expected shape {_shape_str(expected)} (batch first), "
                f"got {_shape_str(got)}" + (" (a channel axis is missing? use x[..., None])"
                                           if len(got) == len(expected) - 1 else "")
            )
        if not self.built:
            self.build(got)
        return self.output_shape

    def _check_targets(self, y: np.ndarray, out_shape: tuple, what: str = "y") -> None:
        try:
            self.loss.check_targets(y, (len(y), *out_shape[1:]))
        except ValueError as e:
            raise ValueError(f"{what}: {e}") from None

    # -------------------------------------------------------------- steps
    def _fused(self) -> bool:
        """Whether the loss can be computed from the last layer's pre-activation output."""
        fw = getattr(self.loss, "fuses_with", None)
        last = self._layers[-1] if self._layers else None
        if fw is None or not isinstance(last, _ActivationMixin) or last.activation_name != fw:
            return False
        if last.activity_regularizer is not None:
            return False
        if fw == "softmax":  # the fused softmax cross-entropy works on (N, K) rows
            return isinstance(last, (layers_module.Dense, layers_module.Activation)) and len(self.output_shape) == 2
        return True

    def _loss_tensor(self, x: Tensor, y: np.ndarray, training: bool) -> tuple[Tensor, Tensor]:
        """(loss, output) for one batch; the output is the logits when fused (see :meth:`_fused`)."""
        layers = self._layers
        h = x
        if self._fused_now:
            for layer in layers[:-1]:
                h = layer(h, training=training)
            out = layers[-1].pre_activation(h, training=training)
            loss = self.loss.from_logits(y, out)
        else:
            for layer in layers:
                h = layer(h, training=training)
            out = h
            loss = self.loss(y, out)
        for layer in self._loss_layers:
            for term in layer.losses:
                loss = loss + term
        return loss, out

    def _probs(self, out: Tensor) -> np.ndarray:
        if not self._fused_now:
            return out.numpy()
        with no_grad():
            return self._layers[-1]._act(out.detach()).numpy()

    def _prepare_run(self) -> None:
        """Per-call caches of the hot loop (the model may have changed between calls)."""
        self._fused_now = self._fused()
        self._loss_layers = _tree(self._layers)
        self._params = self.trainable_weights

    def _batch_tensor(self, xb: np.ndarray) -> Tensor:
        if self._device == "cpu":
            return Tensor._make(xb, False)
        from .device import to_device

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
        if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float)) \
                or not 0.0 <= validation_split < 1.0:
            raise ValueError(f"validation_split must be a number in [0, 1), got {validation_split!r}")
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
        if not self._layers:
            raise ValueError(f"predict: model {self.name!r} has no layers; add() some first")
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

    # -------------------------------------------------------------- summary
    def summary(self, print_fn: Callable[[str], Any] = print, line_length: int = 65) -> None:
        """Prints the Keras table: layer (type), output shape, parameter count; then the totals.

        Works before any data once the input shape is known (Input or ``input_shape=``).

        Raises:
            ValueError: when the model cannot be built yet (no input shape known).
        """
        if not self.built:
            if self._known_input_shape() is None or not self._layers:
                raise ValueError(
                    f"model {self.name!r} has not yet been built: give it an input shape (Input(shape) first, or "
                    "input_shape= on the first layer), call build((None, ...)), or fit/call it on data"
                )
            self.build()
        rows = [("Layer (type)", "Output Shape", "Param #")]
        shape = self.input_shape
        for layer in self._layers:
            shape = layer.compute_output_shape(shape)
            rows.append((f"{layer.name} ({type(layer).__name__})", _shape_str(shape), str(layer.count_params())))
        # Keras's column stops (0.45, 0.85, 1.0 of the line); widen when a name does not fit.
        w0 = max(int(line_length * 0.45), max(len(r[0]) for r in rows) + 2)
        w1 = max(int(line_length * 0.85) - int(line_length * 0.45), max(len(r[1]) for r in rows) + 2)
        w2 = max(line_length - int(line_length * 0.85), max(len(r[2]) for r in rows) + 1)
        width = w0 + w1 + w2

        def row(r: tuple[str, str, str]) -> str:
            return (" " + r[0]).ljust(w0) + r[1].ljust(w1) + r[2].ljust(w2)

        trainable = sum(w.size for w in self.trainable_weights)
        total = self.count_params()
        item = self.dtype.itemsize
        print_fn(f'Model: "{self.name}"')
        print_fn("_" * width)
        print_fn(row(rows[0]))
        print_fn("=" * width)
        for i, r in enumerate(rows[1:]):
            print_fn(row(r))
            if i < len(rows) - 2:
                print_fn(" " * width)
        print_fn("=" * width)
        print_fn(f"Total params: {total} ({_readable_size(total * item)})")
        print_fn(f"Trainable params: {trainable} ({_readable_size(trainable * item)})")
        print_fn(f"Non-trainable params: {total - trainable} ({_readable_size((total - trainable) * item)})")
        print_fn("_" * width)

    # -------------------------------------------------------------- config and saving
    def get_config(self) -> dict[str, Any]:
        shape = self._known_input_shape()
        return {"name": self.name, "trainable": self._trainable,
                "input_shape": None if shape is None else list(shape[1:]),
                "layers": [layers_module.serialize(l) for l in self._layers]}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> "Sequential":
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        if config.get("input_shape") is not None:
            model._batch_input_shape = (None, *config["input_shape"])
        # One scope for the whole (possibly nested) model, so that a DenseTranspose can be re-linked by
        # name to a Dense loaded before it, even in a sibling sub-model.
        with layers_module.loading_scope():
            for spec in config.get("layers", []):
                model.add(layers_module.deserialize(spec, custom_objects))
        return model

    def save(self, filepath: Any) -> None:
        """Saves architecture, weights, and optimizer (config and state) to one ``.npz`` file at exactly
        ``filepath`` (no extension added). :func:`load_model` restores it; training continues with the
        same optimizer state.

        Raises:
            ValueError: for a model that is not built yet (nothing to save).
        """
        if not self.built:
            raise ValueError(f"save: model {self.name!r} is not built yet (no weights); build or fit it first")
        path = os.fspath(filepath)
        header: dict[str, Any] = {"format": _FORMAT, "version": _FORMAT_VERSION, "class_name": type(self).__name__,
                                  "config": self.get_config(), "build_input_shape": list(self.input_shape[1:])}
        arrays: dict[str, np.ndarray] = {}
        weights = self.get_weights()
        for i, w in enumerate(weights):
            arrays[f"weight_{i:04d}"] = w
        header["n_weights"] = len(weights)
        if self.optimizer is not None and self.loss is not None:
            state = self.optimizer.get_state(self.trainable_weights)
            for i, s in enumerate(state):
                arrays[f"optimizer_{i:04d}"] = s
            header["compile"] = {"optimizer": self.optimizer.get_config(), "loss": self.loss.get_config(),
                                 "metrics": [m.name for m in self.metrics], "n_state": len(state)}
        arrays[_HEADER_KEY] = np.array(json.dumps(_to_json(header)))
        # Write next to the target and rename, so an interrupted save never leaves a half-written model.
        tmp = f"{path}.tmp{os.getpid()}"
        try:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)


# ---------------------------------------------------------------------------------------------------- loading
def load_model(filepath: Any, custom_objects: dict[str, Any] | None = None, compile: bool = True) -> Sequential:
    """Loads a model written by :meth:`Sequential.save`: same predictions bit for bit, and (with
    ``compile=True``) the same optimizer, loss, metrics and optimizer state.

    Args:
        filepath: the file.
        custom_objects: ``{'ClassName': cls}`` for custom layers.
        compile: restore the training configuration too.

    Raises:
        FileNotFoundError: naming the path, when it does not exist.
        ValueError: when the file is not a minidl model file (naming the path).
    """
    path = os.fspath(filepath)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_model: no such file: {path!r}")
    not_ours = f"load_model: {path!r} is not a minidl model file"
    try:
        with np.load(path, allow_pickle=False) as f:
            if not hasattr(f, "files") or _HEADER_KEY not in f.files:
                raise ValueError(f"{not_ours} (no model description inside)")
            header = json.loads(str(f[_HEADER_KEY]))
            if not isinstance(header, dict) or header.get("format") != _FORMAT:
                raise ValueError(f"{not_ours} (unknown format)")
            weights = [f[f"weight_{i:04d}"] for i in range(int(header["n_weights"]))]
            comp = header.get("compile")
            state = [f[f"optimizer_{i:04d}"] for i in range(int(comp["n_state"]))] if comp else None
    except (OSError, EOFError, KeyError, zipfile.BadZipFile, json.JSONDecodeError, TypeError) as e:
        raise ValueError(f"{not_ours} ({type(e).__name__}: {e})") from None
    except ValueError as e:
        if str(e).startswith(not_ours):
            raise
        raise ValueError(f"{not_ours} ({e})") from None
    if header.get("class_name") != "Sequential":
        raise ValueError(f"{not_ours} (unknown model class {header.get('class_name')!r})")
    model = Sequential.from_config(header["config"], custom_objects)
    if not model.built:
        model.build((None, *header["build_input_shape"]))
    model.set_weights(weights)
    if compile and comp:
        try:
            loss = losses_module.get(comp["loss"])
        except ValueError:
            warnings.warn(f"load_model: cannot rebuild the loss {comp['loss']!r}; the model is loaded uncompiled "
                          "(call compile again)", stacklevel=2)
            return model
        metrics = []
        for name in comp["metrics"]:
            try:
                metrics.append(metrics_module.get(name, loss))
            except ValueError:
                warnings.warn(f"load_model: cannot rebuild the metric {name!r}; it is left out", stacklevel=2)
        model.compile(optimizers_module.deserialize(comp["optimizer"]), loss, metrics)
        model.optimizer.set_state(model.trainable_weights, state)
    return model
