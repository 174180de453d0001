"""Generic array primitives on the GPU: what the autograd engine and the basic ops (:mod:`minidl.ops`) need
there, where NumPy gives the CPU ``a + b``, ``a.sum(axis)``, ``a.T`` for free.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import cuda

from ..cuda_runtime import _check, _elementwise, _flat, _launch_1d, _same_size

__all__ = ["is_device_array", "binary", "unary", "copy_strided", "reduce_sum", "BINARY_OPS", "UNARY_OPS"]


# ----------------------------------------------------------------------------------------------------
# Generic array primitives: what the autograd engine and the basic ops (minidl.ops) need on the GPU
# ----------------------------------------------------------------------------------------------------
#
# NumPy gives the CPU path ``a + b``, ``a.sum(axis)``, ``a.T`` for free; on the device the same things
# are four small kernels, all "one thread per output element":
#
# - :func:`binary`: ``out = a op b`` with NumPy broadcasting. Broadcasting is only index arithmetic: the
#   host computes, for every axis of the output, the step (stride, in elements) that moves one position
#   along that axis in ``a`` and in ``b``, with step 0 on an axis where the operand has size 1 (it is
#   repeated). Each thread turns its flat output index into an output position, axis by axis from the
#   last, and adds up ``position * step`` to find its element of ``a`` and of ``b``.
# - :func:`copy_strided`: the same walk with one operand, which gives ``broadcast_to`` (steps 0),
#   ``transpose`` (permuted steps) and dtype casts (the output's dtype) as real, contiguous copies.
# - :func:`unary`: ``out = f(a)`` element-wise, including the operations with a scalar (``a * 3``).
# - :func:`reduce_sum`: each output element loops over the elements it sums (keepdims layout), so a sum
#   over any set of axes, and a mean (``scale = 1 / count``), is one launch with no atomics.
#
# The steps travel to the GPU as a small int64 array (3, ndim): output shape, steps of a, steps of b.
# They are cached per layout, so a training loop transfers them once, not once per step.

BINARY_OPS = {"add": 0, "sub": 1, "mul": 2, "div": 3}
_COPY = 4  # binary kernel code that ignores b: out = a (used by copy_strided)

UNARY_OPS = {
    "neg": 0, "exp": 1, "log": 2, "sqrt": 3, "abs": 4, "sign": 5,
    "pow": 6,          # a ** p
    "clip": 7,         # min(max(a, p), q)
    "inside": 8,       # 1 where p <= a <= q else 0 (the gradient mask of clip)
    "add": 9,          # a + p
    "sub": 10,         # a - p
    "rsub": 11,        # p - a
    "mul": 12,         # a * p
    "div": 13,         # a / p
    "rdiv": 14,        # p / a
}


def is_device_array(a) -> bool:
    """True for a numba device array (real GPU or simulator)."""
    return hasattr(a, "copy_to_host") and not isinstance(a, np.ndarray)


@cuda.jit
def _binary_kernel(a, b, out, meta, code):
    i = cuda.grid(1)
    if i >= out.size:
        return
    r = i
    ia = 0
    ib = 0
    for d in range(meta.shape[1] - 1, -1, -1):   # the output position, axis by axis from the last
        n = meta[0, d]
        k = r % n
        r //= n
        ia += k * meta[1, d]
        ib += k * meta[2, d]
    x = a[ia]
    if code == 4:
        out[i] = x
        return
    y = b[ib]
    if code == 0:
        out[i] = x + y
    elif code == 1:
        out[i] = x - y
    elif code == 2:
        out[i] = x * y
    else:
        out[i] = x / y


_META: dict = {}


def _meta(rows: tuple) -> Any:
    """The (3, ndim) int64 layout array on the device, cached by value (a handful per model)."""
    m = _META.get(rows)
    if m is None:
        if len(_META) > 512:  # a pathological stream of new shapes must not grow this forever
            _META.clear()
        m = _META[rows] = cuda.to_device(np.array(rows, dtype=np.int64).reshape(len(rows), -1))
    return m


def _broadcasts_to(shape: tuple, *shapes: tuple) -> bool:
    """Whether the ``shapes`` broadcast together to exactly ``shape`` (NumPy rules)."""
    try:
        return tuple(np.broadcast_shapes(shape, *(tuple(s) for s in shapes))) == shape and all(
            len(s) <= len(shape) for s in shapes)
    except ValueError:
        return False


def _steps(shape: tuple, out_shape: tuple) -> tuple:
    """Steps (in elements) of a C-contiguous array of ``shape`` broadcast to ``out_shape``."""
    lead = len(out_shape) - len(shape)
    steps = [0] * len(out_shape)
    acc = 1
    for d in range(len(shape) - 1, -1, -1):
        steps[lead + d] = acc if shape[d] != 1 else 0
        acc *= shape[d]
    return tuple(steps)


def _launch_strided(a, b, out, rows) -> None:
    if out.size == 0:
        return
    blocks, threads = _launch_1d(out.size)
    _binary_kernel[blocks, threads](_flat(a), _flat(b), _flat(out), _meta(rows[1:]), rows[0])


def binary(op: str, a, b, out) -> None:
    """out = a <op> b with NumPy broadcasting; ``op`` in :data:`BINARY_OPS` ('add', 'sub', 'mul', 'div').

    ``a``, ``b``: C-contiguous device arrays whose shapes broadcast to ``out.shape``. ``out`` may be ``a``
    itself (in-place accumulation ``a += b``): each thread reads and writes only its own element.
    """
    shape = tuple(out.shape)
    _check(_broadcasts_to(shape, a.shape, b.shape),
           f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} do not broadcast to out {shape}")
    if tuple(a.shape) == shape and tuple(b.shape) == shape:   # the common case: one flat axis
        rows = (BINARY_OPS[op], (out.size,), (1,), (1,))
    else:
        rows = (BINARY_OPS[op], shape, _steps(tuple(a.shape), shape), _steps(tuple(b.shape), shape))
    _launch_strided(a, b, out, rows)


def copy_strided(a, out, steps=None) -> None:
    """out = a read with ``steps`` (elements per output axis), into the C-contiguous ``out``.

    With ``steps=None``, ``a`` is broadcast to ``out.shape`` (NumPy rules), or simply copied: also a dtype
    cast when ``out`` has another dtype. A transpose passes the permuted steps of ``a``.
    """
    shape = tuple(out.shape)
    if steps is None:
        _check(_broadcasts_to(shape, a.shape), f"copy: shape {tuple(a.shape)} does not broadcast to {shape}")
        steps = _steps(tuple(a.shape), shape)
    _check(len(steps) == len(shape), "copy: one step per output axis")
    if len(shape) == 0:
        shape, steps = (1,), (0,)
    _launch_strided(a, a, out, (_COPY, shape, tuple(steps), tuple(steps)))


@cuda.jit
def _unary_kernel(a, out, code, p, q):
    i = cuda.grid(1)
    if i >= out.size:
        return
    x = a[i]
    if code == 0:
        out[i] = -x
    elif code == 1:
        out[i] = math.exp(x)
    elif code == 2:
        out[i] = math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan)
    elif code == 3:
        out[i] = math.sqrt(x) if x >= 0 else math.nan
    elif code == 4:
        out[i] = abs(x)
    elif code == 5:
        out[i] = 1 if x > 0 else (-1 if x < 0 else 0)
    elif code == 6:
        out[i] = x ** p
    elif code == 7:
        out[i] = min(max(x, p), q)
    elif code == 8:
        out[i] = 1 if (x >= p and x <= q) else 0
    elif code == 9:
        out[i] = x + p
    elif code == 10:
        out[i] = x - p
    elif code == 11:
        out[i] = p - x
    elif code == 12:
        out[i] = x * p
    elif code == 13:
        out[i] = x / p
    else:
        out[i] = p / x


def unary(op: str, a, out, p=0.0, q=0.0) -> None:
    """out = f(a) element-wise; ``op`` in :data:`UNARY_OPS`, ``p``, ``q`` its scalar parameters.

    ``a`` and ``out`` have the same size (any shape). NumPy's conventions at the edges: log(0) = -inf,
    log and sqrt of a negative number = nan.
    """
    n = _same_size(a, out)
    _elementwise(_unary_kernel, a, out, UNARY_OPS[op], float(p), float(q), n=n)


@cuda.jit
def _sum_kernel(a, out, meta, scale):
    # meta rows: 0 the output shape (keepdims: 1 on summed axes), 1 steps of a, 2 extent summed per axis.
    i = cuda.grid(1)
    if i >= out.size:
        return
    nd = meta.shape[1]
    r = i
    base = 0
    for d in range(nd - 1, -1, -1):
        n = meta[0, d]
        k = r % n
        r //= n
        base += k * meta[1, d]
    count = 1
    for d in range(nd):
        count *= meta[2, d]
    s = 0.0
    for j in range(count):
        q = j
        off = base
        for d in range(nd - 1, -1, -1):
            n = meta[2, d]
            k = q % n
            q //= n
            off += k * meta[1, d]
        s += a[off]
    out[i] = s * scale


def reduce_sum(a, axes, out, scale=1.0) -> None:
    """out = scale * a.sum(axis=axes, keepdims=True) (any shape for ``out`` with that many elements).

    ``axes``: a tuple of axes of ``a`` (None: all). ``scale=1/count`` gives the mean. Sums accumulate in
    float64, one thread per output element.
    """
    shape = tuple(a.shape)
    nd = len(shape)
    axes = tuple(range(nd)) if axes is None else tuple(int(x) % max(nd, 1) for x in axes)
    kept = tuple(1 if d in axes else n for d, n in enumerate(shape))
    _check(int(np.prod(kept)) == out.size, f"sum: out has {out.size} elements, expected {int(np.prod(kept))}")
    if out.size == 0:
        return
    if nd == 0:
        shape, kept, axes = (1,), (1,), (0,)
    steps = _steps(shape, shape)
    summed = tuple(n if d in axes else 1 for d, n in enumerate(shape))
    blocks, threads = _launch_1d(out.size)
    _sum_kernel[blocks, threads](_flat(a), _flat(out), _meta((kept, steps, summed)), float(scale))
