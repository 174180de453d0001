"""Clustering quality metrics: matched accuracy, normalized mutual information, adjusted Rand index.

All three work from the contingency table ``N[a, b]`` = number of samples with true label ``a`` and predicted
label ``b``; label values are arbitrary (any hashable numbers/strings), only the grouping matters.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["cluster_accuracy", "normalized_mutual_info_score", "adjusted_rand_score", "contingency_matrix"]


def _one_labeling(labels: Any, name: str) -> np.ndarray:
    """A 1-D array of labels: numbers (finite) or strings, one per sample."""
    try:
        a = np.asarray(labels)
    except (TypeError, ValueError) as exc:  # ragged nesting and the like
        raise ValueError(f"{name} must be a 1-D sequence of labels, got {type(labels).__name__}: {exc}") from None
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label per sample), got an array of shape {a.shape}.")
    if a.dtype.kind == "c":
        raise ValueError(f"{name} must hold integer, float or string labels, got dtype {a.dtype}.")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinity; labels must be finite.")
    if a.dtype.kind == "O":
        kinds = {type(x) for x in a}
        if not (all(issubclass(k, str) for k in kinds) or all(
                issubclass(k, (int, np.integer)) and not issubclass(k, (bool, np.bool_)) for k in kinds)):
            raise ValueError(f"{name} must hold labels of one kind (all numbers or all strings), got types "
                             f"{sorted(k.__name__ for k in kinds)}.")
    elif a.dtype.kind not in "biufUS":
        raise ValueError(f"{name} must hold integer, float or string labels, got dtype {a.dtype}.")
    return a


def _check_labels(labels_true: Any, labels_pred: Any, names: tuple[str, str] = ("labels_true", "labels_pred")
                  ) -> tuple[np.ndarray, np.ndarray]:
    t = _one_labeling(labels_true, names[0])
    p = _one_labeling(labels_pred, names[1])
    if t.shape[0] != p.shape[0]:
        raise ValueError(f"{names[0]} and {names[1]} have different lengths: {t.shape[0]} != {p.shape[0]}.")
    if t.shape[0] == 0:
        raise ValueError(f"{names[0]} and {names[1]} are empty; need at least one sample.")
    return t, p


def contingency_matrix(labels_true: Any, labels_pred: Any,
                       _names: tuple[str, str] = ("labels_true", "labels_pred")) -> np.ndarray:
    """``N`` ``(n_true_classes, n_pred_clusters)`` int64 with ``N[a, b] = #{i : true_i = a, pred_i = b}``.

    Raises:
        ValueError: labelings that are not 1-D, of different lengths, empty, with NaN, or mixing kinds.
    """
    t, p = _check_labels(labels_true, labels_pred, _names)
    _, ti = np.unique(t, return_inverse=True)
    _, pi = np.unique(p, return_inverse=True)
    n = np.zeros((ti.max() + 1, pi.max() + 1), dtype=np.int64)
    np.add.at(n, (ti.ravel(), pi.ravel()), 1)
    return n


def cluster_accuracy(y_true: Any, y_pred: Any) -> float:
    """Accuracy under the best one-to-one matching of clusters to classes.

    ``max_π Σ_b N[π(b), b] / n`` over injective matchings (Hungarian algorithm); with more clusters than classes
    the unmatched clusters count as wrong, with fewer the unmatched classes do.
    """
    n = contingency_matrix(y_true, y_pred, ("y_true", "y_pred"))
    from scipy.optimize import linear_sum_assignment  # lazy: scipy.optimize takes ~0.5 s to import

    rows, cols = linear_sum_assignment(n, maximize=True)
    return float(n[rows, cols].sum() / n.sum())


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def normalized_mutual_info_score(labels_true: Any, labels_pred: Any) -> float:
    """``NMI = I(T; P) / ((H(T) + H(P)) / 2)`` (arithmetic normalization, scikit-learn's default), natural log.

    ``I = Σ_ab (N_ab/n) log(n N_ab / (a_a b_b))``. Both labelings a single cluster -> 1; ``I = 0`` -> 0.
    """
    n = contingency_matrix(labels_true, labels_pred)
    if n.shape[0] == n.shape[1] == 1:
        return 1.0
    total = n.sum()
    a = n.sum(axis=1).astype(np.float64)
    b = n.sum(axis=0).astype(np.float64)
    nz = np.nonzero(n)
    nij = n[nz].astype(np.float64)
    mi = float(np.sum(nij / total * (np.log(nij * total) - np.log(a[nz[0]] * b[nz[1]]))))
    mi = max(mi, 0.0)  # round-off can make an independent table slightly negative
    if mi == 0.0:
        return 0.0
    denom = max((_entropy(a) + _entropy(b)) / 2.0, np.finfo(np.float64).eps)
    return float(min(mi / denom, 1.0))


def adjusted_rand_score(labels_true: Any, labels_pred: Any) -> float:
    """Adjusted Rand index (Hubert & Arabie 1985).

    With ``C(m) = m(m−1)/2``: ``index = Σ_ab C(N_ab)``, ``expected = Σ_a C(a_a) Σ_b C(b_b) / C(n)``,
    ``max = (Σ_a C(a_a) + Σ_b C(b_b)) / 2``; ``ARI = (index − expected) / (max − expected)``, 1 when
    ``max = expected`` (only possible for identical trivial labelings). Python ints avoid overflow.
    """
    n = contingency_matrix(labels_true, labels_pred)
    c2 = lambda m: m * (m - 1) // 2  # noqa: E731
    index = int(sum(c2(int(v)) for v in n[n > 1]))
    sa = int(sum(c2(int(v)) for v in n.sum(axis=1)))
    sb = int(sum(c2(int(v)) for v in n.sum(axis=0)))
    cn = c2(int(n.sum()))
    if cn == 0:
        return 1.0
    expected = sa * sb / cn
    max_index = (sa + sb) / 2.0
    if max_index == expected:
        return 1.0
    return float((index - expected) / (max_index - expected))
