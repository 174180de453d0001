"""Every CPU implementation in the kernel registry equals its operation's NumPy reference, over hypothesis
shapes it supports (conv2d's gemm, direct and direct9 paths directly, no thresholds patched).

The CUDA implementations are compared with the same references in tests/kernels/test_cuda.py (simulator,
tiny shapes). Inputs are made in the tested dtype; the reference runs on the same values in float64.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

from minidl.kernels import registry, shapes

TOL = {np.float32: 2e-5, np.float64: 1e-11}
dtypes = st.sampled_from([np.float32, np.float64])
seeds = st.integers(0, 2**32 - 1)


def impls(op: str) -> list:
    return [pytest.param(i, id=f"{op}-{i}") for i in registry.implementations(op) if i not in ("reference", "cuda")]


def close(actual, expected, dt, scale=None):
    """|actual - expected| <= tol * (|expected| + scale), scale bounding the terms' sizes (rounding of sums)."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape and np.all(np.isfinite(actual))
    scale = np.abs(expected).max(initial=0.0) + 1.0 if scale is None else scale
    np.testing.assert_array_less(np.abs(actual - expected), TOL[dt] * (np.abs(expected) + scale) * 10 + 1e-300)


def f64(*arrays):
    return [np.array(a, np.float64) for a in arrays]  # copies: the reference writes in place


# ----------------------------------------------------------------------------------------------------
@st.composite
def conv_cases(draw):
    c = draw(st.sampled_from([1, 1, 2, 3]))  # one channel often: the direct paths
    stride = draw(st.sampled_from([(1, 1), (1, 1), (2, 1), (1, 3), (2, 2)]))
    h, w = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    padding = draw(st.sampled_from(shapes.PADDINGS))
    assume(padding == "same" or (h >= kh and w >= kw))
    return dict(n=draw(st.integers(1, 3)), h=h, w=w, c=c, f=draw(st.sampled_from([1, 3, 6, 17, 20])),
                kh=kh, kw=kw, sh=stride[0], sw=stride[1], padding=padding, relu=draw(st.booleans()),
                dt=draw(dtypes), seed=draw(seeds))


@pytest.mark.parametrize("impl", impls("conv2d"))
@given(case=conv_cases())
def test_conv2d(impl, case):
    mod, ref = registry.load("conv2d", impl), registry.load("conv2d", "reference")
    assume(registry.supports(mod, **case))
    n, c, f, kh, kw, sh, sw, dt = (case[k] for k in ("n", "c", "f", "kh", "kw", "sh", "sw", "dt"))
    oh, ph, _ = shapes.conv_output_size(case["h"], kh, sh, case["padding"])
    ow, pw, _ = shapes.conv_output_size(case["w"], kw, sw, case["padding"])
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal((n, case["h"], case["w"], c)).astype(dt)
    k = rng.standard_normal((kh, kw, c, f)).astype(dt)
    b = rng.standard_normal(f).astype(dt)
    dy = rng.standard_normal((n, oh, ow, f)).astype(dt)
    geom = (sh, sw, ph, pw)
    scale = kh * kw * c * 4.0  # bounds the sum of |terms| of one output (standard normal values)

    y, y_ref = np.full((n, oh, ow, f), np.nan, dt), np.empty((n, oh, ow, f))
    mod.conv2d_forward(x, k, b, y, *geom, relu=case["relu"])
    ref.conv2d_forward(*f64(x, k, b), y_ref, *geom, relu=case["relu"])
    close(y, y_ref, dt, scale)
    dk, dk_ref = np.full(k.shape, np.nan, dt), np.empty(k.shape)
    mod.conv2d_backward_kernel(x, dy, dk, *geom)
    ref.conv2d_backward_kernel(*f64(x, dy), dk_ref, *geom)
    close(dk, dk_ref, dt, n * oh * ow * 4.0)
    if hasattr(mod, "conv2d_backward_input"):
        dx, dx_ref = np.full(x.shape, np.nan, dt), np.empty(x.shape)
        mod.conv2d_backward_input(dy, k, dx, *geom)
        ref.conv2d_backward_input(*f64(dy, k), dx_ref, *geom)
        close(dx, dx_ref, dt, kh * kw * f * 4.0)
        db, db_ref = np.full(f, np.nan, dt), np.empty(f)
        mod.conv2d_backward_bias(dy, db)
        ref.conv2d_backward_bias(*f64(dy), db_ref)
        close(db, db_ref, dt, n * oh * ow * 4.0)
    if impl in ("cpu", "gemm"):  # the kept im2col matrix gives the same results
        cols = np.full((n * oh * ow, kh * kw * c), np.nan, dt)
        y2, dk2 = np.empty_like(y), np.full(k.shape, np.nan, dt)
        mod.conv2d_forward(x, k, b, y2, *geom, relu=case["relu"], cols=cols)
        mod.conv2d_backward_kernel(x, dy, dk2, *geom, cols=cols)
        close(y2, y_ref, dt, scale)
        close(dk2, dk_ref, dt, n * oh * ow * 4.0)


def test_conv2d_direct_paths_refuse_shapes_they_do_not_compute():
    for name in ("direct", "direct9"):
        mod = registry.load("conv2d", name)
        x, w = np.zeros((1, 5, 5, 2)), np.zeros((3, 3, 2, 4))
        with pytest.raises(ValueError, match="one input channel"):
            mod.conv2d_forward(x, w, np.zeros(4), np.zeros((1, 3, 3, 4)), 1, 1, 0, 0)


# ----------------------------------------------------------------------------------------------------
@st.composite
def pool_cases(draw):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    padding = draw(st.sampled_from(shapes.PADDINGS))
    assume(padding == "same" or (h >= kh and w >= kw))
    return (draw(st.integers(1, 3)), h, w, draw(st.integers(1, 4)), kh, kw, draw(st.integers(1, 3)),
            draw(st.integers(1, 3)), padding, draw(dtypes), draw(seeds), draw(st.booleans()))


@pytest.mark.parametrize("impl", impls("pool2d"))
@given(case=pool_cases())
def test_pool2d(impl, case):
    mod, ref = registry.load("pool2d", impl), registry.load("pool2d", "reference")
    n, h, w, c, kh, kw, sh, sw, padding, dt, seed, ties = case
    oh, ph, _ = shapes.conv_output_size(h, kh, sh, padding)
    ow, pw, _ = shapes.conv_output_size(w, kw, sw, padding)
    rng = np.random.default_rng(seed)
    x = (rng.integers(-2, 3, (n, h, w, c)) if ties else rng.standard_normal((n, h, w, c))).astype(dt)
    out, arg = np.empty((n, oh, ow, c), dt), np.empty((n, oh, ow, c), np.int64)
    out_r, arg_r = np.empty((n, oh, ow, c), dt), np.empty((n, oh, ow, c), np.int64)
    mod.maxpool2d_forward(x, out, arg, kh, kw, sh, sw, ph, pw)
    ref.maxpool2d_forward(x, out_r, arg_r, kh, kw, sh, sw, ph, pw)
    np.testing.assert_array_equal(out, out_r)
    np.testing.assert_array_equal(arg, arg_r)  # ties: the first maximum in row-major window order
    dy = rng.standard_normal((n, oh, ow, c)).astype(dt)
    dx, dx_r = np.full(x.shape, np.nan, dt), np.empty(x.shape)
    mod.maxpool2d_backward(dy, arg, dx)
    ref.maxpool2d_backward(*f64(dy), arg_r, dx_r)
    close(dx, dx_r, dt)


# ----------------------------------------------------------------------------------------------------
small_shapes = st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple)


@pytest.mark.parametrize("impl", impls("activations"))
@given(shape=small_shapes, dt=dtypes, seed=seeds)
def test_activations(impl, shape, dt, seed):
    mod, ref = registry.load("activations", impl), registry.load("activations", "reference")
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 5).astype(dt)
    x.flat[0] = 800 if x.size > 1 else x.flat[0]  # far in the tail: no overflow
    dy = rng.standard_normal(shape).astype(dt)
    for name in ("relu", "sigmoid", "tanh"):
        y, y_r = np.empty(shape, dt), np.empty(shape)
        getattr(mod, f"{name}_forward")(x, y)
        getattr(ref, f"{name}_forward")(*f64(x), y_r)
        close(y, y_r, dt, 1.0)
        first = x if name == "relu" else y
        dx, dx_r = np.empty(shape, dt), np.empty(shape)
        getattr(mod, f"{name}_backward")(first, dy, dx)
        getattr(ref, f"{name}_backward")(*f64(first, dy), dx_r)
        close(dx, dx_r, dt, 1.0)


# ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("impl", impls("softmax"))
@given(m=st.integers(1, 5), k=st.integers(1, 7), dt=dtypes, seed=seeds)
def test_softmax_family(impl, m, k, dt, seed):
    mod, ref = registry.load("softmax", impl), registry.load("softmax", "reference")
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((m, k)) * 3).astype(dt)
    dy = rng.standard_normal((m, k)).astype(dt)
    for fwd in ("softmax", "log_softmax"):
        y, y_r = np.empty((m, k), dt), np.empty((m, k))
        getattr(mod, f"{fwd}_forward")(x, y)
        getattr(ref, f"{fwd}_forward")(*f64(x), y_r)
        close(y, y_r, dt)
        dx, dx_r = np.empty((m, k), dt), np.empty((m, k))
        getattr(mod, f"{fwd}_backward")(y, dy, dx)
        getattr(ref, f"{fwd}_backward")(*f64(y, dy), dx_r)
        close(dx, dx_r, dt, np.abs(dy).sum() + 1)
    labels = rng.integers(0, k, m).astype(np.int64)
    target = rng.random((m, k)).astype(dt)
    for kind, t in (("sparse", labels), ("dense", target)):
        p, p_r = np.empty((m, k), dt), np.empty((m, k))
        t_r = t if kind == "sparse" else t.astype(np.float64)
        loss = getattr(mod, f"softmax_xent_{kind}_forward")(x, t, p)
        loss_r = getattr(ref, f"softmax_xent_{kind}_forward")(*f64(x), t_r, p_r)
        close(loss, loss_r, dt, 10 * k)
        close(p, p_r, dt)
        g, g_r = np.empty((m, k), dt), np.empty((m, k))
        getattr(mod, f"softmax_xent_{kind}_backward")(p, t, g, 0.5)
        getattr(ref, f"softmax_xent_{kind}_backward")(*f64(p), t_r, g_r, 0.5)
        close(g, g_r, dt, k)
    z = (rng.standard_normal((m, k)) * 4).astype(dt)
    p, p_r = np.empty((m, k), dt), np.empty((m, k))
    close(mod.bce_logits_forward(z, target, p), ref.bce_logits_forward(*f64(z, target), p_r), dt, 10)
    close(p, p_r, dt, 1.0)
    g, g_r = np.empty((m, k), dt), np.empty((m, k))
    mod.bce_logits_backward(p, target, g, 0.25)
    ref.bce_logits_backward(*f64(p, target), g_r, 0.25)
    close(g, g_r, dt, 1.0)


# ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("impl", impls("dense"))
@given(n=st.integers(1, 6), i=st.integers(1, 9), o=st.integers(1, 7), rate=st.sampled_from([0.0, 0.3, 1.0]),
       dt=dtypes, seed=seeds)
def test_dense_and_dropout(impl, n, i, o, rate, dt, seed):
    mod, ref = registry.load("dense", impl), registry.load("dense", "reference")
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((n, i)).astype(dt), rng.standard_normal((i, o)).astype(dt)
    b, dy = rng.standard_normal(o).astype(dt), rng.standard_normal((n, o)).astype(dt)
    y, y_r = np.empty((n, o), dt), np.empty((n, o))
    mod.dense_forward(x, w, b, y)
    ref.dense_forward(*f64(x, w, b), y_r)
    close(y, y_r, dt, 4.0 * i)
    got = [np.empty((n, i), dt), np.empty((i, o), dt), np.empty(o, dt)]
    want = [np.empty((n, i)), np.empty((i, o)), np.empty(o)]
    mod.dense_backward(x, w, dy, *got)
    ref.dense_backward(*f64(x, w, dy), *want)
    for a, e in zip(got, want):
        close(a, e, dt, 4.0 * max(n, o))
    u = rng.random((n, i)).astype(dt)
    out, mask, out_r, mask_r = np.empty((n, i), dt), np.empty((n, i), dt), np.empty((n, i)), np.empty((n, i))
    mod.dropout_forward(x, u, rate, out, mask)
    ref.dropout_forward(*f64(x, u), rate, out_r, mask_r)
    close(out, out_r, dt)
    close(mask, mask_r, dt)
    dx, dx_r = np.empty((n, i), dt), np.empty((n, i))
    mod.dropout_backward(dy[:, :1].repeat(i, 1).copy(), mask, dx)
    ref.dropout_backward(*f64(dy[:, :1].repeat(i, 1), mask), dx_r)
    close(dx, dx_r, dt)


# ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("impl", impls("tied_ae"))
@given(n=st.integers(1, 5), d=st.integers(1, 8), hd=st.integers(1, 5), enc=st.integers(0, 3),
       dec=st.integers(0, 3), want_dx=st.booleans(), dt=dtypes, seed=seeds)
def test_tied_autoencoder(impl, n, d, hd, enc, dec, want_dx, dt, seed):
    mod, ref = registry.load("tied_ae", impl), registry.load("tied_ae", "reference")
    rng = np.random.default_rng(seed)
    x, W = rng.standard_normal((n, d)).astype(dt), (rng.standard_normal((d, hd)) / 2).astype(dt)
    b, c = rng.standard_normal(hd).astype(dt), rng.standard_normal(d).astype(dt)
    y, xh, y_r, xh_r = np.empty((n, hd), dt), np.empty((n, d), dt), np.empty((n, hd)), np.empty((n, d))
    mod.tied_ae_forward(x, W, b, c, y, xh, enc, dec)
    ref.tied_ae_forward(*f64(x, W, b, c), y_r, xh_r, enc, dec)
    close(y, y_r, dt, 4.0 * d)
    close(xh, xh_r, dt, 4.0 * d * hd)
    dy, dxh = rng.standard_normal((n, hd)).astype(dt), rng.standard_normal((n, d)).astype(dt)
    got = [np.empty((n, d), dt) if want_dx else None, np.empty((d, hd), dt), np.empty(hd, dt), np.empty(d, dt)]
    want = [np.empty((n, d)) if want_dx else None, np.empty((d, hd)), np.empty(hd), np.empty(d)]
    mod.tied_ae_backward(x, W, y, xh, dy, dxh, *got, enc, dec)
    ref.tied_ae_backward(*f64(x, W, y, xh, dy, dxh), *want, enc, dec)
    for a, e in zip(got, want):
        if e is not None:
            close(a, e, dt, 50.0 * d * hd * n)


# ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("impl", impls("optimizers"))
@given(size=st.integers(1, 40), momentum=st.sampled_from([0.0, 0.9]), nesterov=st.booleans(),
       t=st.integers(1, 5), dt=dtypes, seed=seeds)
def test_optimizer_updates(impl, size, momentum, nesterov, t, dt, seed):
    mod, ref = registry.load("optimizers", impl), registry.load("optimizers", "reference")
    rng = np.random.default_rng(seed)
    p, g = rng.standard_normal(size).astype(dt), rng.standard_normal(size).astype(dt)
    s1, s2 = rng.random(size).astype(dt), rng.random(size).astype(dt)
    calls = {
        "sgd_update": lambda m, P, G, S1, S2: m.sgd_update(P, G, S1, 0.1, momentum, nesterov),
        "adam_update": lambda m, P, G, S1, S2: m.adam_update(P, G, S1, S2, 0.01, 0.9, 0.999, 1e-7, t),
        "rmsprop_update": lambda m, P, G, S1, S2: m.rmsprop_update(P, G, S1, 0.01, 0.9, 1e-7),
    }
    for name, call in calls.items():
        got = [a.copy() for a in (p, g, s1, s2)]
        want = f64(p, g, s1, s2)
        call(mod, *got)
        call(ref, *want)
        for a, e in zip(got, want):
            close(a, e, dt, 1.0)
