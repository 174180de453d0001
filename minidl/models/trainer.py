"""The training loop shared by every model (:class:`~minidl.models.Sequential` and the functional
:class:`~minidl.models.Model`): compile / fit / train_on_batch; evaluate / predict / test_on_batch come from
:class:`~minidl.models.inference.Inference`, which it inherits.

A model class inherits :class:`Trainer` and provides the few hooks that depend on its structure
(:meth:`Trainer._check_input`, :meth:`Trainer._forward_all`, :meth:`Trainer._output_layers`,
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
- **A training step** is: forward in graph mode, loss (+ the layers' regularization terms), then
  ``minidl._step.backward_and_update``: ``loss.backward()``, ``optimizer.apply_gradients(trainable
  weights)`` held whole against Ctrl-C, non-finite weights rolled back, and no ``.grad`` left behind.
- **NaN/Inf loss** stops training (like Keras's TerminateOnNaN, but on by default) *before* the bad
  update is applied, prints ``Batch k: invalid loss nan, terminating training`` and warns with a
  RuntimeWarning; the history so far is kept.
- ``validation_split`` takes the *last* samples before shuffling (Keras); shuffling uses minidl's global
  generator (:func:`minidl.utils.set_random_seed` makes runs reproducible).
"""
from __future__ import annotations

import math
import time
import warnings
from typing import Any, Sequence

import numpy as np

from .. import data_adapters
from . import weights_file
from .. import callbacks as callbacks_module
from .. import losses as losses_module
from .. import metrics as metrics_module
from .. import optimizers as optimizers_module
from .. import _step
from .._validate import check_bool, check_rate, describe
from ..autograd import Tensor, no_grad
from ..layers import Activation, Dense, Layer, _ActivationMixin
from ..layers import base as layers_base
from ..random import get_rng
from . import compile_utils
from .inference import Inference, _data_parallel
from .data_checks import _as_x, _as_y, _check_verbose, _positive_int, _take

__all__ = ["Trainer"]


def _tree(layers: Sequence[Layer]) -> list[Layer]:
    """Every layer, nested ones included (depth first)."""
    out: list[Layer] = []
    for layer in layers:
        out.append(layer)
        out.extend(_tree(layer._sublayers()))
    return out



class Trainer(Inference):
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
        self._output_losses: list = [None] * self._n_outputs()
        self._loss_weights: list[float] = [1.0] * self._n_outputs()
        self._output_metrics: list[list] = [[] for _ in range(self._n_outputs())]

    # -------------------------------------------------------------- hooks of the model classes
    def _check_input(self, x: np.ndarray, what: str = "x") -> tuple:
        """Checks ``x`` against the model's input shape (building the model on first use); returns the
        output shape."""
        raise NotImplementedError

    def _forward_all(self, xs: list[Tensor], training: bool, logits: Sequence[bool]) -> list[Tensor]:
        """The model's outputs (a flat list) for its inputs (a flat list); with ``logits[i]`` the i-th output
        is its layer's pre-activation instead."""
        raise NotImplementedError

    def _output_layers(self) -> list[Layer | None]:
        """Per output, the layer that produces it (whose activation may fuse with the loss), or None."""
        raise NotImplementedError

    def _n_inputs(self) -> int:
        return 1

    def _n_outputs(self) -> int:
        return 1

    def _output_shapes(self) -> list[tuple]:
        return [self.output_shape]

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
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, metrics: Any = None,
                loss_weights: Any = None) -> None:
        """Chooses the optimizer, the loss and the metrics logged during training.

        Args:
            optimizer: a name ('sgd', 'adam', 'rmsprop') or an optimizer object.
            loss: a name ('categorical_crossentropy', 'sparse_categorical_crossentropy',
                'binary_crossentropy', 'mse'), a Loss, or a callable ``fn(y_true, y_pred) -> Tensor``. For a
                model with several outputs: one loss for all, a list (one per output) or a dict keyed by
                output name (an output left out of the dict is not trained on).
            metrics: names ('accuracy', 'mae', ...) or callables; with several outputs a dict keyed by output
                name, or a list of lists (one per output).
            loss_weights: with several outputs, a list or dict of floats: the training loss is
                ``sum_i w_i * loss_i`` (default all 1).

        Raises:
            ValueError: for unknown names (listing the known ones) or lists of the wrong length; the model is
                unchanged then.
        """
        opt = optimizers_module.get(optimizer)
        loss_objs, weights, mets = compile_utils.resolve(self._output_names_for_compile(), loss, loss_weights,
                                                         metrics)
        self.optimizer = opt
        self._output_losses, self._loss_weights, self._output_metrics = loss_objs, weights, mets
        self.loss = loss_objs[0] if len(loss_objs) == 1 else (loss_objs if loss is not None else None)
        self.metrics = [m for ms in mets for m in ms]
        if self._device != "cpu":
            from ..device import move_model

            move_model(self, self._device, opt)

    def _output_names_for_compile(self) -> list[str]:
        return list(self.output_names)

    @property
    def metrics_names(self) -> list[str]:
        names = self._output_names_for_compile()
        if len(names) == 1:
            return ["loss", *(m.name for m in self.metrics)]
        out = ["loss", *(f"{n}_loss" for n, l in zip(names, self._output_losses) if l is not None)]
        for n, ms in zip(names, self._output_metrics):
            out.extend(f"{n}_{m.name}" for m in ms)
        return out

    # -------------------------------------------------------------- validation shared by fit/evaluate/predict
    def _check_compiled(self, what: str) -> None:
        if self.optimizer is None or self.loss is None:
            raise RuntimeError(f"{what}: the model must be compiled with a loss first; call "
                               f"model.compile(optimizer=..., loss=...)")

    def _as_xs(self, x: Any, what: str = "x") -> list[np.ndarray]:
        """The inputs as one float32 (float64) array per model input (a dict is matched by input name)."""
        n = self._n_inputs()
        names = list(self.input_names)
        if isinstance(x, dict):
            missing = [k for k in names if k not in x]
            unknown = [k for k in x if k not in names]
            if missing or unknown:
                raise ValueError(f"{what}: dict keys {sorted(x)} do not match the model's inputs {names}")
            xs = [_as_x(x[k], f"{what}[{k!r}]", self._data_dtype()) for k in names]
        elif n == 1:
            xs = [_as_x(x[0] if isinstance(x, (list, tuple)) and len(x) == 1 and isinstance(x[0], np.ndarray) else x,
                        what, self._data_dtype())]
        else:
            if not isinstance(x, (list, tuple)) or len(x) != n:
                got = f"a list of {len(x)}" if isinstance(x, (list, tuple)) else type(x).__name__
                raise ValueError(f"{what}: the model has {n} inputs ({', '.join(names)}); pass a list of {n} arrays "
                                 f"or a dict keyed by input name, got {got}")
            xs = [_as_x(a, f"{what}[{i}]", self._data_dtype()) for i, a in enumerate(x)]
        lengths = {len(a) for a in xs}
        if len(lengths) > 1:
            raise ValueError(f"{what}: the inputs have different numbers of samples: {[len(a) for a in xs]}")
        return xs

    def _as_ys(self, y: Any, n: int, what: str = "y") -> list[np.ndarray | None]:
        """The targets as one array per output (None for an output without a loss)."""
        names = self._output_names_for_compile()
        k = len(names)
        if k == 1:
            if isinstance(y, dict) and list(y) == names:
                y = y[names[0]]
            return [_as_y(y, n, what, self._data_dtype())]
        losses = getattr(self, "_output_losses", [None] * k)
        if isinstance(y, dict):
            unknown = [key for key in y if key not in names]
            if unknown:
                raise ValueError(f"{what}: unknown output name(s) {unknown}; the model's outputs are {names}")
            ys = [y.get(name) for name in names]
        elif isinstance(y, (list, tuple)) and len(y) == k:
            ys = list(y)
        else:
            got = f"a list of {len(y)}" if isinstance(y, (list, tuple)) else type(y).__name__
            raise ValueError(f"{what}: the model has {k} outputs ({', '.join(names)}); pass a list of {k} target "
                             f"arrays or a dict keyed by output name, got {got}")
        out: list[np.ndarray | None] = []
        for name, t, loss in zip(names, ys, losses):
            if t is None:
                if loss is not None:
                    raise ValueError(f"{what}: no targets for output {name!r}, which has a loss")
                out.append(None)
            else:
                out.append(_as_y(t, n, f"{what}[{name!r}]", self._data_dtype()))
        return out

    def _check_targets(self, ys: Any, out_shapes: Any, what: str = "y") -> None:
        if not isinstance(ys, list):  # one output (the Sequential call sites and gradcheck_model)
            ys, out_shapes = [ys], [out_shapes]
        names = self._output_names_for_compile()
        for i, (y, shape, loss) in enumerate(zip(ys, out_shapes, self._output_losses)):
            if y is None or loss is None:
                continue
            try:
                loss.check_targets(y, (len(y), *shape[1:]))
            except ValueError as e:
                where = what if len(ys) == 1 else f"{what}[{names[i]!r}]"
                raise ValueError(f"{where}: {e}") from None

    def _check_inputs(self, xs: list[np.ndarray], what: str = "x") -> list[tuple]:
        """Checks the input arrays (building the model on first use); returns the output shapes."""
        return [self._check_input(xs[0], what)]

    # -------------------------------------------------------------- steps
    def _fused_flags(self) -> list[bool]:
        """Per output, whether its loss can be computed from its layer's pre-activation output."""
        flags = []
        for layer, loss, shape in zip(self._output_layers(), self._output_losses, self._output_shapes()):
            fw = getattr(loss, "fuses_with", None)
            ok = (fw is not None and isinstance(layer, _ActivationMixin) and layer.activation_name == fw
                  and layer.activity_regularizer is None)
            if ok and fw == "softmax":  # the fused softmax cross-entropy works on (N, K) rows
                ok = isinstance(layer, (Dense, Activation)) and len(shape) == 2
            flags.append(bool(ok))
        return flags

    def _fused(self) -> bool:
        """Whether the (first) output's loss is computed from its layer's pre-activation output."""
        return self._fused_flags()[0]

    def _loss_parts(self, xs: Any, ys: Any, training: bool) -> tuple[Tensor, list, list[Tensor]]:
        """(total loss, per-output loss values, outputs) for one batch; fused outputs are logits."""
        if not isinstance(xs, list):
            xs = [xs]
        if not isinstance(ys, list):
            ys = [ys]
        outs = self._forward_all(xs, training, self._fused_list)
        total, parts = None, []
        for out, y, loss, w, fused in zip(outs, ys, self._output_losses, self._loss_weights, self._fused_list):
            if loss is None:
                parts.append(None)
                continue
            term = loss.from_logits(y, out) if fused else loss(y, out)
            if not isinstance(term, Tensor):
                raise TypeError(f"the loss {getattr(loss, 'name', loss)!r} returned {describe(term)}; a loss must "
                                "return a scalar Tensor computed from y_pred with minidl ops")
            parts.append(term)
            if w != 1.0:
                term = term * w
            total = term if total is None else total + term
        for term in self.losses:  # activity regularization and add_loss terms of this forward pass
            total = total + term
        for term in self._weight_penalties():
            total = total + term
        return total, parts, outs

    def _weight_penalties(self) -> list[Tensor]:
        """Loss terms computed from the weights (kernel / bias regularizers of every layer)."""
        return self.regularization_losses()

    def _loss_tensor(self, x: Any, y: Any, training: bool) -> tuple[Tensor, Any]:
        """(loss, output) for one batch (the output is the logits when fused); lists for several outputs."""
        total, _, outs = self._loss_parts(x, y, training)
        return total, (outs[0] if len(outs) == 1 else outs)

    def _probs_of(self, outs: list[Tensor]) -> list[np.ndarray]:
        res = []
        for out, fused, layer in zip(outs, self._fused_list, self._output_layers()):
            if not fused:
                res.append(out.numpy())
            else:
                with no_grad():
                    res.append(layer._act(out.detach()).numpy())
        return res

    def _probs(self, out: Tensor) -> np.ndarray:
        return self._probs_of([out])[0]

    def _prepare_run(self) -> None:
        """Per-call caches of the hot loop (the model may have changed between calls)."""
        self._fused_list = self._fused_flags()
        self._fused_now = any(self._fused_list)  # (one output: whether it is fused)
        self._params = self.trainable_weights
        self._weights_seen = layers_base.WEIGHTS_CREATED[0]

    def _data_dtype(self) -> Any:
        """float64 when the model computes in float64 (a float64 layer), else float32: data are cast to it."""
        return np.float64 if any(getattr(l, "dtype", None) == np.float64 for l in self._all_layers()) else np.float32

    def _batch_tensor(self, xb: np.ndarray) -> Tensor:
        if self._device == "cpu":
            return Tensor._make(xb, False)
        from ..device import to_device

        return Tensor._make(to_device(xb, self._device), False)

    def _step_values(self, total: float, parts: list, ys: list, outs: list[Tensor]) -> list[float]:
        """The batch's values in :attr:`metrics_names` order."""
        values = [total]
        if len(parts) > 1:
            values.extend(float(p.item()) for p in parts if p is not None)
        if self.metrics:
            probs = self._probs_of(outs)
            for y, p, ms in zip(ys, probs, self._output_metrics):
                values.extend(m(y, p) for m in ms)
        return values

    def _train_step(self, xbs: list[np.ndarray], ybs: list) -> tuple[float, list[float]]:
        loss, parts, outs = self._loss_parts([self._batch_tensor(a) for a in xbs], ybs, training=True)
        value = loss.item()
        if layers_base.WEIGHTS_CREATED[0] != self._weights_seen:  # a layer built itself inside this step
            self._params = self.trainable_weights
            self._weights_seen = layers_base.WEIGHTS_CREATED[0]
        if math.isfinite(value) and loss.requires_grad:  # no update from a NaN/Inf loss; False when all frozen
            # Atomic against Ctrl-C, no .grad left behind, non-finite results rolled back (minidl/_step.py).
            bad = _step.backward_and_update(loss, self.optimizer, self._params)
            if bad is not None:
                msg = (f"the update made weight {bad!r} non-finite (NaN/Inf); the last finite weights are "
                       "restored and training stops (try a lower learning rate)")
                print(msg)
                warnings.warn(msg, RuntimeWarning, stacklevel=3)
                self.stop_training = True
        return value, self._step_values(value, parts, ybs, outs)

    def _test_step(self, xbs: list[np.ndarray], ybs: list) -> list[float]:
        with no_grad():
            loss, parts, outs = self._loss_parts([self._batch_tensor(a) for a in xbs], ybs, training=False)
            return self._step_values(loss.item(), parts, ybs, outs)

    # -------------------------------------------------------------- fit
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = 32, epochs: int = 1, verbose: Any = 1,
            callbacks: Sequence[callbacks_module.Callback] | None = None, validation_split: float = 0.0,
            validation_data: tuple | None = None, shuffle: bool = True,
            initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, distributed: bool = False) -> callbacks_module.History:
        """Trains for ``epochs`` passes over ``(x, y)``.

        Args:
            x: inputs (N, *input_shape); a list or dict (by input name) for several inputs.
            y: targets (N, ...) suited to the loss; a list or dict (by output name) for several outputs.
            batch_size: samples per step (default 32). epochs: index of the last epoch (Keras meaning,
                with ``initial_epoch``).
            verbose: 0 silent, 1 progress bar, 2 one line per epoch.
            callbacks: :class:`minidl.callbacks.Callback` objects.
            validation_split: fraction in [0, 1) of the data, taken from the *end* before shuffling, held
                out to compute ``val_`` values after each epoch.
            validation_data: ``(x_val, y_val)``; overrides validation_split.
            shuffle: reshuffle the training samples before each epoch.
            initial_epoch: epoch to start from (to resume a run).
            steps_per_epoch, validation_steps: batches per epoch when ``x`` / ``validation_data`` is a
                generator or a :class:`minidl.utils.PyDataset` yielding ``(x, y)`` batches (then ``y``,
                ``batch_size``, ``shuffle`` and ``validation_split`` do not apply; see
                :mod:`minidl.data_adapters`).
            distributed: data parallelism over the ranks of ``mpiexec`` (:mod:`minidl.distributed`):
                ``batch_size`` is the GLOBAL batch, cut into one shard per rank; gradients, loss, metrics
                and validation values are averaged over the ranks; rank 0's weights are broadcast first;
                the progress bar and the callbacks that write files run on rank 0 only. Arrays only
                (not generators). A no-op in a single process.

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
        if data_adapters.is_batch_source(x):
            if y is not None or validation_split:
                raise ValueError("fit: with a generator or PyDataset as x, the batches carry the targets: do not "
                                 "pass y or validation_split")
            if distributed:
                raise ValueError("fit: distributed=True takes arrays, not a generator or PyDataset")
            return data_adapters.fit_batches(self, x, epochs, verbose, cb_list, validation_data, initial_epoch,
                                             steps_per_epoch, validation_steps)
        if not isinstance(distributed, bool):
            raise TypeError(f"fit: distributed must be True or False, got {distributed!r}")
        data_adapters.check_array_input(x)
        if steps_per_epoch is not None or validation_steps is not None:
            raise ValueError("fit: steps_per_epoch / validation_steps apply to generator or PyDataset inputs; with "
                             "arrays use batch_size")
        xs = self._as_xs(x)
        ys = self._as_ys(y, len(xs[0]))
        out_shapes = self._check_inputs(xs)
        self._check_targets(ys, out_shapes)
        xs_val = ys_val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a tuple (x_val, y_val)")
            xs_val = self._as_xs(validation_data[0], "validation_data x")
            ys_val = self._as_ys(validation_data[1], len(xs_val[0]), "validation_data y")
            self._check_inputs(xs_val, "validation_data x")
            self._check_targets(ys_val, out_shapes, "validation_data y")
        elif validation_split > 0:
            n_all = len(xs[0])
            split_at = int(math.floor(n_all * (1.0 - validation_split)))
            if split_at == 0 or split_at == n_all:
                raise ValueError(f"validation_split={validation_split} of {n_all} samples leaves "
                                 f"{split_at} for training and {n_all - split_at} for validation; both need some")
            xs, xs_val = [a[:split_at] for a in xs], [a[split_at:] for a in xs]
            ys, ys_val = [_take(a, slice(0, split_at)) for a in ys], [_take(a, slice(split_at, None)) for a in ys]

        # ---- train
        dp = _data_parallel(self, distributed, "fit", (xs, ys))  # after the checks: it exchanges weights
        if dp is not None:
            verbose, cb_list = dp.verbose(verbose), dp.callbacks(cb_list)
        n = len(xs[0])
        steps = -(-n // batch_size)
        history = callbacks_module.History()
        cbs = callbacks_module.CallbackList([*cb_list, history], model=self,
                                            params={"verbose": verbose, "epochs": epochs, "steps": steps,
                                                    "do_validation": xs_val is not None})
        self.stop_training = False
        self._prepare_run()
        rng = get_rng()
        names = self.metrics_names
        cbs.on_train_begin()
        logs: dict[str, float] = {}
        for epoch in range(initial_epoch, epochs):
            if verbose:
                print(f"Epoch {epoch + 1}/{epochs}")
            cbs.on_epoch_begin(epoch)
            bar = callbacks_module.ProgressBar(steps, verbose)
            start = time.monotonic()
            order = None if not shuffle else rng.permutation(n) if dp is None else dp.permutation(rng, n)
            seen = 0
            sums = [0.0] * len(names)
            nan_batch = None
            for step in range(steps):
                cbs.on_train_batch_begin(step)
                lo, hi = step * batch_size, min(n, (step + 1) * batch_size)
                idx = slice(lo, hi) if order is None else order[lo:hi]
                xbs, ybs = [a[idx] for a in xs], [_take(a, idx) for a in ys]
                value, values = self._train_step(xbs, ybs) if dp is None else dp.train_step(self, xbs, ybs)
                m = hi - lo
                seen += m
                for i, v in enumerate(values):
                    sums[i] += v * m
                logs = {k: s / seen for k, s in zip(names, sums)}
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
            if dp is not None:
                dp.sync_state()  # e.g. batch-norm moving statistics, computed from each rank's shards
            if nan_batch is None and xs_val is not None:
                val = (self._evaluate_arrays(xs_val, ys_val, batch_size) if dp is None
                       else dp.evaluate_arrays(self, xs_val, ys_val, batch_size))
                logs.update({f"val_{k}": v for k, v in zip(names, val)})
            bar.end(logs, time.monotonic() - start)
            cbs.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        cbs.on_train_end(logs)
        self.history = history
        return history

    def save_weights(self, filepath: Any, overwrite: bool = True) -> None:
        """Writes the weights alone to a ``.npz`` file (see :mod:`minidl.models.weights_file`)."""
        weights_file.save_weights(self, filepath, overwrite)

    def load_weights(self, filepath: Any) -> None:
        """Sets the weights from a :meth:`save_weights` (or ``save``) file, all checked before any changes."""
        weights_file.load_weights(self, filepath)

    def train_on_batch(self, x: Any, y: Any) -> Any:
        """One training step on one batch. Returns the loss, or the :attr:`metrics_names` values."""
        self._check_compiled("train_on_batch")
        xs = self._as_xs(x)
        ys = self._as_ys(y, len(xs[0]))
        self._check_targets(ys, self._check_inputs(xs))
        self._prepare_run()
        value, values = self._train_step(xs, ys)
        if not math.isfinite(value):
            warnings.warn(f"train_on_batch: invalid loss {value}; the update was skipped", RuntimeWarning, stacklevel=2)
        return values if len(values) > 1 else value

    # -------------------------------------------------------------- shared by every model
    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer called ``name``, or at position ``index`` of :attr:`layers` (Keras's get_layer).

        Raises:
            ValueError: for both or neither argument, an index out of range, or an unknown name (listing
                the known ones).
        """
        if name is not None and index is not None:
            raise ValueError(f"Provide only a layer name or a layer index, not both. Received: index={index}, "
                             f"name={name!r}.")
        layers = self.layers
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not -len(layers) <= index < len(layers):
                raise ValueError(f"Was asked to retrieve layer at index {index} but model {self.name!r} only has "
                                 f"{len(layers)} layers.")
            return layers[index]
        if name is not None:
            for layer in layers:
                if layer.name == name:
                    return layer
            raise ValueError(f"No such layer: {name!r}. Existing layers are: {[l.name for l in layers]}.")
        raise ValueError("Provide either a layer name or layer index at `get_layer`.")
