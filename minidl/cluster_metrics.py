"""Clustering quality metrics: matched accuracy, normalized mutual information, adjusted Rand index.

All three work from the contingency table ``N[a, b]`` = number of samples with true label ``a`` and predicted
label ``b``; label values are arbitrary (any hashable numbers/strings), only the grouping matters.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["cluster_accuracy", "normalized_mutual_info_score", "adjusted_rand_score", "contingency_matrix"]


def _check_labels(labels_true: Any, labels_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(labels_true)
    p = np.asarray(labels_pred)
    if t.ndim != 1 or p.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shapes {t.shape} and {p.shape}.")
    if t.shape[0] != p.shape[0]:
        raise ValueError(f"labels_true and labels_pred have different lengths: {t.shape[0]} != {p.shape[0]}.")
    if t.shape[0] == 0:
        raise ValueError("labels are empty; need at least one sample.")
    return t, p


def contingency_matrix(labels_true: Any, labels_pred: Any) -> np.ndarray:
    """``N`` ``(n_true_classes, n_pred_clusters)`` int64 with ``N[a, b] = #{i : true_i = a, pred_i = b}``."""
    t, p = _check_labels(labels_true, labels_pred)
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
    n = contingency_matrix(y_true, y_pred)
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
