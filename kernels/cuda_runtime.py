"""The CUDA kernels' runtime: launch configuration, device arrays, the activation device functions and the
shared-memory tiled matrix product used by dense, the tied autoencoder and the array primitives.

See :mod:`minidl.kernels.cuda` for how a CUDA kernel is laid out (one thread per output element).
"""
from __future__ import annotations

import math

import numba
import numpy as np
from numba import cuda

__all__ = ["is_available", "to_device", "to_host", "empty", "zeros", "fill", "matmul"]


THREADS_1D = 256   # threads per block for one-thread-per-element kernels (a multiple of the warp size, 32)
TILE = 16          # side of the square matmul tile; a block is TILE x TILE threads
WARP = 32

# ----------------------------------------------------------------------------------------------------
# Launch configuration: the only place grid and block sizes are chosen.
# ----------------------------------------------------------------------------------------------------


def _launch_1d(n: int) -> tuple[int, int]:
    """(blocks, threads) covering ``n`` work items with one thread each.

    Small problems get a smaller block (rounded up to whole warps) so that few threads idle; large ones
    get ``THREADS_1D`` threads per block and as many blocks as needed.
    """
    n = max(int(n), 1)
    threads = min(THREADS_1D, -(-n // WARP) * WARP)
    return -(-n // threads), threads


def _launch_tiles(rows: int, cols: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """(grid, block) for the tiled matmul: one TILE x TILE block per output tile; x runs over columns."""
    return (max(-(-cols // TILE), 1), max(-(-rows // TILE), 1)), (TILE, TILE)


# ----------------------------------------------------------------------------------------------------
# Device utilities
# ----------------------------------------------------------------------------------------------------


def is_available() -> bool:
    """True when CUDA kernels can run: a usable GPU, or the simulator (``NUMBA_ENABLE_CUDASIM=1``)."""
    try:
        return bool(cuda.is_available())
    except Exception:  # a broken driver install should read as 'no CUDA', not crash the caller
        return False


def to_device(a):
    """Copies a NumPy array (made C-contiguous) to a new device array; 0-d arrays stay 0-d."""
    a = np.asarray(a)
    return cuda.to_device(a if a.flags.c_contiguous else np.ascontiguousarray(a))


def to_host(d) -> np.ndarray:
    """Copies a device array back into a new NumPy array."""
    return d.copy_to_host()


def empty(shape, dtype=np.float32):
    """A new uninitialised device array."""
    return cuda.device_array(shape, dtype=np.dtype(dtype))


def _flat(d):
    """A 1-D view of a C-contiguous device array (element-wise kernels see every shape as flat)."""
    return d.reshape(d.size)


@cuda.jit
def _fill_kernel(out, value):
    i = cuda.grid(1)
    if i < out.size:
        out[i] = value


def fill(d, value) -> None:
    """Sets every element of the device array ``d`` to ``value``, in place."""
    if d.size == 0:
        return
    flat = _flat(d)
    blocks, threads = _launch_1d(flat.size)
    _fill_kernel[blocks, threads](flat, value)


def zeros(shape, dtype=np.float32):
    """A new device array of zeros."""
    d = empty(shape, dtype)
    fill(d, 0)
    return d


def _check(cond: bool, msg: str) -> None:
    # GPU kernels do not check bounds: a wrong shape would write outside an array, so check on the host.
    if not cond:
        raise ValueError(msg)


# ----------------------------------------------------------------------------------------------------
# Activations as device functions (called from kernels, inlined by the compiler)
# ----------------------------------------------------------------------------------------------------


@cuda.jit(device=True)
def _sigmoid(v):
    # Stable in both directions: exp is only ever taken of a non-positive number.
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


@cuda.jit(device=True)
def _act(code, v):
    """Activation number ``code`` (shapes.ACT_CODES) of ``v``."""
    if code == 1:
        return v if v > 0 else 0.0 * v
    if code == 2:
        return _sigmoid(v)
    if code == 3:
        return math.tanh(v)
    return v


@cuda.jit(device=True)
def _act_grad_from_out(code, y):
    """Derivative of the activation, written in terms of its output y."""
    if code == 1:
        return 1.0 if y > 0 else 0.0
    if code == 2:
        return y * (1.0 - y)
    if code == 3:
        return 1.0 - y * y
    return 1.0


# ----------------------------------------------------------------------------------------------------
# Tiled matrix product (shared memory). c = act(op(a) @ op(b) + bias) [+ c]
# ----------------------------------------------------------------------------------------------------

_MATMUL_KERNELS: dict = {}


def _matmul_kernel(dtype):
    """The tiled matmul kernel for one dtype (the shared-memory tile must have a compile-time type)."""
    key = np.dtype(dtype)
    kern = _MATMUL_KERNELS.get(key)
    if kern is not None:
        return kern
    nbtype = numba.from_dtype(key)

    @cuda.jit
    def kernel(a, b, c, bias, ta, tb, use_bias, act, accumulate):
        # op(a) is (M, K): a itself is (M, K), or (K, M) read transposed when ta; likewise op(b) is (K, N).
        sa = cuda.shared.array((TILE, TILE), dtype=nbtype)
        sb = cuda.shared.array((TILE, TILE), dtype=nbtype)
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        row = cuda.blockIdx.y * TILE + ty
        col = cuda.blockIdx.x * TILE + tx
        m = c.shape[0]
        n = c.shape[1]
        k = a.shape[0] if ta else a.shape[1]
        acc = nbtype(0)
        for t in range((k + TILE - 1) // TILE):
            # Each thread loads one element of each tile (zero outside the matrices) ...
            ka = t * TILE + tx
            if row < m and ka < k:
                sa[ty, tx] = a[ka, row] if ta else a[row, ka]
            else:
                sa[ty, tx] = 0
            kb = t * TILE + ty
            if kb < k and col < n:
                sb[ty, tx] = b[col, kb] if tb else b[kb, col]
            else:
                sb[ty, tx] = 0
            cuda.syncthreads()  # ... the whole block waits until both tiles are complete,
            for q in range(TILE):
                acc += sa[ty, q] * sb[q, tx]
            cuda.syncthreads()  # ... and waits again before the next step overwrites them.
        # Spare threads return only now: every thread of the block must reach each syncthreads().
        if row < m and col < n:
            if use_bias:
                acc += bias[col]
            v = _act(act, acc)
            if accumulate:
                c[row, col] += v
            else:
                c[row, col] = v

    _MATMUL_KERNELS[key] = kernel
    return kernel


_DUMMIES: dict = {}


def _dummy(dtype):
    """A one-element device array passed where a kernel's optional array argument is unused."""
    key = np.dtype(dtype)
    if key not in _DUMMIES:
        _DUMMIES[key] = cuda.device_array(1, dtype=key)
    return _DUMMIES[key]


def _gemm(a, b, c, ta=False, tb=False, bias=None, act=0, accumulate=False) -> None:
    """c = act(op(a) @ op(b) + bias), or c += that when ``accumulate``; op transposes when asked."""
    m, ka = (a.shape[1], a.shape[0]) if ta else (a.shape[0], a.shape[1])
    kb, n = (b.shape[1], b.shape[0]) if tb else (b.shape[0], b.shape[1])
    _check(ka == kb, f"matmul: inner dimensions differ ({ka} vs {kb})")
    _check(tuple(c.shape) == (m, n), f"matmul: out has shape {tuple(c.shape)}, expected {(m, n)}")
    _check(bias is None or tuple(bias.shape) == (n,), f"matmul: bias must have shape ({n},)")
    if m == 0 or n == 0:
        return
    grid, block = _launch_tiles(m, n)
    _matmul_kernel(c.dtype)[grid, block](
        a, b, c, _dummy(c.dtype) if bias is None else bias, bool(ta), bool(tb), bias is not None,
        int(act), bool(accumulate),
    )


def matmul(a, b, out, ta=False, tb=False) -> None:
    """out = op(a) @ op(b) for 2-D device arrays, op(a) (M,K), op(b) (K,N), out (M,N), with the
    shared-memory tiled kernel; ``ta`` / ``tb`` read a / b transposed (no copy), as matmul backward needs."""
    _gemm(a, b, out, ta=ta, tb=tb)


@cuda.jit
def _col_sum_kernel(x, out, accumulate):
    # One thread per column: out[j] (+)= sum_i x[i, j].
    j = cuda.grid(1)
    if j >= x.shape[1]:
        return
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i, j]
    if accumulate:
        out[j] += s
    else:
        out[j] = s


def _col_sum(x, out, accumulate=False) -> None:
    blocks, threads = _launch_1d(x.shape[1])
    _col_sum_kernel[blocks, threads](x, out, bool(accumulate))



def _elementwise(kernel, *arrays_and_scalars, n) -> None:
    if n == 0:
        return
    blocks, threads = _launch_1d(n)
    args = [_flat(a) if hasattr(a, "copy_to_host") else a for a in arrays_and_scalars]
    kernel[blocks, threads](*args)


def _same_size(*arrays) -> int:
    n = arrays[0].size
    _check(all(a.size == n for a in arrays), "element-wise kernel: arrays differ in size")
    return n

