"""The functional API: KerasTensors, Model(inputs, outputs), sub-models, multi-input/output training, saving,
summaries with Keras's parameter counts, and the errors raised while a graph is built."""
import numpy as np
import pytest

import minidl
from minidl import Tensor, layers as L, optimizers
from minidl.models import Model, Sequential, load_model
from minidl.symbolic import KerasTensor, apply_op
from minidl.testing import gradcheck_model
from minidl.utils import set_random_seed


def _summary(model) -> str:
    lines = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines)


def _counts(model) -> tuple[int, int]:
    text = _summary(model)
    total = int(text.split("Total params: ")[1].split(" ")[0])
    non = int(text.split("Non-trainable params: ")[1].split(" ")[0])
    return total, non


# ---------------------------------------------------------------------------------------------------- symbolic
def test_input_is_a_keras_tensor_and_layers_record_nodes():
    x = L.Input((28, 28, 1), name="img")
    assert isinstance(x, KerasTensor) and x.shape == (None, 28, 28, 1) and x.dtype == "float32" and x.name == "img"
    conv = L.Conv2D(4, 3)
    y = conv(x)
    assert isinstance(y, KerasTensor) and y.shape == (None, 26, 26, 4)
    assert conv.input is x and conv.output is y and conv.built
    assert y._keras_history[0] is conv
    with pytest.raises(TypeError, match="symbolic"):
        bool(y)


def test_eager_calls_still_compute():
    d = L.Dense(3)
    out = d(np.ones((2, 4), np.float32))
    assert isinstance(out, Tensor) and out.shape == (2, 3)
    with pytest.raises(AttributeError, match="never been called on a symbolic input"):
        d.output


def test_operators_on_keras_tensors_record_op_nodes_and_run():
    a, b = L.Input((4,)), L.Input((4,))
    out = (a + b) * 2.0 - a / 2.0
    neg = -out[:, :2]
    model = Model([a, b], [out, neg])
    xa, xb = np.arange(8, dtype=np.float32).reshape(2, 4), np.ones((2, 4), np.float32)
    o, n = model.predict([xa, xb])
    np.testing.assert_allclose(o, (xa + xb) * 2 - xa / 2)
    np.testing.assert_allclose(n, -o[:, :2])
    assert neg.shape == (None, 2)
    # apply_op is the hook for any differentiable function; eager on Tensors
    assert isinstance(apply_op(minidl.ops.exp, Tensor(np.zeros(2))), Tensor)
    e = apply_op(minidl.ops.exp, a)
    np.testing.assert_allclose(Model(a, e).predict(xa), np.exp(xa), rtol=1e-6)


# ---------------------------------------------------------------------------------------------------- equivalence
def _stack():
    set_random_seed(1)
    return [L.Dense(5, activation="tanh"), L.Dense(3, activation="softmax")]


def test_functional_matches_sequential_outputs_gradients_and_training():
    set_random_seed(0)
    x = np.random.default_rng(0).standard_normal((24, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[np.random.default_rng(1).integers(0, 3, 24)]
    seq = Sequential([L.Input((4,)), *_stack()])
    inp = L.Input((4,))
    layers = _stack()
    h = inp
    for layer in layers:
        h = layer(h)
    fun = Model(inp, h)
    fun.set_weights(seq.get_weights())
    np.testing.assert_array_equal(fun.predict(x), seq.predict(x))
    for m in (seq, fun):
        m.compile(optimizers.SGD(0.1), "categorical_crossentropy", metrics=["accuracy"])
    assert fun._fused() and seq._fused()
    grads = []
    for m in (seq, fun):
        m._prepare_run()
        loss, _ = m._loss_tensor(Tensor(x), y, training=True)
        loss.backward()
        grads.append([p.grad.copy() for p in m.trainable_weights])
        for p in m.trainable_weights:
            p.grad = None
    for g1, g2 in zip(*grads):
        np.testing.assert_array_equal(g1, g2)
    set_random_seed(3)
    h1 = seq.fit(x, y, batch_size=8, epochs=3, verbose=0).history
    set_random_seed(3)
    h2 = fun.fit(x, y, batch_size=8, epochs=3, verbose=0).history
    assert h1 == h2
    for w1, w2 in zip(seq.get_weights(), fun.get_weights()):
        np.testing.assert_array_equal(w1, w2)


# ---------------------------------------------------------------------------------------------------- the blog
def test_blog_autoencoder_encoder_and_decoder_share_layers():
    encoding_dim = 32
    input_img = L.Input(shape=(784,))
    encoded = L.Dense(encoding_dim, activation="relu")(input_img)
    decoded = L.Dense(784, activation="sigmoid")(encoded)
    autoencoder = Model(input_img, decoded)
    encoder = Model(input_img, encoded)
    encoded_input = L.Input(shape=(encoding_dim,))
    decoder_layer = autoencoder.layers[-1]
    decoder = Model(encoded_input, decoder_layer(encoded_input))
    autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
    x = np.random.default_rng(0).random((32, 784)).astype(np.float32)
    autoencoder.fit(x, x, epochs=1, batch_size=16, verbose=0)
    np.testing.assert_allclose(decoder.predict(encoder.predict(x)), autoencoder.predict(x), rtol=1e-5, atol=1e-6)
    assert _counts(autoencoder) == (50992, 0)  # 784*32+32 + 32*784+784
    assert _counts(encoder) == (25120, 0) and _counts(decoder) == (25872, 0)
    assert [type(l).__name__ for l in autoencoder.layers] == ["InputLayer", "Dense", "Dense"]


def test_blog_deep_and_convolutional_autoencoder_counts():
    inp = L.Input((784,))
    h = inp
    for units in (128, 64, 32, 64, 128):
        h = L.Dense(units, activation="relu")(h)
    deep = Model(inp, L.Dense(784, activation="sigmoid")(h))
    assert _counts(deep) == (222384, 0)
    img = L.Input(shape=(28, 28, 1))
    x = L.Conv2D(16, (3, 3), activation="relu", padding="same")(img)
    x = L.MaxPooling2D((2, 2), padding="same")(x)
    x = L.Conv2D(8, (3, 3), activation="relu", padding="same")(x)
    x = L.MaxPooling2D((2, 2), padding="same")(x)
    x = L.Conv2D(8, (3, 3), activation="relu", padding="same")(x)
    encoded = L.MaxPooling2D((2, 2), padding="same")(x)
    assert encoded.shape == (None, 4, 4, 8)
    x = L.Conv2D(8, (3, 3), activation="relu", padding="same")(encoded)
    x = L.UpSampling2D((2, 2))(x)
    x = L.Conv2D(8, (3, 3), activation="relu", padding="same")(x)
    x = L.UpSampling2D((2, 2))(x)
    x = L.Conv2D(16, (3, 3), activation="relu")(x)
    x = L.UpSampling2D((2, 2))(x)
    decoded = L.Conv2D(1, (3, 3), activation="sigmoid", padding="same")(x)
    assert decoded.shape == (None, 28, 28, 1)
    assert _counts(Model(img, decoded)) == (4385, 0)  # Keras's count for the blog's model


def test_feature_maps_from_a_sequential_model():
    seq = Sequential([L.Input((6, 6, 1)), L.Conv2D(2, 3, name="c1"), L.Flatten(), L.Dense(3, name="out")])
    assert seq.get_layer("c1") is seq.layers[0] and seq.get_layer(index=2).name == "out"
    feat = Model(inputs=seq.inputs, outputs=seq.layers[0].output)
    x = np.random.default_rng(0).random((2, 6, 6, 1)).astype(np.float32)
    np.testing.assert_allclose(feat.predict(x), seq.layers[0](Tensor(x)).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="Existing layers are"):
        seq.get_layer("nope")


# ---------------------------------------------------------------------------------------------------- graphs
def _residual_model():
    set_random_seed(2)
    inp = L.Input((6, 6, 2))
    x = L.Conv2D(3, 3, padding="same", activation="relu")(inp)
    y = L.Conv2D(3, 3, padding="same")(x)
    y = L.BatchNormalization()(y)
    x = L.Activation("relu")(L.Add()([x, y]))
    x = L.GlobalAveragePooling2D()(x)
    return Model(inp, L.Dense(2, activation="softmax")(x))


def test_residual_block_gradcheck_and_counts():
    model = _residual_model()
    # 2*9*3+3 + 3*9*3+3 + BN 4*3 + 3*2+2
    assert _counts(model) == (57 + 84 + 12 + 8, 6)
    text = _summary(model)
    assert "Connected to" in text and "conv2d" in text and "[0][0]" in text
    model.compile("sgd", "categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 6, 6, 2))
    y = np.eye(2)[[0, 1, 1]]
    assert gradcheck_model(model, x, y)


def test_inception_block_concatenate_gradcheck():
    set_random_seed(4)
    inp = L.Input((5, 5, 2))
    a = L.Conv2D(2, 1, padding="same", activation="tanh")(inp)
    b = L.Conv2D(3, 3, padding="same", activation="tanh")(inp)
    c = L.AveragePooling2D(3, strides=1, padding="same")(inp)
    d = L.MaxPooling2D(2, strides=1, padding="same")(inp)
    x = L.Concatenate(axis=-1)([a, b, c, d])
    assert x.shape == (None, 5, 5, 9)
    x = L.GlobalMaxPooling2D()(L.Multiply()([x, x]))
    model = Model(inp, L.Dense(1)(x))
    model.compile("sgd", "mse")
    rng = np.random.default_rng(1)
    assert gradcheck_model(model, rng.standard_normal((2, 5, 5, 2)), rng.standard_normal((2, 1)))


def test_two_input_two_output_training_with_loss_dict_and_weights():
    set_random_seed(5)
    a, b = L.Input((3,), name="a"), L.Input((2,), name="b")
    h = L.Concatenate()([L.Dense(4, activation="relu")(a), b])
    cls = L.Dense(2, activation="softmax", name="cls")(h)
    reg = L.Dense(1, name="reg")(h)
    model = Model({"a": a, "b": b}, {"cls": cls, "reg": reg})
    assert _counts(model) == (16 + 14 + 7, 0)
    model.compile("adam", loss={"cls": "categorical_crossentropy", "reg": "mse"}, loss_weights={"reg": 0.5},
                  metrics={"cls": ["accuracy"]})
    rng = np.random.default_rng(0)
    xa, xb = rng.random((16, 3), np.float32), rng.random((16, 2), np.float32)
    yc, yr = np.eye(2, dtype=np.float32)[rng.integers(0, 2, 16)], rng.random((16, 1), np.float32)
    hist = model.fit({"a": xa, "b": xb}, {"cls": yc, "reg": yr}, epochs=2, batch_size=8, verbose=0)
    assert set(hist.history) == {"loss", "cls_loss", "reg_loss", "cls_accuracy"}
    total, lc, lr, acc = model.evaluate({"a": xa, "b": xb}, {"cls": yc, "reg": yr}, verbose=0)
    np.testing.assert_allclose(total, lc + 0.5 * lr, rtol=1e-5)
    out = model.predict({"a": xa, "b": xb})
    assert set(out) == {"cls", "reg"} and out["cls"].shape == (16, 2)


def test_nested_models_and_shared_layers():
    shared = L.Dense(3, activation="tanh")
    inner_in = L.Input((4,))
    inner = Model(inner_in, shared(inner_in), name="inner")
    a, b = L.Input((4,)), L.Input((4,))
    out = L.Average()([inner(a), inner(b), shared(a)])
    model = Model([a, b], out)
    assert _counts(model) == (15, 0)  # the shared kernel counted once
    assert len(model.trainable_weights) == 2
    xa, xb = np.ones((2, 4), np.float32), np.zeros((2, 4), np.float32)
    want = (2 * shared(Tensor(xa)).numpy() + shared(Tensor(xb)).numpy()) / 3
    np.testing.assert_allclose(model.predict([xa, xb]), want, rtol=1e-6)
    seq_inner = Sequential([L.Input((4,)), L.Dense(2)])
    m2 = Model(a, seq_inner(a))
    np.testing.assert_allclose(m2.predict(xa), seq_inner.predict(xa))


def test_deep_graph_runs_without_recursion():
    inp = L.Input((2,))
    x = inp
    for _ in range(1500):
        x = L.Activation("linear")(x)
    model = Model(inp, x)
    np.testing.assert_array_equal(model.predict(np.ones((1, 2), np.float32)), np.ones((1, 2), np.float32))


# ---------------------------------------------------------------------------------------------------- saving
def test_save_load_round_trip_of_every_new_layer(tmp_path):
    set_random_seed(6)
    inp = L.Input((8, 8, 2))
    x = L.ZeroPadding2D(((1, 0), (0, 2)))(inp)
    x = L.Cropping2D(1)(x)
    x = L.Conv2D(3, 3, padding="same")(x)
    x = L.BatchNormalization(momentum=0.9)(x)
    x = L.SpatialDropout2D(0.2)(x)
    p = L.AveragePooling2D(2, padding="same")(x)
    q = L.MaxPooling2D(2, padding="same")(x)
    merged = [L.Add()([p, q]), L.Subtract()([p, q]), L.Multiply()([p, q]), L.Average()([p, q]),
              L.Maximum()([p, q]), L.Minimum()([p, q])]
    x = L.Concatenate()(merged)
    g1, g2 = L.GlobalAveragePooling2D()(x), L.GlobalMaxPooling2D()(x)
    out = L.Dense(2, activation="softmax")(L.Concatenate()([g1, g2 * 0.5 + 1.0]))
    model = Model(inp, [out, g1])
    model.compile("adam", loss=["categorical_crossentropy", None])
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((6, 8, 8, 2)).astype(np.float32)
    y_np = np.eye(2, dtype=np.float32)[rng.integers(0, 2, 6)]
    model.fit(x_np, [y_np, None], epochs=1, batch_size=3, verbose=0)
    path = tmp_path / "all.npz"
    model.save(path)
    loaded = load_model(path)
    for a, b in zip(model.predict(x_np), loaded.predict(x_np)):
        np.testing.assert_array_equal(a, b)
    assert [type(l).__name__ for l in loaded.layers] == [type(l).__name__ for l in model.layers]
    assert _summary(loaded) == _summary(model).replace(f'"{model.name}"', f'"{loaded.name}"')


def square(x):
    return x * x


def test_lambda_needs_custom_objects_and_a_named_function(tmp_path):
    inp = L.Input((3,))
    model = Model(inp, L.Lambda(square)(inp))
    model.save(tmp_path / "lam.npz")
    with pytest.raises(ValueError, match="custom_objects"):
        load_model(tmp_path / "lam.npz")
    loaded = load_model(tmp_path / "lam.npz", custom_objects={"square": square})
    np.testing.assert_array_equal(loaded.predict(np.full((1, 3), 3, np.float32)), np.full((1, 3), 9, np.float32))
    anon = Model(inp, L.Lambda(lambda t: t * 2)(inp))
    with pytest.raises(ValueError, match="lambda"):
        anon.save(tmp_path / "anon.npz")


# ---------------------------------------------------------------------------------------------------- BatchNormalization
def test_batch_norm_moving_statistics_training_inference_and_frozen():
    bn = L.BatchNormalization()
    x = np.random.default_rng(0).standard_normal((50, 3)).astype(np.float32) * 2 + 3
    out = bn(Tensor(x), training=True).numpy()
    np.testing.assert_allclose(out.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(out.var(0), x.var(0) / (x.var(0) + 1e-3), rtol=1e-4)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.01 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.99 + 0.01 * x.var(0), rtol=1e-5)
    inf = bn(Tensor(x), training=False).numpy()
    np.testing.assert_allclose(inf, (x - bn.moving_mean.numpy()) / np.sqrt(bn.moving_variance.numpy() + 1e-3),
                               rtol=1e-5, atol=1e-5)
    assert [w.name.split("/")[-1] for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert len(bn.trainable_weights) == 2 and bn.count_params() == 12
    bn.trainable = False  # Keras 3: frozen means inference mode
    before = bn.moving_mean.numpy().copy()
    np.testing.assert_allclose(bn(Tensor(x), training=True).numpy(), inf, rtol=1e-6)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), before)


def test_batch_norm_function_gradcheck():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from minidl import functional as F
    from minidl.testing import gradcheck

    @settings(max_examples=10)
    @given(shape=st.sampled_from([(4, 2), (3, 2, 2, 3), (5, 1)]), training=st.booleans(), seed=st.integers(0, 99))
    def check(shape, training, seed):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal(shape)
        g, b = rng.uniform(0.5, 2, shape[-1]), rng.standard_normal(shape[-1])
        mean, var = rng.standard_normal(shape[-1]), rng.uniform(0.5, 2, shape[-1])
        if training:
            assert gradcheck(lambda x, g, b: F.batch_norm(x, g, b, epsilon=1e-3), x, g, b)
        else:
            assert gradcheck(lambda x, g, b: F.batch_norm(x, g, b, mean, var, 1e-3, training=False), x, g, b)

    check()


# ---------------------------------------------------------------------------------------------------- errors
def test_wrong_rank_or_width_names_layer_expected_and_got_and_changes_nothing():
    conv = L.Conv2D(2, 3)
    with pytest.raises(ValueError, match=r"conv2d.*rank 4.*\(None, 5\)"):
        conv(L.Input((5,)))
    assert not conv.built and conv._inbound_nodes == []
    d = L.Dense(3)
    d(L.Input((4,)))
    with pytest.raises(ValueError, match=r'"dense.*expected axis -1 of input shape to have value 4.*\(None, 5\)'):
        d(L.Input((5,)))
    assert len(d._inbound_nodes) == 1


def test_disconnected_unused_inputs_and_duplicate_names():
    a, b = L.Input((2,), name="in_a"), L.Input((2,), name="in_b")
    s = L.Add()([a, b])
    with pytest.raises(ValueError, match="Graph disconnected.*'in_b'"):
        Model(a, s)
    with pytest.raises(ValueError, match="'in_b'.*not connected"):
        Model([a, b], L.Dense(1)(a))
    x = L.Dense(2, name="same")(a)
    with pytest.raises(ValueError, match="'same' is used by two layers"):
        Model(a, L.Dense(2, name="same")(x))
    with pytest.raises(ValueError, match="unique names"):
        Sequential([L.Input((2,)), L.Dense(2, name="twin"), L.Dense(2, name="twin")])
    with pytest.raises(TypeError, match="KerasTensor"):
        Model(a, np.ones(2))


def test_merge_shapes_and_loss_lists_are_checked():
    a, b = L.Input((3,)), L.Input((4,))
    with pytest.raises(ValueError, match=r"incompatible shapes.*\(None, 3\).*\(None, 4\)"):
        L.Add()([a, b])
    with pytest.raises(ValueError, match="matching shapes except"):
        L.Concatenate(axis=-1)([L.Input((2, 3)), L.Input((3, 3))])
    with pytest.raises(ValueError, match="exactly 2"):
        L.Subtract()([a, a, a])
    model = Model(a, [L.Dense(1, name="o1")(a), L.Dense(1, name="o2")(a)])
    with pytest.raises(ValueError, match="2 output.*list of 3"):
        model.compile("sgd", loss=["mse", "mse", "mse"])
    with pytest.raises(ValueError, match=r"unknown output name.*\['o1', 'o2'\]"):
        model.compile("sgd", loss={"o3": "mse"})
    assert model.optimizer is None
    with pytest.raises(ValueError, match="Provide either"):
        model.get_layer()


def test_input_spec_of_a_custom_layer_is_checked():
    class Vec(L.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.input_spec = L.InputSpec(ndim=2)

        def call(self, x):  # no training argument: allowed, as in Keras
            return x * 2.0

    layer = Vec(name="vec")
    with pytest.raises(ValueError, match='layer "vec".*expected ndim=2, found ndim=3'):
        layer(L.Input((2, 3)))
    with pytest.raises(ValueError, match="expected ndim=2"):
        layer(np.ones((1, 2, 3), np.float32))
    np.testing.assert_array_equal(layer(np.ones((1, 2), np.float32)).numpy(), [[2.0, 2.0]])


# ---------------------------------------------------------------------------------------------------- regularizers
def test_regularizers_defaults_config_and_training_loss(tmp_path):
    from minidl import regularizers

    assert regularizers.l1().l1 == 0.01 and regularizers.l2().l2 == 0.01
    assert regularizers.l1_l2().get_config() == {"l1": 0.0, "l2": 0.0}
    assert isinstance(regularizers.get("l2"), regularizers.L2)
    with pytest.raises(ValueError, match="known"):
        regularizers.get("l3")
    w = Tensor(np.array([1.0, -2.0]))
    np.testing.assert_allclose(regularizers.L1L2(0.1, 0.2)(w).numpy(), 0.1 * 3 + 0.2 * 5)
    set_random_seed(0)
    inp = L.Input((3,))
    d = L.Dense(2, kernel_regularizer=regularizers.l2(0.5), bias_regularizer="l1", bias_initializer="ones")
    model = Model(inp, d(inp))
    model.compile("sgd", "mse")
    x, y = np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32)
    pred = model.predict(x)
    k = d.kernel.numpy()
    want = float(np.mean(pred ** 2)) + 0.5 * float((k ** 2).sum()) + 0.01 * 2.0
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), want, rtol=1e-5)
    model.save(tmp_path / "reg.npz")
    loaded = load_model(tmp_path / "reg.npz")
    dense = loaded.layers[-1]
    assert isinstance(dense.kernel_regularizer, regularizers.L2) and dense.kernel_regularizer.l2 == 0.5
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), want, rtol=1e-5)
    conv = L.Conv2D(1, 2, kernel_regularizer="l1", activity_regularizer=regularizers.L2(0.1))
    conv(np.ones((2, 3, 3, 1), np.float32))
    assert len(conv.regularization_losses()) == 1 and len(conv.losses) == 1


# ---------------------------------------------------------------------------------------------------- Keras oracle
def test_same_functional_model_as_keras_predicts_the_same():
    keras = pytest.importorskip("keras")

    def build(lib):
        inp = lib.Input((6, 6, 2))
        x = lib.layers.Conv2D(3, 3, padding="same", activation="relu")(inp)
        y = lib.layers.BatchNormalization()(lib.layers.Conv2D(3, 3, padding="same")(x))
        x = lib.layers.Concatenate()([lib.layers.Add()([x, y]), lib.layers.AveragePooling2D(1)(x)])
        x = lib.layers.GlobalAveragePooling2D()(x)
        return lib.Model(inp, lib.layers.Dense(2, activation="softmax")(x))

    ours, theirs = build(minidl), build(keras)
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal(w.shape).astype(np.float32) * 0.5 for w in ours.get_weights()]
    weights = [np.abs(w) + 0.5 if w.ndim == 1 and i in (7,) else w for i, w in enumerate(weights)]  # a variance
    ours.set_weights(weights)
    theirs.set_weights(weights)
    x = rng.standard_normal((4, 6, 6, 2)).astype(np.float32)
    np.testing.assert_allclose(ours.predict(x), theirs.predict(x, verbose=0), atol=1e-5)
    assert ours.count_params() == theirs.count_params()
