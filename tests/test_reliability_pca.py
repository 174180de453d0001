"""PCA whitening of rank-deficient data (issue #18): zero-variance axes are whitened to 0, never amplified."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minidl.decomposition import PCA


def _low_rank(seed: int, n: int, d: int, r: int, offset: float = 5.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, r)) @ rng.standard_normal((r, d)) + offset


def _reference_whitened(X: np.ndarray, r: int) -> np.ndarray:
    """scikit-learn's full-solver fit_transform with whiten=True on the first r axes: U[:, :r] √(n − 1)."""
    Xc = X.astype(np.float64) - X.astype(np.float64).mean(axis=0)
    u, _, vt = np.linalg.svd(Xc, full_matrices=False)
    # scikit-learn's sign rule: the largest-|.| entry of each row of Vᵀ is positive
    signs = np.sign(vt[np.arange(vt.shape[0]), np.abs(vt).argmax(axis=1)])
    return (u * signs)[:, :r] * np.sqrt(X.shape[0] - 1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rank_deficient_whitening_matches_reference_and_zeroes_null_axes(dtype):
    n, d, r = 50, 8, 3
    X = _low_rank(0, n, d, r).astype(dtype)
    p = PCA(whiten=True)
    Z = p.fit_transform(X)
    assert Z.shape == (n, d) and Z.dtype == dtype
    atol = 1e-9 if dtype == np.float64 else 1e-3
    np.testing.assert_allclose(Z[:, :r], _reference_whitened(X, r), atol=atol)
    assert np.all(Z[:, r:] == 0)
    np.testing.assert_allclose(p.transform(X), Z, atol=atol)
    # whitened axes with variance have unit variance; nothing can exceed √(n − 1) (a unit column times it)
    rtol = 1e-3 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(Z[:, :r].astype(np.float64).var(axis=0, ddof=1), 1.0, rtol=rtol)
    assert np.abs(Z).max() <= np.sqrt(n - 1) * (1 + 1e-6)
    np.testing.assert_allclose(p.inverse_transform(Z), X, atol=1e-8 if dtype == np.float64 else 1e-3)


def test_data_off_the_training_span_is_not_amplified():
    X = _low_rank(1, 40, 6, 2)
    p = PCA(whiten=True).fit(X)
    off = X[:5] + np.random.default_rng(2).standard_normal((5, 6))  # leaves the rank-2 plane
    Z = p.transform(off)
    assert np.isfinite(Z).all() and np.all(Z[:, 2:] == 0)
    # the rank axes are plain projections divided by √variance
    expected = (off - p.mean_) @ p.components_[:2].T / np.sqrt(p.explained_variance_[:2])
    np.testing.assert_allclose(Z[:, :2], expected, rtol=1e-10)


def test_constant_data_whitens_to_zero_not_inf():
    X = np.full((10, 3), 7.0)
    Z = PCA(whiten=True).fit_transform(X)
    assert np.all(Z == 0)


def test_full_rank_whitening_unchanged():
    X = _low_rank(3, 30, 4, 4)
    p = PCA(whiten=True)
    Z = p.fit_transform(X)
    np.testing.assert_allclose(Z, _reference_whitened(X, 4), atol=1e-9)
    np.testing.assert_allclose(Z, (X - p.mean_) @ p.components_.T / np.sqrt(p.explained_variance_), atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(4, 30), d=st.integers(2, 9), r=st.integers(1, 8),
       offset=st.sampled_from([0.0, 3.0, 1e3]))
def test_whitened_output_bounded_for_any_rank(seed, n, d, r, offset):
    r = min(r, d, n - 1)
    X = _low_rank(seed, n, d, r, offset)
    p = PCA(whiten=True)
    Z = p.fit_transform(X)
    bound = np.sqrt(n - 1) * (1 + 1e-6)
    assert np.abs(Z).max() <= bound
    assert np.abs(p.transform(X)).max() <= bound * 1.01
    np.testing.assert_allclose(p.inverse_transform(p.transform(X)), X, atol=1e-6 * max(1.0, offset))
