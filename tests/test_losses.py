"""Losses: values against NumPy formulas (and torch), fused == unfused, gradients, target checks, lookup."""
import numpy as np
import pytest

from minidl import Tensor, losses
from minidl.losses import BinaryCrossentropy, CategoricalCrossentropy, MeanSquaredError, SparseCategoricalCrossentropy
from minidl.testing import gradcheck

EPS = 1e-7


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((6, 4))
    labels = rng.integers(0, 4, size=6)
    onehot = np.eye(4)[labels]
    zb = rng.standard_normal((6, 1))
    tb = rng.integers(0, 2, size=(6, 1)).astype(np.float64)
    return z, labels, onehot, zb, tb


def test_values_match_numpy(data):
    z, labels, onehot, zb, tb = data
    p = softmax(z)
    want_ce = -np.mean(np.sum(onehot * np.log(np.clip(p, EPS, 1 - EPS)), axis=1))
    assert np.isclose(CategoricalCrossentropy()(onehot, Tensor(p)).item(), want_ce)
    assert np.isclose(SparseCategoricalCrossentropy()(labels, Tensor(p)).item(), want_ce)
    assert np.isclose(SparseCategoricalCrossentropy()(labels[:, None], Tensor(p)).item(), want_ce)
    pb = np.clip(sigmoid(zb), EPS, 1 - EPS)
    want_bce = -np.mean(tb * np.log(pb) + (1 - tb) * np.log(1 - pb))
    assert np.isclose(BinaryCrossentropy()(tb, Tensor(sigmoid(zb))).item(), want_bce)
    assert np.isclose(BinaryCrossentropy()(tb[:, 0], Tensor(sigmoid(zb))).item(), want_bce)
    assert np.isclose(MeanSquaredError()(onehot, Tensor(p)).item(), np.mean((p - onehot) ** 2))


def test_clipping_keeps_loss_finite():
    p = Tensor(np.array([[1.0, 0.0], [0.0, 1.0]]))
    v = CategoricalCrossentropy()(np.array([[0.0, 1.0], [0.0, 1.0]]), p).item()
    assert np.isclose(v, -0.5 * np.log(EPS))
    assert np.isfinite(BinaryCrossentropy()(np.array([[1.0], [0.0]]), Tensor(np.array([[0.0], [1.0]]))).item())


def test_from_logits_equals_call(data):
    z, labels, onehot, zb, tb = data
    for loss, y in [(CategoricalCrossentropy(), onehot), (SparseCategoricalCrossentropy(), labels),
                    (SparseCategoricalCrossentropy(), labels.astype(np.float32))]:
        assert loss.fuses_with == "softmax"
        assert np.isclose(loss.from_logits(y, Tensor(z)).item(), loss(y, Tensor(softmax(z))).item(), rtol=1e-10)
    bce = BinaryCrossentropy()
    assert bce.fuses_with == "sigmoid"
    assert np.isclose(bce.from_logits(tb, Tensor(zb)).item(), bce(tb, Tensor(sigmoid(zb))).item(), rtol=1e-10)
    assert MeanSquaredError().fuses_with is None
    with pytest.raises(NotImplementedError):
        MeanSquaredError().from_logits(tb, Tensor(zb))


def test_gradcheck_wrt_predictions(data):
    z, labels, onehot, zb, tb = data
    p = softmax(z)
    gradcheck(lambda q: CategoricalCrossentropy()(onehot, q), p)
    gradcheck(lambda q: SparseCategoricalCrossentropy()(labels, q), p)
    gradcheck(lambda q: BinaryCrossentropy()(tb, q), sigmoid(zb))
    gradcheck(lambda q: MeanSquaredError()(onehot, q), p)
    gradcheck(lambda q: CategoricalCrossentropy().from_logits(onehot, q), z)
    gradcheck(lambda q: SparseCategoricalCrossentropy().from_logits(labels, q), z)
    gradcheck(lambda q: BinaryCrossentropy().from_logits(tb, q), zb)


def test_matches_torch(data):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    z, labels, onehot, zb, tb = data
    want = tf.cross_entropy(torch.tensor(z), torch.tensor(labels)).item()
    assert np.isclose(SparseCategoricalCrossentropy().from_logits(labels, Tensor(z)).item(), want, rtol=1e-10)
    assert np.isclose(CategoricalCrossentropy()(onehot, Tensor(softmax(z))).item(), want, rtol=1e-6)
    want = tf.binary_cross_entropy_with_logits(torch.tensor(zb), torch.tensor(tb)).item()
    assert np.isclose(BinaryCrossentropy().from_logits(tb, Tensor(zb)).item(), want, rtol=1e-10)
    assert np.isclose(BinaryCrossentropy()(tb, Tensor(sigmoid(zb))).item(), want, rtol=1e-6)
    assert np.isclose(MeanSquaredError()(onehot, Tensor(z)).item(),
                      tf.mse_loss(torch.tensor(z), torch.tensor(onehot)).item(), rtol=1e-12)


def test_check_targets_accepts_valid():
    CategoricalCrossentropy().check_targets(np.eye(3)[[0, 1, 2, 1]], (4, 3))
    SparseCategoricalCrossentropy().check_targets(np.array([0, 2, 1, 1]), (4, 3))
    SparseCategoricalCrossentropy().check_targets(np.array([[0], [2], [1], [1]]), (4, 3))
    SparseCategoricalCrossentropy().check_targets(np.array([0.0, 2.0]), (2, 3))
    BinaryCrossentropy().check_targets(np.array([0, 1, 1]), (3, 1))
    MeanSquaredError().check_targets(np.zeros((3, 5)), (3, 5))


@pytest.mark.parametrize("loss, y, shape, match", [
    (SparseCategoricalCrossentropy(), np.eye(3)[[0, 1]], (2, 3), "one-hot"),
    (SparseCategoricalCrossentropy(), np.array([0, 3]), (2, 3), "out of range"),
    (SparseCategoricalCrossentropy(), np.array([-1, 0]), (2, 3), "out of range"),
    (SparseCategoricalCrossentropy(), np.array([0.5, 1.0]), (2, 3), "whole numbers"),
    (SparseCategoricalCrossentropy(), np.array([0, 1, 2]), (2, 3), "3 targets for 2"),
    (CategoricalCrossentropy(), np.array([0, 1]), (2, 3), "to_categorical"),
    (CategoricalCrossentropy(), np.array([[0], [1]]), (2, 3), "sparse_categorical_crossentropy"),
    (CategoricalCrossentropy(), np.eye(4)[[0, 1]], (2, 3), "does not match"),
    (MeanSquaredError(), np.zeros((2, 4)), (2, 3), "does not match"),
    (BinaryCrossentropy(), np.zeros((3, 1)), (2, 1), "does not match"),
    (BinaryCrossentropy(), np.array([[2.0], [0.0]]), (2, 1), r"\[0, 1\]"),
    (MeanSquaredError(), np.array([[np.nan], [0.0]]), (2, 1), "non-finite"),
    (CategoricalCrossentropy(), np.array([[np.inf, 0.0]]), (1, 2), "non-finite"),
])
def test_check_targets_errors(loss, y, shape, match):
    with pytest.raises(ValueError, match=match):
        loss.check_targets(y, shape)


def test_get():
    assert isinstance(losses.get("categorical_crossentropy"), CategoricalCrossentropy)
    assert isinstance(losses.get("Sparse_Categorical_Crossentropy"), SparseCategoricalCrossentropy)
    assert isinstance(losses.get("binary_crossentropy"), BinaryCrossentropy)
    assert isinstance(losses.get("mse"), MeanSquaredError)
    assert isinstance(losses.get("mean_squared_error"), losses.MSE)
    assert isinstance(losses.get(losses.binary_crossentropy), BinaryCrossentropy)
    assert isinstance(losses.get(BinaryCrossentropy), BinaryCrossentropy)
    inst = MeanSquaredError()
    assert losses.get(inst) is inst
    assert isinstance(losses.get(inst.get_config()), MeanSquaredError)
    assert losses.get("mse").name == "mean_squared_error"

    def my_loss(y_true, y_pred):
        return ((y_pred - Tensor(y_true)) ** 2).sum()

    wrapped = losses.get(my_loss)
    assert wrapped.fuses_with is None and wrapped.name == "my_loss"
    assert wrapped(np.ones(2), Tensor(np.zeros(2))).item() == 2.0
    with pytest.raises(ValueError, match="known losses: categorical_crossentropy"):
        losses.get("hinge")
    with pytest.raises(ValueError, match="one of"):
        losses.get(42)
