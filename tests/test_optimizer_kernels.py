"""The optimizer kernels of kernels/optimizers/ (NumPy reference, readable loops, parallel CPU, CUDA on the
simulator) against minidl.optimizers.reference, the NumPy rules written from Keras 3's source."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from minidl.kernels.optimizers import cpu, loops, reference as kref
from minidl.optimizers import Nadam, reference as ref

IMPLS = {"reference": kref, "loops": loops, "cpu": cpu}


def arrays(shape, seed, dtype):
    rng = np.random.default_rng(seed)
    p, g = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    s1, s2 = np.abs(rng.standard_normal(shape)).astype(dtype), np.abs(rng.standard_normal(shape)).astype(dtype)
    return p, g, s1, s2


def step(name, mod, p, g, s1, s2, t=3):
    """Runs one update of ``name`` through ``mod`` (a kernel module, or None for minidl's reference)."""
    nad = Nadam(0.01, beta_1=0.8, beta_2=0.95, epsilon=1e-3).coefficients(t)
    if name == "rmsprop":
        (mod.rmsprop_update if mod else lambda *a: ref.rmsprop_update(a[0], a[1], a[2], None, None, a[3], a[4], 0.0,
                                                                      a[5]))(p, g, s1, 0.01, 0.9, 1e-3)
    elif name == "adagrad":
        (mod or ref).adagrad_update(p, g, s1, 0.05, 1e-3)
    elif name == "adadelta":
        (mod or ref).adadelta_update(p, g, s1, s2, 1.0, 0.9, 1e-3)
    elif name == "nadam":
        (mod or ref).nadam_update(p, g, s1, s2, 0.01, 0.8, 0.95, 1e-3, *nad)
    elif name == "weight_decay":
        (mod.weight_decay_update if mod else ref.weight_decay)(p, 0.1, 0.3)


NAMES = ["rmsprop", "adagrad", "adadelta", "nadam", "weight_decay"]


@pytest.mark.parametrize("impl", list(IMPLS))
@pytest.mark.parametrize("name", NAMES)
@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple), seed=st.integers(0, 2**16))
def test_cpu_kernels_match_reference(impl, name, shape, seed):
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 2e-5)):
        want = arrays(shape, seed, dtype)
        got = [a.copy() for a in want]
        step(name, None, *want)
        step(name, IMPLS[impl], *got)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", NAMES)
def test_cuda_kernels_match_reference(name):
    try:
        from minidl.kernels import cuda as kc
        from minidl.kernels.optimizers import cuda as ocuda
    except ImportError:
        pytest.skip("numba-cuda not installed")
    want = arrays((2, 5), 7, np.float32)
    got = [kc.to_device(a.copy()) for a in want]
    step(name, None, *want)
    step(name, ocuda, *got)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.copy_to_host(), b, rtol=2e-5, atol=2e-6)
