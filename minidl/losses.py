"""Keras-style losses: ``loss(y_true, y_pred) -> scalar Tensor`` (mean over the batch).

Each loss knows which output activation it can be fused with (``fuses_with``): a model whose last layer is
softmax (or sigmoid) and whose loss is a cross-entropy computes the loss from the logits instead
(:meth:`Loss.from_logits`), which is both faster and numerically stable (no ``log(0)``, gradient
``(p - t) / N`` directly).

Formulas (``p`` predictions, ``t`` targets, ``N`` batch, ``eps = 1e-7`` clipping like Keras):

- categorical:        ``-mean_n sum_k t[n,k] log clip(p[n,k], eps, 1-eps)``, targets one-hot/soft (N, K).
- sparse categorical: ``-mean_n log clip(p[n, y_n], eps, 1-eps)``, targets integer labels (N,) or (N, 1).
- binary:             ``-mean(t log p + (1-t) log(1-p))`` with ``p`` clipped, targets the output's shape.
- mean squared error: ``mean((p - t)^2)``.
- Keras 3's KL divergence ('kld'), mean absolute error ('mae'), Huber, cosine similarity and categorical
  hinge: per-sample functions in :mod:`minidl.losses_extra` (formulas there), classes here with Keras's
  ``reduction`` ('sum_over_batch_size' by default).

The four losses above have function aliases returning the batch mean (a scalar); the Keras 3 extras'
functions return one value per sample, as in Keras. A plain function used as a loss is averaged when it
returns more than a scalar (Keras's 'sum_over_batch_size').

:meth:`Loss.check_targets` validates a whole target array once, before training, and says what is wrong
in words (the commonest Keras mistakes: integer labels with categorical cross-entropy, one-hot targets
with the sparse loss, labels out of range).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import functional as F
from . import losses_extra as _extra
from .autograd import Tensor
from .losses_extra import categorical_hinge, cosine_similarity, huber, kl_divergence, mean_absolute_error

__all__ = [
    "Loss", "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "BinaryCrossentropy",
    "MeanSquaredError", "MSE", "LossFunctionWrapper", "get", "serialize",
    "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy", "mean_squared_error",
    "ReducedLoss", "KLDivergence", "MeanAbsoluteError", "Huber", "CosineSimilarity", "CategoricalHinge",
    "kl_divergence", "mean_absolute_error", "huber", "cosine_similarity", "categorical_hinge",
    "kld", "KLD", "mae", "MAE",
]

_EPS = 1e-7


def _np(y: Any) -> np.ndarray:
    return np.asarray(y.data if isinstance(y, Tensor) else y)


def _check_finite(y: np.ndarray, name: str) -> None:
    if y.dtype.kind in "fc" and not np.all(np.isfinite(y)):
        bad = int(np.size(y) - np.count_nonzero(np.isfinite(y)))
        raise ValueError(f"{name}: targets contain {bad} non-finite value(s) (NaN or inf)")
    if y.dtype.kind not in "biuf":
        raise ValueError(f"{name}: targets must be numeric, got dtype {y.dtype}")


def _check_same_shape(y: np.ndarray, output_shape: tuple, name: str) -> None:
    out = tuple(output_shape)
    if y.shape == out:
        return
    # (N,) targets against an (N, 1) output: Keras accepts them and so do the functional losses.
    if y.ndim == 1 and len(out) == 2 and out[1] == 1 and y.shape[0] == out[0]:
        return
    raise ValueError(f"{name}: target shape {y.shape} does not match the model's output shape {out}")


def _labels(y: np.ndarray, num_classes: int, name: str) -> np.ndarray:
    """Validated int64 labels (N,) from (N,) or (N, 1) integer(-valued) targets."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{name}: integer labels must have shape (N,) or (N, 1), got {y.shape}")
    if y.dtype.kind == "f" and (not np.all(np.isfinite(y)) or np.any(y != np.round(y))):
        raise ValueError(f"{name}: labels must be whole numbers (class indices), found non-integer values")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"{name}: labels out of range: found {y.min():g}..{y.max():g} but the output has {num_classes} "
            f"classes (labels must be in 0..{num_classes - 1})"
        )
    return np.ascontiguousarray(y, dtype=np.int64)


# ---------------------------------------------------------------------------------------------------- base
class Loss:
    """Base class.

    Attributes:
        name: the Keras name, stored when a model is saved (``get(name)`` rebuilds the loss).
        fuses_with: the output activation whose composition with this loss has a fused, stable form
            (``'softmax'``, ``'sigmoid'``) or None.
    """

    name: str = "loss"
    fuses_with: str | None = None

    def __call__(self, y_true: Any, y_pred: Tensor) -> Tensor:
        """The loss of predictions ``y_pred`` (a Tensor, so it is differentiable) against ``y_true``."""
        raise NotImplementedError

    def from_logits(self, y_true: Any, logits: Tensor) -> Tensor:
        """The loss of ``activation(logits)``, computed fused from the pre-activation ``logits``."""
        raise NotImplementedError(f"{type(self).__name__} has no fused form (fuses_with is None)")

    def check_targets(self, y_true: Any, output_shape: tuple) -> None:
        """Raises ValueError, saying what is wrong, when ``y_true`` cannot be a target for an output of
        shape ``output_shape`` (batch dimension included)."""
        _check_finite(_np(y_true), self.name)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class CategoricalCrossentropy(Loss):
    """Cross-entropy against one-hot (or soft) targets (N, K). Integer labels need the sparse loss."""

    name = "categorical_crossentropy"
    fuses_with = "softmax"

    def __call__(self, y_true, y_pred):
        return F.categorical_crossentropy(y_pred, _np(y_true), eps=_EPS)

    def from_logits(self, y_true, logits):
        # Cast to float so 1-D integer labels are not taken for the sparse form by cross_entropy.
        return F.cross_entropy(logits, np.asarray(_np(y_true), dtype=logits.dtype))

    def check_targets(self, y_true, output_shape):
        y = _np(y_true)
        _check_finite(y, self.name)
        out = tuple(output_shape)
        k = out[-1] if out else 1
        if (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)) and k != 1:
            raise ValueError(
                f"{self.name}: got integer class labels of shape {y.shape} but the model outputs {k} classes "
                f"{out}; categorical_crossentropy needs one-hot targets of shape {out}: convert them with "
                f"minidl.utils.to_categorical(y, {k}), or use loss='sparse_categorical_crossentropy'"
            )
        _check_same_shape(y, out, self.name)
        if y.size and (y.min() < 0 or y.max() > 1):
            raise ValueError(f"{self.name}: targets must be probabilities in [0, 1], found {y.min():g}..{y.max():g}")


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy against integer labels (N,) or (N, 1) in ``0..K-1``."""

    name = "sparse_categorical_crossentropy"
    fuses_with = "softmax"

    def __call__(self, y_true, y_pred):
        k = y_pred.shape[-1]
        labels = _labels(_np(y_true), k, self.name)
        # Gathering p[n, y_n] is the same as the categorical loss against one-hot targets, whose gradient
        # path (clip, log, weighted sum) already exists.
        onehot = np.zeros(y_pred.shape, dtype=y_pred.dtype)
        onehot[np.arange(labels.size), labels] = 1
        return F.categorical_crossentropy(y_pred, onehot, eps=_EPS)

    def from_logits(self, y_true, logits):
        return F.cross_entropy(logits, _labels(_np(y_true), logits.shape[-1], self.name))

    def check_targets(self, y_true, output_shape):
        y = _np(y_true)
        _check_finite(y, self.name)
        out = tuple(output_shape)
        if y.ndim == 2 and y.shape[1] > 1:
            raise ValueError(
                f"{self.name}: got 2-D targets of shape {y.shape} (one-hot?) but the sparse loss takes integer "
                f"labels of shape ({y.shape[0]},): use loss='categorical_crossentropy' for one-hot targets, or "
                f"pass y.argmax(axis=1)"
            )
        if y.shape[0:1] != out[0:1]:
            raise ValueError(f"{self.name}: {y.shape[0]} targets for {out[0]} outputs")
        _labels(y, out[-1], self.name)


class BinaryCrossentropy(Loss):
    """Binary cross-entropy, targets in [0, 1] of the output's shape ((N,) is accepted for (N, 1))."""

    name = "binary_crossentropy"
    fuses_with = "sigmoid"

    def __call__(self, y_true, y_pred):
        return F.binary_cross_entropy(y_pred, _np(y_true), eps=_EPS)

    def from_logits(self, y_true, logits):
        return F.binary_cross_entropy_with_logits(logits, _np(y_true))

    def check_targets(self, y_true, output_shape):
        y = _np(y_true)
        _check_finite(y, self.name)
        _check_same_shape(y, output_shape, self.name)
        if y.size and (y.min() < 0 or y.max() > 1):
            raise ValueError(f"{self.name}: targets must be in [0, 1], found {y.min():g}..{y.max():g}")


class MeanSquaredError(Loss):
    """Mean of the squared differences over every element."""

    name = "mean_squared_error"
    fuses_with = None

    def __call__(self, y_true, y_pred):
        return F.mse(y_pred, _np(y_true))

    def check_targets(self, y_true, output_shape):
        y = _np(y_true)
        _check_finite(y, self.name)
        _check_same_shape(y, output_shape, self.name)


MSE = MeanSquaredError


# ---------------------------------------------------------------------------------------------------- Keras 3 extras
class ReducedLoss(Loss):
    """A per-sample loss function reduced to a scalar as Keras's ``reduction`` says."""

    fuses_with = None

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = None) -> None:
        if reduction not in _extra.REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of "
                             f"{', '.join(repr(r) for r in _extra.REDUCTIONS)}, got {reduction!r}")
        self.reduction = reduction
        if name is not None:
            if not isinstance(name, str):
                raise ValueError(f"{type(self).__name__}: name must be a string, got {name!r}")
            self.name = name

    def per_sample(self, y_true: Any, y_pred: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, y_true, y_pred):
        values = self.per_sample(y_true, y_pred)
        if self.reduction in ("sum_over_batch_size", "mean"):
            return values.mean()
        if self.reduction == "sum":
            return values.sum()
        return values

    def check_targets(self, y_true, output_shape):
        y = _np(y_true)
        _check_finite(y, self.name)
        _check_same_shape(y, output_shape, self.name)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "class_name": type(self).__name__, "reduction": self.reduction}

    def __repr__(self) -> str:
        cfg = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k not in ("name", "class_name"))
        return f"{type(self).__name__}({cfg})"


class KLDivergence(ReducedLoss):
    """Keras's ``KLDivergence`` ('kld', 'kl_divergence'): :func:`kl_divergence` averaged over the batch."""

    name = "kl_divergence"

    def per_sample(self, y_true, y_pred):
        return _extra.kl_divergence(y_true, y_pred)

    def check_targets(self, y_true, output_shape):
        super().check_targets(y_true, output_shape)
        y = np.asarray(y_true)
        if y.size and (y.min() < 0 or y.max() > 1):
            raise ValueError(f"{self.name}: targets must be probabilities in [0, 1], found {y.min():g}..{y.max():g}")


class MeanAbsoluteError(ReducedLoss):
    """Keras's ``MeanAbsoluteError`` ('mae'): ``mean(|p - t|)``."""

    name = "mean_absolute_error"

    def per_sample(self, y_true, y_pred):
        return _extra.mean_absolute_error(y_true, y_pred)


class Huber(ReducedLoss):
    """Keras's ``Huber(delta=1.0)`` ('huber'): :func:`huber` averaged over the batch."""

    name = "huber_loss"

    def __init__(self, delta: float = 1.0, reduction: str | None = "sum_over_batch_size",
                 name: str | None = None) -> None:
        super().__init__(reduction, name)
        self.delta = _extra.check_delta(delta)

    def per_sample(self, y_true, y_pred):
        return _extra.huber(y_true, y_pred, self.delta)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


class CosineSimilarity(ReducedLoss):
    """Keras's ``CosineSimilarity(axis=-1)`` ('cosine_similarity'): the mean of :func:`cosine_similarity`."""

    name = "cosine_similarity"

    def __init__(self, axis: int = -1, reduction: str | None = "sum_over_batch_size", name: str | None = None) -> None:
        super().__init__(reduction, name)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise ValueError(f"CosineSimilarity: axis must be an integer, got {axis!r}")
        self.axis = int(axis)

    def per_sample(self, y_true, y_pred):
        return _extra.cosine_similarity(y_true, y_pred, self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class CategoricalHinge(ReducedLoss):
    """Keras's ``CategoricalHinge`` ('categorical_hinge'): the mean of :func:`categorical_hinge`."""

    name = "categorical_hinge"

    def per_sample(self, y_true, y_pred):
        return _extra.categorical_hinge(y_true, y_pred)


class LossFunctionWrapper(Loss):
    """A plain function ``fn(y_true, y_pred) -> scalar Tensor`` used as a loss (never fused)."""

    fuses_with = None

    def __init__(self, fn: Callable[[Any, Tensor], Tensor], name: str | None = None) -> None:
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "custom_loss")

    def __call__(self, y_true, y_pred):
        out = self.fn(y_true, y_pred)
        # A per-sample result (Keras's loss functions return one) is averaged, as Keras's default
        # 'sum_over_batch_size' reduction does.
        if isinstance(out, Tensor) and out.ndim > 0:
            out = out.mean()
        return out

    def __repr__(self) -> str:
        return f"LossFunctionWrapper({self.name})"


# Function-style aliases, as in keras.losses.
def categorical_crossentropy(y_true: Any, y_pred: Tensor) -> Tensor:
    return CategoricalCrossentropy()(y_true, y_pred)


def sparse_categorical_crossentropy(y_true: Any, y_pred: Tensor) -> Tensor:
    return SparseCategoricalCrossentropy()(y_true, y_pred)


def binary_crossentropy(y_true: Any, y_pred: Tensor) -> Tensor:
    return BinaryCrossentropy()(y_true, y_pred)


def mean_squared_error(y_true: Any, y_pred: Tensor) -> Tensor:
    return MeanSquaredError()(y_true, y_pred)


# ---------------------------------------------------------------------------------------------------- lookup
_REGISTRY: dict[str, type[Loss]] = {
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "kld": KLDivergence,
    "kl_divergence": KLDivergence,
    "kullback_leibler_divergence": KLDivergence,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "huber": Huber,
    "huber_loss": Huber,
    "cosine_similarity": CosineSimilarity,
    "categorical_hinge": CategoricalHinge,
}
# Keras class names ('KLDivergence', 'MeanAbsoluteError', ...) resolve too: compared lower-cased without '_'.
_SQUASHED = {k.replace("_", ""): cls for k, cls in _REGISTRY.items()}
_SQUASHED.update({cls.__name__.lower(): cls for cls in set(_REGISTRY.values())})
# The function aliases resolve to the classes, so `loss=losses.binary_crossentropy` still fuses.
_FUNCTIONS = {
    categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    binary_crossentropy: BinaryCrossentropy,
    mean_squared_error: MeanSquaredError,
    kl_divergence: KLDivergence,
    mean_absolute_error: MeanAbsoluteError,
    huber: Huber,
    cosine_similarity: CosineSimilarity,
    categorical_hinge: CategoricalHinge,
}

# Keras's legacy short names of the functions.
kld = KLD = kl_divergence
mae = MAE = mean_absolute_error


def serialize(loss: Loss) -> dict[str, Any]:
    return loss.get_config()


def get(identifier: Any) -> Loss:
    """A loss from an instance (returned as is), a class, a name, a config dict ``{'name': ...}`` or a
    callable ``fn(y_true, y_pred) -> Tensor`` (wrapped, not fused).

    Raises:
        ValueError: for an unknown name (listing the known ones) or an unusable identifier.
    """
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, dict):
        config = dict(identifier)
        if "class_name" in config:  # a ReducedLoss's saved config: its class, then its arguments
            cls = _SQUASHED.get(str(config.pop("class_name")).lower())
            if cls is None or not issubclass(cls, ReducedLoss):
                raise ValueError(f"unknown loss class in {identifier!r}; known losses: {', '.join(_REGISTRY)}")
            return cls(**config)
        identifier = config.get("name")
    if isinstance(identifier, str):
        cls = _REGISTRY.get(identifier.lower()) or _SQUASHED.get(identifier.lower().replace("_", ""))
        if cls is None:
            raise ValueError(f"unknown loss {identifier!r}; known losses: {', '.join(_REGISTRY)}")
        return cls()
    if callable(identifier):
        cls = _FUNCTIONS.get(identifier)
        return cls() if cls is not None else LossFunctionWrapper(identifier)
    raise ValueError(f"cannot interpret {identifier!r} as a loss; pass a Loss, a callable or one of: "
                     f"{', '.join(_REGISTRY)}")
