"""PCA tests."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minidl.cluster import NotFittedError
from minidl.decomposition import PCA


def _data(seed, n=30, d=6):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)) @ rng.standard_normal((d, d)) + rng.standard_normal(d)


@given(seed=st.integers(0, 10_000), n=st.integers(2, 25), d=st.integers(1, 8), whiten=st.booleans())
def test_full_reconstruction_orthonormal_and_variance(seed, n, d, whiten):
    X = _data(seed, n, d)
    p = PCA(whiten=whiten)
    Z = p.fit_transform(X)
    k = min(n, d)
    assert p.n_components_ == k and Z.shape == (n, k)
    # whitening divides by √variance: only compare where the variance is not round-off
    ok = p.explained_variance_ > 1e-10 if whiten else np.ones(k, bool)
    np.testing.assert_allclose(Z[:, ok], p.transform(X)[:, ok], atol=1e-8)
    if ok.all():
        np.testing.assert_allclose(p.inverse_transform(Z), X, atol=1e-8)
    np.testing.assert_allclose(p.components_ @ p.components_.T, np.eye(k), atol=1e-10)
    np.testing.assert_allclose(p.explained_variance_.sum(), X.var(axis=0, ddof=1).sum(), rtol=1e-9, atol=1e-12)
    assert np.all(np.diff(p.explained_variance_) <= 1e-12)
    # deterministic signs: the largest-|.| entry of every component is positive
    assert np.all(p.components_[np.arange(k), np.abs(p.components_).argmax(1)] > 0)


def test_variance_fraction_and_int_components():
    X = _data(0, 50, 8)
    full = PCA().fit(X)
    p = PCA(0.9).fit(X)
    cum = np.cumsum(full.explained_variance_ratio_)
    assert cum[p.n_components_ - 1] >= 0.9 and (p.n_components_ == 1 or cum[p.n_components_ - 2] < 0.9)
    q = PCA(3).fit(X)
    np.testing.assert_allclose(q.components_, full.components_[:3])
    assert q.transform(X).shape == (50, 3)
    np.testing.assert_allclose(q.explained_variance_ratio_, full.explained_variance_ratio_[:3])


def test_matches_sklearn():
    skd = pytest.importorskip("sklearn.decomposition")
    X = _data(1, 40, 7)
    for nc in (None, 4, 0.8):
        for whiten in (False, True):
            a = PCA(nc, whiten=whiten).fit(X)
            b = skd.PCA(nc, whiten=whiten, svd_solver="full").fit(X)
            assert a.n_components_ == b.n_components_
            np.testing.assert_allclose(a.components_, b.components_, atol=1e-10)
            np.testing.assert_allclose(a.explained_variance_, b.explained_variance_, rtol=1e-10)
            np.testing.assert_allclose(a.explained_variance_ratio_, b.explained_variance_ratio_, rtol=1e-10)
            np.testing.assert_allclose(a.singular_values_, b.singular_values_, rtol=1e-10)
            np.testing.assert_allclose(a.transform(X), b.transform(X), atol=1e-9)
            assert a.noise_variance_ == pytest.approx(b.noise_variance_, abs=1e-12)


def test_float32_preserved():
    X = _data(2).astype(np.float32)
    p = PCA(2).fit(X)
    assert p.components_.dtype == np.float32 and p.transform(X).dtype == np.float32


@pytest.mark.parametrize(
    "nc, X, msg",
    [
        (0, _data(0), "between"),
        (7, _data(0), "between"),
        (1.5, _data(0), r"\(0, 1\)"),
        ("mle", _data(0), "n_components"),
        (None, np.zeros((1, 3)), "at least 2"),
        (None, np.array([[1.0, np.nan], [1, 2]]), "NaN"),
        (None, np.arange(4.0), "2-D"),
    ],
)
def test_bad_input(nc, X, msg):
    p = PCA(nc)
    with pytest.raises(ValueError, match=msg):
        p.fit(X)
    assert not hasattr(p, "components_")


def test_not_fitted_and_width_mismatch():
    with pytest.raises(NotFittedError, match="fit"):
        PCA().transform(np.zeros((2, 2)))
    p = PCA(2).fit(_data(0))
    with pytest.raises(ValueError, match="features"):
        p.transform(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="features"):
        p.inverse_transform(np.zeros((2, 3)))
