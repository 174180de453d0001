"""Data-parallel training on top of the collectives: model checks, weight broadcast, and the
:class:`DataParallel` helper of a data-parallel training loop.

Every rank holds the whole data set and a full replica of the model. Each global batch (``batch_size``
samples, the same on every rank thanks to a permutation drawn on rank 0 and broadcast) is cut into
``size()`` contiguous shards; rank r runs forward and backward on shard r, the per-shard mean gradients
are averaged weighted by shard size (:func:`allreduce_mean`), and every rank applies the same optimizer
step to the same weights, so the replicas stay identical without ever exchanging weights again.
"""
from __future__ import annotations

import hashlib
import json
import math
from typing import Any, Callable, Sequence

import numpy as np

from ._world import (
    DistributedError, allgather_arrays, allgather_bytes, allreduce_mean, broadcast_arrays, is_main, rank, shard_bounds,
    size,
)

__all__ = ["describe_model", "check_same_model", "broadcast_weights", "check_same_data", "DataParallel"]

# Callbacks that write files (or talk to the outside) run on rank 0 only; the others would write the
# same file N times at once. Named here so that classes added later to minidl.callbacks are covered;
# a user's own callback opts in with the attribute ``rank_zero_only = True``.
_RANK_ZERO_CALLBACKS = ("ModelCheckpoint", "CSVLogger", "TensorBoard", "BackupAndRestore", "RemoteMonitor")


def _host(array: Any) -> np.ndarray:
    if isinstance(array, np.ndarray):
        return array
    return array.copy_to_host()  # a numba.cuda device array


def _strip_names(obj: Any) -> Any:
    # Layer names come from per-process counters ("dense_3"): a rank that built another model first has
    # other names for the same architecture, so names do not count.
    if isinstance(obj, dict):
        return {k: _strip_names(v) for k, v in obj.items() if k != "name"}
    if isinstance(obj, (list, tuple)):
        return [_strip_names(v) for v in obj]
    return obj


def describe_model(model: Any) -> list[str]:
    """The lines compared across ranks: the class, each layer's config (names left out), each weight's
    shape and dtype, and the optimizer class with its slot names."""
    lines = [f"model class {type(model).__name__}"]
    if hasattr(model, "get_config"):
        try:
            config = _strip_names(model.get_config())
        except (NotImplementedError, TypeError, ValueError):
            config = None
        if isinstance(config, dict) and isinstance(config.get("layers"), list):
            for i, spec in enumerate(config.pop("layers")):
                lines.append(f"layer {i}: {json.dumps(spec, sort_keys=True, default=str)}")
        if config is not None:
            lines.append(f"config: {json.dumps(config, sort_keys=True, default=str)}")
    for i, w in enumerate(model.weights):
        lines.append(f"weight {i}: shape {tuple(w.shape)} dtype {w.dtype}")
    opt = getattr(model, "optimizer", None)
    if opt is not None:
        lines.append(f"optimizer {type(opt).__name__} slots {list(getattr(opt, 'slot_names', []))}")
    return lines


def _first_difference(a: list[str], b: list[str]) -> tuple[str, str]:
    for la, lb in zip(a, b):
        if la != lb:
            return la, lb
    if len(a) > len(b):
        return a[len(b)], "(nothing more)"
    return "(nothing more)", b[len(a)]


def _check_same(lines: list[str], what: str) -> None:
    """Raises DistributedError on every rank when some rank's ``lines`` differ from rank 0's."""
    if size() == 1:
        return
    digest = hashlib.sha256("\n".join(lines).encode()).digest()
    digests = allgather_bytes(digest, f"{what} (comparing ranks)")
    bad = [r for r, d in enumerate(digests) if d != digests[0]]
    if not bad:
        return
    # Only now exchange the full descriptions, to say what differs.
    texts = allgather_bytes("\n".join(lines).encode(), f"{what} (describing the difference)")
    mine0, theirs = _first_difference(texts[0].decode().split("\n"), texts[bad[0]].decode().split("\n"))
    hint = " Every rank must build the same model." if what == "check_same_model" else ""
    raise DistributedError(f"{what}: rank {bad[0]} differs from rank 0 (ranks that differ: {bad}); rank 0 has "
                           f"'{mine0}', rank {bad[0]} has '{theirs}'.{hint}")


def check_same_model(model: Any) -> None:
    """Checks that every rank has the same architecture, weight shapes and optimizer (one all-gather of a
    SHA-256 of :func:`describe_model`); call it on every rank.

    Raises:
        ValueError: for a model that is not built (no weights yet).
        DistributedError: on every rank, naming the first rank whose model differs from rank 0's and the
            first line that differs.
    """
    if not getattr(model, "built", True):
        raise ValueError("check_same_model: the model is not built yet (no weights); build it or give it an Input")
    _check_same(describe_model(model), "check_same_model")


def broadcast_weights(model: Any, root: int = 0, optimizer: bool = True) -> None:
    """Copies rank ``root``'s weights (and optimizer state) into every rank's model, in place.

    After it every replica starts equal, whatever each rank's random initialisation was. The weights
    travel in one flat buffer per dtype; the optimizer state (``optimizer.get_state``, whose layout
    depends only on the parameters and the optimizer class) follows the same way. Call
    :func:`check_same_model` first: the shapes must agree.
    """
    if size() == 1:
        return
    weights = [np.array(_host(w.data), copy=True) for w in model.weights]
    broadcast_arrays(weights, root, "broadcast_weights")
    if not is_main() or root != 0:
        model.set_weights(weights)
    opt = getattr(model, "optimizer", None)
    if optimizer and opt is not None and hasattr(opt, "get_state"):
        params = model.trainable_weights
        state = [np.array(s, copy=True) for s in opt.get_state(params)]
        broadcast_arrays(state, root, "broadcast_weights (optimizer state)")
        opt.set_state(params, state)


def _fingerprint(name: str, a: np.ndarray | None) -> str:
    if a is None:
        return f"{name}: None"
    a = np.asarray(a)
    step = max(1, len(a) // 64)  # 64 rows spread over the array: cheap, and catches another data set
    sample = np.ascontiguousarray(a[::step])
    return f"{name}: shape {a.shape} dtype {a.dtype} sha256 {hashlib.sha256(sample.tobytes()).hexdigest()[:16]}"


def check_same_data(**arrays: np.ndarray | None) -> None:
    """Checks that every rank holds the same arrays (shape, dtype, and a hash of 64 rows spread over
    each): data-parallel ``fit`` shards every global batch, so every rank must see the same data.

    Raises:
        DistributedError: on every rank, naming the rank and the array that differs.
    """
    _check_same([_fingerprint(k, v) for k, v in arrays.items()], "check_same_data")


class DataParallel:
    """The pieces of a data-parallel training loop; each method is a no-op pass-through in the
    single-process world.

    Usage in a training loop::

        dp = DataParallel(model)               # same model everywhere, weights broadcast from rank 0
        order = dp.permutation(rng, n)         # rank 0's shuffle, on every rank
        xb, yb = dp.shard(xb, yb)              # this rank's part of the global batch
        ... forward, loss, backward on (xb, yb) ...
        loss, mets = dp.reduce_step(params, len(xb), loss, mets)   # gradients averaged in place
        ... optimizer.apply_gradients(params) ...

    Args:
        model: a built model (Sequential or functional).
        check: compare the models across ranks first (:func:`check_same_model`).
        data: ``(inputs, targets)``, lists of arrays, compared across ranks (:func:`check_same_data`).
    """

    def __init__(self, model: Any, check: bool = True, data: tuple | None = None) -> None:
        self.model = model
        self.rank, self.size = rank(), size()
        if self.size > 1:
            if check:
                check_same_model(model)
            if data is not None:  # (xs, ys) of fit: batches are cut by position, so every rank needs the same
                xs, ys = data
                check_same_data(**{f"x[{i}]": a for i, a in enumerate(xs)},
                                **{f"y[{i}]": a for i, a in enumerate(ys)})
            broadcast_weights(model)  # after the checks: an error leaves every model as it was

    # ---- data
    def permutation(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """A permutation of ``range(n)`` drawn by rank 0's ``rng`` and broadcast, so every rank cuts the
        same global batches (the other ranks' generators are not advanced)."""
        if self.size == 1:
            return rng.permutation(n)
        order = rng.permutation(n).astype(np.int64) if self.rank == 0 else np.empty(n, dtype=np.int64)
        broadcast_arrays([order], 0, "DataParallel.permutation")
        return order

    def shard(self, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
        """This rank's contiguous part of each array (the global batch), sizes differing by at most one."""
        if self.size == 1:
            return arrays
        lo, hi = shard_bounds(len(arrays[0]), self.rank, self.size)
        return tuple(a[lo:hi] for a in arrays)

    # ---- steps
    def reduce_step(self, params: Sequence[Any], n_local: int, loss: float,
                    metrics: Sequence[float] = ()) -> tuple[float, list[float]]:
        """Averages the parameters' gradients over the ranks, in place (one all-reduce), weighting each
        rank by its shard size ``n_local``; the step's loss and metric values ride in the same buffer.

        A parameter without a gradient (an empty shard, a NaN loss that skipped backward, a branch not
        used) contributes zeros. Returns the global ``(loss, metrics)``: means over the whole global batch,
        identical on every rank, so every rank takes the same decision on a NaN loss.
        """
        if self.size == 1:
            return loss, list(metrics)
        grads, on_device = [], []
        for p in params:
            g = p.grad
            if g is None:
                host = np.zeros(p.shape, dtype=p.dtype)
            else:
                host = _host(g)
                if host is g and not g.flags.writeable:
                    host = np.array(g)
            on_device.append(not isinstance(g, np.ndarray) and g is not None)
            grads.append(host)
        if not np.isfinite(loss):
            for g in grads:  # a NaN loss skipped backward here; its gradient is not to be summed in
                g[...] = 0
        if n_local == 0:  # an empty shard has weight 0, but NaN * 0 is NaN: send zeros, not its NaN mean
            loss, metrics = 0.0, [0.0] * len(metrics)
        values = allreduce_mean(grads, weight=float(n_local), extras=[loss, *metrics])
        for p, g, dev in zip(params, grads, on_device):
            if dev:
                from ..device import to_device

                p.grad = to_device(g, "cuda")
            else:
                p.grad = g
        return values[0], values[1:]

    def sync_state(self) -> None:
        """Averages the non-trainable floating weights (e.g. batch-norm moving statistics, computed from
        each rank's shards) over the ranks, so the replicas agree at the end of each epoch."""
        if self.size == 1:
            return
        ws = [w for w in self.model.non_trainable_weights if np.dtype(w.dtype).kind == "f"]
        if not ws:
            return
        host = [np.array(_host(w.data), copy=True) for w in ws]
        allreduce_mean(host)
        for w, h in zip(ws, host):
            if isinstance(w.data, np.ndarray):
                w.data[...] = h
            else:
                from ..device import to_device

                w.data = to_device(h, "cuda")

    # ---- the hooks of Trainer.fit / evaluate / predict (distributed=True)
    def train_step(self, model: Any, xbs: list[np.ndarray], ybs: list) -> tuple[float, list[float]]:
        """One data-parallel step of ``model`` (a compiled Trainer) on the GLOBAL batch ``xbs`` / ``ybs``:
        this rank's shard forward and backward, gradients averaged weighted by shard size, the same
        optimizer step on every rank. Returns ``(loss, metrics_names values)``, means over the global
        batch, identical on every rank (a NaN loss on any rank skips the update everywhere)."""
        if self.size == 1:
            return model._train_step(xbs, ybs)
        lo, hi = shard_bounds(len(xbs[0]), self.rank, self.size)
        xs, ys = [a[lo:hi] for a in xbs], [None if a is None else a[lo:hi] for a in ybs]
        params = model._params
        n_values = len(model.metrics_names)
        if hi > lo:
            loss, parts, outs = model._loss_parts([model._batch_tensor(a) for a in xs], ys, training=True)
            value = loss.item()
            if math.isfinite(value) and loss.requires_grad:
                loss.backward()
            values = model._step_values(value, parts, ys, outs)
        else:  # more ranks than samples in this (last) batch: this rank adds nothing but takes part
            values = [0.0] * n_values
        total, rest = self.reduce_step(params, hi - lo, values[0], values[1:])
        if math.isfinite(total) and params:
            model.optimizer.apply_gradients(params)
        for p in params:
            p.grad = None
        return total, [total, *rest]

    def evaluate_arrays(self, model: Any, xs: list[np.ndarray], ys: list, batch_size: int) -> list[float]:
        """``model._evaluate_arrays`` on this rank's shard, averaged over the ranks weighted by shard
        size: the means over all samples, identical on every rank."""
        if self.size == 1:
            return model._evaluate_arrays(xs, ys, batch_size)
        lo, hi = shard_bounds(len(xs[0]), self.rank, self.size)
        if hi > lo:
            local = model._evaluate_arrays([a[lo:hi] for a in xs], [None if a is None else a[lo:hi] for a in ys],
                                           batch_size)
        else:
            local = [0.0] * len(model.metrics_names)
        return allreduce_mean([], weight=float(hi - lo), extras=local)

    def predict_arrays(self, predict_fn: Callable[[list[np.ndarray]], list[np.ndarray]],
                       xs: list[np.ndarray]) -> list[np.ndarray]:
        """``predict_fn(inputs) -> outputs`` on this rank's shard; every output gathered in order on every rank."""
        if self.size == 1:
            return predict_fn(xs)
        lo, hi = shard_bounds(len(xs[0]), self.rank, self.size)
        # A rank with no rows still needs each output's trailing shape and dtype: run one row, keep none.
        outs = predict_fn([a[lo:hi] for a in xs]) if hi > lo else [o[:0] for o in predict_fn([a[:1] for a in xs])]
        return [allgather_arrays(np.asarray(o), "predict (gathering the outputs)") for o in outs]

    # ---- what only rank 0 does
    def callbacks(self, callbacks: Sequence[Any]) -> list[Any]:
        """The callbacks this rank runs: all on rank 0; elsewhere all but those that write files
        (ModelCheckpoint, CSVLogger, TensorBoard, ...) or set ``rank_zero_only = True``. EarlyStopping and
        History stay on every rank: they see the same averaged logs, so every rank stops at the same epoch."""
        if self.rank == 0:
            return list(callbacks)
        return [cb for cb in callbacks
                if not getattr(cb, "rank_zero_only", False) and type(cb).__name__ not in _RANK_ZERO_CALLBACKS
                and not any(c.__name__ in _RANK_ZERO_CALLBACKS for c in type(cb).__mro__)]

    def verbose(self, verbose: int) -> int:
        """The progress bar prints on rank 0 only."""
        return verbose if self.rank == 0 else 0
