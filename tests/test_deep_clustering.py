"""minidl.deep_clustering: the Student's t assignments and their gradient, the target distribution, DEC and
IDEC on well-separated blobs (small and fast)."""
from __future__ import annotations

import numpy as np
import pytest

from minidl import Tensor
from minidl.deep_clustering import DEC, IDEC, ClusteringLayer, soft_assignments, target_distribution
from minidl.metrics import cluster_accuracy
from minidl.testing import gradcheck


def test_soft_assignments_match_the_formula():
    rng = np.random.default_rng(0)
    z, mu = rng.normal(size=(7, 3)), rng.normal(size=(4, 3))
    for alpha in (1.0, 2.5):
        q = soft_assignments(Tensor(z, dtype=np.float64), Tensor(mu, dtype=np.float64), alpha).numpy()
        d2 = ((z[:, None, :] - mu[None]) ** 2).sum(-1)
        kern = (1 + d2 / alpha) ** (-(alpha + 1) / 2)
        np.testing.assert_allclose(q, kern / kern.sum(1, keepdims=True), rtol=1e-10)
        np.testing.assert_allclose(q.sum(1), 1.0)


def test_soft_assignments_gradcheck():
    rng = np.random.default_rng(1)
    assert gradcheck(lambda z, mu: soft_assignments(z, mu, 1.0), rng.normal(size=(5, 3)), rng.normal(size=(4, 3)))
    assert gradcheck(lambda z, mu: soft_assignments(z, mu, 3.0), rng.normal(size=(3, 2)), rng.normal(size=(2, 2)))


def test_target_distribution_sharpens_and_normalises():
    q = np.array([[0.6, 0.4], [0.5, 0.5], [0.1, 0.9]])
    p = target_distribution(q)
    f = q.sum(0)
    want = q ** 2 / f
    np.testing.assert_allclose(p, want / want.sum(1, keepdims=True))
    np.testing.assert_allclose(p.sum(1), 1.0)
    assert p[0, 0] > q[0, 0] and p[2, 1] > q[2, 1]  # confident assignments get more confident
    with pytest.raises(ValueError, match="non-negative"):
        target_distribution(-q)


def test_clustering_layer_builds_and_checks_arguments():
    layer = ClusteringLayer(3, name="c")
    q = layer(np.zeros((4, 5), np.float32))
    assert q.shape == (4, 3) and layer.clusters.shape == (3, 5)
    np.testing.assert_allclose(q.numpy().sum(1), 1.0, rtol=1e-6)
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="n_clusters"):
            ClusteringLayer(bad)
    with pytest.raises(ValueError, match="alpha"):
        ClusteringLayer(3, alpha=0.0)


def _blobs(n=300, k=3, d=12, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.random((k, d))
    y = rng.integers(0, k, n)
    return np.clip(centres[y] + 0.12 * rng.standard_normal((n, d)), 0, 1).astype("float32"), y


@pytest.mark.parametrize("cls", [DEC, IDEC])
def test_dec_and_idec_fit_predict_on_blobs(cls):
    x, y = _blobs()
    model = cls(3, dims=(16, 3), pretrain_epochs=15, max_iter=120, update_interval=10, n_init=3, random_state=0)
    labels = model.fit_predict(x)
    assert labels.shape == (300,) and set(np.unique(labels)) <= {0, 1, 2}
    assert cluster_accuracy(y, labels) > 0.9  # three separated blobs
    assert model.cluster_centers_.shape == (3, 3) and 0 < model.n_iter_ <= 120
    q = model.predict_proba(x)
    np.testing.assert_allclose(q.sum(1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(model.predict(x), labels)
    assert model.history_[0][0] == 0 and all(0 <= h[2] <= 1 for h in model.history_)


def test_dec_starts_from_a_given_autoencoder_without_changing_it():
    x, _ = _blobs(n=120)
    first = DEC(3, dims=(16, 3), pretrain_epochs=5, max_iter=0, n_init=2, random_state=0).fit(x)
    ae = first.autoencoder_
    before = [w.copy() for w in ae.get_weights()]
    dec = DEC(3, autoencoder=ae, max_iter=30, update_interval=5, n_init=2, random_state=0).fit(x)
    for a, b in zip(before, ae.get_weights()):
        np.testing.assert_array_equal(a, b)  # fine-tuning worked on a copy
    assert any(not np.array_equal(a, b) for a, b in zip(before, dec.autoencoder_.get_weights()))
    # max_iter=0: the labels are KMeans' on the pretrained codes (argmax q at the KMeans centres).
    assert cluster_accuracy(first.kmeans_labels_, first.labels_) > 0.95


def test_dec_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_clusters"):
        DEC(0)
    with pytest.raises(ValueError, match="gamma"):
        DEC(3, gamma=-1.0)
    with pytest.raises(ValueError, match="gamma must be > 0"):
        IDEC(3, gamma=0.0)
    with pytest.raises(ValueError, match="N >= n_clusters"):
        DEC(5, pretrain_epochs=0).fit(np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        DEC(2, pretrain_epochs=0).fit(np.full((4, 4), np.nan, np.float32))
    with pytest.raises(RuntimeError, match="not fitted"):
        DEC(2).predict(np.zeros((4, 4), np.float32))
    x, _ = _blobs(n=60)
    first = DEC(3, dims=(8, 3), pretrain_epochs=1, max_iter=0, n_init=1, random_state=0).fit(x)
    with pytest.raises(ValueError, match="no layer named 'bottleneck'"):
        DEC(3, autoencoder=first.autoencoder_, code_layer="bottleneck").fit(x)
