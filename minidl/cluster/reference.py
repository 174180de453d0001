"""Textbook k-means in float64 NumPy, written to be read: the oracle the fast :mod:`.lloyd` and
:mod:`.kmeans_plusplus` are tested against (tests/test_cluster.py).

Lloyd's algorithm alternates two steps, neither of which can increase the inertia
``J(C) = Σ_i min_j ‖x_i − c_j‖²``:

* assignment: each sample goes to its nearest centre (here from the full (n, k) matrix of squared distances);
* update: each centre moves to the mean of its samples; an empty cluster is re-seeded with the sample
  farthest from its own centre (scikit-learn's rule).

Greedy k-means++: the first centre is a uniformly drawn sample; each next one is the best, by the potential
``Σ_x min(D(x)², ‖x − cand‖²)``, of ``n_local_trials`` candidates drawn with probability ``∝ D(x)²``, where
``D(x)`` is the distance to the nearest centre chosen so far.
"""
from __future__ import annotations

import numpy as np

__all__ = ["assign", "lloyd", "kmeans_plusplus"]


def assign(X: np.ndarray, C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(labels (n,), squared distance to the nearest centre (n,))``."""
    d = ((X[:, None, :] - C[None, :, :]) ** 2).sum(-1)
    labels = d.argmin(1)
    return labels, d[np.arange(len(X)), labels]


def lloyd(X: np.ndarray, C0: np.ndarray, n_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """``n_iter`` Lloyd iterations from the centres ``C0``; returns ``(centres (k, d), labels of the last
    assignment (n,))``."""
    X, C = np.asarray(X, np.float64), np.array(C0, np.float64)
    labels = np.zeros(len(X), np.int64)
    for _ in range(n_iter):
        labels, dmin = assign(X, C)
        sums = np.stack([X[labels == j].sum(0) for j in range(len(C))])
        counts = np.bincount(labels, minlength=len(C)).astype(float)
        for j in np.flatnonzero(counts == 0):  # re-seed with the farthest sample (not alone in its cluster)
            for i in np.argsort(-dmin):
                if counts[labels[i]] > 1 and dmin[i] > 0:
                    break
            sums[labels[i]] -= X[i]
            counts[labels[i]] -= 1
            sums[j], counts[j] = X[i], 1
            dmin[i] = -1.0
        C = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], C)
    return C, labels


def kmeans_plusplus(X: np.ndarray, k: int, rng: np.random.Generator,
                    n_local_trials: int | None = None) -> np.ndarray:
    """Indices ``(k,)`` of the greedy k-means++ seeds, drawing from ``rng`` in the fast version's order:
    ``rng.integers(n)``, then ``rng.random(n_local_trials)`` per further centre."""
    X = np.asarray(X, np.float64)
    n = len(X)
    trials = 2 + int(np.log(k)) if n_local_trials is None else n_local_trials
    chosen = [int(rng.integers(n))]
    closest = ((X - X[chosen[0]]) ** 2).sum(1)  # D(x)²
    for _ in range(1, k):
        cand = np.searchsorted(np.cumsum(closest), rng.random(trials) * closest.sum())
        cand = np.minimum(cand, n - 1)
        pots = [np.minimum(closest, ((X - X[c]) ** 2).sum(1)).sum() for c in cand]
        best = cand[int(np.argmin(pots))]
        chosen.append(int(best))
        closest = np.minimum(closest, ((X - X[best]) ** 2).sum(1))
    return np.array(chosen, np.int64)
