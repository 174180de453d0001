"""The KMeans estimator: scikit-learn's ``KMeans(algorithm='lloyd')`` API, on :mod:`.lloyd` and :mod:`.kmeans_plusplus`."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numba import get_num_threads

from .kmeans_plusplus import _kmeans_plusplus
from .lloyd import assign, exact_inertia, lloyd, mean_feature_variance, sq_norms
from .validation import NotFittedError, check_array, check_n_clusters, make_rng

__all__ = ["KMeans"]


def _checked_sq_norms(X: np.ndarray) -> np.ndarray:
    """``‖x_i‖²`` of the (centred) rows; refuses data whose squared norms overflow float64.

    Raises:
        ValueError: when some ``‖x_i‖²`` is infinite (values beyond ~1e154), instead of an infinite inertia.
    """
    x_sq = sq_norms(X)
    if not np.isfinite(x_sq).all():
        raise ValueError("X has samples whose squared norm overflows float64 (values beyond ~1e154 after "
                         "centring); rescale X, e.g. divide it by its largest absolute value.")
    return x_sq


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
        check_n_clusters(self.n_clusters, X.shape[0])
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
        """Checked X, centred by the training mean (the coordinates of ``_centers64``)."""
        self._check_fitted()
        X = check_array(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but KMeans was fitted with {self.n_features_in_} features."
            )
        return np.ascontiguousarray(X - self._mean, dtype=X.dtype)

    # -- API ---------------------------------------------------------------------------------------------------

    def fit(self, X: Any, y: Any = None) -> "KMeans":
        """Compute the clustering.

        Args:
            X: ``(n_samples, n_features)`` training samples (finite).
            y: ignored (API compatibility).

        Returns:
            self.
        """
        X = check_array(X)
        init_centers, n_init = self._check_params(X)
        # Centre the data first, as scikit-learn does: ‖x‖² − 2 x·c + ‖c‖² cancels catastrophically far from the
        # origin (float32 data offset by 1e4 clustered at random before). Clustering is translation invariant.
        mean = X.mean(axis=0, dtype=np.float64)
        X = np.ascontiguousarray(X - mean, dtype=X.dtype)
        if init_centers is not None:
            init_centers = init_centers - mean
        x_sq = _checked_sq_norms(X)  # ‖x_i‖², once per fit (every run and iteration reuses it)
        rng = make_rng(self.random_state)
        k = int(self.n_clusters)
        n = X.shape[0]
        # scikit-learn's dataset-relative tolerance: tol × mean per-feature variance.
        tol_abs = float(mean_feature_variance(X)) * self.tol if self.tol > 0 else 0.0
        n_threads = get_num_threads()

        best = None
        for _ in range(n_init):
            if init_centers is not None:
                c0 = init_centers
            elif self.init == "k-means++":
                c0, _idx = _kmeans_plusplus(X, x_sq, k, rng, None)
            else:
                c0 = X[rng.choice(n, size=k, replace=False)].astype(np.float64)
            centers, labels, n_iter, history = lloyd(
                X, x_sq, np.ascontiguousarray(c0), int(self.max_iter), tol_abs, n_threads
            )
            inertia = float(exact_inertia(X, centers, labels))
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
        self._mean = mean
        self._centers64 = centers  # centred coordinates, as the data the kernels see
        self.cluster_centers_ = (centers + mean).astype(X.dtype)
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
        labels, _min_dist, _inertia = assign(X, _checked_sq_norms(X), self._centers64, get_num_threads())
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
        return -float(exact_inertia(X, self._centers64, self._labels(X)))
