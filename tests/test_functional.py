"""minidl.functional: every Function passes gradcheck (float64, hypothesis cases) and rejects bad input."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import minidl.functional as F
from minidl import Tensor
from minidl.kernels.shapes import conv_output_size
from minidl.testing import gradcheck
from minidl.testing.strategies import array_for

seeds = st.integers(0, 2**31 - 1)


@st.composite
def conv_cases(draw):
    n, c, f = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding = draw(st.sampled_from(["valid", "same"]))
    if padding == "valid":
        assume(h >= kh and w >= kw)
    return (n, h, w, c), (kh, kw, c, f), (sh, sw), padding


@given(case=conv_cases(), seed=seeds, bias=st.booleans())
def test_conv2d_gradcheck(case, seed, bias):
    xs, ks, strides, padding = case
    x, k = array_for(xs, seed), array_for(ks, seed + 1)
    args = (x, k, array_for((ks[3],), seed + 2)) if bias else (x, k)
    assert gradcheck(lambda *a: F.conv2d(*a, strides=strides, padding=padding), *args)
    oh = conv_output_size(xs[1], ks[0], strides[0], padding)[0]
    assert F.conv2d(x, k, strides=strides, padding=padding).shape == (xs[0], oh, F.conv2d_output_shape(xs, ks, strides, padding)[2], ks[3])


@given(case=conv_cases(), seed=seeds)
def test_conv2d_fused_relu_equals_relu_of_conv2d(case, seed):
    xs, ks, strides, padding = case
    x, k, b = array_for(xs, seed), array_for(ks, seed + 1), array_for((ks[3],), seed + 2)
    fused = F.conv2d(x, k, b, strides, padding, activation="relu")
    np.testing.assert_allclose(fused.data, F.relu(F.conv2d(x, k, b, strides, padding)).data, rtol=1e-12)
    # Away from the kink (|pre-activation| > 1e-3), the fused op's gradients are the finite differences'.
    assume(np.abs(F.conv2d(x, k, b, strides, padding).data).min() > 1e-3)
    assert gradcheck(lambda *a: F.conv2d(*a, strides=strides, padding=padding, activation="relu"), x, k, b)


@pytest.mark.parametrize("keeps", [False, True])
def test_conv2d_keeps_an_im2col_buffer_only_when_the_backend_asks_and_grad_is_on(keeps, monkeypatch):
    # A backend whose keeps_cols(...) says yes gets the im2col matrix kept only while gradients are
    # recorded; one that says no rebuilds it in the backward pass; both give the same gradient.
    from minidl import kernel_table, no_grad
    from minidl.functional.conv import Conv2D

    monkeypatch.setattr(kernel_table.get("cpu"), "keeps_cols", lambda *shape: keeps)

    x = Tensor(np.random.default_rng(0).standard_normal((2, 6, 6, 3)))
    k = Tensor(np.random.default_rng(1).standard_normal((3, 3, 3, 4)), requires_grad=True)
    seen = []
    orig = Conv2D.forward

    def spy(self, *a, **kw):
        out = orig(self, *a, **kw)
        seen.append(self.cols is not None)
        return out

    Conv2D.forward = spy
    try:
        with no_grad():
            F.conv2d(x, k)
        y = F.conv2d(x, k)
    finally:
        Conv2D.forward = orig
    assert seen == [False, keeps]
    y.sum().backward()  # a kept matrix gives the kernel gradient of a rebuilt one
    from minidl.kernels import cpu

    want = np.empty(k.shape)
    cpu.conv2d_backward_kernel(x.data, np.ones(y.shape), want, 1, 1, 0, 0)
    np.testing.assert_allclose(k.grad, want, rtol=1e-12)


@given(n=st.integers(1, 2), h=st.integers(1, 7), w=st.integers(1, 7), c=st.integers(1, 3),
       k=st.integers(1, 3), s=st.one_of(st.none(), st.integers(1, 3)), padding=st.sampled_from(["valid", "same"]),
       seed=seeds)
def test_max_pool2d_gradcheck(n, h, w, c, k, s, padding, seed):
    if padding == "valid":
        assume(h >= k and w >= k)
    x = array_for((n, h, w, c), seed)  # distinct values: no ties, so the argmax is unique
    out = F.max_pool2d(x, k, s, padding)
    assert out.shape == F.pool2d_output_shape(x.shape, k, s, padding)
    assert gradcheck(lambda t: F.max_pool2d(t, k, s, padding), x)


def test_max_pool2d_tie_goes_to_first_maximum():
    x = Tensor(np.ones((1, 2, 2, 1)), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad[0, :, :, 0], [[1.0, 0.0], [0.0, 0.0]])


def test_relu_kink_gradient_is_zero_at_zero():
    x = Tensor(np.array([-1.0, 0.0, 2.0]), requires_grad=True)
    F.relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])


@pytest.mark.parametrize("fn", [F.relu, F.sigmoid, F.tanh, F.softmax, F.log_softmax,
                                lambda t: F.softmax(t, axis=0), lambda t: F.log_softmax(t, axis=0)])
@given(rows=st.integers(1, 4), cols=st.integers(1, 5), seed=seeds)
def test_activation_gradcheck(fn, rows, cols, seed):
    assert gradcheck(fn, array_for((rows, cols), seed))


@given(n=st.integers(1, 4), k=st.integers(1, 5), seed=seeds, sparse=st.booleans())
def test_cross_entropy_gradcheck_and_value(n, k, seed, sparse):
    z = array_for((n, k), seed)
    labels = np.random.default_rng(seed).integers(0, k, n)
    target = labels if sparse else np.eye(k)[labels]
    loss = F.cross_entropy(z, target)
    logp = z - z.max(1, keepdims=True) - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True))
    np.testing.assert_allclose(loss.item(), -logp[np.arange(n), labels].mean(), rtol=1e-10)
    assert gradcheck(lambda t: F.cross_entropy(t, target), z)


@given(n=st.integers(1, 4), k=st.integers(1, 4), seed=seeds)
def test_binary_losses_and_mse_gradcheck(n, k, seed):
    z = array_for((n, k), seed)
    t = (np.random.default_rng(seed).random((n, k)) > 0.5).astype(float)
    p = 1 / (1 + np.exp(-z))
    assert gradcheck(lambda a: F.binary_cross_entropy_with_logits(a, t), z)
    assert gradcheck(lambda a: F.binary_cross_entropy(a, t), p)
    assert gradcheck(lambda a: F.mse(a, t), z)
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(z, t).item(),
                               F.binary_cross_entropy(p, t).item(), rtol=1e-6)
    assert gradcheck(lambda a: F.categorical_crossentropy(F.softmax(a), t), z)


@given(n=st.integers(1, 3), i=st.integers(1, 4), o=st.integers(1, 4), seed=seeds, bias=st.booleans())
def test_dense_gradcheck(n, i, o, seed, bias):
    args = [array_for((n, i), seed), array_for((i, o), seed + 1)] + ([array_for((o,), seed + 2)] if bias else [])
    np.testing.assert_allclose(F.dense(*args).data, args[0] @ args[1] + (args[2] if bias else 0), rtol=1e-12)
    assert gradcheck(F.dense, *args)


@given(shape=st.tuples(st.integers(1, 4), st.integers(1, 6)), seed=seeds, rate=st.sampled_from([0.1, 0.5, 0.8]))
def test_dropout_gradcheck_and_scaling(shape, seed, rate):
    x = array_for(shape, seed)
    assert gradcheck(lambda t: F.dropout(t, rate, seed=seed), x)
    y = F.dropout(x, rate, seed=seed).data
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / (1 - rate), rtol=1e-12)
    np.testing.assert_array_equal(F.dropout(x, rate, training=False).data, x)


def test_dropout_is_seeded_and_keeps_expectation():
    x = np.ones((200, 100))
    a, b = F.dropout(x, 0.3, seed=1).data, F.dropout(x, 0.3, seed=1).data
    np.testing.assert_array_equal(a, b)
    assert abs(a.mean() - 1.0) < 0.03
    assert abs((a == 0).mean() - 0.3) < 0.02


@pytest.mark.parametrize("enc", ["sigmoid", "relu", "tanh", "linear"])
@pytest.mark.parametrize("dec", ["sigmoid", "linear"])
@given(n=st.integers(1, 3), d=st.integers(1, 5), h=st.integers(1, 4), seed=seeds)
def test_tied_autoencoder_gradcheck(enc, dec, n, d, h, seed):
    x, W = array_for((n, d), seed), array_for((d, h), seed + 1, high=1.0)
    b, c = array_for((h,), seed + 2), array_for((d,), seed + 3)
    y, xhat = F.tied_autoencoder(x, W, b, c, enc, dec)
    act = {"sigmoid": lambda v: 1 / (1 + np.exp(-v)), "relu": lambda v: np.maximum(v, 0), "tanh": np.tanh,
           "linear": lambda v: v}
    ref_y = act[enc](x @ W + b)
    np.testing.assert_allclose(y.data, ref_y, rtol=1e-10)
    np.testing.assert_allclose(xhat.data, act[dec](ref_y @ W.T + c), rtol=1e-10)
    if enc == "relu":
        assume(np.all(np.abs(x @ W + b) > 1e-3))  # away from the kink
    assert gradcheck(lambda *a: F.tied_autoencoder(*a, enc, dec), x, W, b, c)


def test_tied_autoencoder_shared_weight_gets_both_paths():
    rng = np.random.default_rng(0)
    x, W, b, c = rng.random((3, 4)), Tensor(rng.random((4, 2)), requires_grad=True), np.zeros(2), np.zeros(4)
    _, xhat = F.tied_autoencoder(x, W, b, c, "linear", "linear")
    xhat.sum().backward()
    # x̂ = x W W^T: d/dW sum(x W W^T) = x^T 1 W + 1^T x W (both uses of W)
    ones = np.ones((3, 4))
    np.testing.assert_allclose(W.grad, x.T @ ones @ W.data + ones.T @ x @ W.data, rtol=1e-10)


def test_extremes_stay_finite():
    big = np.array([[1000.0, -1000.0, 0.0]])
    assert np.all(np.isfinite(F.sigmoid(big).data))
    assert np.all(np.isfinite(F.softmax(big).data)) and np.all(np.isfinite(F.log_softmax(big).data))
    loss = F.cross_entropy(Tensor(big, requires_grad=True), np.array([1]))  # confidently wrong
    assert np.isfinite(loss.item()) and loss.item() > 1000
    z = Tensor(big, requires_grad=True)
    F.binary_cross_entropy_with_logits(z, np.array([[0.0, 1.0, 1.0]])).backward()
    assert np.all(np.isfinite(z.grad))


def test_non_contiguous_input_gives_the_same_result():
    rng = np.random.default_rng(0)
    x = rng.random((2, 5, 5, 6))[..., ::2]  # strided view, 3 channels
    k = rng.random((3, 3, 3, 2))
    np.testing.assert_allclose(F.conv2d(x, k).data, F.conv2d(np.ascontiguousarray(x), k).data, rtol=1e-12)
    t = Tensor(rng.random((4, 6)), requires_grad=True)
    F.relu(t.T).sum().backward()
    assert t.grad.shape == (4, 6)


@pytest.mark.parametrize("call, match", [
    (lambda: F.conv2d(np.ones((5, 5, 1)), np.ones((3, 3, 1, 2))), "x must be 4-D"),
    (lambda: F.conv2d(np.ones((1, 5, 5, 1)), np.ones((3, 3, 2))), "kernel must be 4-D"),
    (lambda: F.conv2d(np.ones((1, 5, 5, 3)), np.ones((3, 3, 1, 2))), "channel mismatch"),
    (lambda: F.conv2d(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 2)), activation="gelu"), "activation"),
    (lambda: F.conv2d(np.ones((1, 2, 2, 1)), np.ones((3, 3, 1, 2))), "bigger than the input"),
    (lambda: F.conv2d(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 2)), strides=0), "strides must be positive"),
    (lambda: F.conv2d(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 2)), padding="full"), "unknown padding"),
    (lambda: F.conv2d(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 2)), np.ones(3)), "bias must have shape"),
    (lambda: F.max_pool2d(np.ones((1, 2, 2, 1)), 3), "bigger than the input"),
    (lambda: F.max_pool2d(np.ones((1, 4, 4, 1)), 2, strides=-1), "strides must be positive"),
    (lambda: F.max_pool2d(np.ones((4, 4, 1)), 2), "x must be 4-D"),
    (lambda: F.cross_entropy(np.zeros((2, 3)), np.array([0, 3])), "labels out of range"),
    (lambda: F.cross_entropy(np.zeros((2, 3)), np.array([-1, 0])), "labels out of range"),
    (lambda: F.cross_entropy(np.zeros((2, 3)), np.zeros((2, 4))), "target must be"),
    (lambda: F.dense(np.ones((2, 3)), np.ones((4, 5))), r"\(2, 3\).*\(4, 5\)"),
    (lambda: F.dropout(np.ones(3), 1.0), "rate must be in"),
    (lambda: F.activation("swishy"), "unknown activation 'swishy'; known activations: linear, relu"),
    (lambda: F.tied_autoencoder(np.ones((2, 3)), np.ones((3, 2)), np.ones(2), np.ones(3), "gelu"), "unknown activation"),
    (lambda: F.mse(np.ones((2, 3)), np.ones((3, 2))), "target shape"),
])
def test_bad_input_raises_a_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_cpu_keeps_the_im2col_matrix_only_for_shallow_windows():
    from minidl.kernels import cpu

    assert cpu.conv2d_keeps_cols(2, 32, 3, 3, 1, 1) is False   # depth 18: rebuilt chunk by chunk
    assert cpu.conv2d_keeps_cols(1, 32, 3, 3, 1, 1) is False   # nine-tap direct loops (the Keras CNN's conv1)
    assert cpu.conv2d_keeps_cols(1, 6, 3, 3, 1, 1) is False    # direct loops: no matrix at all
    assert cpu.conv2d_keeps_cols(3, 2, 2, 2, 1, 1) is True     # depth 12, three channels: im2col, kept
    assert cpu.conv2d_keeps_cols(1, 6, 3, 3, 2, 2) is True     # strided: im2col, depth 9


def test_tied_autoencoder_computes_no_input_gradient_for_data(monkeypatch):
    # x as data (no grad): the backend is asked for no dx; x as a trainable tensor: it is, and W's gradient
    # is the same either way.
    from minidl import kernel_table

    ns = kernel_table.get("cpu")
    seen = []
    orig = ns.tied_ae_backward

    def spy(x, W, y, xhat, dy, dxhat, dx, *rest):
        seen.append(dx is None)
        return orig(x, W, y, xhat, dy, dxhat, dx, *rest)

    monkeypatch.setattr(ns, "tied_ae_backward", spy)
    rng = np.random.default_rng(0)
    xs = rng.random((3, 5))
    grads = []
    for x in (xs, Tensor(xs, requires_grad=True)):
        W = Tensor(rng.standard_normal((5, 2)) if not grads else grads[0][1], requires_grad=True)
        b, c = Tensor(np.zeros(2), requires_grad=True), Tensor(np.zeros(5), requires_grad=True)
        _, xhat = F.tied_autoencoder(x, W, b, c)
        F.binary_cross_entropy(xhat, xs).backward()
        grads.append((W.grad.copy(), W.data))
    assert seen == [True, False]
    np.testing.assert_array_equal(grads[0][0], grads[1][0])
    assert isinstance(x, Tensor) and x.grad is not None and x.grad.shape == xs.shape
