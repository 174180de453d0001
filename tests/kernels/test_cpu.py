"""The Numba CPU kernels equal the NumPy reference; the reference itself matches finite differences.

Cases come from hypothesis (profile from tests/conftest.py). Inputs are generated in the tested dtype and
the reference runs on the same values in float64, so the only error allowed is the CPU kernel's own
rounding: ``|cpu - ref| <= rtol * (|ref| + mag)`` where ``mag`` bounds the sum of absolute terms that
produced each element (the kernel applied to absolute values), rtol 1e-5 in float32 and 1e-10 in float64.
"""
from __future__ import annotations

import numpy as np

from minidl.testing import numeric_grad
import pytest
from hypothesis import assume, given, settings, strategies as st

from minidl.kernels import cpu, reference as ref, shapes
from minidl.kernels.conv2d import direct as conv_direct, gemm as conv_gemm
from minidl.kernels import runtime as kruntime

RTOL = {np.float32: 1e-5, np.float64: 1e-10}
dtypes = st.sampled_from([np.float32, np.float64])
seeds = st.integers(0, 2**32 - 1)


def close(actual, expected, dtype, mag=None):
    """Asserts ``|actual - expected| <= rtol * (|expected| + mag)`` elementwise."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape
    assert np.all(np.isfinite(actual))
    if mag is None:
        mag = np.abs(expected)
    bound = RTOL[dtype] * (np.abs(expected) + np.asarray(mag, dtype=np.float64) + 1e-30)
    err = np.abs(actual - expected)
    assert np.all(err <= bound), f"max excess {np.max(err - bound)}, max err {err.max()}"


def f64(*arrays):
    return [a.astype(np.float64) for a in arrays]


# ----------------------------------------------------------------------------------------------------
# Convolution
# ----------------------------------------------------------------------------------------------------
@st.composite
def conv_cases(draw):
    n = draw(st.integers(1, 4))
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding = draw(st.sampled_from(shapes.PADDINGS))
    assume(padding == "same" or (h >= kh and w >= kw))
    c, f = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    return n, h, w, c, f, kh, kw, sh, sw, padding, draw(dtypes), draw(seeds)


@settings()
@given(conv_cases())
def test_conv2d_matches_reference(case):
    n, h, w, c, f, kh, kw, sh, sw, padding, dt, seed = case
    oh, ph, _ = shapes.conv_output_size(h, kh, sh, padding)
    ow, pw, _ = shapes.conv_output_size(w, kw, sw, padding)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, h, w, c)).astype(dt)
    k = rng.standard_normal((kh, kw, c, f)).astype(dt)
    b = rng.standard_normal(f).astype(dt)
    dy = rng.standard_normal((n, oh, ow, f)).astype(dt)
    x64, k64, b64, dy64 = f64(x, k, b, dy)
    args = (sh, sw, ph, pw)

    y, y_ref, y_mag = np.empty((n, oh, ow, f), dt), np.empty((n, oh, ow, f)), np.empty((n, oh, ow, f))
    cpu.conv2d_forward(x, k, b, y, *args)
    ref.conv2d_forward(x64, k64, b64, y_ref, *args)
    ref.conv2d_forward(abs(x64), abs(k64), abs(b64), y_mag, *args)
    close(y, y_ref, dt, y_mag)

    dx, dx_ref, dx_mag = np.full(x.shape, np.nan, dt), np.empty(x.shape), np.empty(x.shape)
    cpu.conv2d_backward_input(dy, k, dx, *args)
    ref.conv2d_backward_input(dy64, k64, dx_ref, *args)
    ref.conv2d_backward_input(abs(dy64), abs(k64), dx_mag, *args)
    close(dx, dx_ref, dt, dx_mag)

    dk, dk_ref, dk_mag = np.full(k.shape, np.nan, dt), np.empty(k.shape), np.empty(k.shape)
    cpu.conv2d_backward_kernel(x, dy, dk, *args)
    ref.conv2d_backward_kernel(x64, dy64, dk_ref, *args)
    ref.conv2d_backward_kernel(abs(x64), abs(dy64), dk_mag, *args)
    close(dk, dk_ref, dt, dk_mag)

    # The kept-im2col path (conv2d_forward(cols=...) feeding conv2d_backward_kernel(cols=...)) agrees too.
    cols = np.full((n * oh * ow, kh * kw * c), np.nan, dt)
    y2, dk2 = np.empty_like(y), np.full(k.shape, np.nan, dt)
    cpu.conv2d_forward(x, k, b, y2, *args, cols=cols)
    cpu.conv2d_backward_kernel(x, dy, dk2, *args, cols=cols)
    close(y2, y_ref, dt, y_mag)
    close(dk2, dk_ref, dt, dk_mag)

    db, db_ref = np.full(f, np.nan, dt), np.empty(f)
    cpu.conv2d_backward_bias(dy, db)
    ref.conv2d_backward_bias(dy64, db_ref)
    close(db, db_ref, dt, abs(dy64).sum(axis=(0, 1, 2)))


def test_conv2d_shallow_and_deep_windows_match_the_reference():
    """A window of depth 4 (2x2, one channel) and of depth 200, with 'same' padding, in float64."""
    rng = np.random.default_rng(0)
    for k, c in ((2, 1), (5, 8)):
        x = rng.standard_normal((2, 10, 10, c))
        w = rng.standard_normal((k, k, c, 3))
        b = rng.standard_normal(3)
        oh, ph, _ = shapes.conv_output_size(10, k, 1, "same")
        y, y_ref = np.empty((2, oh, oh, 3)), np.empty((2, oh, oh, 3))
        cpu.conv2d_forward(x, w, b, y, 1, 1, ph, ph)
        ref.conv2d_forward(x, w, b, y_ref, 1, 1, ph, ph)
        np.testing.assert_allclose(y, y_ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("budget", [1, 150, 4096])
def test_conv2d_direct_single_channel_path_matches_reference(dt, budget, monkeypatch):
    """One input channel at stride 1 takes direct loops (kernels/cpu.py). Few filters: the channel-major
    loops, with one output row per run, several rows with a short last run, and whole images per run.
    More than 16 filters and at most nine taps (3x3, 2x2, 1x3, 1x1): the channels-last nine-tap loops,
    the missing taps padded with zero weights. 20 filters on a 5x5 window take im2col."""
    monkeypatch.setattr(conv_direct, "_RUN_BUDGET", budget)
    rng = np.random.default_rng(budget)
    for (h, w, (kh, kw), f, padding) in ((11, 9, (3, 3), 4, "valid"), (13, 10, (5, 5), 6, "same"),
                                         (7, 12, (2, 2), 20, "same"), (9, 8, (3, 3), 33, "valid"),
                                         (6, 5, (1, 3), 17, "same"), (4, 4, (1, 1), 24, "valid"),
                                         (8, 7, (5, 5), 20, "same")):
        x = rng.standard_normal((3, h, w, 1)).astype(dt)
        wt = rng.standard_normal((kh, kw, 1, f)).astype(dt)
        b = rng.standard_normal(f).astype(dt)
        oh, ph, _ = shapes.conv_output_size(h, kh, 1, padding)
        ow, pw, _ = shapes.conv_output_size(w, kw, 1, padding)
        dy = rng.standard_normal((3, oh, ow, f)).astype(dt)
        x64, w64, b64, dy64 = f64(x, wt, b, dy)
        args = (1, 1, ph, pw)
        cols = np.full((3 * oh * ow, kh * kw), np.nan, dt)
        y, y_ref, y_mag = np.empty((3, oh, ow, f), dt), np.empty((3, oh, ow, f)), np.empty((3, oh, ow, f))
        cpu.conv2d_forward(x, wt, b, y, *args, cols=cols)
        ref.conv2d_forward(x64, w64, b64, y_ref, *args)
        ref.conv2d_forward(abs(x64), abs(w64), abs(b64), y_mag, *args)
        close(y, y_ref, dt, y_mag)
        assert np.isnan(cols).all() == (f <= 16 or kh * kw <= 9)  # the direct paths build no im2col matrix
        dk, dk_ref, dk_mag = np.full(wt.shape, np.nan, dt), np.empty(wt.shape), np.empty(wt.shape)
        cpu.conv2d_backward_kernel(x, dy, dk, *args, cols=cols)
        ref.conv2d_backward_kernel(x64, dy64, dk_ref, *args)
        ref.conv2d_backward_kernel(abs(x64), abs(dy64), dk_mag, *args)
        close(dk, dk_ref, dt, dk_mag)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("c,f,k,stride", [(1, 4, 5, 1), (1, 24, 3, 1), (3, 5, 3, 1), (2, 6, 3, 2)])
def test_conv2d_fused_relu_equals_relu_of_the_output(dt, c, f, k, stride, monkeypatch):
    """relu=True on each path (channel-major direct, nine-tap direct, im2col, strided im2col) gives exactly
    relu_forward of the plain output, with the chunks small enough that a call spans several of them."""
    rng = np.random.default_rng(f)
    x = rng.standard_normal((5, 13, 11, c)).astype(dt)
    w, b = rng.standard_normal((k, k, c, f)).astype(dt), rng.standard_normal(f).astype(dt)
    oh, ph, _ = shapes.conv_output_size(13, k, stride, "same")
    ow, pw, _ = shapes.conv_output_size(11, k, stride, "same")
    y, y_relu, want = (np.empty((5, oh, ow, f), dt) for _ in range(3))
    monkeypatch.setattr(conv_gemm, "_CHUNK_ELEMS", 256)  # several chunks per call
    monkeypatch.setattr(conv_direct, "_RUN_BUDGET", 150)   # direct runs of 2 rows, a short last one
    cpu.conv2d_forward(x, w, b, y, stride, stride, ph, pw)
    cpu.conv2d_forward(x, w, b, y_relu, stride, stride, ph, pw, relu=True)
    cpu.relu_forward(y, want)
    assert (y < 0).any() and (y > 0).any()
    np.testing.assert_array_equal(y_relu, want)
    y_ref = np.empty(y.shape)
    ref.conv2d_forward(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), y_ref, stride, stride,
                       ph, pw, relu=True)
    np.testing.assert_allclose(y_relu, y_ref, rtol=1e-4, atol=1e-4)  # the reference's relu flag too


def test_conv2d_rejects_a_cols_buffer_of_the_wrong_shape_or_dtype():
    x, w, out = np.zeros((2, 5, 5, 3)), np.zeros((3, 3, 3, 4)), np.zeros((2, 3, 3, 4))
    for cols in (np.zeros((18, 26)), np.zeros((18, 27), np.float32), np.zeros((27, 18)).T):
        with pytest.raises(ValueError, match="cols must be"):
            cpu.conv2d_forward(x, w, np.zeros(4), out, 1, 1, 0, 0, cols=cols)
        with pytest.raises(ValueError, match="cols must be"):
            cpu.conv2d_backward_kernel(x, out, np.zeros_like(w), 1, 1, 0, 0, cols=cols)


def test_conv2d_rejects_non_contiguous_output():
    x = np.zeros((1, 4, 4, 1))
    out = np.zeros((1, 4, 4, 2))[..., :1]
    with pytest.raises(ValueError, match="C-contiguous"):
        cpu.conv2d_forward(x, np.zeros((1, 1, 1, 1)), np.zeros(1), out, 1, 1, 0, 0)


# ----------------------------------------------------------------------------------------------------
# Max-pooling
# ----------------------------------------------------------------------------------------------------
@st.composite
def pool_cases(draw):
    n = draw(st.integers(1, 4))
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding = draw(st.sampled_from(shapes.PADDINGS))
    assume(padding == "same" or (h >= kh and w >= kw))
    c = draw(st.integers(1, 5))
    ties = draw(st.booleans())
    return n, h, w, c, kh, kw, sh, sw, padding, ties, draw(dtypes), draw(seeds)


@settings()
@given(pool_cases())
def test_maxpool_matches_reference(case):
    n, h, w, c, kh, kw, sh, sw, padding, ties, dt, seed = case
    oh, ph, _ = shapes.conv_output_size(h, kh, sh, padding)
    ow, pw, _ = shapes.conv_output_size(w, kw, sw, padding)
    rng = np.random.default_rng(seed)
    # With ties, values come from a tiny set so that windows often hold several equal maxima.
    x = (rng.integers(-2, 2, (n, h, w, c)) if ties else rng.standard_normal((n, h, w, c))).astype(dt)
    dy = rng.standard_normal((n, oh, ow, c)).astype(dt)
    args = (kh, kw, sh, sw, ph, pw)

    out, arg = np.empty((n, oh, ow, c), dt), np.empty((n, oh, ow, c), np.int64)
    out_ref, arg_ref = np.empty((n, oh, ow, c)), np.empty((n, oh, ow, c), np.int64)
    cpu.maxpool2d_forward(x, out, arg, *args)
    ref.maxpool2d_forward(x.astype(np.float64), out_ref, arg_ref, *args)
    np.testing.assert_array_equal(out, out_ref)
    np.testing.assert_array_equal(arg, arg_ref)

    dx, dx_ref = np.full(x.shape, np.nan, dt), np.empty(x.shape)
    cpu.maxpool2d_backward(dy, arg, dx)
    ref.maxpool2d_backward(dy.astype(np.float64), arg_ref, dx_ref)
    close(dx, dx_ref, dt, np.abs(dx_ref) + np.abs(dy).max())


@pytest.mark.parametrize("mod", [cpu, ref], ids=["cpu", "reference"])
def test_maxpool_ties_go_to_first_max(mod):
    x = np.zeros((1, 4, 4, 1))
    x[0, 0, 1, 0] = x[0, 1, 0, 0] = x[0, 1, 1, 0] = 3.0      # three equal maxima in window (0, 0)
    out, arg = np.empty((1, 2, 2, 1)), np.empty((1, 2, 2, 1), np.int64)
    mod.maxpool2d_forward(x, out, arg, 2, 2, 2, 2, 0, 0)
    assert arg[0, 0, 0, 0] == 0 * 4 + 1                        # (0, 1): first in row-major order
    assert arg[0, 1, 1, 0] == 2 * 4 + 2                        # all-zero window: its first cell
    dx = np.empty_like(x)
    mod.maxpool2d_backward(np.ones_like(out), arg, dx)
    assert dx[0, 0, 1, 0] == 1 and dx[0, 1, 0, 0] == 0 and dx[0, 1, 1, 0] == 0
    assert dx.sum() == 4


@pytest.mark.parametrize("mod", [cpu, ref], ids=["cpu", "reference"])
def test_maxpool_same_padding_never_chooses_padding(mod):
    # H = 5, k = 2, s = 2, 'same' -> 3 outputs, pad (0, 1): the last window is half padding. All inputs
    # negative: a zero from the padding must not win.
    oh, ph, pa = shapes.conv_output_size(5, 2, 2, "same")
    assert (oh, ph, pa) == (3, 0, 1)
    x = -1.0 - np.arange(25, dtype=np.float64).reshape(1, 5, 5, 1)
    out, arg = np.empty((1, 3, 3, 1)), np.empty((1, 3, 3, 1), np.int64)
    mod.maxpool2d_forward(x, out, arg, 2, 2, 2, 2, ph, ph)
    assert np.all(out < 0)
    assert out[0, 2, 2, 0] == x[0, 4, 4, 0] and arg[0, 2, 2, 0] == 24
    assert out[0, 0, 2, 0] == x[0, 0, 4, 0]


# ----------------------------------------------------------------------------------------------------
# Element-wise, softmax family, losses, dense, dropout
# ----------------------------------------------------------------------------------------------------
small_shapes = st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple)


@settings()
@given(small_shapes, dtypes, seeds)
def test_elementwise_match_reference(shape, dt, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 4).astype(dt)
    dy = rng.standard_normal(shape).astype(dt)
    x64, dy64 = f64(x, dy)
    for fwd, bwd, uses_output in (("relu_forward", "relu_backward", False),
                                  ("sigmoid_forward", "sigmoid_backward", True),
                                  ("tanh_forward", "tanh_backward", True)):
        y, y_ref = np.empty(shape, dt), np.empty(shape)
        getattr(cpu, fwd)(x, y)
        getattr(ref, fwd)(x64, y_ref)
        close(y, y_ref, dt)
        first = y if uses_output else x
        dx, dx_ref = np.empty(shape, dt), np.empty(shape)
        getattr(cpu, bwd)(first, dy, dx)
        getattr(ref, bwd)(first.astype(np.float64), dy64, dx_ref)
        close(dx, dx_ref, dt, np.abs(dy64))


@st.composite
def matrices(draw, max_rows=6, max_cols=8):
    m, k = draw(st.integers(1, max_rows)), draw(st.integers(1, max_cols))
    return m, k, draw(dtypes), draw(seeds)


@settings()
@given(matrices())
def test_softmax_family_matches_reference(case):
    m, k, dt, seed = case
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((m, k)) * 5).astype(dt)
    dy = rng.standard_normal((m, k)).astype(dt)
    x64, dy64 = f64(x, dy)
    scale = abs(x64).max() + 1
    for fwd, bwd in (("softmax_forward", "softmax_backward"),
                     ("log_softmax_forward", "log_softmax_backward")):
        y, y_ref = np.empty((m, k), dt), np.empty((m, k))
        getattr(cpu, fwd)(x, y)
        getattr(ref, fwd)(x64, y_ref)
        close(y, y_ref, dt, scale if fwd.startswith("log") else None)
        dx, dx_ref = np.empty((m, k), dt), np.empty((m, k))
        getattr(cpu, bwd)(y, dy, dx)
        getattr(ref, bwd)(y.astype(np.float64), dy64, dx_ref)
        close(dx, dx_ref, dt, k * np.abs(dy64).max())


@settings()
@given(matrices(), st.floats(0.01, 10))
def test_cross_entropy_matches_reference(case, scale):
    m, k, dt, seed = case
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((m, k)) * 5).astype(dt)
    labels = rng.integers(0, k, m).astype(np.int64)
    target = rng.random((m, k)).astype(dt)
    l64, t64 = f64(logits, target)
    mag = abs(l64).max() + 1

    p, p_ref = np.empty((m, k), dt), np.empty((m, k))
    loss = cpu.softmax_xent_sparse_forward(logits, labels, p)
    loss_ref = ref.softmax_xent_sparse_forward(l64, labels, p_ref)
    assert isinstance(loss, float)
    close(loss, loss_ref, dt, mag)
    close(p, p_ref, dt)
    g, g_ref = np.empty((m, k), dt), np.empty((m, k))
    cpu.softmax_xent_sparse_backward(p, labels, g, scale)
    ref.softmax_xent_sparse_backward(p.astype(np.float64), labels, g_ref, scale)
    close(g, g_ref, dt, scale)

    loss = cpu.softmax_xent_dense_forward(logits, target, p)
    loss_ref = ref.softmax_xent_dense_forward(l64, t64, p_ref)
    close(loss, loss_ref, dt, k * mag)
    close(p, p_ref, dt)
    cpu.softmax_xent_dense_backward(p, target, g, scale)
    ref.softmax_xent_dense_backward(p.astype(np.float64), t64, g_ref, scale)
    close(g, g_ref, dt, k * scale)

    t01 = (rng.random((m, k)) < 0.5).astype(dt)
    sp, sp_ref = np.full((m, k), np.nan, dt), np.empty((m, k))
    loss = cpu.bce_logits_forward(logits, t01, sp)
    close(loss, ref.bce_logits_forward(l64, t01.astype(np.float64), sp_ref), dt, mag)
    close(sp, sp_ref, dt)
    cpu.bce_logits_backward(sp, t01, g, scale)
    ref.bce_logits_backward(sp.astype(np.float64), t01.astype(np.float64), g_ref, scale)
    close(g, g_ref, dt, scale)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_transcendental_kernels_split_over_threads_match_reference(dt, monkeypatch):
    """BCE with logits, sigmoid and tanh (NumPy's SIMD exp / log1p / tanh inside) with the threshold
    lowered so that 40,000 elements split into one block per thread (one partial loss sum each); sigmoid
    and tanh also in place, as the tied autoencoder uses them."""
    from minidl.kernels.activations import cpu as act_cpu
    from minidl.kernels.softmax import cpu as softmax_cpu
    monkeypatch.setattr(act_cpu, "_PAR_MIN_STREAM", 1000)
    monkeypatch.setattr(softmax_cpu, "_PAR_MIN_STREAM", 1000)
    rng = np.random.default_rng(3)
    z = (rng.standard_normal(40_000) * 4).astype(dt)
    z[:4] = [1000, -1000, 0, -0.0]
    t = rng.random(40_000).astype(dt)
    z64, t64 = z.astype(np.float64), t.astype(np.float64)
    p, g = np.full(z.shape, np.nan, dt), np.full(z.shape, np.nan, dt)
    p_ref, g_ref = np.empty(z.shape), np.empty(z.shape)
    loss = cpu.bce_logits_forward(z, t, p)
    loss_ref = ref.bce_logits_forward(z64, t64, p_ref)
    close(loss, loss_ref, dt, np.mean(np.abs(z64)) + 1)
    close(p, p_ref, dt)
    cpu.bce_logits_backward(p, t, g, 0.5)
    ref.bce_logits_backward(p.astype(np.float64), t64, g_ref, 0.5)
    close(g, g_ref, dt, 1.0)
    for name in ("sigmoid", "tanh"):
        want = np.empty(z.shape)
        getattr(ref, name + "_forward")(z64, want)
        out = np.full(z.shape, np.nan, dt)
        getattr(cpu, name + "_forward")(z, out)
        close(out, want, dt)
        inplace = z.copy()
        getattr(cpu, name + "_forward")(inplace, inplace)
        np.testing.assert_array_equal(inplace, out)


@settings()
@given(st.integers(1, 5), st.integers(1, 7), st.integers(1, 6), dtypes, seeds)
def test_dense_matches_reference(n, i, o, dt, seed):
    rng = np.random.default_rng(seed)
    x, w, b, dy = (rng.standard_normal(s).astype(dt) for s in ((n, i), (i, o), (o,), (n, o)))
    x64, w64, b64, dy64 = f64(x, w, b, dy)
    y, y_ref, y_mag = np.empty((n, o), dt), np.empty((n, o)), np.empty((n, o))
    cpu.dense_forward(x, w, b, y)
    ref.dense_forward(x64, w64, b64, y_ref)
    ref.dense_forward(abs(x64), abs(w64), abs(b64), y_mag)
    close(y, y_ref, dt, y_mag)
    dx, dw, db = np.empty((n, i), dt), np.empty((i, o), dt), np.empty(o, dt)
    dx_r, dw_r, db_r = np.empty((n, i)), np.empty((i, o)), np.empty(o)
    mx, mw, mb = np.empty((n, i)), np.empty((i, o)), np.empty(o)
    cpu.dense_backward(x, w, dy, dx, dw, db)
    ref.dense_backward(x64, w64, dy64, dx_r, dw_r, db_r)
    ref.dense_backward(abs(x64), abs(w64), abs(dy64), mx, mw, mb)
    close(dx, dx_r, dt, mx)
    close(dw, dw_r, dt, mw)
    close(db, db_r, dt, mb)


@settings()
@given(small_shapes, st.floats(0.0, 0.9), dtypes, seeds)
def test_dropout_matches_reference(shape, rate, dt, seed):
    rng = np.random.default_rng(seed)
    x, u, dy = (rng.random(shape).astype(dt) for _ in range(3))
    out, mask, out_r, mask_r = np.empty(shape, dt), np.empty(shape, dt), np.empty(shape), np.empty(shape)
    cpu.dropout_forward(x, u, rate, out, mask)
    ref.dropout_forward(x.astype(np.float64), u.astype(np.float64), rate, out_r, mask_r)
    close(mask, mask_r, dt)
    close(out, out_r, dt)
    dx, dx_r = np.empty(shape, dt), np.empty(shape)
    cpu.dropout_backward(dy, mask, dx)
    ref.dropout_backward(dy.astype(np.float64), mask.astype(np.float64), dx_r)
    close(dx, dx_r, dt)


@settings()
@given(st.integers(1, 4), st.integers(1, 6), st.integers(1, 5), st.integers(0, 3), st.integers(0, 3),
       dtypes, seeds)
def test_tied_ae_matches_reference(n, d, hd, enc, dec, dt, seed):
    rng = np.random.default_rng(seed)
    x, W, b, c = (rng.standard_normal(s).astype(dt) for s in ((n, d), (d, hd), (hd,), (d,)))
    dy, dxhat = rng.standard_normal((n, hd)).astype(dt), rng.standard_normal((n, d)).astype(dt)
    x64, W64, b64, c64, dy64, dxh64 = f64(x, W, b, c, dy, dxhat)
    y, xhat, y_r, xhat_r = np.empty((n, hd), dt), np.empty((n, d), dt), np.empty((n, hd)), np.empty((n, d))
    cpu.tied_ae_forward(x, W, b, c, y, xhat, enc, dec)
    ref.tied_ae_forward(x64, W64, b64, c64, y_r, xhat_r, enc, dec)
    # Bound for rounding: all magnitudes here are O(1) sums of at most 6 * 6 products of O(1) numbers.
    mag = 10 * (1 + abs(x64).max()) * (1 + abs(W64).max()) ** 2 * (1 + abs(b64).max() + abs(c64).max())
    close(y, y_r, dt, mag)
    close(xhat, xhat_r, dt, mag * d)
    grads = [np.empty(s, dt) for s in ((n, d), (d, hd), (hd,), (d,))]
    grads_r = [np.empty(s) for s in ((n, d), (d, hd), (hd,), (d,))]
    cpu.tied_ae_backward(x, W, y, xhat, dy, dxhat, *grads, enc, dec)
    # The reference takes the CPU's own forward outputs so that only the backward is compared.
    ref.tied_ae_backward(x64, W64, y.astype(np.float64), xhat.astype(np.float64), dy64, dxh64,
                         *grads_r, enc, dec)
    gmag = mag * (1 + abs(dy64).max() + abs(dxh64).max()) * d * hd * n
    for g, g_r in zip(grads, grads_r):
        close(g, g_r, dt, gmag)
    # dx=None (x is data): the other three gradients are the same, bit for bit.
    rest = [np.full(s, np.nan, dt) for s in ((d, hd), (hd,), (d,))]
    cpu.tied_ae_backward(x, W, y, xhat, dy, dxhat, None, *rest, enc, dec)
    for g, g_full in zip(rest, grads[1:]):
        np.testing.assert_array_equal(g, g_full)


# ----------------------------------------------------------------------------------------------------
# Optimizers
# ----------------------------------------------------------------------------------------------------
@settings()
@given(st.integers(1, 50), dtypes, seeds, st.booleans(), st.floats(0.0, 0.99))
def test_optimizers_match_reference(size, dt, seed, nesterov, momentum):
    rng = np.random.default_rng(seed)
    p0 = rng.standard_normal(size).astype(dt)
    grads = [rng.standard_normal(size).astype(dt) for _ in range(3)]

    def run(mod, dtype):
        p_s, vel = p0.astype(dtype), np.zeros(size, dtype)
        p_a, m, v = p0.astype(dtype), np.zeros(size, dtype), np.zeros(size, dtype)
        p_r, ms = p0.astype(dtype), np.zeros(size, dtype)
        for t, g in enumerate(grads, start=1):
            g = g.astype(dtype)
            mod.sgd_update(p_s, g, vel, 0.1, momentum, nesterov)
            mod.adam_update(p_a, g, m, v, 0.01, 0.9, 0.999, 1e-7, t)
            mod.rmsprop_update(p_r, g, ms, 0.01, 0.9, 1e-7)
        return p_s, vel, p_a, m, v, p_r, ms

    for a, e in zip(run(cpu, dt), run(ref, np.float64)):
        close(a, e, dt, np.abs(p0.astype(np.float64)) + 1)


# ----------------------------------------------------------------------------------------------------
# Numerical safety
# ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mod", [cpu, ref], ids=["cpu", "reference"])
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_extreme_inputs_stay_finite(mod, dt):
    x = np.array([[-1000.0, 0.0, 1000.0], [1000.0, 1000.0, -1000.0]], dtype=dt)
    y = np.empty_like(x)
    mod.sigmoid_forward(x, y)
    assert np.all(np.isfinite(y)) and y[0, 0] == 0 and y[0, 2] == 1 and y[0, 1] == 0.5
    for fwd in (mod.softmax_forward, mod.log_softmax_forward):
        fwd(x, y)
        assert np.all(np.isfinite(y))
    mod.softmax_forward(x, y)
    np.testing.assert_allclose(y[1], [0.5, 0.5, 0.0])
    # Confidently wrong: class 0 predicted with logit margin 2000, true class 2.
    logits = np.array([[1000.0, 0.0, -1000.0]], dtype=dt)
    p = np.empty_like(logits)
    loss = mod.softmax_xent_sparse_forward(logits, np.array([2], np.int64), p)
    assert np.isfinite(loss) and loss == pytest.approx(2000.0)
    loss = mod.softmax_xent_dense_forward(logits, np.array([[0, 0, 1]], dtype=dt), p)
    assert np.isfinite(loss) and loss == pytest.approx(2000.0)
    sp = np.empty(2, dt)
    loss = mod.bce_logits_forward(np.array([1000.0, -1000.0], dt), np.array([0.0, 1.0], dt), sp)
    assert np.isfinite(loss) and loss == pytest.approx(1000.0)
    np.testing.assert_array_equal(sp, [1.0, 0.0])
    dz = np.empty(2, dt)
    mod.bce_logits_backward(sp, np.array([0.0, 1.0], dt), dz, 1.0)
    np.testing.assert_allclose(dz, [1.0, -1.0])


# ----------------------------------------------------------------------------------------------------
# Shapes
# ----------------------------------------------------------------------------------------------------
@settings()
@given(st.integers(1, 64), st.integers(1, 8), st.integers(1, 5), st.sampled_from(shapes.PADDINGS))
def test_conv_output_size_keras_rules(size, k, s, padding):
    if padding == "valid" and size < k:
        with pytest.raises(ValueError):
            shapes.conv_output_size(size, k, s, padding)
        return
    out, before, after = shapes.conv_output_size(size, k, s, padding)
    if padding == "valid":
        assert (before, after) == (0, 0)
        assert (out - 1) * s + k <= size < out * s + k        # last window fits, the next does not
    else:
        assert out == -(-size // s)
        assert after - before in (0, 1)                        # the odd extra goes bottom/right
        total = before + after
        assert total == max((out - 1) * s + k - size, 0)
        assert total < k                                       # every window touches a real input
        assert (out - 1) * s + k <= size + total


def test_same_padding_examples_match_keras():
    assert shapes.conv_output_size(5, 2, 2, "same") == (3, 0, 1)
    assert shapes.conv_output_size(28, 5, 1, "same") == (28, 2, 2)
    assert shapes.conv_output_size(28, 3, 1, "valid") == (26, 0, 0)
    assert shapes.conv_output_size(26, 2, 2, "valid") == (13, 0, 0)
    assert shapes.conv_output_size(7, 3, 2, "same") == (4, 1, 1)


# ----------------------------------------------------------------------------------------------------
# The oracle itself: reference gradients vs central finite differences (float64)
# ----------------------------------------------------------------------------------------------------
# Central differences of the scalar f() with respect to every element of a (perturbed in place).
numgrad = numeric_grad


def fd_close(analytic, numeric):
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("geom", [(5, 5, 3, 3, 1, 1, "valid"), (6, 5, 3, 2, 2, 1, "same"),
                                  (5, 4, 2, 3, 2, 3, "same")])
def test_reference_conv2d_gradients(geom):
    h, w, kh, kw, sh, sw, padding = geom
    oh, ph, _ = shapes.conv_output_size(h, kh, sh, padding)
    ow, pw, _ = shapes.conv_output_size(w, kw, sw, padding)
    rng = np.random.default_rng(1)
    x, k, b = rng.standard_normal((2, h, w, 2)), rng.standard_normal((kh, kw, 2, 3)), rng.standard_normal(3)
    g = rng.standard_normal((2, oh, ow, 3))
    args = (sh, sw, ph, pw)

    def loss():
        y = np.empty((2, oh, ow, 3))
        ref.conv2d_forward(x, k, b, y, *args)
        return np.sum(y * g)

    dx, dk, db = np.empty_like(x), np.empty_like(k), np.empty_like(b)
    ref.conv2d_backward_input(g, k, dx, *args)
    ref.conv2d_backward_kernel(x, g, dk, *args)
    ref.conv2d_backward_bias(g, db)
    fd_close(dx, numgrad(loss, x))
    fd_close(dk, numgrad(loss, k))
    fd_close(db, numgrad(loss, b))


@pytest.mark.parametrize("geom", [(2, 2, 2, 2, "valid"), (3, 3, 2, 2, "same"), (2, 3, 1, 2, "same")])
def test_reference_maxpool_gradient(geom):
    kh, kw, sh, sw, padding = geom
    h, w = 5, 6
    oh, ph, _ = shapes.conv_output_size(h, kh, sh, padding)
    ow, pw, _ = shapes.conv_output_size(w, kw, sw, padding)
    rng = np.random.default_rng(2)
    # Distinct values at least 0.01 apart: no ties, no kinks within eps.
    x = (rng.permutation(2 * h * w * 2) * 0.01 - 1).reshape(2, h, w, 2)
    g = rng.standard_normal((2, oh, ow, 2))
    args = (kh, kw, sh, sw, ph, pw)

    def loss():
        y, a = np.empty((2, oh, ow, 2)), np.empty((2, oh, ow, 2), np.int64)
        ref.maxpool2d_forward(x, y, a, *args)
        return np.sum(y * g)

    y, a = np.empty((2, oh, ow, 2)), np.empty((2, oh, ow, 2), np.int64)
    ref.maxpool2d_forward(x, y, a, *args)
    dx = np.empty_like(x)
    ref.maxpool2d_backward(g, a, dx)
    fd_close(dx, numgrad(loss, x))


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "sigmoid", "tanh", "relu"])
def test_reference_activation_gradients(name):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 5)) * 2
    x[np.abs(x) < 1e-3] = 0.5                                   # away from relu's kink
    g = rng.standard_normal((3, 5))
    fwd, bwd = getattr(ref, name + "_forward"), getattr(ref, name + "_backward")

    def loss():
        y = np.empty_like(x)
        fwd(x, y)
        return np.sum(y * g)

    y, dx = np.empty_like(x), np.empty_like(x)
    fwd(x, y)
    bwd(x if name == "relu" else y, g, dx)
    fd_close(dx, numgrad(loss, x))


def test_reference_dense_gradients():
    rng = np.random.default_rng(4)
    x, w, b, g = (rng.standard_normal(s) for s in ((3, 4), (4, 2), (2,), (3, 2)))

    def loss():
        y = np.empty((3, 2))
        ref.dense_forward(x, w, b, y)
        return np.sum(y * g)

    dx, dw, db = np.empty_like(x), np.empty_like(w), np.empty_like(b)
    ref.dense_backward(x, w, g, dx, dw, db)
    fd_close(dx, numgrad(loss, x))
    fd_close(dw, numgrad(loss, w))
    fd_close(db, numgrad(loss, b))


@pytest.mark.parametrize("enc,dec", [(2, 0), (3, 2), (1, 3), (0, 1)])
def test_reference_tied_ae_gradients(enc, dec):
    rng = np.random.default_rng(5)
    n, d, hd = 3, 5, 4
    x, W, b, c = (rng.standard_normal(s) for s in ((n, d), (d, hd), (hd,), (d,)))
    gy, gx = rng.standard_normal((n, hd)), rng.standard_normal((n, d))

    def loss():                                   # uses both outputs: y (weight gy) and xhat (weight gx)
        y, xhat = np.empty((n, hd)), np.empty((n, d))
        ref.tied_ae_forward(x, W, b, c, y, xhat, enc, dec)
        return np.sum(y * gy) + np.sum(xhat * gx)

    y, xhat = np.empty((n, hd)), np.empty((n, d))
    ref.tied_ae_forward(x, W, b, c, y, xhat, enc, dec)
    dx, dW, db, dc = np.empty_like(x), np.empty_like(W), np.empty_like(b), np.empty_like(c)
    ref.tied_ae_backward(x, W, y, xhat, gy, gx, dx, dW, db, dc, enc, dec)
    fd_close(dx, numgrad(loss, x))
    fd_close(dW, numgrad(loss, W))
    fd_close(db, numgrad(loss, b))
    fd_close(dc, numgrad(loss, c))


def test_reference_cross_entropy_gradients():
    rng = np.random.default_rng(6)
    m, k = 4, 5
    logits = rng.standard_normal((m, k)) * 2
    labels = rng.integers(0, k, m).astype(np.int64)
    target = rng.random((m, k))                   # rows do not sum to 1: exercises p * sum(t) - t
    t01 = (rng.random((m, k)) < 0.5).astype(np.float64)
    p, g = np.empty((m, k)), np.empty((m, k))

    ref.softmax_xent_sparse_backward(_probs(logits), labels, g, 1.0 / m)
    fd_close(g, numgrad(lambda: ref.softmax_xent_sparse_forward(logits, labels, p), logits))
    ref.softmax_xent_dense_backward(_probs(logits), target, g, 1.0 / m)
    fd_close(g, numgrad(lambda: ref.softmax_xent_dense_forward(logits, target, p), logits))
    ref.bce_logits_forward(logits, t01, p)
    ref.bce_logits_backward(p.copy(), t01, g, 1.0 / logits.size)
    fd_close(g, numgrad(lambda: ref.bce_logits_forward(logits, t01, np.empty_like(p)), logits))


def _probs(logits):
    p = np.empty_like(logits)
    ref.softmax_forward(logits, p)
    return p
