"""minidl._validate: argument checks (issue #18), with a property test over argument types."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minidl import _validate as v

# Values of every kind a hostile but ordinary user passes: Python and NumPy scalars, strings, containers, None.
ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.booleans().map(np.bool_),
    st.integers(-10, 10),
    st.integers(-(2**70), 2**70),
    st.integers(-10, 10).map(np.int64),
    st.integers(0, 10).map(np.uint8),
    st.integers(-10, 10).map(np.int32),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-2, 3).map(np.float32),
    st.floats(-2, 3).map(np.float64),
    st.complex_numbers(max_magnitude=3),
    st.sampled_from(["", "False", "True", "4", "0.5", "float32", "int32", "relu"]),
    st.lists(st.integers(-3, 6), max_size=4),
    st.lists(st.integers(-3, 6), max_size=4).map(tuple),
    st.sets(st.integers(1, 6), max_size=3),
    st.frozensets(st.integers(1, 6), max_size=3),
    st.lists(st.floats(0, 5), max_size=3).map(tuple),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.lists(st.integers(1, 5), min_size=1, max_size=3).map(np.array),
    st.just(object()),
    st.just(np.float32),
    st.just(np.dtype("float64")),
    st.just(print),
    st.just(lambda a, b: a),
)


def _is_int(x) -> bool:
    # independent oracle: exact types, not isinstance chains
    return type(x) is int or (isinstance(x, np.integer) and not isinstance(x, np.bool_))


def _is_real(x) -> bool:
    return _is_int(x) or type(x) is float or isinstance(x, np.floating)


def _raises_naming(fn, value, name):
    with pytest.raises((TypeError, ValueError)) as info:
        fn(value)
    assert name in str(info.value) and "got" in str(info.value)
    return info.value


@settings(max_examples=300, deadline=None)
@given(x=ANY)
def test_bool_accepts_exactly_bools(x):
    if type(x) is bool or isinstance(x, np.bool_):
        out = v.check_bool(x, "use_bias")
        assert type(out) is bool and out == bool(x)
    else:
        assert isinstance(_raises_naming(lambda a: v.check_bool(a, "use_bias"), x, "use_bias"), TypeError)


@settings(max_examples=300, deadline=None)
@given(x=ANY)
def test_positive_int_accepts_exactly_positive_integers(x):
    if _is_int(x) and int(x) >= 1:
        out = v.check_positive_int(x, "units")
        assert type(out) is int and out == int(x)
    else:
        err = _raises_naming(lambda a: v.check_positive_int(a, "units"), x, "units")
        assert isinstance(err, TypeError) != _is_int(x)  # an int out of range is a value error only


@settings(max_examples=300, deadline=None)
@given(x=ANY)
def test_rate_accepts_exactly_finite_reals_in_range(x):
    if _is_real(x) and 0 <= float(x) < 1:
        out = v.check_rate(x, "rate")
        assert type(out) is float and out == float(x)
    else:
        err = _raises_naming(lambda a: v.check_rate(a, "rate"), x, "rate")
        assert isinstance(err, TypeError) != _is_real(x)


@settings(max_examples=300, deadline=None)
@given(x=ANY, n=st.integers(1, 3))
def test_int_tuple_accepts_an_int_or_exactly_n_positive_ints(x, n):
    if _is_int(x):
        ok = int(x) >= 1
        expected = (int(x),) * n
    elif type(x) in (list, tuple) or (isinstance(x, np.ndarray) and x.dtype.kind == "i"):
        items = list(x)
        ok = len(items) == n and all(_is_int(i) and int(i) >= 1 for i in items)
        expected = tuple(int(i) for i in items) if ok else None
    else:
        ok, expected = False, None
    if ok:
        out = v.check_int_tuple(x, "kernel_size", n)
        assert out == expected and all(type(i) is int for i in out)
    else:
        _raises_naming(lambda a: v.check_int_tuple(a, "kernel_size", n), x, "kernel_size")


@settings(max_examples=300, deadline=None)
@given(x=ANY)
def test_float_dtype_accepts_only_float32_and_float64(x):
    try:
        dt = None if isinstance(x, (bool, type(None))) else np.dtype(x)
    except (TypeError, ValueError):
        dt = None
    if dt is not None and dt in (np.float32, np.float64):
        assert v.check_float_dtype(x, "dtype") == dt
    else:
        _raises_naming(lambda a: v.check_float_dtype(a, "dtype"), x, "dtype")


@settings(max_examples=200, deadline=None)
@given(x=ANY)
def test_callable_check(x):
    if callable(x) and not isinstance(x, type):
        assert v.check_callable(x, "fn") is x
    elif not callable(x):
        _raises_naming(lambda a: v.check_callable(a, "fn"), x, "fn")


def test_examples_from_the_issue():
    with pytest.raises(TypeError, match=r"use_bias must be a bool .*'False' \(str\)"):
        v.check_bool("False", "use_bias")
    assert v.check_int_tuple(np.int64(3), "kernel_size", 2) == (3, 3)
    with pytest.raises(TypeError, match=r"kernel_size must be an integer or a tuple/list of 2 integers, got \{2, 5\}"):
        v.check_int_tuple({2, 5}, "kernel_size", 2)
    with pytest.raises(TypeError, match="kernel_size must be"):
        v.check_int_tuple("33", "kernel_size", 2)
    with pytest.raises(ValueError, match=r"strides must be positive .*got \(1, 0\)"):
        v.check_int_tuple((1, 0), "strides", 2)
    with pytest.raises(ValueError, match=r"strides must be positive .*got 0"):
        v.check_int_tuple(0, "strides", 2)
    with pytest.raises(TypeError, match=r"kernel_size must be .*got 2.0 \(float\) at position 1"):
        v.check_int_tuple((3, 2.0), "kernel_size", 2)
    with pytest.raises(ValueError, match="3 values"):
        v.check_int_tuple([1, 2, 3], "pool_size", 2)
    assert v.check_rate(np.float32(0.5), "rate") == 0.5
    with pytest.raises(ValueError, match=r"rate must be a number in \[0, 1\), got 1"):
        v.check_rate(1, "rate")
    with pytest.raises(ValueError, match="finite"):
        v.check_float(float("nan"), "l1", minimum=0)
    with pytest.raises(ValueError, match=r"l1 must be a number in \[0, inf\), got -1"):
        v.check_float(-1, "l1", minimum=0)
    assert v.check_float(math.inf, "baseline", allow_inf=True) == math.inf
    assert v.check_float(None, "baseline", allow_none=True) is None
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 4294967295\], got -1"):
        v.check_seed(-1)
    assert v.check_seed(None) is None and v.check_seed(np.uint32(7)) == 7
    with pytest.raises(ValueError, match="'int32' is not supported"):
        v.check_float_dtype("int32", "dtype")
    with pytest.raises(TypeError, match="dtype must be one of"):
        v.check_float_dtype("nonsense", "dtype")
    assert v.check_float_dtype("float64") == np.float64
    with pytest.raises(TypeError, match=r"units must be an integer, got 3.0 \(float\)"):
        v.check_positive_int(3.0, "units")
    with pytest.raises(TypeError, match="units must be an integer"):
        v.check_positive_int(True, "units")
    assert v.check_non_negative_int(np.int16(0), "patience") == 0


def test_wrong_kinds_are_both_type_and_value_errors():
    for call in (lambda: v.check_bool("False", "b"), lambda: v.check_positive_int("3", "n"),
                 lambda: v.check_int_tuple({2, 5}, "k", 2), lambda: v.check_rate("0.5", "r"),
                 lambda: v.check_float_dtype(object(), "dtype"), lambda: v.check_callable(3, "f")):
        with pytest.raises(v.ArgumentTypeError) as info:
            call()
        assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)
    with pytest.raises(ValueError) as info:  # a value out of range is a ValueError only
        v.check_positive_int(0, "n")
    assert not isinstance(info.value, TypeError)


def test_callable_arity():
    def two(epoch, logs):
        return None

    def one(epoch):
        return None

    def star(*args):
        return None

    assert v.check_callable(two, "on_epoch_end", 2) is two
    assert v.check_callable(star, "on_epoch_end", 2) is star
    assert v.check_callable(one, "f", (1, 2)) is one
    with pytest.raises(TypeError, match=r"on_epoch_end must accept 2 positional argument\(s\), got .*one\(epoch\)"):
        v.check_callable(one, "on_epoch_end", 2)
    with pytest.raises(TypeError, match="on_epoch_end must be callable or None, got 3"):
        v.check_callable(3, "on_epoch_end", 2, allow_none=True)
    assert v.check_callable(None, "f", 2, allow_none=True) is None
    assert v.check_callable(max, "f", 2) is max  # no readable signature: cannot be judged, accepted
