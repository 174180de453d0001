"""Principal component analysis written natively, with scikit-learn's names and behaviour.

For centred data ``Xc = X − μ`` of shape ``(n, d)`` with thin SVD ``Xc = U S Vᵀ`` the principal axes are the rows
of ``Vᵀ``, the variance along axis ``j`` is ``S_j² / (n − 1)``, and the projection of a sample is
``(x − μ) Vᵀ[:k]ᵀ`` (divided by ``√variance`` when whitening).

Rank-deficient data: an axis whose singular value is zero to working precision (``S_j ≤ S_max · max(n, d) · ε``,
NumPy's ``matrix_rank`` tolerance, ``ε`` of the input dtype) carries no variance, only round-off. Whitening
divides by ``√variance`` through a pseudo-inverse: such an axis is whitened to 0. On the training data this is
what scikit-learn's ``fit_transform`` returns for the other axes (``U_k √(n − 1)``, exactly, for every axis with
variance); scikit-learn's ``transform`` divides round-off by round-off (or by ``ε``) there instead, which gives
values of any size (up to ~1e16 for data off the training span).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg

from minidl.cluster import NotFittedError, _check_array

__all__ = ["PCA"]


def _svd_flip_v(u: np.ndarray, vt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic signs (scikit-learn's ``svd_flip(u, v, u_based_decision=False)``).

    The largest-magnitude entry of every row of ``vt`` is made positive; the matching column of ``u`` is flipped
    with it so ``u S vt`` is unchanged.
    """
    idx = np.argmax(np.abs(vt), axis=1)
    signs = np.sign(vt[np.arange(vt.shape[0]), idx])
    signs[signs == 0] = 1.0
    return u * signs[None, :], vt * signs[:, None]


class PCA:
    """Linear dimensionality reduction by exact (full) SVD of the centred data.

    Args:
        n_components: ``None`` (keep ``min(n_samples, n_features)``), an int ``k`` in
            ``[1, min(n_samples, n_features)]``, or a float in ``(0, 1)``: the smallest ``k`` whose cumulative
            explained-variance ratio reaches that fraction.
        whiten: divide the projections by ``√explained_variance_`` so each has unit variance (axes with zero
            variance to working precision are whitened to 0, see the module docstring).
        random_state: accepted for API compatibility; the full SVD is deterministic.

    Attributes:
        components_: ``(k, n_features)`` orthonormal principal axes, by decreasing variance.
        explained_variance_: ``(k,)`` ``S_j² / (n − 1)``.
        explained_variance_ratio_: ``(k,)`` variance fraction of each kept axis.
        singular_values_: ``(k,)``.
        mean_: ``(n_features,)``.
        n_components_: ``k``.
        noise_variance_: mean variance of the discarded axes (0 when none is discarded).
        n_samples_, n_features_in_: shape of the training data.
    """

    def __init__(self, n_components: int | float | None = None, whiten: bool = False, random_state: Any = None):
        self.n_components = n_components
        self.whiten = whiten
        self.random_state = random_state

    def __repr__(self) -> str:
        return f"PCA(n_components={self.n_components!r}, whiten={self.whiten!r})"

    def _n_keep(self, ratio: np.ndarray, n: int, d: int) -> int:
        nc = self.n_components
        max_k = min(n, d)
        if nc is None:
            return max_k
        if isinstance(nc, bool):
            raise ValueError(f"n_components must be None, an int or a float in (0, 1), got {nc!r}.")
        if isinstance(nc, (int, np.integer)):
            if not 1 <= nc <= max_k:
                raise ValueError(f"n_components={nc} must be between 1 and min(n_samples, n_features)={max_k}.")
            return int(nc)
        if isinstance(nc, (float, np.floating)):
            if not 0.0 < nc < 1.0:
                raise ValueError(f"A float n_components is a variance fraction and must be in (0, 1), got {nc}.")
            # smallest k with cumulative ratio >= nc (scikit-learn: searchsorted(side='right') + 1)
            return int(min(np.searchsorted(np.cumsum(ratio), nc, side="right") + 1, max_k))
        raise ValueError(f"n_components must be None, an int or a float in (0, 1), got {nc!r}.")

    def fit(self, X: Any, y: Any = None) -> "PCA":
        """Fit on ``X`` ``(n_samples, n_features)``, ``n_samples ≥ 2``. Returns self."""
        self._fit(X)
        return self

    def _fit(self, X: Any) -> np.ndarray:
        X = _check_array(X)
        n, d = X.shape
        if n < 2:
            raise ValueError(f"PCA needs at least 2 samples to estimate variances, got {n}.")
        if not isinstance(self.whiten, (bool, np.bool_)):
            raise ValueError(f"whiten must be a bool, got {self.whiten!r}.")
        # float64 throughout (a float32 SVD loses digits in the small components); results cast back.
        X64 = X.astype(np.float64, copy=False)
        mean = X64.mean(axis=0)
        u, s, vt = scipy.linalg.svd(X64 - mean, full_matrices=False, check_finite=False)
        u, vt = _svd_flip_v(u, vt)
        var = s**2 / (n - 1)
        total = var.sum()
        ratio = var / total if total > 0 else np.zeros_like(var)
        k = self._n_keep(ratio, n, d)  # may raise: nothing has been stored yet
        dt = X.dtype
        # Axes with a singular value below the rank tolerance are round-off, not variance (module docstring).
        tol = (s[0] if s.size else 0.0) * max(n, d) * np.finfo(dt).eps
        has_var = s[:k] > tol
        self.mean_ = mean.astype(dt)
        self.components_ = vt[:k].astype(dt)
        self.explained_variance_ = var[:k].astype(dt)
        self.explained_variance_ratio_ = ratio[:k].astype(dt)
        self.singular_values_ = s[:k].astype(dt)
        self.noise_variance_ = float(var[k:].mean()) if k < min(n, d) else 0.0
        self.n_components_ = k
        self.n_samples_ = n
        self.n_features_in_ = d
        # float64 copies for transform: a float32 mean_ is off by ~1e-7·|μ|, which whitening would amplify.
        self._mean64 = mean
        self._components64 = vt[:k].copy()
        self._inv_scale = np.where(has_var, 1.0 / np.sqrt(np.where(has_var, var[:k], 1.0)), 0.0)
        if self.whiten:
            # (X − μ) Vₖᵀ / √variance = U √(n − 1) on the axes with variance (scikit-learn's fit_transform).
            out = np.where(has_var, u[:, :k] * np.sqrt(n - 1), 0.0)
        else:
            out = u[:, :k] * s[:k]  # = (X − μ) Vₖᵀ without a second product
        return out.astype(dt)

    def _check(self, X: Any, width_attr: str, what: str) -> np.ndarray:
        if not hasattr(self, "components_"):
            raise NotFittedError(
                "This PCA instance is not fitted yet. Call 'fit' with appropriate arguments before using this "
                "estimator."
            )
        X = _check_array(X)
        width = getattr(self, width_attr)
        if X.shape[1] != width:
            raise ValueError(f"X has {X.shape[1]} features, but {what} expects {width}.")
        return X

    def transform(self, X: Any) -> np.ndarray:
        """Project: ``(X − μ) Vₖᵀ`` (÷ ``√variance`` if whiten, 0 on zero-variance axes); ``(n, d)`` -> ``(n, k)``."""
        X = self._check(X, "n_features_in_", "PCA (fitted features)")
        out = (X.astype(np.float64) - self._mean64) @ self._components64.T
        if self.whiten:
            out = out * self._inv_scale
        return out.astype(X.dtype)

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit and project the training data: ``U_k S_k`` ``(n, k)``."""
        return self._fit(X)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Back to feature space: ``Z Vₖ + μ`` (``Z`` times ``√variance`` first if whiten); ``(n, k) -> (n, d)``."""
        Z = self._check(X, "n_components_", "inverse_transform (n_components_)").astype(np.float64)
        if self.whiten:
            Z = Z * np.sqrt(self.explained_variance_.astype(np.float64))
        return (Z @ self._components64 + self._mean64).astype(self.components_.dtype)
