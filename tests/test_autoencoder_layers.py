"""Autoencoder layers: TiedAutoencoder, DenseTranspose (weights tied to a Dense) and Conv2DTranspose.

Gradients are checked in float64 against finite differences; Conv2DTranspose against an independent NumPy
scatter (TensorFlow's definition of conv2d_transpose) and against the adjoint identity
<conv2d_transpose(x, k), u> = <x, conv2d(u, k)>; shared weights are checked to be one tensor that receives
both uses' gradients and is counted, saved and updated once.
"""
from __future__ import annotations

import io
import itertools
from contextlib import redirect_stdout

import numpy as np
import pytest

from minidl import Tensor
from minidl import functional as F
from minidl import layers as L
from minidl import models
from minidl.testing import gradcheck, gradcheck_model, numeric_grad
from minidl.utils import set_random_seed

ACTS = ["sigmoid", "relu", "tanh", "linear"]


@pytest.fixture(autouse=True)
def _seeded():
    # Weights come from the global generator: seeded, so that no run lands on a relu kink by chance.
    set_random_seed(7)


def _check_layer_grads(layer: L.Layer, fn, x: np.ndarray, seed: int = 0) -> None:
    """dL/dx and dL/dw of L = sum(fn(x) * u) against central differences in float64, for every trainable
    weight of ``layer`` (fn uses the layer, e.g. ``layer`` itself, ``layer.encode``)."""
    rng = np.random.default_rng(seed)
    xt = Tensor(np.array(x, dtype=np.float64), requires_grad=True)
    out = fn(xt)
    u = rng.standard_normal(out.shape)
    (out * Tensor(u)).sum().backward()

    def value() -> float:  # xt.data and the weights are perturbed in place by numeric_grad
        return float(np.sum(fn(Tensor(xt.data)).data * u))

    for t in [xt, *layer.trainable_weights]:
        g = t.grad if t.grad is not None else np.zeros_like(t.data)
        np.testing.assert_allclose(g, numeric_grad(value, t.data), atol=1e-6, rtol=1e-4, err_msg=str(t.name))
        t.grad = None


def _summary(model) -> list[str]:
    buf = io.StringIO()
    with redirect_stdout(buf):
        model.summary()
    return buf.getvalue().splitlines()


def _row_params(lines: list[str], layer_name: str) -> int:
    row = next(line for line in lines if line.strip().startswith(layer_name + " "))
    return int(row.split()[-1])


def _total_params(lines: list[str]) -> int:
    return int(next(line for line in lines if line.startswith("Total params:")).split()[2])


# ------------------------------------------------------------------------------------------ TiedAutoencoder
@pytest.mark.parametrize("enc, dec", list(itertools.product(ACTS, ACTS)))
def test_tied_autoencoder_gradients_all_activations(enc, dec):
    layer = L.TiedAutoencoder(3, encoder_activation=enc, decoder_activation=dec, dtype="float64",
                              bias_initializer="random_normal")
    x = np.random.default_rng(1).standard_normal((4, 5))
    _check_layer_grads(layer, layer, x)
    _check_layer_grads(layer, layer.encode, x, seed=1)
    codes = np.random.default_rng(2).standard_normal((4, 3))
    _check_layer_grads(layer, layer.decode, codes, seed=2)


@pytest.mark.parametrize("enc, dec", [("sigmoid", "sigmoid"), ("tanh", "linear"), ("relu", "sigmoid")])
def test_tied_autoencoder_call_equals_decode_of_encode(enc, dec):
    layer = L.TiedAutoencoder(4, enc, dec, dtype="float64", bias_initializer="random_normal")
    x = np.random.default_rng(0).random((6, 7))
    xhat = layer(x).numpy()
    np.testing.assert_allclose(layer.decode(layer.encode(x)).numpy(), xhat, rtol=1e-12, atol=1e-12)
    # and against plain NumPy
    acts = {"sigmoid": lambda a: 1 / (1 + np.exp(-a)), "relu": lambda a: np.maximum(a, 0), "tanh": np.tanh,
            "linear": lambda a: a}
    W, b, c = (w.numpy() for w in layer.weights)
    want = acts[dec](acts[enc](x @ W + b) @ W.T + c)
    np.testing.assert_allclose(xhat, want, rtol=1e-10, atol=1e-12)


def test_tied_autoencoder_kernel_is_one_weight_receiving_both_paths():
    layer = L.TiedAutoencoder(3, "tanh", "sigmoid", dtype="float64", bias_initializer="random_normal")
    x = np.random.default_rng(3).standard_normal((5, 6))
    u = np.random.default_rng(4).standard_normal((5, 6))
    out = layer(x)
    assert [w.name for w in layer.trainable_weights] == [f"{layer.name}/kernel", f"{layer.name}/bias",
                                                         f"{layer.name}/decoder_bias"]
    (out * Tensor(u)).sum().backward()
    W = layer.kernel
    total = W.grad.copy()
    W.grad = None
    W_const = Tensor(W.numpy().copy())  # the same values, but no gradient flows into it
    act = {"tanh": np.tanh}
    # encoder path only: the decoder reads the constant copy
    y = layer.encode(x)
    xhat = F.sigmoid(F.dense(y, W_const.transpose(), layer.decoder_bias))
    (xhat * Tensor(u)).sum().backward()
    g_enc, W.grad = W.grad.copy(), None
    # decoder path only: the codes come from the constant copy
    y_const = Tensor(act["tanh"](x @ W_const.numpy() + layer.bias.numpy()))
    (layer.decode(y_const) * Tensor(u)).sum().backward()
    g_dec = W.grad.copy()
    assert np.abs(g_enc).max() > 1e-3 and np.abs(g_dec).max() > 1e-3  # both paths really contribute
    np.testing.assert_allclose(total, g_enc + g_dec, rtol=1e-10, atol=1e-12)


def test_tied_autoencoder_summary_counts_kernel_once_before_data():
    model = models.Sequential([L.Input((784,)), L.TiedAutoencoder(128, name="tae")])
    assert model.output_shape == (None, 784)
    assert L.TiedAutoencoder(16).compute_output_shape((None, 30)) == (None, 30)
    lines = _summary(model)
    assert _row_params(lines, "tae") == 784 * 128 + 128 + 784
    assert _total_params(lines) == 784 * 128 + 128 + 784 == model.count_params()


def test_tied_autoencoder_sigmoid_bce_uses_the_stable_logits_path():
    layer = L.TiedAutoencoder(2, "linear", "sigmoid", name="tae_bce")
    model = models.Sequential([L.Input((3,)), layer])
    model.compile("sgd", "binary_crossentropy")
    model._prepare_run()
    assert model._fused_now
    # Logits of +-40: sigmoid rounds to exactly 0 or 1 in float32, so a probability-space BCE would clip
    # to -log(1e-7) ~ 16.1; the logits path gives the true loss, |z| for the wrong target.
    layer.set_weights([np.zeros((3, 2)), np.zeros(2), np.array([40.0, -40.0, 40.0])])
    x = np.zeros((2, 3), dtype=np.float32)
    t = np.array([[0, 1, 1], [0, 1, 1]], dtype=np.float32)
    z = np.array([40.0, -40.0, 40.0])
    want = np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z))))
    np.testing.assert_allclose(model.evaluate(x, t, verbose=0), want, rtol=1e-5)
    assert model.evaluate(x, t, verbose=0) > 20  # not the clipped value
    np.testing.assert_allclose(model.predict(x), 1 / (1 + np.exp(-np.broadcast_to(z, (2, 3)))), atol=1e-7)


@pytest.mark.parametrize("loss", ["binary_crossentropy", "mse"])
def test_tied_autoencoder_model_gradcheck(loss):
    layer = L.TiedAutoencoder(3, "tanh", "sigmoid", bias_initializer="random_normal")
    model = models.Sequential([L.Input((5,)), layer])
    model.compile("adam", loss)
    x = np.random.default_rng(5).random((4, 5))
    assert gradcheck_model(model, x, x)


def test_tied_autoencoder_bad_arguments_and_inputs_change_nothing():
    with pytest.raises(ValueError, match="encoder_activation 'gelu'"):
        L.TiedAutoencoder(4, encoder_activation="gelu")
    with pytest.raises(ValueError, match="decoder_activation 'softmax'"):
        L.TiedAutoencoder(4, decoder_activation="softmax")
    with pytest.raises(ValueError, match="units"):
        L.TiedAutoencoder(0)
    layer = L.TiedAutoencoder(2)
    with pytest.raises(ValueError, match="not built"):
        layer.decode(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="rank 2"):
        layer(np.zeros((2, 3, 4)))
    assert not layer.built and layer.weights == []
    layer(np.zeros((2, 6)))
    before = layer.get_weights()
    for bad in (lambda: layer(np.zeros((2, 5))), lambda: layer.encode(np.zeros((2, 5))),
                lambda: layer.decode(np.zeros((2, 3)))):
        with pytest.raises(ValueError, match=repr(layer.name)):
            bad()
    model = models.Sequential([L.Input((6,)), layer])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="expected shape"):
        model.fit(np.zeros((4, 5)), np.zeros((4, 5)), verbose=0)
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert all(w.grad is None for w in layer.weights)


def test_tied_autoencoder_trains_on_digits():
    from minidl.datasets import mnist

    (x, _), _ = mnist.load_data()
    x = x[:500].reshape(500, -1).astype(np.float32) / 255.0
    model = models.Sequential([L.Input((784,)), L.TiedAutoencoder(64)])
    model.compile("adam", "binary_crossentropy")
    hist = model.fit(x, x, batch_size=50, epochs=3, verbose=0).history["loss"]
    codes = model.layers[0].encode(x[:10]).numpy()
    assert codes.shape == (10, 64)
    assert hist[-1] < 0.8 * hist[0], hist


# ------------------------------------------------------------------------------------------ DenseTranspose
@pytest.mark.parametrize("act", ACTS)
def test_dense_transpose_gradients(act):
    dense = L.Dense(3, dtype="float64")
    dense(np.zeros((1, 5)))
    dt = L.DenseTranspose(dense, activation=act, dtype="float64", bias_initializer="random_normal")
    x = np.random.default_rng(6).standard_normal((4, 3))
    out = dt(x)
    assert out.shape == (4, 5)
    np.testing.assert_allclose(dt.pre_activation(Tensor(x)).numpy(), x @ dense.kernel.numpy().T + dt.bias.numpy(),
                               rtol=1e-12)
    assert [w.name for w in dt.weights] == [f"{dt.name}/bias"]  # it owns only its bias
    _check_layer_grads(dt, dt, x)
    # ... and the tied kernel gets dL/dW = (dL/dz)^T x through the transpose
    gradcheck(lambda k, xx: F.activation(act)(F.dense(xx, k.transpose(), dt.bias)), dense.kernel.numpy(), x)


def _tied_mlp(d_in=6, hidden=4, code=2):
    d1, d2 = L.Dense(hidden, activation="tanh", name="enc1"), L.Dense(code, activation="tanh", name="enc2")
    encoder = models.Sequential([L.Input((d_in,)), d1, d2], name="encoder")
    decoder = models.Sequential([L.DenseTranspose(d2, activation="tanh", name="dec2"),
                                 L.DenseTranspose(d1, activation="sigmoid", name="dec1")], name="decoder")
    return models.Sequential([L.Input((d_in,)), encoder, decoder], name="tied_ae"), d1, d2


def test_dense_transpose_shared_kernel_counted_once_and_updated_once():
    ae, d1, d2 = _tied_mlp()
    ids = [id(w) for w in ae.trainable_weights]
    assert len(ids) == len(set(ids)) == 6  # 2 kernels, 2 Dense biases, 2 DenseTranspose biases
    assert ae.count_params() == (6 * 4 + 4) + (4 * 2 + 2) + 4 + 6
    lines = _summary(ae.layers[1])
    assert _row_params(lines, "dec2") == 4 and _row_params(lines, "dec1") == 6
    assert _total_params(_summary(ae)) == ae.count_params()

    x = np.random.default_rng(7).random((8, 6)).astype(np.float32)
    ae.compile("sgd", "mse")  # SGD(0.01): W_new = W - 0.01 * (both uses' gradient)
    W = d1.kernel
    w0 = W.numpy().copy()
    loss = F.mse(ae(Tensor(x)), x)
    loss.backward()
    g_total = W.grad.copy()
    for p in ae.trainable_weights:
        p.grad = None
    # the Dense use alone (decoder reads a constant copy of W)
    h = d2(d1(Tensor(x)))
    h = ae.layers[1].layers[0](h)
    dec1 = ae.layers[1].layers[1]
    only_enc = F.mse(F.sigmoid(F.dense(h, Tensor(w0.T.copy()), dec1.bias)), x)
    only_enc.backward()
    g_enc = W.grad.copy()
    for p in ae.trainable_weights:
        p.grad = None
    assert np.abs(g_total - g_enc).max() > 1e-6  # the decoder use contributes too
    ae.train_on_batch(x, x)
    np.testing.assert_allclose(W.numpy(), w0 - 0.01 * g_total, rtol=1e-5, atol=1e-7)


def test_dense_transpose_model_gradcheck():
    ae, _, _ = _tied_mlp()
    ae.compile("adam", "binary_crossentropy")
    x = np.random.default_rng(8).random((3, 6))
    assert gradcheck_model(ae, x, x)


def test_dense_transpose_errors_change_no_state():
    dense = L.Dense(3)
    dt = L.DenseTranspose(dense)
    with pytest.raises(ValueError, match="not built yet"):
        dt(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="not built yet"):
        dt.compute_output_shape((None, 3))
    assert not dt.built and dt.weights == [] and not dense.built
    # in a model: the DenseTranspose before its Dense is refused and the model is unchanged
    model = models.Sequential([L.Input((3,))])
    with pytest.raises(ValueError, match="is tied to"):
        model.add(dt)
    assert model.layers == [] and not dt.built and dt.weights == []
    # wrong width once the Dense is built
    dense(np.zeros((1, 5)))
    with pytest.raises(ValueError, match="width 3"):
        dt(np.zeros((2, 4)))
    assert not dt.built and dt.weights == []
    with pytest.raises(TypeError, match="tied_to"):
        L.DenseTranspose(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="activation"):
        L.DenseTranspose(dense, activation="swish")
    with pytest.raises(ValueError, match="pass the Dense layer itself"):
        L.DenseTranspose.from_config({"tied_to": dense.name})


def test_dense_transpose_save_load_relinks_by_name(tmp_path):
    ae, _, _ = _tied_mlp()
    ae.compile("adam", "binary_crossentropy")
    x = np.random.default_rng(9).random((16, 6)).astype(np.float32)
    ae.fit(x, x, epochs=2, batch_size=4, verbose=0)
    path = tmp_path / "tied.npz"
    ae.save(path)
    loaded = models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x), ae.predict(x))
    enc2 = loaded.layers[0].layers[1]
    dec2 = loaded.layers[1].layers[0]
    assert dec2.tied_to is enc2 and dec2.kernel is enc2.kernel  # re-linked: still one tensor
    assert len(loaded.trainable_weights) == 6
    # training continues identically (same optimizer state, same shared tensor)
    ae.train_on_batch(x, x)
    loaded.train_on_batch(x, x)
    np.testing.assert_allclose(loaded.predict(x), ae.predict(x), rtol=1e-6, atol=1e-7)
    # a flat model, Dense then DenseTranspose
    d = L.Dense(3, activation="relu")
    flat = models.Sequential([L.Input((5,)), d, L.DenseTranspose(d, activation="sigmoid")])
    flat.save(tmp_path / "flat.npz")
    flat2 = models.load_model(tmp_path / "flat.npz")
    np.testing.assert_array_equal(flat2.predict(x[:, :5]), flat.predict(x[:, :5]))


def test_shared_layer_weights_are_deduplicated():
    d = L.Dense(4)
    model = models.Sequential([L.Input((4,)), d, d])  # the same layer twice: one set of weights
    assert len(model.weights) == len(model.trainable_weights) == 2
    assert model.count_params() == 20


# ------------------------------------------------------------------------------------------ Conv2DTranspose
def _conv_transpose_numpy(x, k, b, s, padding):
    """TensorFlow's conv2d_transpose, written as a scatter: x (N,H,W,C), k (KH,KW,F,C) -> (N,OH,OW,F)."""
    n, h, w, _ = x.shape
    kh, kw, f, _ = k.shape
    sh, sw = s
    full = np.zeros((n, (h - 1) * sh + kh, (w - 1) * sw + kw, f))
    for i in range(h):
        for j in range(w):
            # x[:, i, j, :] times the kernel, added onto the window at (i*sh, j*sw)
            full[:, i * sh:i * sh + kh, j * sw:j * sw + kw, :] += np.einsum("nc,pqfc->npqf", x[:, i, j, :], k)

    def crop(a, axis, size, stride, kk):
        if padding == "valid":
            out, before = size * stride + max(kk - stride, 0), 0
        else:
            out, before = size * stride, max(kk - stride, 0) // 2
        pad = max(0, before + out - a.shape[axis])  # k < s: the last s - k rows get no input
        a = np.concatenate([a, np.zeros((*a.shape[:axis], pad, *a.shape[axis + 1:]))], axis=axis)
        return np.take(a, range(before, before + out), axis=axis)

    return crop(crop(full, 1, h, sh, kh), 2, w, sw, kw) + b


CONV_CASES = [(k, s, pad) for k in [(1, 1), (2, 2), (3, 3), (2, 3), (5, 4)] for s in [1, 2, 3]
              for pad in ["valid", "same"]]


@pytest.mark.parametrize("k, s, padding", CONV_CASES, ids=str)
def test_conv2d_transpose_matches_numpy_scatter_and_is_adjoint_of_conv2d(k, s, padding):
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 3, 4, 3))
    kernel = rng.standard_normal((*k, 2, 3))
    b = rng.standard_normal(2)
    y = F.conv2d_transpose(x, kernel, b, (s, s), padding).numpy()
    np.testing.assert_allclose(y, _conv_transpose_numpy(x, kernel, b, (s, s), padding), rtol=1e-10, atol=1e-12)
    # adjoint: <T(x), u> = <x, conv2d(u)>, and conv2d brings the output size back to the input size
    u = rng.standard_normal(y.shape)
    cu = F.conv2d(u, kernel, None, s, padding).numpy()
    assert cu.shape == x.shape
    np.testing.assert_allclose(np.sum((y - b) * u), np.sum(x * cu), rtol=1e-10)


@pytest.mark.parametrize("s", [1, 2, 3])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_conv2d_transpose_output_shapes(k, s, padding):
    layer = L.Conv2DTranspose(4, k, strides=s, padding=padding)
    h, w = 5, 3
    want_h = h * s if padding == "same" else (h - 1) * s + k if k >= s else h * s
    want_w = w * s if padding == "same" else (w - 1) * s + k if k >= s else w * s
    assert layer.compute_output_shape((None, h, w, 2)) == (None, want_h, want_w, 4)  # before any data
    assert layer(np.zeros((1, h, w, 2), dtype=np.float32)).shape == (1, want_h, want_w, 4)
    assert layer.kernel.shape == (k, k, 4, 2)  # Keras's transpose layout (kh, kw, filters, in)


@pytest.mark.parametrize("act", ACTS)
def test_conv2d_transpose_layer_gradients(act):
    layer = L.Conv2DTranspose(2, (3, 2), strides=(2, 1), padding="same", activation=act, dtype="float64",
                              bias_initializer="random_normal")
    _check_layer_grads(layer, layer, np.random.default_rng(11).standard_normal((2, 3, 3, 2)))


@pytest.mark.parametrize("s, padding", [(1, "valid"), (2, "same"), (3, "valid")])
def test_conv2d_transpose_functional_gradcheck(s, padding):
    rng = np.random.default_rng(12)
    assert gradcheck(lambda x, k, b: F.conv2d_transpose(x, k, b, s, padding),
                     rng.standard_normal((2, 3, 2, 2)), rng.standard_normal((2, 3, 3, 2)), rng.standard_normal(3))


def test_conv2d_transpose_save_load_and_summary(tmp_path):
    model = models.Sequential([L.Input((4, 4, 3)), L.Conv2DTranspose(5, 3, strides=2, padding="same",
                                                                     activation="relu", name="up")])
    lines = _summary(model)
    assert _row_params(lines, "up") == 3 * 3 * 5 * 3 + 5
    assert model.output_shape == (None, 8, 8, 5)
    x = np.random.default_rng(13).standard_normal((2, 4, 4, 3)).astype(np.float32)
    model.save(tmp_path / "up.npz")
    np.testing.assert_array_equal(models.load_model(tmp_path / "up.npz").predict(x), model.predict(x))


def test_conv2d_transpose_bad_arguments():
    with pytest.raises(ValueError, match="padding"):
        L.Conv2DTranspose(2, 3, padding="full")
    with pytest.raises(ValueError, match="strides"):
        L.Conv2DTranspose(2, 3, strides=0)
    with pytest.raises(ValueError, match="activation"):
        L.Conv2DTranspose(2, 3, activation="gelu")
    layer = L.Conv2DTranspose(2, 3)
    with pytest.raises(ValueError, match="rank 4"):
        layer(np.zeros((2, 3)))
    assert not layer.built
    layer(np.zeros((1, 3, 3, 2), dtype=np.float32))
    before = layer.get_weights()
    with pytest.raises(ValueError, match="channel mismatch"):
        layer(np.zeros((1, 3, 3, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="bias must have shape"):
        F.conv2d_transpose(np.zeros((1, 2, 2, 2)), np.zeros((2, 2, 3, 2)), np.zeros(2))
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_conv2d_transpose_cuda_matches_cpu():
    from minidl.kernels import cuda as kcuda

    if not kcuda.is_available():
        pytest.skip("no CUDA device and no simulator")
    rng = np.random.default_rng(14)
    arrays = [rng.standard_normal((1, 2, 3, 2)), rng.standard_normal((3, 2, 2, 2)), rng.standard_normal(2)]
    up = rng.standard_normal((1, 4, 6, 2))
    results = {}
    for device in ("cpu", "cuda"):
        ts = [Tensor(a, requires_grad=True) for a in arrays]
        out = F.conv2d_transpose(*(t.to(device) for t in ts), strides=2, padding="same")
        assert out.device == device and out.shape == (1, 4, 6, 2)
        out.backward(Tensor(up).to(device).data)
        results[device] = [out.numpy(), *(t.grad for t in ts)]
    for got, want in zip(results["cuda"], results["cpu"]):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_conv2d_transpose_matches_keras():
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 runs on torch when TensorFlow is absent
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(15)
    x = rng.standard_normal((2, 4, 5, 3)).astype(np.float32)
    for k, s, padding in [(3, 2, "same"), (3, 2, "valid"), (2, 3, "valid"), (4, 2, "same")]:
        ref = keras.layers.Conv2DTranspose(2, k, strides=s, padding=padding)
        want = keras.ops.convert_to_numpy(ref(x))
        ours = L.Conv2DTranspose(2, k, strides=s, padding=padding)
        ours(x)
        ours.set_weights([keras.ops.convert_to_numpy(w) for w in ref.get_weights()])
        np.testing.assert_allclose(ours(x).numpy(), want, rtol=1e-4, atol=1e-5)


def test_conv2d_transpose_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(16)
    x = rng.standard_normal((2, 3, 4, 3))
    for k, s in [(3, 1), (3, 2), (2, 2), (4, 3)]:
        kernel = rng.standard_normal((k, k, 2, 3))
        # torch: NCHW input, weight (C_in, C_out, kh, kw), output (H - 1) * s + k ('valid' when k >= s)
        want = torch.nn.functional.conv_transpose2d(torch.tensor(x.transpose(0, 3, 1, 2)),
                                                    torch.tensor(kernel.transpose(3, 2, 0, 1)), stride=s)
        want = want.numpy().transpose(0, 2, 3, 1)
        got = F.conv2d_transpose(x, kernel, None, s, "valid").numpy()
        np.testing.assert_allclose(got[:, :want.shape[1], :want.shape[2]], want, rtol=1e-10, atol=1e-12)
        assert not got[:, want.shape[1]:].any() and not got[:, :, want.shape[2]:].any()  # k < s: zero rows
