"""What ``compile`` makes of its arguments for a model with one or several outputs (Keras's
``compile_utils``): one loss object, one weight and a list of metrics per output, checked before the model
is changed."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import losses as losses_module
from .. import metrics as metrics_module
from .._validate import check_callable

__all__ = ["resolve", "per_output"]


def per_output(value: Any, names: list[str], what: str, single_ok: bool, default: Any = None) -> list:
    """``value`` spread over the outputs: the same for all, a list (one per output) or a dict by name."""
    n = len(names)
    if value is None:
        return [default] * n
    if isinstance(value, dict):
        unknown = [k for k in value if k not in names]
        if unknown:
            raise ValueError(f"{what}: unknown output name(s) {unknown}; the model's outputs are {names}")
        return [value.get(k, default) for k in names]
    if isinstance(value, (list, tuple)) and not (what == "metrics" and n == 1):
        if len(value) != n:
            raise ValueError(f"{what}: the model has {n} output(s) ({', '.join(names)}), but {what} is a list of "
                             f"{len(value)}; give one entry per output, or a dict keyed by output name")
        return list(value)
    if n == 1 or single_ok:
        return [value] * n
    raise ValueError(f"{what}: the model has {n} outputs ({', '.join(names)}); give a list (one per output) or "
                     "a dict keyed by output name")


def resolve(names: list[str], loss: Any, loss_weights: Any, metrics: Any) -> tuple[list, list[float], list[list]]:
    """(loss per output, loss weight per output, metrics per output) for a model whose outputs are ``names``.

    Raises:
        ValueError: for unknown names (listing the known ones) or lists of the wrong length.
    """
    n = len(names)
    per_loss = per_output(loss, names, "loss", single_ok=True)
    for fn in per_loss:
        if callable(fn) and not isinstance(fn, (losses_module.Loss, type)):
            check_callable(fn, "compile: loss", 2, purpose="a loss: a name, a Loss, or fn(y_true, y_pred) "
                           "returning a scalar Tensor")
    loss_objs = [losses_module.get(l) if l is not None else None for l in per_loss]
    if loss is not None and all(l is None for l in loss_objs):
        raise ValueError(f"loss: no output gets a loss; the outputs are {names}")
    weights = per_output(loss_weights, names, "loss_weights", single_ok=False, default=1.0)
    for w in weights:
        if isinstance(w, bool) or not isinstance(w, (int, float, np.floating)) or not math.isfinite(w):
            raise ValueError(f"loss_weights must be finite numbers, got {loss_weights!r}")
    if n == 1:
        if metrics is None:
            metrics = []
        elif isinstance(metrics, (str, metrics_module.Metric)) or callable(metrics):
            metrics = [metrics]
        elif isinstance(metrics, dict):
            metrics = per_output(metrics, names, "metrics", single_ok=False, default=[])[0]
            metrics = [metrics] if isinstance(metrics, str) or callable(metrics) else list(metrics)
        per_metrics = [list(metrics)]
    elif metrics is None:
        per_metrics = [[] for _ in names]
    elif isinstance(metrics, dict) or (isinstance(metrics, (list, tuple)) and len(metrics) == n
                                       and all(m is None or isinstance(m, (list, tuple)) for m in metrics)):
        per_metrics = per_output(metrics, names, "metrics", single_ok=False, default=[])
        per_metrics = [[] if m is None else ([m] if isinstance(m, str) or callable(m) else list(m))
                       for m in per_metrics]
    else:
        raise ValueError(f"metrics: a model with {n} outputs ({', '.join(names)}) takes a dict "
                         f"{{output_name: metrics}} or a list of lists (one per output), got {metrics!r}")
    mets = [[metrics_module.get(m, loss_objs[i] or losses_module.get("mse")) for m in ms]
            for i, ms in enumerate(per_metrics)]
    for i, ms in enumerate(mets):
        mnames = [m.name for m in ms]
        if len(set(mnames)) != len(mnames) or "loss" in mnames:
            raise ValueError(f"metric names must be unique and differ from 'loss', got {mnames}")
    return loss_objs, [float(w) for w in weights], mets
