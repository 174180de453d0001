"""Every CUDA kernel against the NumPy reference, on tiny shapes.

Without a GPU these run on Numba's CUDA simulator (tests/conftest.py switches it on), where each GPU
thread is a Python thread: shapes stay tiny and hypothesis draws only a few examples per test. Nothing
here depends on the simulator; on a real GPU the same tests run unchanged.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minidl.kernels import cuda as kcuda, cuda_runtime, reference, shapes

pytestmark = pytest.mark.skipif(not kcuda.is_available(), reason="no CUDA device and no simulator")

DTYPES = [np.float32, np.float64]
RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}


def _assert_close(got, want, dtype):
    want = np.asarray(want)
    rtol = RTOL[np.dtype(dtype)]
    # Relative tolerance, plus the same tolerance scaled to the array's magnitude for entries near zero
    # (sums with cancellation: the kernels may add in another order than NumPy).
    atol = rtol * max(1.0, float(np.max(np.abs(want)))) if want.size else 0.0
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def _check(name, args, dtype):
    """Calls reference.<name> on NumPy copies and kcuda.<name> on device copies of ``args``.

    Every array argument is compared afterwards (outputs, and parameters updated in place), as is the
    return value. Outputs should be passed filled with NaN so that an element left unwritten fails.
    """
    host = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    dev = [kcuda.to_device(a) if isinstance(a, np.ndarray) else a for a in args]
    want = getattr(reference, name)(*host)
    got = getattr(kcuda, name)(*dev)
    if want is None:
        assert got is None
    else:
        assert isinstance(got, float)
        _assert_close(got, want, dtype)
    for h, d in zip(host, dev):
        if isinstance(h, np.ndarray):
            out = kcuda.to_host(d)
            assert out.dtype == h.dtype and out.shape == h.shape
            if h.dtype.kind == "f":
                _assert_close(out, h, dtype)
            else:
                np.testing.assert_array_equal(out, h)


def _nan(shape, dtype):
    return np.full(shape, np.nan, dtype=dtype)


def _randn(rng, shape, dtype, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


# ----------------------------------------------------------------------------------------------------
# Device utilities
# ----------------------------------------------------------------------------------------------------


def test_launch_config_covers_every_element():
    for n in [1, 31, 32, 33, 255, 256, 257, 10_000]:
        blocks, threads = cuda_runtime._launch_1d(n)
        assert blocks * threads >= n and threads % 32 == 0 and threads <= 1024
        assert (blocks - 1) * threads < n
    grid, block = cuda_runtime._launch_tiles(17, 33)
    assert block == (cuda_runtime.TILE, cuda_runtime.TILE)
    assert grid[0] * cuda_runtime.TILE >= 33 and grid[1] * cuda_runtime.TILE >= 17


@pytest.mark.parametrize("dtype", DTYPES)
def test_device_utilities(dtype):
    a = np.arange(12, dtype=dtype).reshape(3, 4)
    np.testing.assert_array_equal(kcuda.to_host(kcuda.to_device(a)), a)
    np.testing.assert_array_equal(kcuda.to_host(kcuda.to_device(a.T)), a.T)  # made contiguous
    e = kcuda.empty((2, 3), dtype)
    assert e.shape == (2, 3) and e.dtype == np.dtype(dtype)
    z = kcuda.zeros((2, 3), dtype)
    np.testing.assert_array_equal(kcuda.to_host(z), np.zeros((2, 3), dtype))
    kcuda.fill(z, 2.5)
    np.testing.assert_array_equal(kcuda.to_host(z), np.full((2, 3), 2.5, dtype))
    assert kcuda.is_available() is True


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (3, 5, 2), (17, 20, 18)])
def test_matmul_tiled(m, k, n, dtype):
    # (17, 20, 18) spans several tiles in every direction, with partial tiles at the edges.
    rng = np.random.default_rng(m * 100 + k)
    a, b = _randn(rng, (m, k), dtype), _randn(rng, (k, n), dtype)
    out = kcuda.to_device(_nan((m, n), dtype))
    kcuda.matmul(kcuda.to_device(a), kcuda.to_device(b), out)
    _assert_close(kcuda.to_host(out), a @ b, dtype)


def test_matmul_rejects_mismatched_shapes():
    a = kcuda.zeros((2, 3), np.float64)
    with pytest.raises(ValueError, match="inner dimensions"):
        kcuda.matmul(a, kcuda.zeros((4, 2), np.float64), kcuda.zeros((2, 2), np.float64))
    with pytest.raises(ValueError, match="out has shape"):
        kcuda.matmul(a, kcuda.zeros((3, 2), np.float64), kcuda.zeros((3, 3), np.float64))


# ----------------------------------------------------------------------------------------------------
# Convolution and pooling
# ----------------------------------------------------------------------------------------------------


@st.composite
def _window_cases(draw):
    """A tiny NHWC problem with a window, strides and a padding valid under Keras semantics."""
    n = draw(st.integers(1, 2))
    c = draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding = draw(st.sampled_from(shapes.PADDINGS))
    lo_h, lo_w = (kh, kw) if padding == "valid" else (1, 1)
    h, w = draw(st.integers(lo_h, 6)), draw(st.integers(lo_w, 6))
    sh, sw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    dtype = draw(st.sampled_from(DTYPES))
    seed = draw(st.integers(0, 2**16))
    return n, h, w, c, kh, kw, sh, sw, padding, dtype, seed


def _conv_case(n, h, w, c, f, kh, kw, sh, sw, padding, dtype, seed):
    rng = np.random.default_rng(seed)
    oh, ph, _ = shapes.conv_output_size(h, kh, sh, padding)
    ow, pw, _ = shapes.conv_output_size(w, kw, sw, padding)
    x = _randn(rng, (n, h, w, c), dtype)
    k = _randn(rng, (kh, kw, c, f), dtype)
    b = _randn(rng, (f,), dtype)
    dy = _randn(rng, (n, oh, ow, f), dtype)
    _check("conv2d_forward", [x, k, b, _nan((n, oh, ow, f), dtype), sh, sw, ph, pw], dtype)
    _check("conv2d_forward", [x, k, b, _nan((n, oh, ow, f), dtype), sh, sw, ph, pw, True], dtype)  # fused ReLU
    _check("conv2d_backward_input", [dy, k, _nan(x.shape, dtype), sh, sw, ph, pw], dtype)
    _check("conv2d_backward_kernel", [x, dy, _nan(k.shape, dtype), sh, sw, ph, pw], dtype)
    _check("conv2d_backward_bias", [dy, _nan((f,), dtype)], dtype)


@settings(max_examples=10)
@given(case=_window_cases(), f=st.integers(1, 3))
def test_conv2d_matches_reference(case, f):
    n, h, w, c, kh, kw, sh, sw, padding, dtype, seed = case
    _conv_case(n, h, w, c, f, kh, kw, sh, sw, padding, dtype, seed)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding", shapes.PADDINGS)
def test_conv2d_stride2_even_input(padding, dtype):
    # 'same' with stride 2 on an even size and an odd total padding: the extra row/column is at the end.
    _conv_case(2, 6, 5, 2, 2, 3, 2, 2, 2, padding, dtype, seed=7)


def _pool_case(n, h, w, c, kh, kw, sh, sw, padding, dtype, seed, ties=False):
    rng = np.random.default_rng(seed)
    oh, ph, _ = shapes.conv_output_size(h, kh, sh, padding)
    ow, pw, _ = shapes.conv_output_size(w, kw, sw, padding)
    if ties:  # few distinct values, negative too: the first maximum must win, padding must never win
        x = rng.integers(-3, 1, size=(n, h, w, c)).astype(dtype)
    else:
        x = _randn(rng, (n, h, w, c), dtype)
    out, argmax = _nan((n, oh, ow, c), dtype), np.full((n, oh, ow, c), -7, np.int64)
    _check("maxpool2d_forward", [x, out, argmax, kh, kw, sh, sw, ph, pw], dtype)
    reference.maxpool2d_forward(x, out, argmax, kh, kw, sh, sw, ph, pw)
    dy = _randn(rng, out.shape, dtype)
    _check("maxpool2d_backward", [dy, argmax, _nan(x.shape, dtype)], dtype)


@settings(max_examples=10)
@given(case=_window_cases(), ties=st.booleans())
def test_maxpool2d_matches_reference(case, ties):
    _pool_case(*case, ties=ties)


@pytest.mark.parametrize("dtype", DTYPES)
def test_maxpool2d_overlapping_windows(dtype):
    # stride < pool: windows overlap, so one input can receive the gradient of several windows.
    _pool_case(2, 5, 6, 2, 3, 3, 1, 2, "same", dtype, seed=3, ties=True)


# ----------------------------------------------------------------------------------------------------
# Element-wise activations
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ["relu", "sigmoid", "tanh"])
def test_activations(act, dtype):
    rng = np.random.default_rng(1)
    x = _randn(rng, (2, 3, 4), dtype, scale=3.0)
    x[0, 0, :] = [0.0, -800.0, 800.0, -0.0]   # zero, and values where a naive sigmoid would overflow
    y = np.empty_like(x)
    getattr(reference, f"{act}_forward")(x, y)
    _check(f"{act}_forward", [x, _nan(x.shape, dtype)], dtype)
    dy = _randn(rng, x.shape, dtype)
    _check(f"{act}_backward", [x if act == "relu" else y, dy, _nan(x.shape, dtype)], dtype)


# ----------------------------------------------------------------------------------------------------
# Softmax family and losses
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family(name, dtype):
    rng = np.random.default_rng(2)
    x = _randn(rng, (3, 5), dtype, scale=4.0)
    x[0] += 1000.0                           # would overflow exp without the max subtraction
    y = np.empty_like(x)
    getattr(reference, f"{name}_forward")(x, y)
    _check(f"{name}_forward", [x, _nan(x.shape, dtype)], dtype)
    _check(f"{name}_backward", [y, _randn(rng, x.shape, dtype), _nan(x.shape, dtype)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_xent_sparse(dtype):
    rng = np.random.default_rng(3)
    logits = _randn(rng, (4, 5), dtype, scale=3.0)
    logits[1, 2] = 200.0                     # a confident wrong prediction: the loss stays finite
    labels = np.array([0, 4, 2, 1], dtype=np.int64)
    _check("softmax_xent_sparse_forward", [logits, labels, _nan(logits.shape, dtype)], dtype)
    probs = np.empty_like(logits)
    reference.softmax_xent_sparse_forward(logits, labels, probs)
    _check("softmax_xent_sparse_backward", [probs, labels, _nan(logits.shape, dtype), 0.25], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_xent_dense(dtype):
    rng = np.random.default_rng(4)
    logits = _randn(rng, (3, 4), dtype, scale=3.0)
    target = rng.random((3, 4)).astype(dtype)   # not normalised: exercises the sum(t) factor
    _check("softmax_xent_dense_forward", [logits, target, _nan(logits.shape, dtype)], dtype)
    probs = np.empty_like(logits)
    reference.softmax_xent_dense_forward(logits, target, probs)
    _check("softmax_xent_dense_backward", [probs, target, _nan(logits.shape, dtype), 1 / 3], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_logits(dtype):
    rng = np.random.default_rng(5)
    z = _randn(rng, (2, 3, 2), dtype, scale=4.0)
    z[0, 0, :] = [-500.0, 500.0]
    t = rng.random(z.shape).astype(dtype)
    _check("bce_logits_forward", [z, t, _nan(z.shape, dtype)], dtype)
    p = np.empty_like(z)
    reference.bce_logits_forward(z, t, p)
    _check("bce_logits_backward", [p, t, _nan(z.shape, dtype), 0.5], dtype)


# ----------------------------------------------------------------------------------------------------
# Dense, dropout, tied autoencoder
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,i,o", [(3, 4, 5), (2, 17, 18)])
def test_dense(n, i, o, dtype):
    # (2, 17, 18): the transposed products of the backward span more than one tile.
    rng = np.random.default_rng(n + i + o)
    x, w, b = _randn(rng, (n, i), dtype), _randn(rng, (i, o), dtype), _randn(rng, (o,), dtype)
    _check("dense_forward", [x, w, b, _nan((n, o), dtype)], dtype)
    dy = _randn(rng, (n, o), dtype)
    _check("dense_backward", [x, w, dy, _nan((n, i), dtype), _nan((i, o), dtype), _nan((o,), dtype)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rate", [0.0, 0.4, 1.0])
def test_dropout(rate, dtype):
    rng = np.random.default_rng(6)
    x = _randn(rng, (3, 4), dtype)
    u = rng.random(x.shape).astype(dtype)
    _check("dropout_forward", [x, u, rate, _nan(x.shape, dtype), _nan(x.shape, dtype)], dtype)
    mask = np.where(u >= rate, 1.0 / (1.0 - rate) if rate < 1 else 0.0, 0.0).astype(dtype)
    _check("dropout_backward", [_randn(rng, x.shape, dtype), mask, _nan(x.shape, dtype)], dtype)


# (enc, dec) pairs covering every activation code on both sides.
@pytest.mark.parametrize("enc,dec", [(0, 2), (1, 0), (2, 3), (3, 1)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_tied_autoencoder(enc, dec, dtype):
    rng = np.random.default_rng(10 * enc + dec)
    n, d, hd = 3, 4, 2
    x, W = _randn(rng, (n, d), dtype), _randn(rng, (d, hd), dtype)
    b, c = _randn(rng, (hd,), dtype), _randn(rng, (d,), dtype)
    _check("tied_ae_forward", [x, W, b, c, _nan((n, hd), dtype), _nan((n, d), dtype), enc, dec], dtype)
    y, xhat = np.empty((n, hd), dtype), np.empty((n, d), dtype)
    reference.tied_ae_forward(x, W, b, c, y, xhat, enc, dec)
    dy, dxhat = _randn(rng, y.shape, dtype), _randn(rng, xhat.shape, dtype)
    grads = [_nan((n, d), dtype), _nan((d, hd), dtype), _nan((hd,), dtype), _nan((d,), dtype)]
    _check("tied_ae_backward", [x, W, y, xhat, dy, dxhat, *grads, enc, dec], dtype)
    _check("tied_ae_backward", [x, W, y, xhat, dy, dxhat, None, *grads[1:], enc, dec], dtype)  # no dx


# ----------------------------------------------------------------------------------------------------
# Optimizers (in place; two steps so that the state carried between steps is checked too)
# ----------------------------------------------------------------------------------------------------


def _two_steps(name, state, hyper, dtype, step_arg=False):
    rng = np.random.default_rng(8)
    param = _randn(rng, (7,), dtype)
    host = [param.copy()] + [s.copy() for s in state]
    dev = [kcuda.to_device(a) for a in [param, *state]]
    for t in (1, 2):
        g = _randn(rng, (7,), dtype)
        extra = [t] if step_arg else []
        getattr(reference, name)(host[0], g, *host[1:], *hyper, *extra)
        getattr(kcuda, name)(dev[0], kcuda.to_device(g), *dev[1:], *hyper, *extra)
    for h, d in zip(host, dev):
        _assert_close(kcuda.to_host(d), h, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_update(nesterov, dtype):
    _two_steps("sgd_update", [np.zeros(7, dtype)], [0.1, 0.9, nesterov], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_update(dtype):
    _two_steps("adam_update", [np.zeros(7, dtype), np.zeros(7, dtype)], [0.01, 0.9, 0.999, 1e-7], dtype,
               step_arg=True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rmsprop_update(dtype):
    _two_steps("rmsprop_update", [np.zeros(7, dtype)], [0.01, 0.9, 1e-7], dtype)


def test_every_contract_function_exists():
    for name in reference.__all__:
        assert callable(getattr(kcuda, name)), name


# ---------------------------------------------------------------------------------------------------
# Generic array primitives (used by minidl.ops and the autograd engine on 'cuda'), against NumPy
# ---------------------------------------------------------------------------------------------------

NUMPY_BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}


@pytest.mark.parametrize("op", list(NUMPY_BINARY))
@pytest.mark.parametrize("shapes", [((2, 3), (2, 3)), ((2, 3), (3,)), ((4, 1, 3), (2, 1)), ((), (2,))], ids=str)
def test_binary_broadcasts_like_numpy(op, shapes):
    rng = np.random.default_rng(0)
    a, b = _randn(rng, shapes[0], np.float64), _randn(rng, shapes[1], np.float64) + 3.0
    want = NUMPY_BINARY[op](a, b)
    out = kcuda.to_device(_nan(want.shape, np.float64))
    kcuda.binary(op, kcuda.to_device(a), kcuda.to_device(b), out)
    _assert_close(kcuda.to_host(out), want, np.float64)


def test_binary_in_place_accumulation_and_shape_check():
    a = kcuda.to_device(np.ones((2, 3)))
    kcuda.binary("add", a, kcuda.to_device(np.arange(3.0)), a)  # a += b, broadcast
    np.testing.assert_array_equal(kcuda.to_host(a), 1 + np.broadcast_to(np.arange(3.0), (2, 3)))
    with pytest.raises(ValueError, match="do not broadcast"):
        kcuda.binary("add", a, kcuda.to_device(np.ones(2)), a)


@pytest.mark.parametrize("dtype", DTYPES)
def test_unary_ops_like_numpy(dtype):
    rng = np.random.default_rng(1)
    a = _randn(rng, (3, 4), dtype)
    pos = np.abs(a) + np.asarray(0.5, dtype)
    want = {
        "neg": -a, "exp": np.exp(a), "log": np.log(pos), "sqrt": np.sqrt(pos), "abs": np.abs(a),
        "sign": np.sign(a), "pow": pos ** 1.5, "clip": np.clip(a, -0.5, 0.7),
        "inside": ((a >= -0.5) & (a <= 0.7)).astype(dtype), "add": a + 1.5, "sub": a - 1.5, "rsub": 1.5 - a,
        "mul": a * 1.5, "div": a / 1.5, "rdiv": 1.5 / pos,
    }
    params = {"pow": (1.5, 0), "clip": (-0.5, 0.7), "inside": (-0.5, 0.7)}
    assert set(want) == set(kcuda.UNARY_OPS)
    for op, w in want.items():
        src = pos if op in ("log", "sqrt", "pow", "rdiv") else a
        out = kcuda.to_device(_nan(a.shape, dtype))
        kcuda.unary(op, kcuda.to_device(src), out, *params.get(op, (1.5, 0)))
        _assert_close(kcuda.to_host(out), w, dtype)


@pytest.mark.parametrize("axes", [None, (0,), (1,), (0, 2), (2,), ()], ids=str)
def test_reduce_sum_over_any_axes(axes):
    rng = np.random.default_rng(2)
    a = _randn(rng, (2, 3, 4), np.float64)
    want = a.sum(axis=axes, keepdims=True) * 0.5
    out = kcuda.to_device(_nan(want.shape, np.float64))
    kcuda.reduce_sum(kcuda.to_device(a), axes, out, 0.5)
    _assert_close(kcuda.to_host(out), want, np.float64)


def test_copy_strided_broadcasts_transposes_and_casts():
    a = np.arange(24.0).reshape(2, 3, 4)
    out = kcuda.empty((4, 2, 3), np.float64)
    kcuda.copy_strided(kcuda.to_device(a), out, (1, 12, 4))  # the steps of a.transpose(2, 0, 1)
    np.testing.assert_array_equal(kcuda.to_host(out), a.transpose(2, 0, 1))
    out = kcuda.empty((2, 3), np.float32)
    kcuda.copy_strided(kcuda.to_device(np.arange(3.0)), out)  # broadcast + cast to float32
    np.testing.assert_array_equal(kcuda.to_host(out), np.broadcast_to(np.arange(3, dtype=np.float32), (2, 3)))


def test_matmul_reads_operands_transposed():
    rng = np.random.default_rng(3)
    a, b = _randn(rng, (5, 3), np.float64), _randn(rng, (4, 5), np.float64)
    out = kcuda.to_device(_nan((3, 4), np.float64))
    kcuda.matmul(kcuda.to_device(a), kcuda.to_device(b), out, ta=True, tb=True)
    _assert_close(kcuda.to_host(out), a.T @ b.T, np.float64)


def test_to_device_keeps_zero_d_arrays_zero_d():
    d = kcuda.to_device(np.float64(2.5))
    assert tuple(d.shape) == () and kcuda.to_host(d) == 2.5
