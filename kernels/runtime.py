"""The CPU kernels' runtime: one threading story, work buffers and argument checks (no math here).

Threading. Every parallel CPU kernel is a fork-join over blocks of its output: :func:`_on_threads` cuts the
work into one block per thread and runs them on :mod:`minidl.kernels.blas`'s pool of sleeping threads
(the caller runs the first block), so BLAS products and compiled ``nogil`` loops share one pool and never
nest. The few kernels written as Numba ``prange`` loops (max-pooling, column sums, optimizer updates) get
their thread count from :func:`_nt`, from the same two work thresholds. BLAS never runs inside a
``prange`` region (the two thread pools fight and can hang).

Scratch. :func:`_scratch` lends a grow-only per-thread buffer (the im2col chunks), :func:`release_scratch`
frees the calling thread's.
"""
from __future__ import annotations

import threading

import numba
import numpy as np

from .blas import blocks, fork_join, threads

__all__ = ["release_scratch"]


_JIT = dict(cache=True, fastmath=False, error_model="numpy")


_tls = threading.local()

# Threads per call. Waking sleeping threads costs ~50-100 us on the 2-core machine of bench/RESULTS.md
# (minidl runs OpenMP with OMP_WAIT_POLICY=PASSIVE, see minidl/__init__.py), more than a small kernel's
# whole work, so kernels with little work run on one thread and large ones on all of them
# (NUMBA_NUM_THREADS). Two thresholds, measured there: kernels doing real arithmetic per element
# (pooling's compares, the direct convolution) gain from 2**17 elements on (LeNet pool1 forward, 301k
# elements: 465 us on 1 thread, 314 us on 2), while streaming passes (ReLU, bias sums, dropout masks,
# optimizer updates, pooling's backward scatter, and sigmoid / tanh / BCE now that their exp, log1p and
# tanh are NumPy's SIMD ufuncs) are bound by memory and gain only from ~2**21 elements on (ReLU: 30 vs
# 77 us at 301k elements, 229 vs 198 us at 2M). Switching the Numba thread count costs ~1 us and happens
# only on a change.
_MAX_THREADS = numba.config.NUMBA_NUM_THREADS
_PAR_MIN_WORK = 1 << 17
_PAR_MIN_STREAM = 1 << 21


def _nt(work: int, min_work: int = _PAR_MIN_WORK) -> None:
    """Sets the Numba thread count of the calling thread for a kernel touching ``work`` elements."""
    t = _MAX_THREADS if work >= min_work else 1
    if getattr(_tls, "nt", 0) != t:
        numba.set_num_threads(t)
        _tls.nt = t


def _on_threads(fn, units: int, work: int, *args, min_work: int = _PAR_MIN_WORK) -> int:
    """Runs ``fn(lo, hi, t, *args)`` for ``t`` blocks of ``range(units)``: one block in the calling thread,
    the others on :mod:`minidl.kernels.blas`'s sleeping pool (``fn`` is a ``nogil`` Numba function, or
    Python that spends its time in BLAS or NumPy ufuncs, which release the GIL: the blocks run at once).
    Returns the number of blocks. Small work (below ``min_work``) runs in one block.
    Why not ``prange``: as serial functions these loops compile 2-3x faster than as ``parallel=True``
    ones (e.g. 0.08 vs 0.25 s for ReLU, ~1 s vs ~2.5 s for the direct convolution), and compile time
    is part of every cold start; the threading is the same fork-join. The kernels loop over
    ``range(uint64(lo), uint64(hi))``: with a signed loop index Numba must allow for negative (wrap-around)
    indices and LLVM does not vectorize (ReLU: 254 us signed, 26 us unsigned, 28 us as a prange loop)."""
    t = max(1, min(units, threads() if work >= min_work else 1))
    fork_join(fn, [(lo, hi, i, *args) for i, (lo, hi) in enumerate(blocks(units, t))])
    return t


def _scratch(rows: int, cols: int, dtype) -> np.ndarray:
    """A (rows, cols) work buffer reused across calls (one grow-only buffer per thread and dtype).

    Allocating a fresh multi-megabyte im2col buffer on every call costs page faults comparable to the
    GEMM itself, so the conv kernels borrow this one instead. Only one scratch buffer is in use at a time
    within a call and none is kept after it returns; :func:`release_scratch` frees the calling thread's.
    """
    key = np.dtype(dtype).str
    bufs = getattr(_tls, "bufs", None)
    if bufs is None:
        bufs = _tls.bufs = {}
    need = rows * cols
    buf = bufs.get(key)
    if buf is None or buf.size < need:
        buf = bufs[key] = np.empty(max(need, 1), dtype=dtype)
    return buf[:need].reshape(rows, cols)


def release_scratch() -> None:
    """Frees this thread's scratch buffers."""
    _tls.bufs = {}


def _c(a: np.ndarray, name: str) -> np.ndarray:
    """Returns ``a`` after checking it is a C-contiguous ndarray (outputs must be written in place)."""
    if not isinstance(a, np.ndarray) or not a.flags.c_contiguous:
        raise ValueError(f"{name} must be a C-contiguous numpy array")
    return a


def _flat(a: np.ndarray, name: str) -> np.ndarray:
    """A 1-D view of a C-contiguous array (a view, so writes reach the caller's array)."""
    return _c(a, name).reshape(-1)

