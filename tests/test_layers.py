"""Layers: gradients (float64 finite differences), shapes before data, names, weights and freezing."""
from __future__ import annotations

import numpy as np
import pytest

from minidl import Tensor
from minidl import functional as F
from minidl import layers as L
from minidl.testing import numeric_grad
from minidl.utils import set_random_seed


@pytest.fixture(autouse=True)
def _seeded():
    # Weights come from the global generator: seed it so that no run lands on a relu kink by chance.
    set_random_seed(1234)


def check_layer_grads(layer: L.Layer, x: np.ndarray, seed: int = 0) -> None:
    """dL/dx and dL/dw of L = sum(layer(x) * u) against central differences, in float64."""
    rng = np.random.default_rng(seed)
    xt = Tensor(np.array(x, dtype=np.float64), requires_grad=True)
    out = layer(xt)
    u = rng.standard_normal(out.shape)
    (out * Tensor(u)).sum().backward()

    def value() -> float:  # xt.data / the weights are perturbed in place by numeric_grad
        return float(np.sum(layer(Tensor(xt.data)).data * u))

    for t in [xt, *layer.trainable_weights]:
        assert t.grad is not None, t.name
        np.testing.assert_allclose(t.grad, numeric_grad(value, t.data), atol=1e-6, rtol=1e-4, err_msg=str(t.name))


R = np.random.default_rng(1)
CASES = [
    (lambda: L.Dense(3, activation="tanh", dtype="float64"), (4, 5)),
    (lambda: L.Dense(2, bias_initializer="random_normal", dtype="float64"), (2, 3, 4)),  # applied on the last axis
    (lambda: L.Conv2D(2, 3, activation="sigmoid", dtype="float64"), (2, 5, 5, 2)),
    (lambda: L.Conv2D(3, (2, 3), strides=2, padding="same", dtype="float64"), (1, 5, 6, 2)),
    (lambda: L.MaxPooling2D((2, 2)), (2, 4, 6, 3)),
    (lambda: L.MaxPooling2D(3, strides=2, padding="same"), (1, 5, 5, 2)),
    (lambda: L.Flatten(), (2, 3, 2, 2)),
    (lambda: L.Reshape((-1, 2)), (2, 3, 4)),
    (lambda: L.UpSampling2D((2, 3)), (2, 2, 3, 2)),
    (lambda: L.Activation("sigmoid"), (3, 4)),
    (lambda: L.Activation("tanh"), (3, 4)),
    (lambda: L.Activation("softmax"), (3, 4)),
    (lambda: L.Activation("relu"), (3, 4)),
]


@pytest.mark.parametrize("make, shape", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_layer_gradients_match_finite_differences(make, shape):
    check_layer_grads(make(), R.standard_normal(shape))


@pytest.mark.parametrize("make, shape", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_compute_output_shape_before_data_matches_call(make, shape):
    layer = make()
    predicted = layer.compute_output_shape((None, *shape[1:]))  # works before build for built-in layers
    assert not layer.built
    out = layer(Tensor(R.standard_normal(shape)))
    assert (None, *out.shape[1:]) == predicted == layer.output_shape
    assert layer.input_shape == (None, *shape[1:])


def test_upsampling_is_nearest_neighbour():
    x = np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2)
    y = L.UpSampling2D(2)(Tensor(x)).data
    np.testing.assert_array_equal(y, x.repeat(2, axis=1).repeat(2, axis=2))


def test_dense_standalone_and_param_count():
    d = L.Dense(3)
    y = d(Tensor(np.ones((2, 4), np.float32)))
    assert y.shape == (2, 3) and d.built and d.count_params() == 4 * 3 + 3
    assert [w.shape for w in d.weights] == [(4, 3), (3,)]
    np.testing.assert_allclose(y.data, np.ones((2, 4)) @ d.kernel.data, rtol=1e-6)  # zero bias


def test_names_are_numbered_per_class():
    class Zeta(L.Layer):
        def call(self, x, training=False):
            return x

    assert [Zeta().name for _ in range(3)] == ["zeta", "zeta_1", "zeta_2"]
    assert L.MaxPooling2D().name.startswith("max_pooling2d")
    assert L.Dense(2, name="head").name == "head"


def test_bad_construction_arguments_list_known_names():
    with pytest.raises(ValueError, match="unknown activation 'relux'.*known activations: .*relu"):
        L.Dense(3, activation="relux")
    with pytest.raises(ValueError, match="unknown padding 'full'.*known paddings: valid, same"):
        L.Conv2D(3, 3, padding="full")
    with pytest.raises(ValueError, match="unknown padding"):
        L.MaxPooling2D(padding="causal")
    with pytest.raises(ValueError, match="strides must be positive"):
        L.Conv2D(3, 3, strides=0)
    with pytest.raises(ValueError, match="units"):
        L.Dense(0)
    with pytest.raises(ValueError, match="rate"):
        L.Dropout(1.0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        L.Dense(3, activaton="relu")


def test_set_weights_checks_shapes_and_changes_nothing_on_error():
    d = L.Dense(2)
    d(Tensor(np.ones((1, 3), np.float32)))
    before = d.get_weights()
    with pytest.raises(ValueError, match=r"dense.*shape \(3, 2\).*\(2, 3\)"):
        d.set_weights([np.zeros((2, 3)), np.zeros(2)])
    with pytest.raises(ValueError, match="expects 2 weight array"):
        d.set_weights([np.zeros((3, 2))])
    for a, b in zip(before, d.get_weights()):
        np.testing.assert_array_equal(a, b)
    d.set_weights([np.ones((3, 2)), np.full(2, 5.0)])
    np.testing.assert_array_equal(d.bias.data, [5, 5])


def test_valid_window_larger_than_input_is_a_clear_error():
    with pytest.raises(ValueError, match="bigger than its input"):
        L.Conv2D(2, 5).compute_output_shape((None, 3, 3, 1))


class Residual(L.Layer):
    """y = relu(x + Dense(x) * scale): sub-layer as an attribute, own weight from build."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = L.Dense(4, dtype=self.dtype)

    def build(self, input_shape):
        self.scale = self.add_weight("scale", (input_shape[-1],), initializer="ones")

    def call(self, x, training=False):
        return F.relu(x + self.inner(x) * self.scale)


def test_custom_layer_tracks_sublayers_and_freezes():
    r = Residual()
    assert r.compute_output_shape((None, 4)) == (None, 4)  # default: runs the layer once
    assert r.count_params() == 4 + 4 * 4 + 4
    assert len(r.weights) == 3 and len(r.trainable_weights) == 3
    check_layer_grads(Residual(dtype="float64"), R.standard_normal((3, 4)) + 0.1)
    r.trainable = False
    assert r.trainable_weights == [] and len(r.non_trainable_weights) == 3
    assert not any(w.requires_grad for w in r.weights) and not r.inner.trainable


def test_dropout_and_noise_only_in_training():
    x = Tensor(np.ones((50, 40), np.float32))
    for layer in (L.Dropout(0.5, seed=1), L.GaussianNoise(0.3, seed=1)):
        assert layer(x).data is x.data  # identity at inference
        y = layer(x, training=True).data
        assert not np.array_equal(y, x.data)
    d = L.Dropout(0.5, seed=3)
    a, b = d(x, training=True).data, d(x, training=True).data
    assert not np.array_equal(a, b)  # a seeded layer still draws a new mask every batch
    assert set(np.unique(a)) <= {0.0, 2.0}


def test_activity_regularizer_adds_mean_l1_of_outputs():
    d = L.Dense(3, activation="relu", activity_regularizer="l1")
    y = d(Tensor(np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)))
    assert len(d.losses) == 1
    np.testing.assert_allclose(d.losses[0].item(), 0.01 * np.abs(y.data).sum() / 4, rtol=1e-6)
    assert L.Dense(3, activity_regularizer=0.5).activity_regularizer == 0.5
    with pytest.raises(ValueError, match="activity_regularizer"):
        L.Dense(3, activity_regularizer="l3")


def test_config_round_trip_makes_an_equivalent_layer():
    for layer in (L.Dense(3, activation="softmax", use_bias=False), L.Conv2D(4, (3, 2), 2, "same"),
                  L.MaxPooling2D(3, 1, "same"), L.Reshape((2, -1)), L.UpSampling2D(3), L.Dropout(0.2, seed=4),
                  L.GaussianNoise(0.1), L.Activation("tanh"), L.Flatten()):
        spec = L.serialize(layer)
        clone = L.deserialize(spec)
        assert type(clone) is type(layer) and clone.get_config() == layer.get_config()
