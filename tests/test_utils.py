"""utils: to_categorical against Keras's semantics, set_random_seed reproducibility."""
import random

import numpy as np
import pytest

from minidl import random as mrandom
from minidl.utils import set_random_seed, to_categorical


def test_to_categorical_basic():
    out = to_categorical([0, 2, 1])
    np.testing.assert_array_equal(out, np.eye(3)[[0, 2, 1]])
    assert out.dtype == np.float32


def test_to_categorical_column_and_num_classes_and_dtype():
    out = to_categorical(np.array([[1], [0]]), num_classes=4, dtype="float64")
    assert out.shape == (2, 4) and out.dtype == np.float64
    np.testing.assert_array_equal(out, [[0, 1, 0, 0], [1, 0, 0, 0]])
    assert to_categorical(np.array([1.0, 0.0]), 2).tolist() == [[0, 1], [1, 0]]
    assert to_categorical(np.zeros((2, 3), dtype=int), 2).shape == (2, 3, 2)
    assert to_categorical(np.array([], dtype=int), 3).shape == (0, 3)


@pytest.mark.parametrize("y, k, match", [
    ([0, -1], None, ">= 0"), ([0.5, 1], None, "whole numbers"), ([0, 3], 3, "out of range"),
    ([0, 1], 0, "positive integer"), (["a"], None, "integers"),
])
def test_to_categorical_errors(y, k, match):
    with pytest.raises(ValueError, match=match):
        to_categorical(y, k)


def test_set_random_seed_reproducible():
    def draw():
        return (mrandom.get_rng().random(3).tolist(), np.random.rand(3).tolist(), random.random())

    set_random_seed(123)
    a = draw()
    set_random_seed(123)
    b = draw()
    set_random_seed(124)
    c = draw()
    assert a == b and a != c
    with pytest.raises(ValueError):
        set_random_seed(-1)


# ---------------------------------------------------------------------------------------------------- initializers
# (kept here: the initialisers are small helpers too, and this file is the one for them)
from minidl import initializers  # noqa: E402


@pytest.mark.parametrize("shape, fans", [((), (1, 1)), ((5,), (5, 5)), ((3, 7), (3, 7)), ((3, 3, 4, 8), (36, 72))])
def test_compute_fans(shape, fans):
    assert initializers.compute_fans(shape) == fans


@pytest.mark.parametrize("name, kind, scale", [
    ("glorot_uniform", "u", lambda fi, fo: np.sqrt(6 / (fi + fo))),
    ("he_uniform", "u", lambda fi, fo: np.sqrt(6 / fi)),
    ("lecun_uniform", "u", lambda fi, fo: np.sqrt(3 / fi)),
    ("random_uniform", "u", lambda fi, fo: 0.05),
    ("glorot_normal", "t", lambda fi, fo: np.sqrt(2 / (fi + fo))),
    ("he_normal", "t", lambda fi, fo: np.sqrt(2 / fi)),
    ("lecun_normal", "t", lambda fi, fo: np.sqrt(1 / fi)),
    ("random_normal", "n", lambda fi, fo: 0.05),
])
def test_distributions(name, kind, scale):
    shape = (3, 3, 20, 40)  # conv kernel: fan_in 180, fan_out 360; 7200 draws
    fi, fo = 180, 360
    w = initializers.get(name)(shape, "float64", np.random.default_rng(0))
    assert w.shape == shape and w.dtype == np.float64
    s = scale(fi, fo)
    assert abs(w.mean()) < 0.05 * s
    if kind == "u":
        assert np.abs(w).max() <= s and np.abs(w).max() > 0.99 * s
        np.testing.assert_allclose(w.var(), s * s / 3, rtol=0.05)
    elif kind == "t":
        # variance is the target (the 0.8796 correction); nothing beyond 2 of the pre-correction stddevs
        np.testing.assert_allclose(w.var(), s * s, rtol=0.06)
        assert np.abs(w).max() <= 2 * s / 0.87962566103423978 + 1e-12
    else:
        np.testing.assert_allclose(w.std(), s, rtol=0.05)
        assert np.abs(w).max() > 2 * s  # not truncated


def test_constants_dtype_rng_and_get():
    assert initializers.get("zeros")((2, 3), "float32").tolist() == [[0.0] * 3] * 2
    assert initializers.get("ones")(4).dtype == np.float32
    g = initializers.get("GlorotUniform")
    assert g is initializers.get("glorot_uniform")
    a = g((4, 5), "float32", np.random.default_rng(1))
    b = g((4, 5), "float32", np.random.default_rng(1))
    assert a.dtype == np.float32 and np.array_equal(a, b)
    set_random_seed(5)
    c = g((4, 5))
    set_random_seed(5)
    assert np.array_equal(c, g((4, 5)))
    f = lambda shape, dtype="float32", rng=None: np.full(shape, 2.0, dtype)  # noqa: E731
    assert initializers.get(f) is f
    with pytest.raises(ValueError, match="known initializers: glorot_uniform"):
        initializers.get("identity_matrix")
