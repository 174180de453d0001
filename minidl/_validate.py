"""Argument checks that any minidl function can call before it changes anything.

Each check returns the value in a canonical Python form (``bool``, ``int``, ``float``, a tuple, a
``numpy.dtype``) or raises with a message that names the argument, says what was expected and shows what was
given::

    TypeError: use_bias must be a bool (True or False), got 'False' (str).
    ValueError: rate must be a number in [0, 1), got 1.5.

The rules (issue #18; Keras 3 is as strict for most of them, and where it is not, silently reading the string
``'False'`` as true is never what a user meant):

- a **bool** is ``True``/``False`` or a NumPy bool; ints, strings and None are not bools;
- an **int** is a Python int or a NumPy integer scalar; bools, floats (even ``3.0``) and strings are not;
- a **number** (rate, coefficient) is a real int or float, NumPy scalars included, never a bool, a string,
  a complex or NaN; infinity only where the caller allows it;
- a **tuple of ints** (kernel sizes, strides) is an int (repeated ``n`` times) or a list / tuple / 1-D integer
  array of exactly ``n`` ints; sets (no order), strings and dicts are refused;
- a **dtype** is anything :class:`numpy.dtype` understands, restricted to the supported floating types;
- a **callable** can be checked for the number of positional arguments it will be called with.

A value of the wrong kind raises :class:`ArgumentTypeError`, which is both a ``TypeError`` and a ``ValueError``
(so code written for either keeps working); a value of the right kind but out of range, of the wrong length or
an unsupported dtype raises a plain ``ValueError``.
"""
from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "ArgumentTypeError",
    "check_bool",
    "check_callable",
    "check_float",
    "check_float_dtype",
    "check_int",
    "check_int_tuple",
    "check_non_negative_int",
    "check_positive_int",
    "check_rate",
    "check_seed",
    "describe",
]


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong kind (``use_bias='False'``, ``kernel_size={2, 5}``).

    A :class:`TypeError`, as PyTorch and Python raise for a wrong type, and also a :class:`ValueError`, which
    Keras raises for most bad arguments: code that catches either keeps working.
    """


def describe(value: Any) -> str:
    """``repr`` of a value (shortened) and its type, for error messages: ``'False' (str)``."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def check_bool(value: Any, name: str) -> bool:
    """``value`` as a ``bool``; only ``True``, ``False`` and NumPy bools are accepted.

    Raises:
        TypeError: anything else (the string ``'False'``, 0 / 1, None, ...).
    """
    if not _is_bool(value):
        raise ArgumentTypeError(f"{name} must be a bool (True or False), got {describe(value)}.")
    return bool(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, (numbers.Integral, np.integer)) and not _is_bool(value)


def check_int(value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None,
              allow_none: bool = False) -> int | None:
    """``value`` as a Python ``int`` in ``[minimum, maximum]`` (either bound optional).

    Args:
        value: a Python int or NumPy integer scalar (``np.int64(3)``); None if ``allow_none``.
        name: the argument's name, for the message.
        minimum, maximum: inclusive bounds.
        allow_none: whether None is accepted (and returned).

    Raises:
        TypeError: not an integer (a bool, a float such as ``3.0``, a string, ...).
        ValueError: out of bounds.
    """
    if value is None and allow_none:
        return None
    if not _is_int(value):
        kind = "an integer" + (" or None" if allow_none else "")
        raise ArgumentTypeError(f"{name} must be {kind}, got {describe(value)}.")
    out = int(value)
    if (minimum is not None and out < minimum) or (maximum is not None and out > maximum):
        if maximum is None:
            want = "a positive integer" if minimum == 1 else (
                "a non-negative integer" if minimum == 0 else f"an integer >= {minimum}")
        elif minimum is None:
            want = f"an integer <= {maximum}"
        else:
            want = f"an integer in [{minimum}, {maximum}]"
        raise ValueError(f"{name} must be {want}, got {out}.")
    return out


def check_positive_int(value: Any, name: str, *, allow_none: bool = False) -> int | None:
    """``value`` as an ``int >= 1`` (NumPy integers accepted; bools, floats, strings refused)."""
    return check_int(value, name, minimum=1, allow_none=allow_none)


def check_non_negative_int(value: Any, name: str, *, allow_none: bool = False) -> int | None:
    """``value`` as an ``int >= 0`` (NumPy integers accepted; bools, floats, strings refused)."""
    return check_int(value, name, minimum=0, allow_none=allow_none)


def check_seed(value: Any, name: str = "seed") -> int | None:
    """A random seed: None or an integer in ``[0, 2**32 - 1]`` (what NumPy's generators take)."""
    return check_int(value, name, minimum=0, maximum=2**32 - 1, allow_none=True)


def _interval(low: float | None, high: float | None, low_inclusive: bool, high_inclusive: bool) -> str:
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    left = "[" if low_inclusive and low is not None else "("
    right = "]" if high_inclusive and high is not None else ")"
    return f"{left}{lo}, {hi}{right}"


def check_float(value: Any, name: str, *, minimum: float | None = None, maximum: float | None = None,
                min_inclusive: bool = True, max_inclusive: bool = True, allow_inf: bool = False,
                allow_none: bool = False) -> float | None:
    """``value`` as a Python ``float`` within the given bounds.

    Args:
        value: a real number: Python int / float or NumPy integer / floating scalar; not a bool, string,
            complex, or NaN. None if ``allow_none``.
        name: the argument's name.
        minimum, maximum: bounds (optional), inclusive unless ``min_inclusive`` / ``max_inclusive`` is False.
        allow_inf: whether ±inf is acceptable (it must still satisfy the bounds).
        allow_none: whether None is accepted (and returned).

    Raises:
        TypeError: not a real number.
        ValueError: NaN, infinite (unless allowed) or out of bounds.
    """
    if value is None and allow_none:
        return None
    if _is_bool(value) or not isinstance(value, (numbers.Real, np.integer, np.floating)):
        kind = "a real number" + (" or None" if allow_none else "")
        raise ArgumentTypeError(f"{name} must be {kind}, got {describe(value)}.")
    out = float(value)
    if math.isnan(out) or (math.isinf(out) and not allow_inf):
        raise ValueError(f"{name} must be a finite number, got {out}.")
    too_low = minimum is not None and (out < minimum or (out == minimum and not min_inclusive))
    too_high = maximum is not None and (out > maximum or (out == maximum and not max_inclusive))
    if too_low or too_high:
        raise ValueError(
            f"{name} must be a number in {_interval(minimum, maximum, min_inclusive, max_inclusive)}, got {out:g}."
        )
    return out


def check_rate(value: Any, name: str, low: float = 0.0, high: float = 1.0, *, low_inclusive: bool = True,
               high_inclusive: bool = False) -> float:
    """A rate or fraction: a finite real number in ``[low, high)`` by default (``Dropout(rate)``,
    ``validation_split``). NumPy scalars are accepted."""
    return check_float(value, name, minimum=low, maximum=high, min_inclusive=low_inclusive,
                       max_inclusive=high_inclusive)


def check_int_tuple(value: Any, name: str, n: int, *, minimum: int = 1) -> tuple[int, ...]:
    """A size per spatial dimension: an int repeated ``n`` times, or exactly ``n`` ints.

    Args:
        value: an int / NumPy integer, or a list, tuple or 1-D integer array of length ``n``.
        name: the argument's name (``kernel_size``, ``strides``, ...).
        n: how many dimensions.
        minimum: smallest acceptable entry (1 for sizes and strides, 0 for paddings).

    Raises:
        TypeError: a set, string, dict, float or other non-integer (entries included).
        ValueError: the wrong length or an entry below ``minimum``.
    """
    want = f"an integer or a tuple/list of {n} integers"
    if isinstance(value, np.ndarray):
        if value.ndim != 1 or not (np.issubdtype(value.dtype, np.integer)):
            raise ArgumentTypeError(
                f"{name} must be {want}, got an array of shape {value.shape} and dtype {value.dtype}.")
        items = value.tolist()
    elif _is_int(value):
        items = [value] * n
    elif isinstance(value, (tuple, list)):
        items = list(value)
    else:
        raise ArgumentTypeError(f"{name} must be {want}, got {describe(value)}.")
    if len(items) != n:
        raise ValueError(f"{name} must be {want}, got {len(items)} values: {value!r}.")
    for i, item in enumerate(items):
        if not _is_int(item):
            raise ArgumentTypeError(f"{name} must be {want}, got {describe(item)} at position {i} of {value!r}.")
    out = tuple(int(i) for i in items)
    if any(i < minimum for i in out):
        kind = "positive" if minimum == 1 else ("non-negative" if minimum == 0 else f">= {minimum}")
        raise ValueError(f"{name} must be {kind} ({want}, each >= {minimum}), got {value!r}.")
    return out


_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_float_dtype(value: Any, name: str = "dtype",
                      allowed: Sequence[np.dtype] = _FLOAT_DTYPES) -> np.dtype:
    """A supported floating dtype: ``'float32'``, ``np.float64``, ``np.dtype('float32')``, ...

    Raises:
        TypeError: not something NumPy reads as a dtype.
        ValueError: a dtype minidl does not compute in (``'int32'``, ``'float16'``, ``'complex64'``, ...).
    """
    allowed = tuple(np.dtype(a) for a in allowed)
    names = ", ".join(repr(a.name) for a in allowed)
    if value is None or isinstance(value, bool):
        raise ArgumentTypeError(f"{name} must be one of {names}, got {describe(value)}.")
    try:
        dt = np.dtype(value)
    except (TypeError, ValueError) as exc:
        raise ArgumentTypeError(f"{name} must be one of {names}, got {describe(value)} ({exc}).") from None
    if dt not in allowed:
        raise ValueError(f"{name} must be one of {names}; {dt.name!r} is not supported, got {value!r}.")
    return dt


def check_callable(value: Any, name: str, arity: int | Sequence[int] | None = None, *,
                   allow_none: bool = False, purpose: str | None = None) -> Callable[..., Any] | None:
    """A callable that accepts ``arity`` positional arguments (any of them, when a sequence is given).

    The signature is checked with :func:`inspect.signature`; a callable whose signature cannot be read (some
    builtins) passes the arity check, since nothing can be said about it.

    Args:
        value, name: the argument and its name.
        arity: how many positional arguments it will be called with.
        allow_none: whether None is accepted (and returned).
        purpose: what the function must compute (``'a loss fn(y_true, y_pred) -> scalar Tensor'``); when
            given, Python built-ins and NumPy ufuncs are refused: ``compile(loss=print)`` accepts two
            arguments, but no built-in computes a differentiable loss from Tensors.

    Raises:
        TypeError: not callable, a built-in where ``purpose`` is given, or it cannot be called with that many
            positional arguments.
    """
    if value is None and allow_none:
        return None
    if not callable(value):
        raise ArgumentTypeError(f"{name} must be callable{' or None' if allow_none else ''}, got {describe(value)}.")
    if purpose is not None and (inspect.isbuiltin(value) or isinstance(value, np.ufunc)):
        raise ArgumentTypeError(f"{name} must be {purpose}, got the built-in {describe(value)}.")
    if arity is None:
        return value
    counts = (arity,) if isinstance(arity, int) else tuple(arity)
    try:
        sig = inspect.signature(value)
    except (TypeError, ValueError):
        return value
    for k in counts:
        try:
            sig.bind(*range(k))
            return value
        except TypeError:
            continue
    want = " or ".join(str(k) for k in counts)
    label = getattr(value, "__qualname__", None) or repr(value)
    raise ArgumentTypeError(f"{name} must accept {want} positional argument(s), got {label}{sig}.")
