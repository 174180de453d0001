"""More Keras 3 losses: KL divergence, mean absolute error, Huber, cosine similarity, categorical hinge.

Keras's functions, returning one value per sample (reduced over the last axis only, shape
``y_pred.shape[:-1]``); their :class:`~minidl.losses.Loss` classes (``KLDivergence``, ``MeanAbsoluteError``,
``Huber``, ``CosineSimilarity``, ``CategoricalHinge`` in :mod:`minidl.losses`) reduce those to the scalar a
model trains on. All are built from differentiable Tensor ops, so their gradients come from autograd
(tested with :func:`minidl.testing.gradcheck`); ``minidl.losses`` re-exports every name.

Formulas, as in ``keras/src/losses/losses.py`` (``t`` targets, ``p`` predictions, ``eps = 1e-7``):

====================  ================================================================================
kl_divergence         ``sum(t' log(t' / p'), -1)`` with ``t' = clip(t, eps, 1)``, ``p' = clip(p, eps, 1)``
mean_absolute_error   ``mean(|p - t|, -1)``
huber                 ``mean(0.5 e² if |e| <= delta else delta |e| - 0.5 delta², -1)``, ``e = p - t``
cosine_similarity     ``-sum(t / ||t|| · p / ||p||, axis)``, norms ``sqrt(max(sum x², 1e-12))``
categorical_hinge     ``max(max((1 - t) p, -1) - sum(t p, -1) + 1, 0)``
====================  ================================================================================

The classes' ``reduction``: ``'sum_over_batch_size'`` (the default) and ``'mean'`` average every per-sample
value, ``'sum'`` adds them, ``None`` / ``'none'`` returns them unreduced.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .autograd import Tensor

__all__ = ["kl_divergence", "mean_absolute_error", "huber", "cosine_similarity", "categorical_hinge", "REDUCTIONS"]

_EPS = 1e-7
REDUCTIONS = ("sum_over_batch_size", "mean", "sum", "none", None)


def _as_tensor(y_pred: Any) -> Tensor:
    return y_pred if isinstance(y_pred, Tensor) else Tensor(np.asarray(y_pred, dtype=np.float64))


def _target(y_true: Any, y_pred: Tensor) -> np.ndarray:
    """The targets as a constant array of the prediction's dtype and rank ((N,) against (N, 1) is
    expanded, (N, 1) against (N,) squeezed, as Keras's squeeze_or_expand_to_same_rank)."""
    t = np.asarray(y_true.data if isinstance(y_true, Tensor) else y_true, dtype=y_pred.dtype)
    if t.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        t = t[..., None]
    elif t.ndim == y_pred.ndim + 1 and t.shape[-1] == 1:
        t = t[..., 0]
    if t.shape != tuple(y_pred.shape):
        raise ValueError(f"target shape {t.shape} does not match the prediction shape {tuple(y_pred.shape)}")
    return t


# ---------------------------------------------------------------------------------------------------- functions
def kl_divergence(y_true: Any, y_pred: Any) -> Tensor:
    """Kullback-Leibler divergence per sample: ``sum(t log(t / p), -1)`` on values clipped to [1e-7, 1].

    Args:
        y_true: target distributions (N, ..., K). y_pred: predicted distributions, the same shape.

    Returns:
        Tensor of shape ``y_pred.shape[:-1]``.
    """
    p = _as_tensor(y_pred)
    t = np.clip(_target(y_true, p), _EPS, 1)
    # t log t is a constant; only -t log p' carries a gradient (zero where p was clipped, as in Keras).
    return (Tensor(t * np.log(t)) - Tensor(t) * p.clip(_EPS, 1).log()).sum(axis=-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(|p - t|, -1)`` per sample."""
    p = _as_tensor(y_pred)
    return (p - _target(y_true, p)).abs().mean(axis=-1)


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Tensor:
    """Huber loss per sample: quadratic ``0.5 e²`` for ``|e| <= delta``, linear ``delta |e| - 0.5 delta²``
    beyond, averaged over the last axis (``e = p - t``)."""
    delta = check_delta(delta)
    p = _as_tensor(y_pred)
    err = p - _target(y_true, p)
    abs_err = err.abs()
    quadratic = 0.5 * err * err
    linear = delta * abs_err - 0.5 * delta * delta
    return ops.where(abs_err.data <= delta, quadratic, linear).mean(axis=-1)


def _l2_normalize(x: Any, axis: int) -> Any:
    # x / sqrt(max(sum x², 1e-12)): a zero vector stays zero (Keras's normalize).
    if isinstance(x, Tensor):
        return x / ops.maximum((x * x).sum(axis=axis, keepdims=True), 1e-12).sqrt()
    return x / np.sqrt(np.maximum(np.sum(x * x, axis=axis, keepdims=True), 1e-12))


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """``-sum(t̂ p̂, axis)``: -1 for parallel vectors, 0 for orthogonal ones (or a zero vector), +1 opposed."""
    p = _as_tensor(y_pred)
    t = _l2_normalize(_target(y_true, p), axis)
    return -(Tensor(t) * _l2_normalize(p, axis)).sum(axis=axis)


def categorical_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """``max(neg - pos + 1, 0)`` per sample with ``pos = sum(t p, -1)``, ``neg = max((1 - t) p, -1)``
    (targets one-hot, in {0, 1} or {-1, 1})."""
    p = _as_tensor(y_pred)
    t = _target(y_true, p)
    pos = (Tensor(t) * p).sum(axis=-1)
    neg = (Tensor(1.0 - t) * p).max(axis=-1)
    return ops.maximum(neg - pos + 1.0, 0.0)


def check_delta(delta: Any) -> float:
    if isinstance(delta, bool) or not isinstance(delta, (int, float, np.integer, np.floating)) \
            or not np.isfinite(delta) or delta <= 0:
        raise ValueError(f"huber: delta must be a finite number > 0, got {delta!r}")
    return float(delta)
