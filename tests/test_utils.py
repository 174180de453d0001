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
