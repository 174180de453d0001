"""minidl.kernels.blas: split products equal NumPy's, and the caller's OpenBLAS setting is restored."""
import ctypes
import re

import numba
import numpy as np
import pytest

from minidl.kernels import blas


@pytest.mark.parametrize("m", [1, 2, 7, 300])
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_split_products_equal_numpy(monkeypatch, m, dt):
    monkeypatch.setattr(blas, "_SPLIT_MIN_FLOPS", 0)  # split even tiny products
    monkeypatch.setattr(blas, "threads", lambda: 3)
    rng = np.random.default_rng(m)
    a, b, bt = (rng.standard_normal(s).astype(dt) for s in ((m, 5), (5, 4), (m, 4)))
    tol = 1e-5 if dt == np.float32 else 1e-12

    def close(got, want, mag):  # rounding bound: tol * the sum of |terms| of each element
        assert np.all(np.abs(got - want) <= tol * mag), (got, want)

    out = np.full((m, 4), np.nan, dt)
    blas.matmul(a, b, out)
    close(out, a @ b, np.abs(a) @ np.abs(b))
    out_tn = np.full((5, 4), np.nan, dt)
    blas.matmul_tn(a, bt, out_tn)
    close(out_tn, a.T @ bt, np.abs(a).T @ np.abs(bt))
    out_t = np.full((m, 5), np.nan, dt)
    blas.matmul(bt, b.T, out_t)  # a transposed (non-contiguous) right operand
    close(out_t, bt @ b.T, np.abs(bt) @ np.abs(b).T)


@pytest.mark.parametrize("nthreads,split_min", [(1, 1 << 25), (2, 1 << 25), (2, 0)])
def test_product_beside_the_caller_equals_numpy(monkeypatch, nthreads, split_min):
    """On a pool thread (a Future), at once on one thread, and at once when large enough to be split."""
    monkeypatch.setattr(blas, "_SPLIT_MIN_FLOPS", split_min)
    monkeypatch.setattr(blas, "threads", lambda: nthreads)
    rng = np.random.default_rng(nthreads)
    a, b = rng.standard_normal((40, 7)), rng.standard_normal((40, 3))
    out = np.full((7, 3), np.nan)
    pending = blas.matmul_tn_beside(a, b, out)
    assert (pending is None) == (nthreads == 1 or split_min == 0)
    if pending is not None:
        pending.result()
    np.testing.assert_allclose(out, a.T @ b, rtol=1e-12, atol=1e-12)


def test_blocks_cover_the_range_in_order_and_fork_join_keeps_the_order():
    assert blas.blocks(10, 3) == [(0, 3), (3, 6), (6, 10)]
    assert blas.blocks(2, 3) == [(0, 0), (0, 1), (1, 2)]
    import threading

    def who(i):
        return i * i, threading.get_ident()

    out = blas.fork_join(who, [(i,) for i in range(4)])
    assert [v for v, _ in out] == [0, 1, 4, 9]
    assert out[0][1] == threading.get_ident()              # the first call runs in the calling thread
    assert all(tid != threading.get_ident() for _, tid in out[1:])  # the others on the pool


def test_threads_follow_numba():
    if not blas.single_threaded_blas():
        assert blas.threads() == 1
    else:
        assert blas.threads() == numba.config.NUMBA_NUM_THREADS


@pytest.mark.skipif(not blas.single_threaded_blas(), reason="NumPy's BLAS is not an OpenBLAS with "
                    "openblas_set_num_threads_local; matmul then falls back to np.matmul")
def test_callers_blas_thread_count_is_restored():
    paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so\S*)", open("/proc/self/maps").read())))
    lib = ctypes.CDLL(paths[0])
    get = next(getattr(lib, n) for n in ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads",
                                        "scipy_openblas_get_num_threads") if hasattr(lib, n))
    before = get()
    blas.matmul(np.ones((600, 600)), np.ones((600, 600)), np.empty((600, 600)))
    assert get() == before
