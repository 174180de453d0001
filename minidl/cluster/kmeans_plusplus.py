"""Greedy k-means++ seeding (Arthur & Vassilvitskii 2007, with scikit-learn's local trials)."""
from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from .lloyd import _FAST, sq_norms
from .validation import check_array, check_n_clusters, make_rng

__all__ = ["kmeans_plusplus"]


@njit(parallel=True, fastmath=_FAST, cache=True)
def _sq_dists_to_rows(X, x_sq, rows):  # pragma: no cover - compiled
    """``D[a, i] = ‖x_i − x_{rows[a]}‖²`` ``(m, n)`` float64 via ``‖x_i‖² − 2 x_i·x_r + ‖x_r‖²`` (clamped at 0).

    k-means++ needs the distances from every sample to a few candidate samples; the dot products are
    accumulated in float64 (even for float32 X) so that the sampling weights are as accurate as before.
    """
    n, d = X.shape
    m = rows.shape[0]
    out = np.empty((m, n))
    for i in prange(n):
        for a in range(m):
            r = rows[a]
            dot = 0.0
            for f in range(d):
                dot += np.float64(X[i, f]) * np.float64(X[r, f])
            v = x_sq[i] - 2.0 * dot + x_sq[r]
            out[a, i] = v if v > 0.0 else 0.0
    return out




def _kmeans_plusplus(
    X: np.ndarray, x_sq: np.ndarray, n_clusters: int, rng: np.random.Generator, n_local_trials: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy k-means++ on checked data with precomputed ``‖x_i‖²`` (see :func:`kmeans_plusplus`).

    Returns:
        ``(centers (k, d) float64, indices (k,) int64)``.
    """
    n = X.shape[0]
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    indices = np.full(n_clusters, -1, dtype=np.int64)
    first = int(rng.integers(n))
    indices[0] = first
    closest = _sq_dists_to_rows(X, x_sq, indices[:1])[0]  # (n,) D(x)² to the nearest chosen centre
    pot = closest.sum()
    for c in range(1, n_clusters):
        # Draw candidates with probability ∝ D(x)², the squared distance to the nearest chosen centre ...
        rand_vals = rng.random(n_local_trials) * pot
        cand = np.searchsorted(np.cumsum(closest), rand_vals)
        np.clip(cand, None, n - 1, out=cand)  # round-off can push a draw past the last cumulative sum
        # ... and keep the one that lowers the potential Σ_x D(x)² most (the greedy step).
        d_cand = _sq_dists_to_rows(X, x_sq, cand.astype(np.int64))
        np.minimum(closest[None, :], d_cand, out=d_cand)
        pots = d_cand.sum(axis=1)
        best = int(np.argmin(pots))
        pot = pots[best]
        closest = d_cand[best]
        indices[c] = cand[best]
    return X[indices].astype(np.float64), indices


def kmeans_plusplus(
    X: Any, n_clusters: int, *, random_state: Any = None, n_local_trials: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy k-means++ seeding (Arthur & Vassilvitskii 2007, with scikit-learn's local trials).

    The first centre is a uniformly drawn sample. Each next centre: draw ``n_local_trials`` candidates
    (default ``2 + ⌊ln k⌋``) with probability ``D(x)² / Σ D²``, where ``D(x)`` is the distance from ``x`` to the
    nearest centre chosen so far, and keep the candidate giving the smallest potential ``Σ_x min(D(x)², ‖x−cand‖²)``.

    Random draws, in order: ``rng.integers(n)``, then ``rng.random(n_local_trials)`` per further centre, with
    ``rng = np.random.default_rng(random_state)``.

    Args:
        X: ``(n_samples, n_features)`` samples.
        n_clusters: number of centres ``k``, ``1 ≤ k ≤ n_samples``.
        random_state: None, int seed or numpy Generator.
        n_local_trials: candidates per step.

    Returns:
        ``(centers, indices)``: ``(k, n_features)`` in X's float dtype and ``(k,)`` int64 indices into X.
    """
    X = check_array(X)
    check_n_clusters(n_clusters, X.shape[0])
    if n_local_trials is not None and (not isinstance(n_local_trials, (int, np.integer)) or n_local_trials < 1):
        raise ValueError(f"n_local_trials must be a positive int or None, got {n_local_trials!r}.")
    centers, idx = _kmeans_plusplus(X, sq_norms(X), int(n_clusters), make_rng(random_state), n_local_trials)
    return centers.astype(X.dtype), idx
