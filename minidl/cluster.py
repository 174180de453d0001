"""K-means clustering written natively on NumPy and Numba, with scikit-learn's names and behaviour.

The model: given samples ``X`` of shape ``(n, d)`` find ``k`` centres ``C`` of shape ``(k, d)`` minimising the
*inertia*

.. math::  J(C) = \\sum_{i=1}^{n} \\min_{j} \\lVert x_i - c_j \\rVert^2 .

Lloyd's algorithm alternates an assignment step (each sample to its nearest centre) and an update step (each
centre to the mean of its samples); neither step can increase ``J``, so the inertia sequence is monotone.

Implementation notes (why it looks the way it does):

* Squared distances come from ONE matrix product per iteration, ``‖x‖² − 2 x·c + ‖c‖²``, done by BLAS at the
  top level of the Numba function. BLAS is never called inside a ``prange`` loop: nested OpenBLAS and Numba
  thread pools can dead-lock.
* Every parallel loop writes only to output owned by its iteration (a sample's label, a thread's partial sum,
  a cluster's total), so there are no data races and no atomics.
* The product runs in the input's float dtype (float32 stays float32, half the memory traffic); the norms,
  centre sums, shifts and inertia are accumulated in float64, so float32 input still converges like float64.
"""
from __future__ import annotations

import contextlib
import warnings
from typing import Any, Iterator

import numpy as np
from numba import get_num_threads, njit, prange

__all__ = ["KMeans", "kmeans_plusplus", "NotFittedError"]


class NotFittedError(ValueError, AttributeError):
    """Raised when an estimator is used before ``fit``; a ValueError and an AttributeError, like scikit-learn's."""


# --------------------------------------------------------------------------------------------------------------
# Numba kernels
# --------------------------------------------------------------------------------------------------------------


@njit(cache=True)
def _distance_products(X, centers):  # pragma: no cover - compiled
    """The one GEMM of an iteration: ``g = X · Cᵀ`` ``(n, k)`` in X's dtype, plus ``‖c_j‖²`` ``(k,)`` in float64.

    Called at the top level (never inside ``prange``): BLAS called from Numba worker threads can dead-lock.
    """
    k, d = centers.shape
    c_sq = np.zeros(k)
    for j in range(k):
        s = 0.0
        for f in range(d):
            s += centers[j, f] * centers[j, f]
        c_sq[j] = s
    ct = np.ascontiguousarray(centers.T).astype(X.dtype)
    return np.dot(X, ct), c_sq


@njit(parallel=True, cache=True)
def _assign_and_sum(X, x_sq, g, c_sq, labels, min_dist, n_chunks, do_sums):  # pragma: no cover - compiled
    """Assignment step (and, if ``do_sums``, the update-step sums) in ONE parallel region.

    Samples are split into ``n_chunks`` contiguous blocks, one per thread. A thread writes the labels and
    distances of its own samples and accumulates them into its own ``(k, d)`` slab and its own inertia slot, so
    nothing is shared; the slabs are reduced serially afterwards (``n_chunks · k · d`` adds, negligible).

    Args:
        X: ``(n, d)`` samples; x_sq: ``(n,)`` ``‖x_i‖²``; g: ``(n, k)`` ``x_i · c_j``; c_sq: ``(k,)`` ``‖c_j‖²``.
        labels: ``(n,)`` int64, written ``argmin_j ‖x_i − c_j‖²`` (= ``argmin_j ‖c_j‖² − 2 x_i·c_j``).
        min_dist: ``(n,)`` float64, written ``min_j ‖x_i − c_j‖²`` clamped at 0 against round-off.

    Returns:
        ``(inertia, sums (k, d) float64, counts (k,) int64)``; sums and counts are zero when not ``do_sums``.
    """
    n, d = X.shape
    k = c_sq.shape[0]
    n_chunks = max(1, min(n_chunks, n))
    step = (n + n_chunks - 1) // n_chunks
    part = np.zeros((n_chunks, k, d if do_sums else 0))
    part_n = np.zeros((n_chunks, k), dtype=np.int64)
    part_j = np.zeros(n_chunks)
    for t in prange(n_chunks):
        lo = t * step
        hi = min(n, lo + step)
        acc = 0.0
        for i in range(lo, hi):
            best = np.inf
            best_j = 0
            for j in range(k):
                dj = c_sq[j] - 2.0 * g[i, j]
                if dj < best:
                    best = dj
                    best_j = j
            labels[i] = best_j
            v = x_sq[i] + best
            v = v if v > 0.0 else 0.0
            min_dist[i] = v
            acc += v
            if do_sums:
                part_n[t, best_j] += 1
                for f in range(d):
                    part[t, best_j, f] += X[i, f]
        part_j[t] = acc
    sums = np.zeros((k, d if do_sums else 0))
    counts = np.zeros(k, dtype=np.int64)
    for t in range(n_chunks):
        for j in range(k):
            counts[j] += part_n[t, j]
            for f in range(sums.shape[1]):
                sums[j, f] += part[t, j, f]
    return part_j.sum(), sums, counts


@njit(cache=True)
def _assign(X, x_sq, centers, labels, min_dist, n_chunks):  # pragma: no cover - compiled
    """Assignment only: fills ``labels``/``min_dist`` (see :func:`_assign_and_sum`), returns the inertia."""
    g, c_sq = _distance_products(X, centers)
    inertia, _s, _c = _assign_and_sum(X, x_sq, g, c_sq, labels, min_dist, n_chunks, False)
    return inertia


@njit(parallel=True, cache=True)
def _exact_inertia(X, centers, labels):  # pragma: no cover - compiled
    """``Σ_i ‖x_i − c_{labels_i}‖²`` by explicit differences in float64 (no cancellation, unlike the GEMM form)."""
    n, d = X.shape
    total = 0.0
    for i in prange(n):
        j = labels[i]
        s = 0.0
        for f in range(d):
            diff = X[i, f] - centers[j, f]
            s += diff * diff
        total += s
    return total


@njit(cache=True)
def _relocate_empty(X, labels, min_dist, sums, counts):  # pragma: no cover - compiled
    """Re-seed every empty cluster with the sample farthest from its own centre (scikit-learn's rule).

    The moved sample is taken out of its old cluster's sum. Samples alone in their cluster are skipped so a move
    never empties another cluster. Returns the number of clusters that stayed empty (only when there are fewer
    distinct points than clusters).
    """
    k = counts.shape[0]
    n_empty = 0
    for j in range(k):
        if counts[j] == 0:
            n_empty += 1
    if n_empty == 0:
        return 0
    order = np.argsort(-min_dist)  # farthest first
    pos = 0
    left = 0
    for j in range(k):
        if counts[j] != 0:
            continue
        moved = False
        while pos < order.shape[0]:
            i = order[pos]
            pos += 1
            old = labels[i]
            if counts[old] <= 1 or min_dist[i] <= 0.0:
                continue
            for f in range(X.shape[1]):
                sums[old, f] -= X[i, f]
                sums[j, f] = X[i, f]
            counts[old] -= 1
            counts[j] = 1
            moved = True
            break
        if not moved:
            left += 1
    return left


@njit(cache=True)
def _lloyd(X, x_sq, centers_init, max_iter, tol_abs, n_threads):  # pragma: no cover - compiled
    """Lloyd iterations with scikit-learn's stopping rules.

    Stops when the labels did not change (strict convergence) or when the total squared centre shift
    ``Σ_j ‖c_j^{new} − c_j‖²`` is ``≤ tol_abs``; in the latter case (and at ``max_iter``) a final assignment makes
    the labels match the returned centres.

    Returns:
        ``(centers (k, d) float64, labels (n,) int64, n_iter, history (n_iter,) float64)`` where ``history[t]`` is
        the inertia of the assignment made in iteration ``t``.
    """
    n = X.shape[0]
    k = centers_init.shape[0]
    centers = centers_init.copy()
    labels = np.zeros(n, dtype=np.int64)
    labels_old = np.full(n, -1, dtype=np.int64)
    min_dist = np.empty(n)
    history = np.empty(max_iter)
    strict = False
    n_iter = 0
    for it in range(max_iter):
        g, c_sq = _distance_products(X, centers)
        history[it], sums, counts = _assign_and_sum(X, x_sq, g, c_sq, labels, min_dist, n_threads, True)
        _relocate_empty(X, labels, min_dist, sums, counts)
        new_centers = centers.copy()  # a cluster that stays empty keeps its centre
        shift = 0.0
        for j in range(k):
            if counts[j] > 0:
                inv = 1.0 / counts[j]
                for f in range(X.shape[1]):
                    new_centers[j, f] = sums[j, f] * inv
            for f in range(X.shape[1]):
                delta = new_centers[j, f] - centers[j, f]
                shift += delta * delta
        centers = new_centers
        n_iter = it + 1
        same = True
        for i in range(n):
            if labels[i] != labels_old[i]:
                same = False
                break
        if same:
            strict = True
            break
        if shift <= tol_abs:
            break
        labels_old[:] = labels
    if not strict:
        _assign(X, x_sq, centers, labels, min_dist, n_threads)
    return centers, labels, n_iter, history[:n_iter].copy()


@contextlib.contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """Run BLAS on one thread while the Lloyd loop runs (what scikit-learn's KMeans does too).

    Why: Numba's OpenMP workers keep spinning for milliseconds after each parallel region; a multi-threaded
    OpenBLAS GEMM issued right after then waits on a starved thread (measured 0.6 ms -> 8 ms per GEMM on 2
    cores). One BLAS thread avoids the fight. threadpoolctl is optional: without it BLAS keeps its threads
    (setting ``OMP_WAIT_POLICY=PASSIVE`` before start-up also removes the contention).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - depends on the environment
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


# --------------------------------------------------------------------------------------------------------------
# Input checks and seeding
# --------------------------------------------------------------------------------------------------------------


def _check_array(X: Any, name: str = "X") -> np.ndarray:
    """Validate a sample matrix: 2-D, non-empty, real, finite. float32 stays float32, anything else -> float64.

    Returns:
        A C-contiguous ``(n_samples, n_features)`` float32/float64 array (a copy only when needed).
    """
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} could not be converted to a numeric array: {exc}") from exc
    if arr.dtype == object or np.iscomplexobj(arr) or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_
    ):
        raise ValueError(f"{name} must be a real numeric array, got dtype {arr.dtype}.")
    if arr.ndim != 2:
        raise ValueError(
            f"Expected a 2-D array {name} of shape (n_samples, n_features), got a {arr.ndim}-D array of shape "
            f"{arr.shape}. Reshape with {name}.reshape(-1, 1) for a single feature or {name}.reshape(1, -1) "
            "for a single sample."
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {arr.shape}; need at least one sample and one feature.")
    dtype = np.float32 if arr.dtype == np.float32 else np.float64
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    return arr


def _make_rng(random_state: Any) -> np.random.Generator:
    """None / int / Generator / RandomState -> a Generator (a RandomState is used to draw a seed)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    if random_state is None or isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return np.random.default_rng(random_state)
    raise ValueError(f"random_state must be None, an int or a numpy Generator/RandomState, got {random_state!r}.")


def _kmeans_plusplus(
    X64: np.ndarray, x_sq: np.ndarray, n_clusters: int, rng: np.random.Generator, n_local_trials: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy k-means++ on prepared float64 data (see :func:`kmeans_plusplus`)."""
    n = X64.shape[0]
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    centers = np.empty((n_clusters, X64.shape[1]))
    indices = np.full(n_clusters, -1, dtype=np.int64)
    first = int(rng.integers(n))
    centers[0] = X64[first]
    indices[0] = first
    closest = np.maximum(x_sq - 2.0 * (X64 @ X64[first]) + x_sq[first], 0.0)  # (n,)
    pot = closest.sum()
    for c in range(1, n_clusters):
        # Draw candidates with probability ∝ D(x)², the squared distance to the nearest chosen centre ...
        rand_vals = rng.random(n_local_trials) * pot
        cand = np.searchsorted(np.cumsum(closest), rand_vals)
        np.clip(cand, None, n - 1, out=cand)  # round-off can push a draw past the last cumulative sum
        # ... and keep the one that lowers the potential Σ_x D(x)² most (the greedy step).
        d_cand = np.maximum(x_sq[None, :] - 2.0 * (X64[cand] @ X64.T) + x_sq[cand][:, None], 0.0)
        np.minimum(closest[None, :], d_cand, out=d_cand)
        pots = d_cand.sum(axis=1)
        best = int(np.argmin(pots))
        pot = pots[best]
        closest = d_cand[best]
        centers[c] = X64[cand[best]]
        indices[c] = cand[best]
    return centers, indices


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
    X = _check_array(X)
    _check_n_clusters(n_clusters, X.shape[0])
    if n_local_trials is not None and (not isinstance(n_local_trials, (int, np.integer)) or n_local_trials < 1):
        raise ValueError(f"n_local_trials must be a positive int or None, got {n_local_trials!r}.")
    X64 = X.astype(np.float64, copy=False)
    x_sq = np.einsum("ij,ij->i", X64, X64)
    centers, idx = _kmeans_plusplus(X64, x_sq, int(n_clusters), _make_rng(random_state), n_local_trials)
    return centers.astype(X.dtype), idx


def _check_n_clusters(n_clusters: Any, n_samples: int | None = None) -> None:
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)):
        raise ValueError(f"n_clusters must be an int, got {n_clusters!r}.")
    if n_clusters < 1:
        raise ValueError(f"n_clusters must be >= 1, got {n_clusters}.")
    if n_samples is not None and n_clusters > n_samples:
        raise ValueError(f"n_clusters={n_clusters} must be <= n_samples={n_samples}.")


# --------------------------------------------------------------------------------------------------------------
# Estimator
# --------------------------------------------------------------------------------------------------------------


class KMeans:
    """K-means clustering (Lloyd's algorithm), API and behaviour of ``sklearn.cluster.KMeans(algorithm='lloyd')``.

    Args:
        n_clusters: number of clusters ``k``.
        init: ``'k-means++'`` (greedy, see :func:`kmeans_plusplus`), ``'random'`` (``k`` distinct samples) or an
            array ``(k, n_features)`` of initial centres (then a single run: ``n_init`` is treated as 1).
        n_init: number of independent seedings; the run with the lowest inertia is kept.
        max_iter: maximum Lloyd iterations per run.
        tol: relative tolerance: a run stops when ``Σ_j ‖Δc_j‖² ≤ tol · mean_f Var(X[:, f])``.
        random_state: None, int or numpy Generator; one seed makes the whole fit deterministic.

    Attributes:
        cluster_centers_: ``(k, n_features)`` centres, in X's float dtype.
        labels_: ``(n_samples,)`` int64 label of each training sample (consistent with ``cluster_centers_``).
        inertia_: ``Σ_i ‖x_i − c_{labels_i}‖²`` on the training data (float).
        n_iter_: Lloyd iterations of the kept run.
        n_features_in_: number of features seen in ``fit``.
        _inertia_history_: ``(n_iter_,)`` inertia of each assignment step of the kept run (non-increasing).
    """

    def __init__(
        self,
        n_clusters: int = 8,
        init: str | np.ndarray = "k-means++",
        n_init: int = 10,
        max_iter: int = 300,
        tol: float = 1e-4,
        random_state: Any = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def __repr__(self) -> str:
        init = "ndarray" if isinstance(self.init, np.ndarray) else repr(self.init)
        return (
            f"KMeans(n_clusters={self.n_clusters}, init={init}, n_init={self.n_init}, max_iter={self.max_iter}, "
            f"tol={self.tol}, random_state={self.random_state!r})"
        )

    # -- checks ------------------------------------------------------------------------------------------------

    def _check_params(self, X: np.ndarray) -> tuple[np.ndarray | None, int]:
        """Validate hyper-parameters against X; returns (initial centres array or None, effective n_init)."""
        _check_n_clusters(self.n_clusters, X.shape[0])
        for name in ("n_init", "max_iter"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}.")
        if isinstance(self.tol, bool) or not isinstance(self.tol, (int, float, np.floating, np.integer)) or not (
            np.isfinite(self.tol) and self.tol >= 0
        ):
            raise ValueError(f"tol must be a finite float >= 0, got {self.tol!r}.")
        if isinstance(self.init, str):
            if self.init not in ("k-means++", "random"):
                raise ValueError(f"init must be 'k-means++', 'random' or an ndarray, got {self.init!r}.")
            return None, int(self.n_init)
        init = np.asarray(self.init)
        expected = (self.n_clusters, X.shape[1])
        if init.ndim != 2 or init.shape != expected:
            raise ValueError(f"init array has shape {init.shape}, expected (n_clusters, n_features) = {expected}.")
        if not np.issubdtype(init.dtype, np.number) or not np.isfinite(init).all():
            raise ValueError("init array must be numeric and contain no NaN or infinity.")
        return init.astype(np.float64), 1

    def _check_fitted(self) -> None:
        if not hasattr(self, "cluster_centers_"):
            raise NotFittedError(
                "This KMeans instance is not fitted yet. Call 'fit' with appropriate arguments before using this "
                "estimator."
            )

    def _check_predict_X(self, X: Any) -> np.ndarray:
        self._check_fitted()
        X = _check_array(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but KMeans was fitted with {self.n_features_in_} features."
            )
        return X

    # -- API ---------------------------------------------------------------------------------------------------

    def fit(self, X: Any, y: Any = None) -> "KMeans":
        """Compute the clustering.

        Args:
            X: ``(n_samples, n_features)`` training samples (finite).
            y: ignored (API compatibility).

        Returns:
            self.
        """
        X = _check_array(X)
        init_centers, n_init = self._check_params(X)
        rng = _make_rng(self.random_state)
        k = int(self.n_clusters)
        n = X.shape[0]
        X64 = X if X.dtype == np.float64 else X.astype(np.float64)
        x_sq = np.einsum("ij,ij->i", X64, X64)
        # scikit-learn's dataset-relative tolerance: tol × mean per-feature variance.
        tol_abs = float(np.mean(np.var(X64, axis=0)) * self.tol) if self.tol > 0 else 0.0

        best = None
        for _ in range(n_init):
            if init_centers is not None:
                c0 = init_centers
            elif self.init == "k-means++":
                c0, _idx = _kmeans_plusplus(X64, x_sq, k, rng, None)
            else:
                c0 = X64[rng.choice(n, size=k, replace=False)]
            with _single_threaded_blas():
                centers, labels, n_iter, history = _lloyd(
                    X, x_sq, np.ascontiguousarray(c0), int(self.max_iter), tol_abs, get_num_threads()
                )
            inertia = float(_exact_inertia(X, centers, labels))
            if best is None or inertia < best[0]:
                best = (inertia, centers, labels, n_iter, history)

        inertia, centers, labels, n_iter, history = best
        n_distinct = len(np.unique(labels))
        if n_distinct < k:
            warnings.warn(
                f"Number of distinct clusters ({n_distinct}) found smaller than n_clusters ({k}); possibly due to "
                "duplicate points in X.",
                RuntimeWarning,
                stacklevel=2,
            )
        # All state is set together at the end, so a failed fit leaves the estimator as it was.
        self.cluster_centers_ = centers.astype(X.dtype)
        self._centers64 = centers
        self.labels_ = labels
        self.inertia_ = inertia
        self.n_iter_ = int(n_iter)
        self._inertia_history_ = history
        self.n_features_in_ = X.shape[1]
        return self

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit and return ``labels_`` ``(n_samples,)``."""
        return self.fit(X).labels_

    def _labels(self, X: np.ndarray) -> np.ndarray:
        x_sq = np.einsum("ij,ij->i", X, X, dtype=np.float64)
        labels = np.empty(X.shape[0], dtype=np.int64)
        _assign(X, x_sq, self._centers64, labels, np.empty(X.shape[0]), get_num_threads())
        return labels

    def predict(self, X: Any) -> np.ndarray:
        """Index of the nearest centre for each sample: ``(n_samples,)`` int64."""
        return self._labels(self._check_predict_X(X))

    def transform(self, X: Any) -> np.ndarray:
        """Euclidean distances to every centre: ``(n_samples, n_clusters)`` in X's float dtype."""
        X = self._check_predict_X(X)
        X64 = X.astype(np.float64, copy=False)
        c = self._centers64
        d2 = np.einsum("ij,ij->i", X64, X64)[:, None] - 2.0 * (X64 @ c.T) + np.einsum("ij,ij->i", c, c)[None, :]
        return np.sqrt(np.maximum(d2, 0.0)).astype(X.dtype)

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit, then :meth:`transform` the training data."""
        return self.fit(X).transform(X)

    def score(self, X: Any, y: Any = None) -> float:
        """Opposite of the inertia of X against the fitted centres: ``−Σ_i min_j ‖x_i − c_j‖²``."""
        X = self._check_predict_X(X)
        return -float(_exact_inertia(X, self._centers64, self._labels(X)))
