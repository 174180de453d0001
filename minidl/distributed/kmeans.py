"""K-means on row-sharded data: each rank holds some rows of X; centre sums and counts are all-reduced.

Lloyd's iteration splits naturally: the assignment of a row needs only the row and the centres, and the
new centre ``c_j = (sum over ranks of the sums of the rows labelled j) / (sum over ranks of their counts)``
needs one all-reduce of a ``(k, d)`` sum buffer and ``k`` counts (plus the inertia and the number of labels
that changed, in the same buffer). Every rank then holds the same centres.

k-means++ (greedy, as :func:`minidl.cluster.kmeans_plusplus`) needs samples drawn with probability
``D(x)^2 / sum D^2`` over ALL rows: rank 0 owns the random generator and draws the thresholds; each rank
knows the total of ``D^2`` on the ranks before it (one all-gather), so the rank whose part of the global
cumulative sum holds a threshold picks the row, and the chosen rows reach every rank through one
all-reduce (zeros elsewhere). The candidates' potentials are all-reduced the same way.

Used by ``minidl.cluster.KMeans(..., distributed=True)``.
"""
from __future__ import annotations

import numpy as np

from ._world import allgather_arrays, allreduce_sum, broadcast_arrays, rank, size

__all__ = ["sharded_mean", "kmeans_plusplus_sharded", "random_rows_sharded", "lloyd_sharded", "allreduce_sum"]


def _sq_dists(X: np.ndarray, x_sq: np.ndarray, C: np.ndarray) -> np.ndarray:
    return np.maximum(x_sq[:, None] - 2.0 * (X @ C.T) + np.einsum("ij,ij->i", C, C)[None, :], 0.0)


def sharded_mean(X: np.ndarray) -> tuple[np.ndarray, int]:
    """``(mean over all ranks' rows (d,), total number of rows)``: one all-reduce."""
    buf = np.concatenate([X.sum(0, dtype=np.float64), [float(len(X))]])
    allreduce_sum(buf, "KMeans (global mean)")
    n = int(round(buf[-1]))
    return buf[:-1] / max(n, 1), n


def _global_rows(X: np.ndarray, local_idx: list[int], slots: list[int], n_slots: int) -> np.ndarray:
    """The rows ``X[local_idx[i]]`` this rank owns, placed at ``slots[i]``, summed with the other ranks'."""
    buf = np.zeros((n_slots, X.shape[1]), np.float64)
    for i, s in zip(local_idx, slots):
        buf[s] = X[i]
    return allreduce_sum(buf.reshape(-1), "KMeans (sharing rows)").reshape(n_slots, X.shape[1])


def kmeans_plusplus_sharded(X: np.ndarray, x_sq: np.ndarray, k: int, rng: np.random.Generator,
                            n_local_trials: int | None = None) -> np.ndarray:
    """Greedy k-means++ centres ``(k, d)`` over the rows of every rank, identical on every rank.

    Only rank 0's ``rng`` is used (its draws are broadcast), in the order of the single-process version
    (``rng.integers(n)``, then ``rng.random(n_local_trials)`` per further centre), so with the same rows
    in rank order it picks the same seeds as one process on the whole X (up to float ties).
    """
    X = np.asarray(X, np.float64)
    n_local = len(X)
    counts = allgather_arrays(np.array([n_local], np.int64), "KMeans (shard sizes)")
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    n, me = int(counts.sum()), rank()
    trials = 2 + int(np.log(k)) if n_local_trials is None else int(n_local_trials)

    def draw(values: np.ndarray) -> np.ndarray:
        out = np.array(values, np.float64) if me == 0 else np.empty(len(values), np.float64)
        return broadcast_arrays([out], 0, "KMeans (k-means++ draws)")[0]

    first = int(draw([rng.integers(n) if me == 0 else 0])[0])
    mine = [first - offsets[me]] if offsets[me] <= first < offsets[me] + n_local else []
    centers = [_global_rows(X, mine, [0] * len(mine), 1)[0]]
    closest = _sq_dists(X, x_sq, centers[0][None])[:, 0]
    for _ in range(1, k):
        local_cum = np.cumsum(closest)
        sums = allgather_arrays(np.array([local_cum[-1] if n_local else 0.0]), "KMeans (D^2 totals)")
        total, before = float(sums.sum()), float(sums[:me].sum())
        thresholds = draw(rng.random(trials) * total if me == 0 else np.zeros(trials))
        idx, slots = [], []
        for t, th in enumerate(thresholds):
            # the rank whose part of the global cumulative sum holds th (the last rank for th at the end)
            hit = int(np.searchsorted(np.cumsum(sums), th))
            if min(hit, size() - 1) == me and n_local:
                idx.append(min(int(np.searchsorted(local_cum, th - before)), n_local - 1))
                slots.append(t)
        cand = _global_rows(X, idx, slots, trials)
        d_cand = _sq_dists(X, x_sq, cand)                               # (n_local, trials)
        pots = allreduce_sum(np.ascontiguousarray(np.minimum(closest[:, None], d_cand).sum(0)),
                             "KMeans (candidate potentials)")
        best = int(np.argmin(pots))
        centers.append(cand[best])
        closest = np.minimum(closest, d_cand[:, best])
    return np.array(centers)


def random_rows_sharded(X: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` distinct rows ``(k, d)`` drawn uniformly from all ranks' rows by rank 0's ``rng``."""
    X = np.asarray(X, np.float64)
    counts = allgather_arrays(np.array([len(X)], np.int64), "KMeans (shard sizes)")
    lo, me = int(counts[:rank()].sum()), rank()
    chosen = rng.choice(int(counts.sum()), size=k, replace=False).astype(np.float64) if me == 0 else np.empty(k)
    broadcast_arrays([chosen], 0, "KMeans (random init)")
    idx, slots = [], []
    for t, g in enumerate(chosen.astype(np.int64)):
        if lo <= g < lo + len(X):
            idx.append(int(g - lo))
            slots.append(t)
    return _global_rows(X, idx, slots, k)


def lloyd_sharded(X: np.ndarray, x_sq: np.ndarray, centers_init: np.ndarray, max_iter: int,
                  tol_abs: float) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Lloyd iterations over every rank's rows, with :func:`minidl.cluster.lloyd.lloyd`'s stopping rules
    (no label changed anywhere, or total squared centre shift ``<= tol_abs``; then a final assignment).

    One all-reduce per iteration of ``[sums (k*d), counts (k), inertia, labels changed]``. An empty
    cluster keeps its centre (the single-process version re-seeds it with a far sample instead).

    Returns:
        ``(centres (k, d) float64 (the same on every rank), this rank's labels (n_local,), global inertia,
        n_iter)``.
    """
    X = np.asarray(X, np.float64)
    C = np.array(centers_init, np.float64)
    k, d = C.shape
    labels = np.full(len(X), -1, np.int64)
    buf = np.empty(k * d + k + 2, np.float64)
    strict, n_iter = False, 0

    def assign() -> tuple[np.ndarray, np.ndarray]:
        dist = _sq_dists(X, x_sq, C)
        lab = dist.argmin(1) if len(X) else np.zeros(0, np.int64)
        return lab, dist[np.arange(len(X)), lab]

    for _ in range(max_iter):
        n_iter += 1
        new, dmin = assign()
        buf[:k * d] = (np.eye(k)[new].T @ X).reshape(-1) if len(X) else 0.0
        buf[k * d:k * d + k] = np.bincount(new, minlength=k)
        buf[-2], buf[-1] = dmin.sum(), np.count_nonzero(new != labels)
        allreduce_sum(buf, "KMeans (centre sums and counts)")
        labels = new
        sums, counts = buf[:k * d].reshape(k, d), buf[k * d:k * d + k]
        new_c = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], C)
        shift = float(((new_c - C) ** 2).sum())
        C = new_c
        if buf[-1] == 0:
            strict = True
            break
        if shift <= tol_abs:
            break
    if not strict:
        labels, _ = assign()
    dmin = _sq_dists(X, x_sq, C)[np.arange(len(X)), labels] if len(X) else np.zeros(0)
    inertia = allreduce_sum(np.array([dmin.sum()]), "KMeans (inertia)")[0]
    return C, labels, float(inertia), n_iter
