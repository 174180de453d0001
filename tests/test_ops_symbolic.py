"""minidl.ops on KerasTensors: Keras-style custom graphs (ops.square, ops.expand_dims... on Input)."""
import numpy as np

import minidl
from minidl import layers, ops


def _model():
    inp = minidl.Input((4,))
    h = layers.Dense(3)(inp)
    h = ops.square(h) + ops.expand_dims(ops.sum(h, axis=1), -1)   # ops and operators mix in one graph
    return minidl.Model(inp, ops.sqrt(ops.abs(h) + 1.0))


def test_ops_on_keras_tensors_record_nodes_and_compute_like_eager_ops():
    minidl.utils.set_random_seed(0)
    model = _model()
    assert isinstance(model.output, minidl.KerasTensor) and model.output.shape == (None, 3)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    w, b = model.layers[1].get_weights()
    h = x @ w + b
    expected = np.sqrt(np.abs(h ** 2 + h.sum(axis=1, keepdims=True)) + 1.0)
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-6)


def test_a_graph_of_ops_trains_and_reloads(tmp_path):
    minidl.utils.set_random_seed(1)
    model = _model()
    model.compile("adam", "mse")
    x = np.random.default_rng(1).normal(size=(32, 4)).astype("float32")
    y = np.ones((32, 3), "float32")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before
    model.save(tmp_path / "m.npz")
    np.testing.assert_array_equal(minidl.load_model(tmp_path / "m.npz").predict(x), model.predict(x))


def test_eager_calls_are_unchanged():
    t = minidl.Tensor(np.array([[1.0, -2.0]]), requires_grad=True)
    out = ops.sum(ops.square(t))
    out.backward()
    np.testing.assert_allclose(t.grad, [[2.0, -4.0]])
