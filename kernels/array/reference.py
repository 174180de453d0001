"""array: the NumPy reference of the generic array primitives (the oracle :mod:`.cuda` is tested against).
The math is in :mod:`minidl.kernels.array`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["binary", "unary", "copy_strided", "reduce_sum", "BINARY_OPS", "UNARY_OPS"]

BINARY_OPS = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}

UNARY_OPS = {
    "neg": lambda a, p, q: -a,
    "exp": lambda a, p, q: np.exp(a),
    "log": lambda a, p, q: np.log(a),
    "sqrt": lambda a, p, q: np.sqrt(a),
    "abs": lambda a, p, q: np.abs(a),
    "sign": lambda a, p, q: np.sign(a),
    "pow": lambda a, p, q: a ** p,
    "clip": lambda a, p, q: np.minimum(np.maximum(a, p), q),
    "inside": lambda a, p, q: ((a >= p) & (a <= q)).astype(a.dtype),
    "add": lambda a, p, q: a + p,
    "sub": lambda a, p, q: a - p,
    "rsub": lambda a, p, q: p - a,
    "mul": lambda a, p, q: a * p,
    "div": lambda a, p, q: a / p,
    "rdiv": lambda a, p, q: p / a,
}


def binary(op: str, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """``out = a <op> b`` with NumPy broadcasting; ``op`` in ``BINARY_OPS``."""
    BINARY_OPS[op](a, b, out=out)


def unary(op: str, a: np.ndarray, out: np.ndarray, p: float = 0.0, q: float = 0.0) -> None:
    """``out = f(a)`` element-wise; ``op`` in ``UNARY_OPS``, ``p``, ``q`` its scalars (NumPy's edge cases)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out.reshape(-1)[:] = UNARY_OPS[op](np.asarray(a).reshape(-1), p, q)


def copy_strided(a: np.ndarray, out: np.ndarray, steps: tuple | None = None) -> None:
    """``out = a`` read with ``steps`` (elements per output axis); ``steps=None`` broadcasts ``a``."""
    if steps is None:
        out[...] = np.broadcast_to(a, out.shape)
        return
    flat = np.ascontiguousarray(a).reshape(-1)
    view = np.lib.stride_tricks.as_strided(flat, shape=out.shape,
                                           strides=tuple(s * flat.itemsize for s in steps))
    out[...] = view


def reduce_sum(a: np.ndarray, axes: tuple | None, out: np.ndarray, scale: float = 1.0) -> None:
    """``out = scale * a.sum(axis=axes, keepdims=True)`` (float64 accumulation), any ``out`` shape of
    that size."""
    s = np.sum(a, axis=axes, keepdims=True, dtype=np.float64) * scale
    out.reshape(-1)[:] = s.reshape(-1)
