"""Keras 3 initializer objects: formulas checked statistically on large draws, seeds, configs, layers."""
import json

import numpy as np
import pytest

import minidl
from minidl import initializers as I
from minidl import layers

SHAPE = (3, 3, 40, 60)       # fan_in 360, fan_out 540: 129,600 draws
FI, FO = 360, 540


@pytest.mark.parametrize("init, var", [
    (I.VarianceScaling(2.0, "fan_in", "truncated_normal"), 2 / FI),
    (I.VarianceScaling(0.5, "fan_out", "untruncated_normal"), 0.5 / FO),
    (I.VarianceScaling(3.0, "fan_avg", "uniform"), 3.0 / ((FI + FO) / 2)),
    (I.GlorotUniform(), 2 / (FI + FO)), (I.GlorotNormal(), 2 / (FI + FO)), (I.HeNormal(), 2 / FI),
    (I.HeUniform(), 2 / FI), (I.LecunNormal(), 1 / FI), (I.LecunUniform(), 1 / FI),
    (I.RandomNormal(0.0, 0.3), 0.09), (I.RandomUniform(-0.2, 0.4), 0.6 ** 2 / 12),
])
def test_variance_matches_the_formula(init, var):
    w = init(SHAPE, "float64", np.random.default_rng(0))
    assert w.shape == SHAPE and w.dtype == np.float64
    np.testing.assert_allclose(w.var(), var, rtol=0.02)


def test_truncation_and_limits():
    rng = np.random.default_rng(1)
    w = I.VarianceScaling(1.0, "fan_in", "truncated_normal")(SHAPE, "float64", rng)
    s = np.sqrt(1 / FI) / 0.87962566103423978
    assert np.abs(w).max() <= 2 * s and np.abs(w).max() > 1.9 * s
    w = I.TruncatedNormal(1.0, 0.5)(SHAPE, "float64", rng)        # Keras: no variance correction
    assert np.abs(w - 1.0).max() <= 1.0
    np.testing.assert_allclose(w.std(), 0.5 * 0.87962566103423978, rtol=0.02)
    w = I.GlorotUniform()(SHAPE, "float64", rng)
    lim = np.sqrt(6 / (FI + FO))
    assert np.abs(w).max() <= lim and np.abs(w).max() > 0.999 * lim
    w = I.RandomUniform(-0.2, 0.4)((1000,), "float64", rng)
    assert w.min() >= -0.2 and w.max() < 0.4
    np.testing.assert_array_equal(I.Constant(2.5)((2, 2)), np.full((2, 2), 2.5, np.float32))
    assert I.Zeros()((3,)).sum() == 0 and I.Ones()((3,)).sum() == 3


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (2, 3, 5)])
def test_orthogonal(shape):
    w = I.Orthogonal(gain=2.0, seed=0)(shape, "float64")
    flat = w.reshape(-1, shape[-1])
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(gram, 4 * np.eye(gram.shape[0]), atol=1e-10)


def test_seeds_as_keras_3():
    a = I.HeNormal(seed=7)
    np.testing.assert_array_equal(a((5, 5)), a((5, 5)))            # same values at every call
    np.testing.assert_array_equal(a((5, 5)), I.HeNormal(seed=7)((5, 5)))
    assert not np.array_equal(a((5, 5)), I.HeNormal(seed=8)((5, 5)))
    minidl.utils.set_random_seed(3)
    b = I.HeNormal()((5, 5))
    minidl.utils.set_random_seed(3)
    np.testing.assert_array_equal(b, I.HeNormal()((5, 5)))         # unseeded: minidl's global generator
    for bad in (-1, 1.5, "1", True):
        with pytest.raises(ValueError, match="seed"):
            I.RandomNormal(seed=bad)


@pytest.mark.parametrize("kw, match", [
    ({"scale": 0}, "scale"), ({"mode": "fan"}, "mode"), ({"distribution": "gauss"}, "distribution"),
])
def test_variance_scaling_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        I.VarianceScaling(**kw)
    with pytest.raises(ValueError, match="maxval must be > minval"):
        I.RandomUniform(1, 0)
    with pytest.raises(ValueError, match="stddev"):
        I.RandomNormal(stddev=0)


def test_names_configs_and_layers(tmp_path):
    for name, cls in [("he_normal", I.HeNormal), ("GlorotUniform", I.GlorotUniform), ("Orthogonal", I.Orthogonal),
                      ("truncated_normal", I.TruncatedNormal), ("variance_scaling", I.VarianceScaling)]:
        assert type(I.get(name)) is cls
    init = I.VarianceScaling(2.0, "fan_out", "uniform", seed=4)
    back = I.get(json.loads(json.dumps(I.serialize(init))))
    assert type(back) is I.VarianceScaling and back.get_config() == init.get_config()
    with pytest.raises(ValueError, match="known initializers: glorot_uniform"):
        I.get("glorot")
    # a layer with an initializer object is saved and loaded with it
    model = minidl.Sequential([layers.Input((4,)), layers.Dense(3, kernel_initializer=I.HeNormal(seed=2),
                                                                bias_initializer=I.Constant(0.5))])
    np.testing.assert_array_equal(model.layers[0].get_weights()[0], I.HeNormal(seed=2)((4, 3)))
    np.testing.assert_array_equal(model.layers[0].get_weights()[1], 0.5)
    model.save(tmp_path / "m.npz")
    loaded = minidl.load_model(tmp_path / "m.npz")
    cfg = loaded.layers[0].get_config()
    assert cfg["kernel_initializer"] == {"class_name": "HeNormal", "config": {"seed": 2}}
    assert cfg["bias_initializer"] == {"class_name": "Constant", "config": {"value": 0.5}}
