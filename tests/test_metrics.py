"""metrics: Keras's accuracy picking, small known cases, reports against scikit-learn."""
import numpy as np
import pytest

from minidl import losses, metrics


def test_accuracy_picks_by_loss():
    probs = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    labels = np.array([1, 1, 1, 0])
    onehot = np.eye(2)[labels]
    m = metrics.get("accuracy", loss="sparse_categorical_crossentropy")
    assert m.name == "accuracy" and m(labels, probs) == 0.75
    assert m(labels[:, None], probs) == 0.75
    m = metrics.get("acc", loss=losses.CategoricalCrossentropy())
    assert m.name == "acc" and m(onehot, probs) == 0.75
    m = metrics.get("accuracy", loss="binary_crossentropy")
    p1 = np.array([[0.9], [0.4], [0.6], [0.2]])
    assert m(np.array([1, 1, 0, 0]), p1) == 0.5
    assert m(np.array([[1], [1], [0], [0]]), p1) == 0.5


def test_accuracy_inferred_for_other_losses():
    probs = np.array([[0.1, 0.9], [0.8, 0.2]])
    assert metrics.get("accuracy", loss="mse")(np.array([[0, 1], [0, 1]]), probs) == 0.5  # categorical
    assert metrics.get("accuracy")(np.array([1, 0]), probs) == 1.0  # sparse
    assert metrics.get("accuracy")(np.array([[1.0], [0.0]]), np.array([[0.7], [0.7]])) == 0.5  # binary
    assert metrics.accuracy(np.array([1, 0]), probs) == 1.0


def test_named_metrics():
    t = np.array([[1.0, 2.0], [3.0, 4.0]])
    p = np.array([[1.5, 2.0], [3.0, 2.0]])
    assert metrics.get("mse")(t, p) == pytest.approx((0.25 + 4) / 4)
    assert metrics.get("mae")(t, p) == pytest.approx((0.5 + 2) / 4)
    assert metrics.get("mean_squared_error").name == "mean_squared_error"
    assert metrics.get("categorical_accuracy")(np.eye(2), np.eye(2)) == 1.0
    assert metrics.get("sparse_categorical_accuracy")(np.array([0, 0]), np.eye(2)) == 0.5
    assert metrics.get("binary_accuracy")(np.array([0.0, 1.0]), np.array([0.2, 0.2])) == 0.5
    m = metrics.get(lambda t, p: 1.0)
    assert m(t, p) == 1.0 and metrics.get(m) is m
    with pytest.raises(ValueError, match="known metrics: accuracy, acc"):
        metrics.get("auc")


def test_confusion_matrix_known():
    t = np.array([0, 1, 2, 2, 1])
    p = np.array([0, 2, 2, 1, 1])
    want = np.array([[1, 0, 0], [0, 1, 1], [0, 1, 1]])
    np.testing.assert_array_equal(metrics.confusion_matrix(t, p), want)
    np.testing.assert_array_equal(metrics.confusion_matrix(np.eye(3)[t], np.eye(3)[p] * 0.9), want)
    assert metrics.confusion_matrix(t, p, num_classes=4).shape == (4, 4)
    np.testing.assert_array_equal(metrics.confusion_matrix([1, 0], np.array([[0.7], [0.6]])), [[0, 1], [0, 1]])
    with pytest.raises(ValueError, match="num_classes=2"):
        metrics.confusion_matrix(t, p, num_classes=2)
    with pytest.raises(ValueError, match="5 true labels but 4"):
        metrics.confusion_matrix(t, p[:4])


def test_precision_recall_known():
    p, r, f, s = metrics.precision_recall_per_class([0, 1, 2, 2, 1], [0, 2, 2, 1, 1], num_classes=4)
    np.testing.assert_allclose(p, [1, 0.5, 0.5, 0])
    np.testing.assert_allclose(r, [1, 0.5, 0.5, 0])
    np.testing.assert_allclose(f, [1, 0.5, 0.5, 0])
    np.testing.assert_array_equal(s, [1, 2, 2, 0])


def test_against_sklearn():
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    t = rng.integers(0, 4, 200)
    p = np.where(rng.random(200) < 0.6, t, rng.integers(0, 4, 200))
    np.testing.assert_array_equal(metrics.confusion_matrix(t, p), skm.confusion_matrix(t, p))
    ours = metrics.precision_recall_per_class(t, p)
    theirs = skm.precision_recall_fscore_support(t, p, zero_division=0)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b)
    names = ["zero", "one", "two", "a-long-class-name"]
    for kw in [{}, {"target_names": names, "digits": 4}]:
        assert metrics.classification_report(t, p, **kw) == skm.classification_report(t, p, **kw)


def test_reexports_cluster_metrics():
    assert metrics.cluster_accuracy([0, 0, 1, 1], [1, 1, 0, 0]) == 1.0
    assert metrics.adjusted_rand_score([0, 0, 1, 1], [1, 1, 0, 0]) == pytest.approx(1.0)
    assert metrics.normalized_mutual_info_score([0, 0, 1, 1], [1, 1, 0, 0]) == pytest.approx(1.0)
