"""minidl.backend: Keras's backend module (configuration, int_shape, clear_session)."""
import numpy as np
import pytest

import minidl
from minidl import backend as K
from minidl import layers


@pytest.fixture
def saved_state():
    """Puts the name counters, the global generator and the settings back after the test."""
    from minidl import random as mrandom

    counts = layers.unique_name.__globals__["_NAME_COUNTS"]
    saved_counts, saved_rng = dict(counts), mrandom.get_rng()
    saved = (K.floatx(), K.epsilon())
    yield
    counts.clear()
    counts.update(saved_counts)
    mrandom._rng = saved_rng
    K.set_floatx(saved[0])
    K.set_epsilon(saved[1])


def test_lazy_submodule_and_defaults():
    assert minidl.backend is K
    assert K.image_data_format() == "channels_last"
    assert K.floatx() == "float32"
    assert K.epsilon() == 1e-7
    assert K.backend() == "minidl"


def test_set_image_data_format():
    K.set_image_data_format("channels_last")
    assert K.image_data_format() == "channels_last"
    with pytest.raises(ValueError, match="only 'channels_last'"):
        K.set_image_data_format("channels_first")
    with pytest.raises(ValueError, match="must be 'channels_last'"):
        K.set_image_data_format("nhwc")
    with pytest.raises(TypeError, match="string"):
        K.set_image_data_format(3)
    assert K.image_data_format() == "channels_last"


def test_floatx_and_epsilon(saved_state):
    K.set_floatx("float64")
    assert K.floatx() == "float64"
    K.set_floatx(np.float32)
    assert K.floatx() == "float32"
    for bad in ("float16", "int32", "nope", None):
        with pytest.raises(ValueError, match="float32, float64"):
            K.set_floatx(bad)
    assert K.floatx() == "float32"
    K.set_epsilon(np.float32(1e-5))
    assert K.epsilon() == pytest.approx(1e-5)
    for bad in (0, -1e-3, float("nan"), float("inf"), "1e-7", True):
        with pytest.raises(ValueError, match="set_epsilon"):
            K.set_epsilon(bad)
    assert K.epsilon() == pytest.approx(1e-5)


def test_int_shape():
    assert K.int_shape(np.zeros((4, 3))) == (4, 3)
    assert K.int_shape(minidl.Tensor(np.zeros((2, 5, 1)))) == (2, 5, 1)

    class Symbolic:
        shape = (None, 28, 28, 1)

    assert K.int_shape(Symbolic()) == (None, 28, 28, 1)
    with pytest.raises(TypeError, match="int_shape"):
        K.int_shape(3.0)


def test_clear_session_resets_layer_names(saved_state):
    layers.Dense(3)
    second = layers.Dense(3)
    assert second.name != "dense"
    K.clear_session()
    assert layers.Dense(3).name == "dense"
    assert layers.Dense(3).name == "dense_1"


def test_clear_session_replaces_the_global_generator(saved_state):
    from minidl import random as mrandom

    minidl.utils.set_random_seed(0)
    seeded = mrandom.get_rng().random(4)
    minidl.utils.set_random_seed(0)
    K.clear_session(free_memory=False)
    after = mrandom.get_rng().random(4)
    # a fresh, unseeded generator (as Keras 3 drops its global seed generator): not the seeded stream
    assert not np.array_equal(seeded, after)
    minidl.utils.set_random_seed(0)
    np.testing.assert_array_equal(mrandom.get_rng().random(4), seeded)
