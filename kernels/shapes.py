"""Shape arithmetic and argument checks shared by every kernel backend (pure Python, no Numba).

Keras 'valid' / 'same' padding, for one spatial axis of length ``size``, window ``k`` and stride ``s``::

    valid:  out = floor((size - k) / s) + 1            (needs size >= k), no padding
    same:   out = ceil(size / s)
            pad_total = max((out - 1) * s + k - size, 0)
            pad_before = pad_total // 2,  pad_after = pad_total - pad_before

so when ``pad_total`` is odd the extra row/column goes to the bottom/right, as in Keras and TensorFlow.
Kernels only receive ``pad_before`` (top/left); the bottom/right padding is implied by the output size.

Activation codes, used where a kernel takes an activation as an integer (Numba compiles one version):
``ACT_CODES = {'linear': 0, 'relu': 1, 'sigmoid': 2, 'tanh': 3}``.
"""
from __future__ import annotations

__all__ = ["ACT_CODES", "PADDINGS", "conv_output_size", "as_pair", "act_code"]

ACT_CODES = {"linear": 0, "relu": 1, "sigmoid": 2, "tanh": 3}
PADDINGS = ("valid", "same")


def as_pair(value, name: str) -> tuple[int, int]:
    """Turns an int or a pair of ints into a pair, checking each is a positive integer.

    Args:
        value: an int, or a tuple/list of two ints.
        name: the argument's name, used in the error message.

    Raises:
        ValueError: naming ``name`` when a value is not a positive integer or not a pair.
    """
    if isinstance(value, (int,)) and not isinstance(value, bool):
        pair = (value, value)
    else:
        try:
            pair = tuple(value)
        except TypeError:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}") from None
        if len(pair) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    out = []
    for v in pair:
        if isinstance(v, bool) or not isinstance(v, (int,)) and not hasattr(v, "__index__"):
            raise ValueError(f"{name} must contain integers, got {value!r}")
        v = int(v)
        if v <= 0:
            raise ValueError(f"{name} must be positive, got {value!r}")
        out.append(v)
    return out[0], out[1]


def conv_output_size(size: int, k: int, stride: int, padding: str) -> tuple[int, int, int]:
    """Output length and padding of one spatial axis under Keras semantics.

    Args:
        size: input length along the axis.
        k: window (kernel or pool) length.
        stride: step between windows, > 0.
        padding: 'valid' or 'same'.

    Returns:
        (out, pad_before, pad_after).

    Raises:
        ValueError: for an unknown padding, a stride <= 0, or a window larger than the input under 'valid'.
    """
    if padding not in PADDINGS:
        raise ValueError(f"unknown padding {padding!r}; known paddings: {', '.join(PADDINGS)}")
    if stride <= 0:
        raise ValueError(f"strides must be positive, got {stride}")
    if k <= 0:
        raise ValueError(f"window size must be positive, got {k}")
    if padding == "valid":
        if size < k:
            raise ValueError(
                f"window of size {k} is bigger than the input ({size}) under 'valid' padding"
            )
        return (size - k) // stride + 1, 0, 0
    out = -(-size // stride)
    pad_total = max((out - 1) * stride + k - size, 0)
    before = pad_total // 2
    return out, before, pad_total - before


def act_code(name: str | None) -> int:
    """Integer code of an activation name (None means 'linear').

    Raises:
        ValueError: listing the known names when ``name`` is unknown.
    """
    if name is None:
        return 0
    try:
        return ACT_CODES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown activation {name!r}; known activations: {', '.join(ACT_CODES)}"
        ) from None
