"""Training metrics (Keras names) and classification reports on NumPy arrays.

A metric is an object with a ``name`` and ``__call__(y_true, y_pred) -> float``, the mean over the batch.
``get('accuracy', loss=...)`` picks the accuracy that fits the loss, as Keras does:

- sparse categorical cross-entropy → ``labels == argmax(y_pred)``;
- categorical cross-entropy        → ``argmax(y_true) == argmax(y_pred)``;
- binary cross-entropy             → ``y_true == (y_pred > 0.5)``;
- any other loss                   → decided from the shapes of the first batch it sees (binary when the
  output has one unit, sparse when the targets have fewer dimensions or one column, else categorical).

Also :func:`confusion_matrix`, :func:`precision_recall_per_class` and :func:`classification_report` (the
layout of scikit-learn's), and the clustering scores of :mod:`minidl.cluster_metrics`.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ._validate import check_non_negative_int, check_positive_int, describe
from .autograd import Tensor
from .cluster_metrics import adjusted_rand_score, cluster_accuracy, normalized_mutual_info_score

__all__ = [
    "Metric", "get", "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "mean_squared_error", "mean_absolute_error", "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
    "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "confusion_matrix", "precision_recall_per_class",
    "classification_report", "cluster_accuracy", "normalized_mutual_info_score", "adjusted_rand_score",
]


def _np(a: Any) -> np.ndarray:
    return np.asarray(a.data if isinstance(a, Tensor) else a)


# ---------------------------------------------------------------------------------------------------- functions
def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> float:
    """Fraction of entries where ``y_true == (y_pred > threshold)``; (N,) targets match an (N, 1) output."""
    t, p = _np(y_true), _np(y_pred)
    if t.shape != p.shape and t.size == p.size:
        t = t.reshape(p.shape)
    return float(np.mean(t == (p > threshold).astype(t.dtype)))


def categorical_accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of rows where ``argmax(y_true) == argmax(y_pred)`` (one-hot/soft targets (N, K))."""
    t, p = _np(y_true), _np(y_pred)
    return float(np.mean(np.argmax(t, axis=-1) == np.argmax(p, axis=-1)))


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of rows where the label (N,) or (N, 1) equals ``argmax(y_pred)``."""
    t, p = _np(y_true), _np(y_pred)
    if t.ndim == p.ndim and t.shape[-1] == 1:
        t = t[..., 0]
    return float(np.mean(t.astype(np.int64) == np.argmax(p, axis=-1)))


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Accuracy whose kind is inferred from the shapes (see the module docstring)."""
    return _infer_accuracy(_np(y_true), _np(y_pred))(y_true, y_pred)


def _infer_accuracy(t: np.ndarray, p: np.ndarray) -> Callable[[Any, Any], float]:
    if p.ndim == 0 or p.shape[-1] == 1:
        return binary_accuracy
    if t.ndim < p.ndim or t.shape[-1] == 1:
        return sparse_categorical_accuracy
    return categorical_accuracy


def mean_squared_error(y_true: Any, y_pred: Any) -> float:
    t, p = _np(y_true), _np(y_pred)
    if t.shape != p.shape and t.size == p.size:
        t = t.reshape(p.shape)
    return float(np.mean((p.astype(np.float64) - t) ** 2))


def mean_absolute_error(y_true: Any, y_pred: Any) -> float:
    t, p = _np(y_true), _np(y_pred)
    if t.shape != p.shape and t.size == p.size:
        t = t.reshape(p.shape)
    return float(np.mean(np.abs(p.astype(np.float64) - t)))


def _in_top_k(labels: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    """Whether each row's label is among its ``k`` highest scores. Ties straddling the boundary count as
    in (TensorFlow's ``in_top_k``): a label is in when fewer than ``k`` scores are strictly greater."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"top-k accuracy: k must be a positive integer, got {k!r}")
    scores = scores.reshape(-1, scores.shape[-1])
    labels = labels.reshape(-1).astype(np.int64)
    if labels.size != scores.shape[0]:
        raise ValueError(f"top-k accuracy: {labels.size} labels for {scores.shape[0]} score rows")
    if labels.size and (labels.min() < 0 or labels.max() >= scores.shape[1]):
        raise ValueError(f"top-k accuracy: labels must be in 0..{scores.shape[1] - 1}")
    target = scores[np.arange(labels.size), labels]
    return np.sum(scores > target[:, None], axis=1) < k


def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> float:
    """Fraction of rows whose true class (argmax of the one-hot ``y_true``) is among the ``k`` highest
    scores of ``y_pred`` (N, K)."""
    t, p = _np(y_true), _np(y_pred)
    return float(np.mean(_in_top_k(np.argmax(t, axis=-1), p, k)))


def sparse_top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> float:
    """As :func:`top_k_categorical_accuracy` with integer labels (N,) or (N, 1)."""
    t, p = _np(y_true), _np(y_pred)
    if t.ndim == p.ndim and t.shape[-1] == 1:
        t = t[..., 0]
    return float(np.mean(_in_top_k(t, p, k)))


# ---------------------------------------------------------------------------------------------------- objects
class Metric:
    """A named batch metric: ``metric(y_true, y_pred) -> float`` (mean over the batch).

    Args:
        fn: the function computing it.
        name: the name under which it is logged (``'accuracy'``, ``'val_accuracy'`` in History).
    """

    def __init__(self, fn: Callable[[Any, Any], float], name: str) -> None:
        self.fn = fn
        self.name = name

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        return float(self.fn(y_true, y_pred))

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}

    def __repr__(self) -> str:
        return f"Metric({self.name!r}, {getattr(self.fn, '__name__', self.fn)!r})"


class _InferredAccuracy(Metric):
    """Accuracy for a loss that does not say which: the kind is fixed by the first batch's shapes."""

    def __init__(self, name: str) -> None:
        super().__init__(accuracy, name)
        self._kind: Callable[[Any, Any], float] | None = None

    def __call__(self, y_true, y_pred):
        if self._kind is None:
            self._kind = _infer_accuracy(_np(y_true), _np(y_pred))
        return float(self._kind(y_true, y_pred))


class TopKCategoricalAccuracy(Metric):
    """Keras's ``TopKCategoricalAccuracy(k=5)``: one-hot targets, true class among the k best scores."""

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy") -> None:
        _in_top_k(np.zeros(0), np.zeros((0, 1)), k)  # validates k now, not at the first batch
        self.k = int(k)
        super().__init__(lambda t, p: top_k_categorical_accuracy(t, p, self.k), name)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "k": self.k}


class SparseTopKCategoricalAccuracy(Metric):
    """Keras's ``SparseTopKCategoricalAccuracy(k=5)``: integer labels, true class among the k best scores."""

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy") -> None:
        _in_top_k(np.zeros(0), np.zeros((0, 1)), k)
        self.k = int(k)
        super().__init__(lambda t, p: sparse_top_k_categorical_accuracy(t, p, self.k), name)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "k": self.k}


_FUNCTIONS: dict[str, Callable[[Any, Any], float]] = {
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "binary_accuracy": binary_accuracy,
    "mse": mean_squared_error,
    "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error,
    "mean_absolute_error": mean_absolute_error,
    "top_k_categorical_accuracy": top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
}
_ACCURACY_BY_LOSS = {
    "sparse_categorical_crossentropy": sparse_categorical_accuracy,
    "categorical_crossentropy": categorical_accuracy,
    "binary_crossentropy": binary_accuracy,
}
KNOWN = ("accuracy", "acc", *_FUNCTIONS)


def get(identifier: Any, loss: Any = None) -> Metric:
    """A metric from a name, a :class:`Metric` (returned as is) or a callable ``fn(y_true, y_pred) -> float``.

    Args:
        identifier: 'accuracy'/'acc' (picked from ``loss``), 'categorical_accuracy',
            'sparse_categorical_accuracy', 'binary_accuracy', 'mse'/'mean_squared_error',
            'mae'/'mean_absolute_error', 'top_k_categorical_accuracy', 'sparse_top_k_categorical_accuracy'
            (k=5). The metric is named exactly as given, as Keras logs it.
        loss: the model's loss (a :class:`minidl.losses.Loss`, its name, or None).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in ("accuracy", "acc"):
            loss_name = loss if isinstance(loss, str) else getattr(loss, "name", None)
            fn = _ACCURACY_BY_LOSS.get(str(loss_name).lower()) if loss_name is not None else None
            return Metric(fn, identifier) if fn is not None else _InferredAccuracy(identifier)
        fn = _FUNCTIONS.get(key)
        if fn is None:
            raise ValueError(f"unknown metric {identifier!r}; known metrics: {', '.join(KNOWN)}")
        return Metric(fn, identifier)
    if callable(identifier):
        return Metric(identifier, getattr(identifier, "__name__", "metric"))
    raise ValueError(f"cannot interpret {identifier!r} as a metric; pass a callable or one of: {', '.join(KNOWN)}")


# ---------------------------------------------------------------------------------------------------- reports
def _as_labels(y: Any, name: str) -> np.ndarray:
    """Class indices from labels (N,) / (N, 1), one-hot or probabilities (N, K) (argmax), or binary
    probabilities (N,) / (N, 1) holding non-integer values in [0, 1] (thresholded at 0.5)."""
    try:
        a = _np(y)
    except (TypeError, ValueError) as exc:  # ragged nesting
        raise ValueError(f"{name} must be an array of labels or scores, got {describe(y)}: {exc}") from None
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{name}: labels must be integers (or scores), got dtype {a.dtype}")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: contains non-finite values")
    if a.ndim == 2 and a.shape[1] > 1:
        return np.argmax(a, axis=1)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise ValueError(f"{name}: expected labels (N,) or scores (N, K), got shape {a.shape}")
    if a.dtype.kind == "f" and np.any(a != np.round(a)):
        if a.min() < 0 or a.max() > 1:
            raise ValueError(f"{name}: holds non-integer values outside [0, 1] (min {a.min():g}, max {a.max():g}); "
                             "expected integer labels or binary probabilities")
        return (a > 0.5).astype(np.int64)  # binary probabilities
    a = a.astype(np.int64)
    if a.size and a.min() < 0:
        raise ValueError(f"{name}: labels must be >= 0, found {a.min()}")
    return a


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int | None = None) -> np.ndarray:
    """Counts ``C[i, j]`` of samples of true class ``i`` predicted as ``j`` (rows true, columns predicted).

    Args:
        y_true, y_pred: labels (N,) or (N, 1), or one-hot/probabilities (N, K) (their argmax is taken);
            (N,) or (N, 1) binary probabilities are thresholded at 0.5.
        num_classes: K; default ``1 + max`` label seen in either.

    Returns:
        int64 array (K, K).
    """
    num_classes = check_positive_int(num_classes, "num_classes", allow_none=True)
    t, p = _as_labels(y_true, "y_true"), _as_labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"confusion_matrix: {t.shape[0]} true labels but {p.shape[0]} predictions "
                         "(y_true and y_pred must have one row per sample)")
    seen = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    k = seen if num_classes is None else num_classes
    if seen > k:
        raise ValueError(f"confusion_matrix: found label {seen - 1} but num_classes={k}")
    # bincount over the flat index i*K + j: one pass, no Python loop.
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype(np.int64)


def precision_recall_per_class(y_true: Any, y_pred: Any, num_classes: int | None = None
                               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision ``TP/(TP+FP)``, recall ``TP/(TP+FN)``, F1 ``2PR/(P+R)`` and support (true count).

    A ratio whose denominator is 0 is reported as 0 (scikit-learn's ``zero_division`` default value,
    without its warning).

    Returns:
        (precision, recall, f1, support), each of shape (K,); support is int64.
    """
    cm = confusion_matrix(y_true, y_pred, num_classes)
    tp = np.diag(cm).astype(np.float64)
    pred_count = cm.sum(axis=0)
    support = cm.sum(axis=1)

    def ratio(a, b):
        return np.divide(a, b, out=np.zeros_like(a, dtype=np.float64), where=b > 0)

    precision, recall = ratio(tp, pred_count), ratio(tp, support)
    f1 = ratio(2 * precision * recall, precision + recall)
    return precision, recall, f1, support.astype(np.int64)


def classification_report(y_true: Any, y_pred: Any, target_names: Sequence[str] | None = None, digits: int = 2,
                          num_classes: int | None = None) -> str:
    """A text report laid out like ``sklearn.metrics.classification_report``.

    One row per class (precision, recall, f1-score, support), then accuracy, macro average (plain mean
    over classes) and weighted average (weighted by support).

    Args:
        y_true, y_pred: as for :func:`confusion_matrix`.
        target_names: display names of the classes (their count fixes K).
        digits: decimals of the floats, an int >= 0.
        num_classes: K when there are no target names; default from the labels.

    Raises:
        TypeError / ValueError: naming the argument: ``digits`` not a non-negative int, ``target_names`` a string
            or not a sequence, ``num_classes`` not a positive int or disagreeing with ``target_names``, labels
            beyond the classes named.
    """
    digits = check_non_negative_int(digits, "digits")
    num_classes = check_positive_int(num_classes, "num_classes", allow_none=True)
    if target_names is not None:
        if isinstance(target_names, (str, bytes)) or not isinstance(target_names, (Sequence, np.ndarray)):
            raise TypeError(f"target_names must be a list of class names, got {describe(target_names)}.")
        target_names = [str(n) for n in target_names]
        if not target_names:
            raise ValueError("target_names must name at least one class, got an empty sequence.")
        if num_classes is not None and num_classes != len(target_names):
            raise ValueError(f"num_classes={num_classes} disagrees with the {len(target_names)} target_names.")
        num_classes = len(target_names)
        seen = 1 + max(int(_as_labels(y_true, "y_true").max(initial=-1)),
                       int(_as_labels(y_pred, "y_pred").max(initial=-1)))
        if seen > num_classes:
            raise ValueError(f"target_names has {num_classes} names but the labels go up to {seen - 1}; "
                             f"give one name per class (labels 0..{seen - 1}).")
    p, r, f, s = precision_recall_per_class(y_true, y_pred, num_classes)
    if target_names is None:
        target_names = [str(i) for i in range(len(p))]
    total = int(s.sum())
    acc = float(np.sum(np.diag(confusion_matrix(y_true, y_pred, len(p))))) / total if total else 0.0

    def weighted(v: np.ndarray) -> float:
        # sum(v * s) / sum(s) as scikit-learn's np.average computes it: a BLAS dot (weights @ v) rounds
        # differently with the CPU's BLAS kernel, enough to flip a printed 0.645 between 0.64 and 0.65
        return float(np.average(v, weights=s)) if total else 0.0

    headers = ["precision", "recall", "f1-score", "support"]
    width = max(max((len(n) for n in target_names), default=0), len("weighted avg"), digits)
    head_fmt = "{:>{width}s} " + " {:>9}" * len(headers)
    row_fmt = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    report = head_fmt.format("", *headers, width=width) + "\n\n"
    for row in zip(target_names, p, r, f, s):
        report += row_fmt.format(*row, width=width, digits=digits)
    report += "\n"
    acc_fmt = "{:>{width}s} " + " {:>9.{digits}}" * 2 + " {:>9.{digits}f}" + " {:>9}\n"
    report += acc_fmt.format("accuracy", "", "", acc, total, width=width, digits=digits)
    report += row_fmt.format("macro avg", p.mean(), r.mean(), f.mean(), total, width=width, digits=digits)
    report += row_fmt.format("weighted avg", weighted(p), weighted(r), weighted(f), total, width=width, digits=digits)
    return report
