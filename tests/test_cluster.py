"""KMeans and k-means++ tests (small data: the Numba kernels compile once, then every case is milliseconds)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minidl.cluster import KMeans, NotFittedError, kmeans_plusplus


def _blobs(seed=0, n_per=40, centres=((0.0, 0.0), (10.0, 10.0), (-10.0, 10.0)), dtype=np.float64):
    rng = np.random.default_rng(seed)
    c = np.asarray(centres)
    X = np.concatenate([ci + 0.3 * rng.standard_normal((n_per, c.shape[1])) for ci in c])
    return X.astype(dtype), c, np.repeat(np.arange(len(c)), n_per)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_recovers_blob_centres(dtype):
    X, c, y = _blobs(dtype=dtype)
    km = KMeans(3, random_state=0).fit(X)
    order = np.argsort(km.cluster_centers_[:, 0])
    np.testing.assert_allclose(km.cluster_centers_[order], c[np.argsort(c[:, 0])], atol=0.15)
    assert km.cluster_centers_.dtype == dtype
    # labels are a relabelling of the truth
    assert len({(a, b) for a, b in zip(y, km.labels_)}) == 3
    np.testing.assert_array_equal(km.predict(X), km.labels_)
    np.testing.assert_allclose(km.inertia_, ((X - km.cluster_centers_[km.labels_]) ** 2).sum(), rtol=1e-5)
    assert km.score(X) == pytest.approx(-km.inertia_, rel=1e-5)
    assert km.n_iter_ >= 1


def _reference_inertia(X, C):
    d = ((X[:, None, :] - C[None, :, :]) ** 2).sum(-1)
    return d.argmin(1), d.min(1).sum()


@given(seed=st.integers(0, 10_000), k=st.integers(1, 6), init=st.sampled_from(["k-means++", "random"]))
def test_inertia_monotone_and_consistent(seed, k, init):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((60, 3)) * rng.uniform(0.5, 3, 3)
    km = KMeans(k, init=init, n_init=1, random_state=seed, tol=0.0).fit(X)
    h = km._inertia_history_
    assert h.shape == (km.n_iter_,)
    assert np.all(np.diff(h) <= 1e-9 * (1 + h[0]))
    labels, inertia = _reference_inertia(X, km.cluster_centers_)
    np.testing.assert_array_equal(km.labels_, labels)  # final assignment matches the returned centres
    assert km.inertia_ == pytest.approx(inertia, rel=1e-10)
    assert km.inertia_ <= h[0] + 1e-9
    np.testing.assert_allclose(km.transform(X) ** 2, ((X[:, None] - km.cluster_centers_[None]) ** 2).sum(-1),
                               atol=1e-9)


def test_same_random_state_same_result_and_different_seeds_run():
    X, _, _ = _blobs(1, centres=((0, 0), (3, 0), (0, 3), (3, 3)))
    a = KMeans(4, n_init=3, random_state=7).fit(X)
    b = KMeans(4, n_init=3, random_state=7).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert a.inertia_ == b.inertia_


def test_n_init_keeps_best_run():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((200, 2))
    best = KMeans(5, init="random", n_init=8, random_state=11).fit(X)
    # replay the same draws run by run: each single run must be no better than the kept one
    gen = np.random.default_rng(11)
    singles = []
    for _ in range(8):
        c0 = X[gen.choice(200, size=5, replace=False)]
        singles.append(KMeans(5, init=c0, n_init=1).fit(X).inertia_)
    assert best.inertia_ == pytest.approx(min(singles), rel=1e-12)
    assert len(set(np.round(singles, 8))) > 1  # the runs really differ, so the choice mattered


def test_array_init_is_used_as_is_and_single_run():
    X, c, _ = _blobs()
    km = KMeans(3, init=c, n_init=10, max_iter=1).fit(X)
    assert km.n_iter_ == 1
    labels, _ = _reference_inertia(X, c)
    expected = np.stack([X[labels == j].mean(0) for j in range(3)])
    np.testing.assert_allclose(km.cluster_centers_, expected, atol=1e-12)


def test_empty_cluster_is_reseeded_with_farthest_point():
    X = np.array([[0.0], [1.0], [2.0], [10.0]])
    init = np.array([[1.0], [100.0]])  # nobody is nearest to 100 -> empty cluster in the first iteration
    km = KMeans(2, init=init, max_iter=1, tol=0.0).fit(X)
    # the farthest point from its centre (10, at distance 9 from 1) moves to the empty cluster
    np.testing.assert_allclose(np.sort(km.cluster_centers_.ravel()), [1.0, 10.0])
    km = KMeans(2, init=init).fit(X)
    np.testing.assert_array_equal(km.labels_, [0, 0, 0, 1])


def _reference_kmeans_plusplus(X, k, seed):
    """Plain greedy k-means++ with explicit distances, drawing from the rng exactly like minidl."""
    rng = np.random.default_rng(seed)
    n = len(X)
    trials = 2 + int(np.log(k))
    idx = [int(rng.integers(n))]
    closest = np.array([((x - X[idx[0]]) ** 2).sum() for x in X])
    for _ in range(1, k):
        r = rng.random(trials) * closest.sum()
        cand = np.minimum(np.searchsorted(np.cumsum(closest), r), n - 1)
        best_pot, best_c, best_d = np.inf, None, None
        for c in cand:
            d = np.minimum(closest, np.array([((x - X[c]) ** 2).sum() for x in X]))
            if d.sum() < best_pot:
                best_pot, best_c, best_d = d.sum(), c, d
        idx.append(int(best_c))
        closest = best_d
    return np.array(idx)


@given(seed=st.integers(0, 2**31), k=st.integers(1, 7))
def test_kmeans_plusplus_matches_reference(seed, k):
    # integer coordinates keep every distance exact, so both computations agree bit for bit
    X = np.random.default_rng(seed).integers(-20, 20, size=(30, 3)).astype(np.float64)
    centers, idx = kmeans_plusplus(X, k, random_state=seed)
    np.testing.assert_array_equal(idx, _reference_kmeans_plusplus(X, k, seed))
    np.testing.assert_array_equal(centers, X[idx])


def test_predict_and_transform_on_new_data():
    X, c, _ = _blobs()
    km = KMeans(3, random_state=0).fit(X)
    new = c + 0.01
    lab = km.predict(new)
    np.testing.assert_array_equal(km.cluster_centers_[lab].round(), c.round())
    assert km.transform(new).shape == (3, 3)
    assert km.fit_predict(X).shape == (len(X),)


@pytest.mark.parametrize(
    "params, X, msg",
    [
        ({"n_clusters": 5}, np.zeros((4, 2)), "n_samples"),
        ({"n_clusters": 0}, np.zeros((4, 2)), ">= 1"),
        ({"n_clusters": 2}, np.array([[0.0, np.nan], [1, 1], [2, 2]]), "NaN"),
        ({"n_clusters": 2}, np.array([[0.0, np.inf], [1, 1], [2, 2]]), "infinity"),
        ({"n_clusters": 2}, np.arange(5.0), "2-D"),
        ({"n_clusters": 2}, np.zeros((0, 2)), "empty"),
        ({"n_clusters": 2, "init": "bogus"}, np.zeros((4, 2)), "init"),
        ({"n_clusters": 2, "init": np.zeros((3, 2))}, np.zeros((4, 2)), "shape"),
        ({"n_clusters": 2, "n_init": 0}, np.zeros((4, 2)), "n_init"),
        ({"n_clusters": 2, "max_iter": -1}, np.zeros((4, 2)), "max_iter"),
        ({"n_clusters": 2, "tol": -1.0}, np.zeros((4, 2)), "tol"),
        ({"n_clusters": 2.5}, np.zeros((4, 2)), "int"),
    ],
)
def test_bad_input_raises_and_changes_nothing(params, X, msg):
    km = KMeans(**params)
    with pytest.raises(ValueError, match=msg):
        km.fit(X)
    assert not hasattr(km, "cluster_centers_") and not hasattr(km, "labels_")
    # a fitted estimator keeps its fit after a failed refit
    good = KMeans(2, n_init=1, random_state=0).fit(np.arange(8.0).reshape(4, 2))
    before = good.cluster_centers_.copy()
    good.set = None
    for k, v in params.items():
        setattr(good, k, v)
    with pytest.raises(ValueError):
        good.fit(X)
    np.testing.assert_array_equal(good.cluster_centers_, before)


def test_not_fitted_and_feature_mismatch():
    km = KMeans(2)
    for method in (km.predict, km.transform, km.score):
        with pytest.raises(NotFittedError, match="fit"):
            method(np.zeros((3, 2)))
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    km.fit(np.arange(12.0).reshape(6, 2))
    with pytest.raises(ValueError, match="features"):
        km.predict(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="2-D"):
        km.predict(np.zeros(2))


@pytest.mark.parametrize("dtype, rel", [(np.float64, 1e-9), (np.float32, 1e-6)])
def test_matches_sklearn_with_same_init(dtype, rel):
    sk = pytest.importorskip("sklearn.cluster")
    rng = np.random.default_rng(5)
    X = rng.standard_normal((300, 5)).astype(dtype)
    c0, _ = kmeans_plusplus(X, 6, random_state=1)  # k = 6: one block of four centres + two single ones
    a = KMeans(6, init=c0, n_init=1).fit(X)
    b = sk.KMeans(6, init=c0, n_init=1, algorithm="lloyd").fit(X)
    assert a.inertia_ == pytest.approx(b.inertia_, rel=rel)
    assert a.n_iter_ == b.n_iter_
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=10 * rel, atol=10 * rel)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k, n_threads", [(1, 1), (5, 2), (9, 3)])
def test_assignment_kernel_matches_the_textbook_reference(dtype, k, n_threads):
    # the per-iteration kernel that fit and predict share, in its assignment role, against plain NumPy; n = 61 is
    # not a multiple of the thread count, so the last block is short
    from minidl.cluster import lloyd, reference

    rng = np.random.default_rng(k)
    X = rng.standard_normal((61, 7)).astype(dtype)
    C = rng.standard_normal((k, 7))
    labels_ref, dmin_ref = reference.assign(X.astype(np.float64), C)
    labels, min_dist, inertia = lloyd.assign(X, lloyd.sq_norms(X), C, n_threads)
    np.testing.assert_array_equal(labels, labels_ref)
    tol = 1e-10 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(min_dist, dmin_ref, rtol=tol, atol=tol)
    assert inertia == pytest.approx(dmin_ref.sum(), rel=tol)


def test_kmeans_plusplus_matches_the_textbook_reference():
    from minidl.cluster import reference

    X = _blobs(seed=3)[0]
    for seed in range(4):
        _, idx = kmeans_plusplus(X, 3, random_state=seed)
        np.testing.assert_array_equal(idx, reference.kmeans_plusplus(X, 3, np.random.default_rng(seed)))


@pytest.mark.parametrize("offset", [0.0, 1e4, 1e6])
def test_float32_data_far_from_the_origin_clusters_like_centred_data(offset):
    """KMeans centres the data first (as scikit-learn does): offset float32 blobs cluster perfectly."""
    from minidl.cluster_metrics import adjusted_rand_score

    X, _, y = _blobs(seed=5, dtype=np.float64)
    Xo = (X + offset).astype(np.float32)
    km = KMeans(3, n_init=3, random_state=0).fit(Xo)
    assert adjusted_rand_score(y, km.labels_) == pytest.approx(1.0)
    np.testing.assert_array_equal(km.predict(Xo), km.labels_)
    assert np.abs(km.cluster_centers_.mean(0) - Xo.mean(0)).max() < 20  # centres in the data's coordinates


def test_data_whose_squared_norms_overflow_is_refused():
    X = np.array([[1e155, 0.0], [-1e155, 1.0], [0.0, 2.0]])
    with pytest.raises(ValueError, match="squared norm overflows"):
        KMeans(2, n_init=1).fit(X)
    km = KMeans(2, n_init=1, random_state=0).fit(np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]]))
    with pytest.raises(ValueError, match="squared norm overflows"):
        km.predict(np.array([[1e160, 0.0]]))


@pytest.mark.parametrize("n_threads", [1, 2])
def test_running_centre_sums_match_recomputed_means(n_threads, monkeypatch):
    # _lloyd keeps the centre sums across iterations and moves only the samples that changed cluster; after many
    # iterations, and after an empty cluster was re-seeded mid-run, the centres must still be the plain means.
    from minidl.cluster import lloyd as cl, reference

    monkeypatch.setattr(cl, "_CHUNK", 16)  # several chunks per thread block even on this small X
    rng = np.random.default_rng(7)
    X = np.concatenate([rng.standard_normal((90, 3)), rng.standard_normal((30, 3)) + 6.0])
    C0 = np.concatenate([X[:5], [[40.0, 40.0, 40.0]]])  # centre 5 is nobody's nearest: emptied in step 1
    for iters in (1, 2, 4, 8):
        centers, labels, n_iter, history = cl.lloyd(X, cl.sq_norms(X), C0, iters, -1.0, n_threads)
        np.testing.assert_allclose(centers, reference.lloyd(X, C0, n_iter)[0], rtol=1e-12, atol=1e-12)
        assert np.all(np.diff(history) <= 1e-9 * history[0])
    assert n_iter > 2  # the runs went past the re-seeding and the full re-sum
