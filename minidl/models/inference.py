"""Inference for every model kind: ``evaluate``, ``predict`` and ``test_on_batch`` (no parameter changes).

:class:`~minidl.models.trainer.Trainer` inherits these; they use the trainer's input/target checks
(``_as_xs``, ``_as_ys``, ``_check_inputs``, ``_check_targets``), its forward pass (``_forward_all``) and its
per-batch ``_test_step``, so a model has one definition of each, whether it trains or only predicts.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from .. import callbacks as callbacks_module
from .. import data_adapters
from ..autograd import no_grad
from .data_checks import _check_verbose, _positive_int, _take

__all__ = ["Inference"]


class Inference:
    """The evaluate / predict half of the model API (a mixin of :class:`~minidl.models.trainer.Trainer`)."""

    def _evaluate_arrays(self, xs: list[np.ndarray], ys: list, batch_size: int, bar: Any = None) -> list[float]:
        """:attr:`metrics_names` values, means over all samples (batches weighted by their size)."""
        if not isinstance(xs, list):
            xs, ys = [xs], [ys]
        n = len(xs[0])
        steps = -(-n // batch_size)
        names = self.metrics_names
        sums = [0.0] * len(names)
        for step in range(steps):
            lo, hi = step * batch_size, min(n, (step + 1) * batch_size)
            values = self._test_step([a[lo:hi] for a in xs], [_take(a, slice(lo, hi)) for a in ys])
            m = hi - lo
            for i, v in enumerate(values):
                sums[i] += v * m
            if bar is not None:
                bar.update(step + 1, dict(zip(names, [s / hi for s in sums])))
        return [s / n for s in sums]

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = 32, verbose: Any = 1,
                 steps: int | None = None, distributed: bool = False) -> Any:
        """Loss and metrics on ``(x, y)`` (or a generator / PyDataset of batches, ``steps`` of them) in
        inference mode.

        Returns:
            The values of :attr:`metrics_names` (``[loss, *metrics]``; with several outputs the per-output
            losses follow the total), or the loss alone (a float) when that is the only value. With
            ``distributed=True`` each rank evaluates its shard of ``x`` and the values are averaged over the
            ranks (the same result on every rank; see :meth:`fit`).
        """
        self._check_compiled("evaluate")
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size")
        verbose = _check_verbose(verbose)
        if data_adapters.is_batch_source(x):
            if distributed:
                raise ValueError("evaluate: distributed=True takes arrays, not a generator or PyDataset")
            return data_adapters.evaluate_batches(self, x, steps, verbose)
        if not isinstance(distributed, bool):
            raise TypeError(f"evaluate: distributed must be True or False, got {distributed!r}")
        data_adapters.check_array_input(x)
        xs = self._as_xs(x)
        ys = self._as_ys(y, len(xs[0]))
        self._check_targets(ys, self._check_inputs(xs))
        dp = _data_parallel(self, distributed, "evaluate")
        if dp is not None:
            verbose = 0  # each rank sees only its shard: no progress bar
        self._prepare_run()
        steps = -(-len(xs[0]) // batch_size)
        bar = callbacks_module.ProgressBar(steps, verbose) if verbose else None
        start = time.monotonic()
        result = (self._evaluate_arrays(xs, ys, batch_size, bar) if dp is None
                  else dp.evaluate_arrays(self, xs, ys, batch_size))
        if bar is not None:
            bar.end(dict(zip(self.metrics_names, result)), time.monotonic() - start)
        return result if len(result) > 1 else result[0]

    def predict(self, x: Any, batch_size: int | None = 32, verbose: Any = 0, steps: int | None = None,
                distributed: bool = False) -> Any:
        """Outputs for ``x`` (or a generator / PyDataset of batches, ``steps`` of them) in inference mode
        (dropout and noise off), as a NumPy array (a list of them, one per output, for several outputs).
        With ``distributed=True`` each rank predicts its shard of ``x`` and every rank receives all outputs,
        in order.

        Raises:
            ValueError: for a model without layers or an input of the wrong shape.
        """
        self._check_has_layers("predict")
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size")
        verbose = _check_verbose(verbose)
        if data_adapters.is_batch_source(x):
            if distributed:
                raise ValueError("predict: distributed=True takes arrays, not a generator or PyDataset")
            return data_adapters.predict_batches(self, x, steps, verbose)
        if not isinstance(distributed, bool):
            raise TypeError(f"predict: distributed must be True or False, got {distributed!r}")
        data_adapters.check_array_input(x)
        xs = self._as_xs(x)
        self._check_inputs(xs)
        dp = _data_parallel(self, distributed, "predict")
        if dp is not None:
            return self._pack_outputs(dp.predict_arrays(lambda part: self._predict_arrays(part, batch_size, 0), xs))
        return self._pack_outputs(self._predict_arrays(xs, batch_size, verbose))

    def _predict_arrays(self, xs: list[np.ndarray], batch_size: int, verbose: int) -> list[np.ndarray]:
        """Every output for the inputs ``xs``, batch by batch."""
        n = len(xs[0])
        steps = -(-n // batch_size)
        bar = callbacks_module.ProgressBar(steps, verbose) if verbose else None
        results: list[np.ndarray] | None = None
        k = self._n_outputs()
        with no_grad():
            for step in range(steps):
                lo, hi = step * batch_size, min(n, (step + 1) * batch_size)
                outs = self._forward_all([self._batch_tensor(a[lo:hi]) for a in xs], False, [False] * k)
                outs = [o.numpy() for o in outs]
                if results is None:
                    results = [np.empty((n, *o.shape[1:]), dtype=o.dtype) for o in outs]
                for r, o in zip(results, outs):
                    r[lo:hi] = o
                if bar is not None:
                    bar.update(step + 1)
        if bar is not None:
            bar.end()
        return results

    def _pack_outputs(self, flat: list) -> Any:
        return flat[0] if len(flat) == 1 else flat

    def test_on_batch(self, x: Any, y: Any) -> Any:
        """Loss (and metrics) on one batch in inference mode."""
        self._check_compiled("test_on_batch")
        xs = self._as_xs(x)
        ys = self._as_ys(y, len(xs[0]))
        self._check_targets(ys, self._check_inputs(xs))
        self._prepare_run()
        result = self._evaluate_arrays(xs, ys, len(xs[0]))
        return result if len(result) > 1 else result[0]


def _data_parallel(model: Any, distributed: Any, what: str, data: tuple | None = None) -> Any:
    """The :class:`minidl.distributed.DataParallel` of a ``distributed=True`` call (it checks that the
    models agree and broadcasts rank 0's weights), or None."""
    if not isinstance(distributed, bool):
        raise TypeError(f"{what}: distributed must be True or False, got {distributed!r}")
    if not distributed:
        return None
    from ..distributed import DataParallel, init

    init()
    return DataParallel(model, data=data)
