"""Matrix products for the CPU kernels: NumPy's BLAS, one thread per call, split over a small thread pool.

Why not simply ``np.matmul`` with OpenBLAS's own threads? Because the CPU kernels interleave BLAS calls
with Numba parallel loops, and the two thread pools fight: after every call OpenBLAS's worker threads
busy-wait for the next one (for up to ~2**28 cycles, ``OPENBLAS_THREAD_TIMEOUT``), holding a core that
the next Numba ``prange`` loop needs. Measured on the 2-core machine of bench/RESULTS.md: a LeNet-5 epoch
took 3-19 s with OpenBLAS threaded and 0.77 s with OpenBLAS at one thread (same Numba threads).

So every product goes through :func:`matmul` / :func:`matmul_tn`, which

- ask OpenBLAS for one thread, for the calling thread only and only during the call
  (``openblas_set_num_threads_local``, restored afterwards: the user's own NumPy code is untouched),
- and, for a large product, split the rows (the long dimension ``M`` of an im2col GEMM) into one block per
  worker: the calling thread and ``threads() - 1`` pool threads each run one single-threaded GEMM.
  Pool threads sleep on a queue between calls (no spinning); NumPy releases the GIL inside BLAS.

When the OpenBLAS entry point cannot be found (another BLAS, an old OpenBLAS), it falls back to plain
``np.matmul`` with the library's own threading. The thread count follows Numba's (``NUMBA_NUM_THREADS``,
the size of Numba's pool), so one setting governs all of minidl's CPU parallelism.
"""
from __future__ import annotations

import ctypes
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numba
import numpy as np

__all__ = ["matmul", "matmul_tn", "matmul_tn_beside", "threads", "blocks", "fork_join", "single_threaded_blas"]

# Products with fewer multiply-adds than this run in the calling thread: waking a sleeping pool thread
# costs ~0.05-0.2 ms, so splitting only pays for large products (measured on 2 cores, float32: a
# (6400 x 150) @ (150 x 16) product took 0.39 ms on one thread and 0.42 ms split in two; a
# (7744 x 288) @ (288 x 64) one 3.7 ms and 1.85 ms).
_SPLIT_MIN_FLOPS = 1 << 25


def _find_set_local() -> Callable[[int], int] | None:
    """``openblas_set_num_threads_local`` of the OpenBLAS that NumPy loaded, or None."""
    try:
        with open("/proc/self/maps") as f:
            paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so\S*)", f.read())))
    except OSError:  # not Linux
        return None
    for path in paths:
        try:
            fn = ctypes.CDLL(path).openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
        return fn
    return None


_set_local = _find_set_local()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def single_threaded_blas() -> bool:
    """Whether this module can (and does) run OpenBLAS one thread per call."""
    return _set_local is not None


def threads() -> int:
    """Number of workers a large product is split over (``NUMBA_NUM_THREADS``, Numba's pool size)."""
    return numba.config.NUMBA_NUM_THREADS if _set_local is not None else 1


def _one_blas_thread() -> None:
    """Pool threads: one OpenBLAS thread for their whole life (they only ever run our products), and a
    first tiny product so OpenBLAS sets up this thread's buffers before any real work."""
    if _set_local is not None:
        _set_local(1)
    np.matmul(np.ones((2, 2)), np.ones((2, 2)))


class _OneThread:
    """``with _OneThread():`` one OpenBLAS thread in the calling thread, restored on exit."""

    __slots__ = ("prev",)

    def __enter__(self) -> None:
        self.prev = _set_local(1) if _set_local is not None else 0

    def __exit__(self, *exc: object) -> None:
        if _set_local is not None:
            _set_local(self.prev)


def _workers(n: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < n:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="minidl-blas",
                                       initializer=_one_blas_thread)
            _pool_size = n
            # Start every worker now, while the caller waits (threads start lazily otherwise, and a
            # worker's first BLAS call would then overlap the caller's).
            barrier = threading.Barrier(n)
            for fut in [_pool.submit(barrier.wait) for _ in range(n)]:
                fut.result()
        return _pool


def blocks(m: int, t: int) -> list[tuple[int, int]]:
    """``range(m)`` cut into ``t`` contiguous ``(lo, hi)`` blocks of near-equal size, in order."""
    return [(i * m // t, (i + 1) * m // t) for i in range(t)]


def fork_join(fn: Callable, arg_lists: list[tuple]) -> list:
    """``[fn(*args) for args in arg_lists]``, all at once: the first call in the calling thread, the others
    on the sleeping pool threads; returns the results in order. ``fn`` must release the GIL while it works
    (a BLAS product, a ``nogil`` Numba function) for the calls to overlap. Used by every parallel pass
    that is not a Numba ``prange`` loop: the split products below, the CPU kernels' ``_on_threads`` and
    KMeans' assignment step."""
    futures = [_workers(len(arg_lists) - 1).submit(fn, *a) for a in arg_lists[1:]] if len(arg_lists) > 1 else []
    first = fn(*arg_lists[0])
    return [first] + [f.result() for f in futures]


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """``out = a @ b`` for 2-D ``a`` (M, K), ``b`` (K, N) and C-contiguous ``out`` (M, N); row blocks of
    ``a`` / ``out`` go to different threads."""
    m, k = a.shape
    t = min(threads(), max(m, 1))
    with _OneThread():
        if t <= 1 or m * k * b.shape[1] < _SPLIT_MIN_FLOPS:
            np.matmul(a, b, out=out)
            return
        fork_join(lambda lo, hi: np.matmul(a[lo:hi], b, out=out[lo:hi]), blocks(m, t))


def matmul_tn_beside(a: np.ndarray, b: np.ndarray, out: np.ndarray):
    """Starts ``out = a.T @ b`` on a pool thread and returns a Future to wait on (``.result()``), so that
    the calling thread can do other work meanwhile; or computes it at once (returning None) when there is
    one thread or the product is large enough for :func:`matmul_tn` to split it over the threads itself.

    For two small independent products, e.g. the tied autoencoder's decoder-path kernel gradient beside
    the gradient reaching its codes: two (64 x 784) x (784 x 128) products took 275 us one after the
    other and 195 us side by side on 2 cores (splitting either one by rows was slower than not at all).
    """
    m, k = a.shape
    if threads() <= 1 or m * k * b.shape[1] >= _SPLIT_MIN_FLOPS:
        matmul_tn(a, b, out)
        return None
    return _workers(threads() - 1).submit(np.matmul, a.T, b, out=out)


def matmul_tn(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """``out = a.T @ b`` for ``a`` (M, K), ``b`` (M, N), ``out`` (K, N): a sum over the long dimension M,
    so each thread multiplies one block of rows and the (K, N) partial products are added."""
    m, k = a.shape
    t = min(threads(), max(m, 1))
    with _OneThread():
        if t <= 1 or m * k * b.shape[1] < _SPLIT_MIN_FLOPS:
            np.matmul(a.T, b, out=out)
            return
        def part(lo: int, hi: int, first: bool) -> np.ndarray:  # the first block writes straight into out
            return np.matmul(a[lo:hi].T, b[lo:hi], out=out if first else None)

        partials = fork_join(part, [(lo, hi, i == 0) for i, (lo, hi) in enumerate(blocks(m, t))])
        for p in partials[1:]:
            out += p
