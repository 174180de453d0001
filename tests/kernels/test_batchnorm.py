"""Batch-norm kernels (kernels/batchnorm/): the Numba loops and the CUDA kernels against the NumPy reference."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minidl.kernels.batchnorm import loops, reference

DTYPES = [np.float32, np.float64]
RTOL = {np.dtype(np.float32): 2e-5, np.dtype(np.float64): 1e-11}


def _case(m, c, dtype, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((m, c)) * 3 + 5).astype(dtype)  # offset: the two-pass variance matters
    gamma = rng.uniform(0.5, 2, c).astype(dtype)
    beta = rng.standard_normal(c).astype(dtype)
    dy = rng.standard_normal((m, c)).astype(dtype)
    return x, gamma, beta, dy


def _nan(shape, dtype):
    return np.full(shape, np.nan, dtype=dtype)


def _run(mod, x, gamma, beta, dy, training, to_dev=lambda a: a, to_host=lambda a: a):
    m, c = x.shape
    dt = x.dtype
    mean, var, inv = (to_dev(_nan((c,), dt)) for _ in range(3))
    xhat, y, dx = (to_dev(_nan((m, c), dt)) for _ in range(3))
    dg, db = to_dev(_nan((c,), dt)), to_dev(_nan((c,), dt))
    xd, gd, bd, dyd = to_dev(x), to_dev(gamma), to_dev(beta), to_dev(dy)
    mod.bn_stats(xd, mean, var)
    mod.bn_normalize(xd, mean, var, 1e-3, gd, bd, xhat, y, inv)
    mod.bn_backward(dyd, xhat, gd, inv, dx, dg, db, training)
    return [to_host(a) for a in (mean, var, inv, xhat, y, dx, dg, db)]


def _close(got, want, dtype):
    for g, w in zip(got, want):
        atol = RTOL[np.dtype(dtype)] * max(1.0, float(np.max(np.abs(w))))
        np.testing.assert_allclose(g, w, rtol=RTOL[np.dtype(dtype)], atol=atol)


@settings(max_examples=20)
@given(m=st.integers(1, 40), c=st.integers(1, 9), training=st.booleans(), seed=st.integers(0, 2**16),
       dtype=st.sampled_from(DTYPES))
def test_loops_match_reference(m, c, training, seed, dtype):
    case = _case(m, c, dtype, seed)
    _close(_run(loops, *case, training), _run(reference, *case, training), dtype)


def test_reference_statistics_and_gradient_are_the_math():
    x, gamma, beta, dy = _case(7, 3, np.float64, 0)
    mean, var, inv, xhat, y, dx, dg, db = _run(reference, x, gamma, beta, dy, True)
    np.testing.assert_allclose(mean, x.mean(0))
    np.testing.assert_allclose(var, x.var(0))
    np.testing.assert_allclose(y, gamma * (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3) + beta)
    # dx is orthogonal to constants per channel (shifting a channel changes nothing after centring) ...
    np.testing.assert_allclose(dx.sum(0), 0, atol=1e-10)
    # ... and equals the central difference of sum(dy * y) with y recomputed from the perturbed x
    def f(xx):
        return float((dy * (gamma * (xx - xx.mean(0)) / np.sqrt(xx.var(0) + 1e-3) + beta)).sum())

    num = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[idx] = 1e-6
        num[idx] = (f(x + e) - f(x - e)) / 2e-6
    np.testing.assert_allclose(dx, num, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,c", [(1, 1), (5, 3), (13, 4)])
@pytest.mark.parametrize("training", [True, False])
def test_cuda_matches_reference(m, c, dtype, training):
    from minidl.kernels import cuda as kcuda

    if not kcuda.is_available():
        pytest.skip("no CUDA device and no simulator")
    from minidl.kernels.batchnorm import cuda as bn_cuda

    case = _case(m, c, dtype, m * 7 + c)
    got = _run(bn_cuda, *case, training, to_dev=kcuda.to_device, to_host=kcuda.to_host)
    _close(got, _run(reference, *case, training), dtype)
