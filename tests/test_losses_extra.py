"""Keras 3's KL divergence, MAE, Huber, cosine similarity, categorical hinge; top-k accuracy."""
import json

import numpy as np
import pytest

import minidl
from minidl import Tensor, layers, losses, metrics
from minidl.testing import gradcheck


# ---------------------------------------------------------------------------------------------------- oracles
# Written from keras/src/losses/losses.py, per sample (reduced over the last axis).
def np_kld(t, p):
    t, p = np.clip(t, 1e-7, 1), np.clip(p, 1e-7, 1)
    return np.sum(t * np.log(t / p), axis=-1)


def np_mae(t, p):
    return np.mean(np.abs(t - p), axis=-1)


def np_huber(t, p, delta=1.0):
    e = p - t
    a = np.abs(e)
    return np.mean(np.where(a <= delta, 0.5 * e ** 2, delta * a - 0.5 * delta ** 2), axis=-1)


def np_cosine(t, p, axis=-1):
    def norm(x):
        return x / np.sqrt(np.maximum(np.sum(x * x, axis=axis, keepdims=True), 1e-12))
    return -np.sum(norm(t) * norm(p), axis=axis)


def np_cat_hinge(t, p):
    pos = np.sum(t * p, axis=-1)
    neg = np.max((1 - t) * p, axis=-1)
    return np.maximum(neg - pos + 1, 0)


def data(seed=0, shape=(6, 4)):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(shape[-1]), size=shape[0])
    t = rng.dirichlet(np.ones(shape[-1]), size=shape[0])
    return t, p


CASES = [
    ("kl_divergence", losses.kl_divergence, losses.KLDivergence, np_kld),
    ("mean_absolute_error", losses.mean_absolute_error, losses.MeanAbsoluteError, np_mae),
    ("huber", losses.huber, losses.Huber, np_huber),
    ("cosine_similarity", losses.cosine_similarity, losses.CosineSimilarity, np_cosine),
    ("categorical_hinge", losses.categorical_hinge, losses.CategoricalHinge, np_cat_hinge),
]


@pytest.mark.parametrize("name, fn, cls, oracle", CASES, ids=[c[0] for c in CASES])
def test_function_per_sample_and_class_reductions(name, fn, cls, oracle):
    t, p = data(1)
    t[0] = 0.0          # a zero target row (KLD clips it; cosine of a zero vector is 0)
    p[1] *= 3.0         # errors above Huber's delta
    want = oracle(t, p)
    got = fn(t, Tensor(p))
    assert got.shape == (6,)
    np.testing.assert_allclose(got.data, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cls()(t, Tensor(p)).item(), want.mean(), rtol=1e-12)
    np.testing.assert_allclose(cls(reduction="sum")(t, Tensor(p)).item(), want.sum(), rtol=1e-12)
    np.testing.assert_allclose(cls(reduction=None)(t, Tensor(p)).data, want, rtol=1e-12)
    with pytest.raises(ValueError, match="reduction must be one of"):
        cls(reduction="avg")


def test_keras_documented_values():
    # the examples in Keras's docstrings
    np.testing.assert_allclose(losses.huber(np.array([[0, 1], [0, 0.]]), Tensor([[0.6, 0.4], [0.4, 0.6]])).data.mean(),
                               0.155, atol=1e-6)
    got = losses.cosine_similarity(np.array([[0., 1.], [1., 1.], [1., 1.]]), Tensor([[1., 0.], [1., 1.], [-1., -1.]]))
    np.testing.assert_allclose(got.data, [0.0, -1.0, 1.0], atol=1e-7)


def test_huber_delta_and_higher_rank():
    rng = np.random.default_rng(2)
    t, p = rng.standard_normal((3, 5, 2)), 3 * rng.standard_normal((3, 5, 2))
    np.testing.assert_allclose(losses.huber(t, Tensor(p), delta=2.5).data, np_huber(t, p, 2.5), rtol=1e-12)
    np.testing.assert_allclose(losses.Huber(delta=2.5)(t, Tensor(p)).item(), np_huber(t, p, 2.5).mean(), rtol=1e-12)
    for bad in (0, -1, float("nan"), "1"):
        with pytest.raises(ValueError, match="delta"):
            losses.Huber(delta=bad)
    np.testing.assert_allclose(losses.cosine_similarity(t, Tensor(p), axis=1).data, np_cosine(t, p, axis=1),
                               rtol=1e-12)


@pytest.mark.parametrize("name, fn, cls, oracle", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(name, fn, cls, oracle):
    rng = np.random.default_rng(5)
    t, p = data(5)
    if name == "categorical_hinge":
        t = np.eye(4)[rng.integers(0, 4, 6)]
    if name in ("huber", "mean_absolute_error"):
        p = t + rng.choice([-1, 1], t.shape) * rng.uniform(0.2, 2.0, t.shape)   # away from |e| = 0, delta
        p = np.where(np.abs(np.abs(p - t) - 1.0) < 0.05, p + 0.2, p)
    assert gradcheck(lambda q: cls()(t, q), p)
    assert gradcheck(lambda q: fn(t, q), p)


@pytest.mark.parametrize("ident, cls", [
    ("kld", losses.KLDivergence), ("KLDivergence", losses.KLDivergence), ("kl_divergence", losses.KLDivergence),
    ("mae", losses.MeanAbsoluteError), ("MeanAbsoluteError", losses.MeanAbsoluteError),
    ("huber", losses.Huber), ("Huber", losses.Huber), ("cosine_similarity", losses.CosineSimilarity),
    ("CategoricalHinge", losses.CategoricalHinge), ("categorical_hinge", losses.CategoricalHinge),
    (losses.kld, losses.KLDivergence), (losses.mae, losses.MeanAbsoluteError), (losses.huber, losses.Huber),
    ("MeanSquaredError", losses.MeanSquaredError),
])
def test_names_resolve(ident, cls):
    assert type(losses.get(ident)) is cls


def test_config_roundtrip_keeps_arguments():
    for loss in (losses.Huber(delta=0.3, reduction="sum"), losses.CosineSimilarity(axis=1, name="cos"),
                 losses.KLDivergence()):
        back = losses.get(json.loads(json.dumps(loss.get_config())))
        assert type(back) is type(loss) and back.get_config() == loss.get_config()
    with pytest.raises(ValueError, match="unknown loss 'kldd'; known losses: .*kld"):
        losses.get("kldd")


def test_plain_function_returning_per_sample_values_is_averaged():
    t, p = data(3)
    wrapped = losses.get(lambda yt, yp: losses.mean_absolute_error(yt, yp) * 2.0)
    np.testing.assert_allclose(wrapped(t, Tensor(p)).item(), 2 * np_mae(t, p).mean(), rtol=1e-12)


@pytest.mark.parametrize("loss", ["kld", "mae", "huber", "cosine_similarity", "categorical_hinge"])
def test_model_trains_with_each_loss(loss):
    minidl.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)).astype("float32")
    y = np.eye(3, dtype="float32")[(x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5)]
    model = minidl.Sequential([layers.Input((5,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer=minidl.optimizers.Adam(0.05), loss=loss, metrics=["mae", "mse"])
    first = model.evaluate(x, y, verbose=0)
    hist = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert set(hist.history) == {"loss", "mae", "mse"}
    assert model.evaluate(x, y, verbose=0)[0] < first[0]


def test_targets_checked_before_training():
    model = minidl.Sequential([layers.Input((2,)), layers.Dense(3, activation="softmax")])
    model.compile("sgd", "kld")
    with pytest.raises(ValueError, match="kl_divergence: targets must be probabilities"):
        model.fit(np.ones((4, 2)), np.full((4, 3), 2.0), verbose=0)
    model.compile("sgd", "huber")
    with pytest.raises(ValueError, match="target shape"):
        model.fit(np.ones((4, 2)), np.ones((4, 2)), verbose=0)


# ---------------------------------------------------------------------------------------------------- top-k
def test_top_k_accuracy():
    scores = np.array([[0.1, 0.5, 0.3, 0.1], [0.4, 0.3, 0.2, 0.1], [0.25, 0.25, 0.25, 0.25]])
    labels = np.array([2, 3, 1])
    # row 0: class 2 is 2nd -> in top 2; row 1: class 3 is last -> out; row 2: all tied -> in (TF's rule)
    assert metrics.sparse_top_k_categorical_accuracy(labels, scores, k=2) == pytest.approx(2 / 3)
    assert metrics.sparse_top_k_categorical_accuracy(labels, scores, k=1) == pytest.approx(1 / 3)
    assert metrics.top_k_categorical_accuracy(np.eye(4)[labels], scores, k=4) == 1.0
    assert metrics.sparse_top_k_categorical_accuracy(labels[:, None], scores, k=2) == pytest.approx(2 / 3)
    m = metrics.SparseTopKCategoricalAccuracy(k=2)
    assert m.name == "sparse_top_k_categorical_accuracy" and m(labels, scores) == pytest.approx(2 / 3)
    assert metrics.TopKCategoricalAccuracy(k=1, name="top1")(np.eye(4)[labels], scores) == pytest.approx(1 / 3)
    assert metrics.get("top_k_categorical_accuracy").name == "top_k_categorical_accuracy"
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="k must be a positive integer"):
            metrics.TopKCategoricalAccuracy(k=bad)
    with pytest.raises(ValueError, match="labels must be in 0..3"):
        metrics.sparse_top_k_categorical_accuracy(np.array([4, 0, 0]), scores)
