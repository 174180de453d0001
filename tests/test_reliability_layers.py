"""Layer and model arguments (issue #18): no silent nonsense, NumPy scalars accepted, errors before any change."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minidl import layers as L
from minidl import models as M


@pytest.mark.parametrize("make, match", [
    (lambda: L.Dense(3, use_bias="False"), r"Dense: use_bias must be a bool .*'False' \(str\)"),
    (lambda: L.Dense(3, trainable="False"), r"Dense: trainable must be a bool"),
    (lambda: L.Conv2D(2, 3, use_bias=0), r"Conv2D: use_bias must be a bool"),
    (lambda: L.DenseTranspose(L.Dense(2), use_bias="no"), r"DenseTranspose: use_bias must be a bool"),
    (lambda: L.Conv2D(2, {2, 5}), r"Conv2D: kernel_size must be an integer or a tuple/list of 2 integers, got \{2, 5\}"),
    (lambda: L.Conv2D(2, "3"), r"Conv2D: kernel_size must be"),
    (lambda: L.Conv2D(2, (3, 3.0)), r"Conv2D: kernel_size must be .*3.0 \(float\)"),
    (lambda: L.Conv2DTranspose(2, 3, strides={1, 2}), r"Conv2DTranspose: strides must be"),
    (lambda: L.Conv2D(2.0, 3), r"Conv2D: filters must be an integer, got 2.0"),
    (lambda: L.MaxPooling2D({2, 3}), r"MaxPooling2D: pool_size must be"),
    (lambda: L.MaxPooling2D(2, strides="2"), r"MaxPooling2D: strides must be"),
    (lambda: L.UpSampling2D((2, 2, 2)), r"UpSampling2D: size must be .* 3 values"),
    (lambda: L.Reshape("4"), r"Reshape: target_shape must be a tuple of ints .*'4' \(str\)"),
    (lambda: L.Reshape((2, "2")), r"Reshape: target_shape must be"),
    (lambda: L.Reshape((-1, -1)), r"Reshape: target_shape must be positive ints with at most one -1"),
    (lambda: L.Dense("3"), r"Dense: units must be an integer, got '3'"),
    (lambda: L.Dense(True), r"Dense: units must be an integer"),
    (lambda: L.TiedAutoencoder(0), r"TiedAutoencoder: units must be a positive integer, got 0"),
    (lambda: L.Dense(3, dtype="int32"), r"Dense: dtype must be one of 'float32', 'float64'; 'int32' is not supported"),
    (lambda: L.Dense(3, dtype="complex64"), r"dtype must be one of"),
    (lambda: L.Dense(3, dtype="nonsense"), r"Dense: dtype must be one of"),
    (lambda: L.Dense(3, activity_regularizer={"l1": -1}),
     r"activity_regularizer coefficient l1 must be a number in \[0, inf\), got -1"),
    (lambda: L.Dense(3, activity_regularizer={"l1": float("nan")}),
     r"activity_regularizer coefficient l1 must be a finite number"),
    (lambda: L.Dense(3, activity_regularizer=float("inf")), r"activity_regularizer coefficient must be a finite"),
    (lambda: L.Dense(3, activity_regularizer={"l1": "0.1"}),
     r"activity_regularizer coefficient l1 must be a real number"),
    (lambda: L.Dropout(0.5, seed=-1), r"Dropout: seed must be an integer in \[0, 4294967295\], got -1"),
    (lambda: L.Dropout(0.5, seed=1.5), r"Dropout: seed must be an integer or None, got 1.5"),
    (lambda: L.Dropout("0.5"), r"Dropout: rate must be a real number, got '0.5'"),
    (lambda: L.Dropout(np.float32(1.0)), r"Dropout: rate must be a number in \[0, 1\), got 1"),
    (lambda: L.GaussianNoise(-0.1), r"GaussianNoise: stddev must be a number in \[0, inf\)"),
    (lambda: L.GaussianNoise(0.1, seed=-3), r"GaussianNoise: seed must be"),
    (lambda: L.Dense(3, name=""), r"Dense: name must be a non-empty string"),
    (lambda: L.Dense(3, name=5), r"Dense: name must be a non-empty string"),
])
def test_nonsense_arguments_are_refused_with_the_argument_named(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make()


def test_numpy_scalars_are_accepted():
    assert L.Dropout(np.float32(0.5)).rate == 0.5
    assert L.Dropout(np.float64(0.25), seed=np.int64(3)).seed == 3
    assert L.GaussianNoise(np.float32(0.5)).stddev == 0.5
    c = L.Conv2D(np.int32(4), kernel_size=np.int64(3), strides=(np.int64(1), 2))
    assert (c.filters, c.kernel_size, c.strides) == (4, (3, 3), (1, 2)) and type(c.kernel_size[0]) is int
    assert L.MaxPooling2D(np.int64(2)).pool_size == (2, 2)
    assert L.Dense(np.int64(3), use_bias=np.bool_(False)).use_bias is False
    assert L.Reshape(np.array([2, -1])).target_shape == (2, -1)
    assert L.Dense(3, activity_regularizer=np.float32(0.5)).activity_regularizer == 0.5
    assert L.UpSampling2D([2, 3]).size == (2, 3)


def test_float64_layers_compute_in_float64():
    d = L.Dense(2, dtype="float64")
    d.build((None, 3))
    assert d.kernel.dtype == np.float64 and d.dtype == np.float64
    assert L.Dense(2, dtype=np.float32).dtype == np.float32


def test_trainable_setter_checks_its_value():
    d = L.Dense(2)
    with pytest.raises(TypeError, match=r"trainable must be a bool"):
        d.trainable = "False"
    assert d.trainable is True


def _built_dense():
    d = L.Dense(2)
    d.build((None, 3))
    return d


@pytest.mark.parametrize("bad, match", [
    ([np.ones((3, 2)) * (1 + 1j), np.zeros(2)], r"needs real numbers, got an array of dtype complex128 \(its imaginary"),
    ([np.ones((3, 2)), np.array([np.nan, 0.0])], r"'dense.*/bias' would hold 1 NaN or Inf"),
    ([np.full((3, 2), 1e300), np.zeros(2)], r"would hold 6 NaN or Inf value\(s\) \(as float32\)"),
    ([np.ones((3, 2)), np.array(["a", "b"])], r"needs real numbers, got an array of dtype <U1"),
    ([np.ones((3, 2)), np.zeros(3)], r"has shape \(2,\), got an array of shape \(3,\)"),
    ([np.ones((3, 2))], r"expects 2 weight array\(s\), got 1"),
    ("ab", r"set_weights expects a list of arrays"),
    (3, r"set_weights expects a list of arrays"),
])
def test_set_weights_validates_every_array_before_assigning_any(bad, match):
    d = _built_dense()
    before = d.get_weights()
    with pytest.raises((TypeError, ValueError), match=match):
        d.set_weights(bad)
    for a, b in zip(before, d.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_set_weights_accepts_integer_arrays_and_tensors():
    d = _built_dense()
    d.set_weights([np.ones((3, 2), dtype=np.int64), d.bias])
    assert d.kernel.dtype == np.float32 and np.all(d.kernel.numpy() == 1)


def test_model_cannot_contain_itself():
    m = M.Sequential([L.Input((2,)), L.Dense(1)])
    outer = M.Sequential([m])
    for bad in (m, outer):
        with pytest.raises(ValueError, match="cannot contain itself"):
            m.add(bad)
    assert len(m.layers) == 1


def _model():
    m = M.Sequential([L.Input((2,)), L.Dense(1)])
    m.compile("sgd", "mse")
    return m


@pytest.mark.parametrize("loss", [print, max, np.add, len])
def test_compile_refuses_builtins_as_losses_and_keeps_the_model(loss):
    m = _model()
    with pytest.raises(TypeError, match=r"compile: loss must be a loss: .*built-in"):
        m.compile("adam", loss=loss)
    assert m.loss.name == "mean_squared_error"  # unchanged


def test_compile_refuses_a_loss_of_the_wrong_arity_and_fit_names_a_non_tensor_result():
    m = _model()
    with pytest.raises(TypeError, match=r"compile: loss must accept 2 positional argument"):
        m.compile("sgd", loss=lambda y: y)
    m.compile("sgd", loss=lambda y_true, y_pred: 0.0)
    with pytest.raises(TypeError, match=r"returned 0.0 \(float\); a loss must return a scalar Tensor"):
        m.fit(np.zeros((4, 2)), np.zeros((4, 1)), verbose=0)


def test_fit_checks_shuffle_and_accepts_a_numpy_validation_split():
    m = _model()
    before = m.get_weights()
    with pytest.raises(TypeError, match=r"shuffle must be a bool .*'False'"):
        m.fit(np.zeros((10, 2)), np.zeros((10, 1)), shuffle="False", verbose=0)
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)
    h = m.fit(np.zeros((10, 2)), np.zeros((10, 1)), validation_split=np.float32(0.2), verbose=0)
    assert "val_loss" in h.history


# Property test over argument types: every constructor either accepts an argument or raises a TypeError /
# ValueError naming it, never anything else (AttributeError, NumPy internals) and never silently.
ODD = st.one_of(st.none(), st.booleans(), st.integers(-3, 5), st.floats(allow_nan=True), st.text(max_size=3),
                st.sets(st.integers(1, 4), max_size=2), st.lists(st.integers(-1, 4), max_size=3),
                st.integers(1, 4).map(np.int64), st.floats(0, 1).map(np.float32), st.just(object()))
CASES = [
    ("units", lambda v: L.Dense(v)), ("use_bias", lambda v: L.Dense(2, use_bias=v)),
    ("trainable", lambda v: L.Dense(2, trainable=v)), ("kernel_size", lambda v: L.Conv2D(2, v)),
    ("strides", lambda v: L.Conv2D(2, 3, strides=v)), ("pool_size", lambda v: L.MaxPooling2D(v)),
    ("rate", lambda v: L.Dropout(v)), ("seed", lambda v: L.Dropout(0.1, seed=v)),
    ("stddev", lambda v: L.GaussianNoise(v)), ("target_shape", lambda v: L.Reshape(v)),
    ("size", lambda v: L.UpSampling2D(v)), ("filters", lambda v: L.Conv2D(v, 3)),
]


@settings(max_examples=150, deadline=None)
@given(value=ODD, case=st.sampled_from(CASES))
def test_constructors_accept_or_name_the_argument(value, case):
    name, make = case
    try:
        make(value)
    except (TypeError, ValueError) as exc:
        assert name in str(exc), (name, value, exc)
        return
    # accepted: it must have been a sensible value of the right kind
    if name in ("use_bias", "trainable"):
        assert isinstance(value, (bool, np.bool_))
    elif name in ("rate", "stddev"):
        assert not isinstance(value, (str, bool, set, list, type(None)))
    elif name == "seed":
        assert value is None or (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0)
    else:
        assert not isinstance(value, (str, bool, set, float, type(None)))
