"""CUDA kernels (``numba.cuda``) for every function of the kernel contract in ``kernels/__init__.py``.

The functions here have the same names and argument order as ``kernels.reference`` and ``kernels.cpu``,
but their arrays are *device arrays*: make them with :func:`to_device`, :func:`empty` or :func:`zeros`,
read them back with :func:`to_host`. Scalars (strides, learning rates, ...) are plain Python numbers.
Without a GPU, set ``NUMBA_ENABLE_CUDASIM=1`` before numba is first imported and the same code runs on
Numba's CUDA simulator (every GPU thread becomes a Python thread: correct, and very slow).

How a CUDA kernel is laid out
-----------------------------
A kernel is a function that runs once per *thread*. Threads come in *blocks* (up to 1024 threads, here
256 for 1-D work and 16 x 16 for matrix tiles), and blocks form a *grid*. The launch
``kernel[blocks, threads](args)`` starts ``blocks * threads`` copies of the function; inside, each copy
asks ``cuda.grid(1)`` (= ``blockIdx.x * blockDim.x + threadIdx.x``) which index it is. The grid is
rounded up to whole blocks, so every kernel starts with ``if i >= n: return`` for the spare threads.
All grid and block sizes are chosen in one place, :func:`_launch_1d` and :func:`_launch_tiles`.

One thread per output element
-----------------------------
Almost every kernel here gives each thread exactly one output element (or one row, for the row-wise
softmax family) and lets it compute that element from scratch: a convolution thread loops over its
window, a ``conv2d_backward_kernel`` thread loops over N, OH and OW for its one weight. Because no two
threads ever write the same address there are no races and no atomics, and the results are
deterministic (no floating-point sums in a run-dependent order). Backward passes that would naturally
*scatter* (each dy element adds into several dx elements: conv input gradient, max-pool gradient) are
written instead as *gathers*: each dx thread finds the dy elements that touch it and sums them.

The CPU version of an op (``kernels/cpu.py``) has the same structure with the thread index replaced by
a ``prange`` loop over the same output elements, so the two are easy to read side by side: the body of
the CPU loop is the body of the CUDA kernel.

The only kernel that shares work between threads is the matrix product (:func:`matmul`, ``dense_*``,
``tied_ae_*``): a block of 16 x 16 threads computes a 16 x 16 tile of C = A @ B. It walks along K in
steps of 16; at each step every thread copies one element of A and one of B into *shared memory*
(``cuda.shared.array``, fast memory seen by the whole block), ``cuda.syncthreads()`` waits until the
tiles are full, each thread adds its 16 products, and a second ``syncthreads()`` waits before the tiles
are overwritten. Each global-memory element is then read 16 times less often than in the naive kernel.
The same kernel reads A or B transposed (a flag), which is all the dense backward needs.

Backward math, briefly (y the forward output, dy its upstream gradient)
-----------------------------------------------------------------------
- conv: y[n,oh,ow,f] = b[f] + sum_{i,j,c} x[n, oh*sh-ph+i, ow*sw-pw+j, c] w[i,j,c,f].
  dx[n,h,w,c] = sum over (i,j,f) with oh = (h+ph-i)/sh, ow = (w+pw-j)/sw whole and in range of
  dy[n,oh,ow,f] w[i,j,c,f];  dw[i,j,c,f] = sum_{n,oh,ow} x[n,oh*sh-ph+i,ow*sw-pw+j,c] dy[n,oh,ow,f];
  db[f] = sum_{n,oh,ow} dy[n,oh,ow,f].
- max-pool: the gradient goes to the chosen element only: dx[n,h,w,c] = sum of dy[n,oh,ow,c] over the
  windows whose argmax is h*W+w (windows overlap when stride < pool, hence a sum).
- relu: dx = dy (x > 0); sigmoid: dx = dy y (1-y); tanh: dx = dy (1-y^2).
- softmax: dx = y (dy - sum(dy y)); log-softmax (y = log p): dx = dy - p sum(dy).
- softmax + cross-entropy: d loss / d logits = p - t (times the scale, e.g. 1/M for the mean).
- BCE with logits: loss = max(z,0) - z t + log(1 + exp(-|z|)); d loss / dz = sigmoid(z) - t.
- dense y = x w + b: dx = dy w^T, dw = x^T dy, db = column sums of dy.
- tied autoencoder y = h(x W + b), xhat = g(y W^T + c): dz = dxhat g'(z) (from xhat), dc = sum_n dz;
  dy_total = dy + dz W; da = dy_total h'(a) (from y), db = sum_n da; dx = da W^T;
  dW = x^T da (encoder) + dz^T y (decoder).

Notes: numba compiles a kernel per argument-type signature, so float32 and float64 arrays each get their
own machine code. Float literals inside kernels are float64, so small expressions may be evaluated in
float64 before being stored in a float32 output. Only the matrix product keeps float32 throughout (its
shared-memory tile and accumulator follow the array dtype), since that is where the time goes.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import numba
from numba import cuda

__all__ = [
    "is_available", "to_device", "to_host", "empty", "zeros", "fill", "matmul",
    "conv2d_forward", "conv2d_backward_input", "conv2d_backward_kernel", "conv2d_backward_bias",
    "maxpool2d_forward", "maxpool2d_backward",
    "relu_forward", "relu_backward", "sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward",
    "softmax_forward", "softmax_backward", "log_softmax_forward", "log_softmax_backward",
    "softmax_xent_sparse_forward", "softmax_xent_sparse_backward",
    "softmax_xent_dense_forward", "softmax_xent_dense_backward",
    "bce_logits_forward", "bce_logits_backward",
    "dense_forward", "dense_backward", "dropout_forward", "dropout_backward",
    "tied_ae_forward", "tied_ae_backward", "sgd_update", "adam_update", "rmsprop_update",
    # generic array primitives used by minidl.ops and the autograd engine on 'cuda'
    "is_device_array", "binary", "unary", "copy_strided", "reduce_sum",
]

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


# ----------------------------------------------------------------------------------------------------
# Convolution, NHWC
# ----------------------------------------------------------------------------------------------------


@cuda.jit
def _conv2d_forward_kernel(x, w, b, out, sh, sw, ph, pw):
    i = cuda.grid(1)
    if i >= out.size:
        return
    n_, oh_n, ow_n, f_n = out.shape
    f = i % f_n
    r = i // f_n
    ow = r % ow_n
    r //= ow_n
    oh = r % oh_n
    n = r // oh_n
    h_n, w_n, c_n = x.shape[1], x.shape[2], x.shape[3]
    kh_n, kw_n = w.shape[0], w.shape[1]
    s = 0.0
    for di in range(kh_n):
        h = oh * sh - ph + di
        if h < 0 or h >= h_n:
            continue  # zero padding contributes nothing
        for dj in range(kw_n):
            ww = ow * sw - pw + dj
            if ww < 0 or ww >= w_n:
                continue
            for c in range(c_n):
                s += x[n, h, ww, c] * w[di, dj, c, f]
    out[n, oh, ow, f] = s + b[f]


def conv2d_forward(x, w, b, out, sh, sw, ph, pw, relu=False) -> None:
    """out[n,oh,ow,f] = b[f] + sum_{i,j,c} x[n, oh*sh-ph+i, ow*sw-pw+j, c] w[i,j,c,f]; one thread per out;
    then ReLU in place when ``relu``."""
    _check(x.ndim == 4 and w.ndim == 4 and out.ndim == 4, "conv2d: x, w, out must be 4-D")
    _check(x.shape[3] == w.shape[2] and out.shape[3] == w.shape[3] and out.shape[0] == x.shape[0],
           "conv2d: shapes of x, w and out do not agree")
    if out.size == 0:
        return
    blocks, threads = _launch_1d(out.size)
    _conv2d_forward_kernel[blocks, threads](x, w, b, out, int(sh), int(sw), int(ph), int(pw))
    if relu:
        relu_forward(out, out)


@cuda.jit
def _conv2d_backward_input_kernel(dy, w, dx, sh, sw, ph, pw):
    # Gather: dx[n,h,ww,c] collects every (output position, kernel tap) pair that read x[n,h,ww,c].
    i = cuda.grid(1)
    if i >= dx.size:
        return
    n_, h_n, w_n, c_n = dx.shape
    c = i % c_n
    r = i // c_n
    ww = r % w_n
    r //= w_n
    h = r % h_n
    n = r // h_n
    oh_n, ow_n, f_n = dy.shape[1], dy.shape[2], dy.shape[3]
    kh_n, kw_n = w.shape[0], w.shape[1]
    s = 0.0
    for di in range(kh_n):
        th = h + ph - di           # = oh * sh for the output row that used tap di at input row h
        if th < 0 or th % sh != 0:
            continue
        oh = th // sh
        if oh >= oh_n:
            continue
        for dj in range(kw_n):
            tw = ww + pw - dj
            if tw < 0 or tw % sw != 0:
                continue
            ow = tw // sw
            if ow >= ow_n:
                continue
            for f in range(f_n):
                s += dy[n, oh, ow, f] * w[di, dj, c, f]
    dx[n, h, ww, c] = s


def conv2d_backward_input(dy, w, dx, sh, sw, ph, pw) -> None:
    """dx (N,H,W,C) overwritten with the input gradient; one thread per dx element, gathering from dy."""
    _check(dy.ndim == 4 and w.ndim == 4 and dx.ndim == 4, "conv2d: dy, w, dx must be 4-D")
    _check(dx.shape[3] == w.shape[2] and dy.shape[3] == w.shape[3], "conv2d: shapes do not agree")
    if dx.size == 0:
        return
    blocks, threads = _launch_1d(dx.size)
    _conv2d_backward_input_kernel[blocks, threads](dy, w, dx, int(sh), int(sw), int(ph), int(pw))


@cuda.jit
def _conv2d_backward_kernel_kernel(x, dy, dw, sh, sw, ph, pw):
    i = cuda.grid(1)
    if i >= dw.size:
        return
    kh_n, kw_n, c_n, f_n = dw.shape
    f = i % f_n
    r = i // f_n
    c = r % c_n
    r //= c_n
    dj = r % kw_n
    di = r // kw_n
    n_n, h_n, w_n = x.shape[0], x.shape[1], x.shape[2]
    oh_n, ow_n = dy.shape[1], dy.shape[2]
    s = 0.0
    for n in range(n_n):
        for oh in range(oh_n):
            h = oh * sh - ph + di
            if h < 0 or h >= h_n:
                continue
            for ow in range(ow_n):
                ww = ow * sw - pw + dj
                if ww < 0 or ww >= w_n:
                    continue
                s += x[n, h, ww, c] * dy[n, oh, ow, f]
    dw[di, dj, c, f] = s


def conv2d_backward_kernel(x, dy, dw, sh, sw, ph, pw) -> None:
    """dw (KH,KW,C,F) overwritten; one thread per dw element looping over N, OH, OW."""
    _check(x.ndim == 4 and dy.ndim == 4 and dw.ndim == 4, "conv2d: x, dy, dw must be 4-D")
    _check(x.shape[3] == dw.shape[2] and dy.shape[3] == dw.shape[3], "conv2d: shapes do not agree")
    if dw.size == 0:
        return
    blocks, threads = _launch_1d(dw.size)
    _conv2d_backward_kernel_kernel[blocks, threads](x, dy, dw, int(sh), int(sw), int(ph), int(pw))


@cuda.jit
def _conv2d_backward_bias_kernel(dy, db):
    f = cuda.grid(1)
    if f >= db.size:
        return
    s = 0.0
    for n in range(dy.shape[0]):
        for oh in range(dy.shape[1]):
            for ow in range(dy.shape[2]):
                s += dy[n, oh, ow, f]
    db[f] = s


def conv2d_backward_bias(dy, db) -> None:
    """db (F,) overwritten with the sum of dy over N, OH, OW; one thread per filter."""
    _check(dy.ndim == 4 and db.shape == (dy.shape[3],), "conv2d: db must have shape (F,)")
    if db.size == 0:
        return
    blocks, threads = _launch_1d(db.size)
    _conv2d_backward_bias_kernel[blocks, threads](dy, db)


# ----------------------------------------------------------------------------------------------------
# Max-pooling, NHWC
# ----------------------------------------------------------------------------------------------------


@cuda.jit
def _maxpool2d_forward_kernel(x, out, argmax, kh, kw, sh, sw, ph, pw):
    i = cuda.grid(1)
    if i >= out.size:
        return
    n_, oh_n, ow_n, c_n = out.shape
    c = i % c_n
    r = i // c_n
    ow = r % ow_n
    r //= ow_n
    oh = r % oh_n
    n = r // oh_n
    h_n, w_n = x.shape[1], x.shape[2]
    best = 0.0
    best_idx = -1
    for di in range(kh):
        h = oh * sh - ph + di
        if h < 0 or h >= h_n:
            continue  # padding is never chosen
        for dj in range(kw):
            ww = ow * sw - pw + dj
            if ww < 0 or ww >= w_n:
                continue
            v = x[n, h, ww, c]
            if best_idx < 0 or v > best:  # strict '>' keeps the first maximum in row-major order
                best = v
                best_idx = h * w_n + ww
    out[n, oh, ow, c] = best
    argmax[n, oh, ow, c] = best_idx


def maxpool2d_forward(x, out, argmax, kh, kw, sh, sw, ph, pw) -> None:
    """out = max over each window; argmax (int64) = flat index h*W+w of the first maximum."""
    _check(x.ndim == 4 and out.ndim == 4 and tuple(argmax.shape) == tuple(out.shape),
           "maxpool2d: x, out must be 4-D and argmax shaped like out")
    if out.size == 0:
        return
    blocks, threads = _launch_1d(out.size)
    _maxpool2d_forward_kernel[blocks, threads](
        x, out, argmax, int(kh), int(kw), int(sh), int(sw), int(ph), int(pw))


@cuda.jit
def _maxpool2d_backward_kernel(dy, argmax, dx):
    # Gather: one thread per dx element sums dy over every window whose argmax points at it. Windows
    # that can contain row h start at oh*sh - ph with h - (kh-1) <= oh*sh - ph <= h; the kernel does not
    # know kh, so it scans every output row/column: fine for small pools, and never a race.
    i = cuda.grid(1)
    if i >= dx.size:
        return
    n_, h_n, w_n, c_n = dx.shape
    c = i % c_n
    r = i // c_n
    ww = r % w_n
    r //= w_n
    h = r % h_n
    n = r // h_n
    target = h * w_n + ww
    s = 0.0
    for oh in range(dy.shape[1]):
        for ow in range(dy.shape[2]):
            if argmax[n, oh, ow, c] == target:
                s += dy[n, oh, ow, c]
    dx[n, h, ww, c] = s


def maxpool2d_backward(dy, argmax, dx) -> None:
    """dx (N,H,W,C) overwritten: each dy element goes to its window's argmax (summed where windows overlap)."""
    _check(tuple(dy.shape) == tuple(argmax.shape) and dx.ndim == 4, "maxpool2d: shapes do not agree")
    if dx.size == 0:
        return
    blocks, threads = _launch_1d(dx.size)
    _maxpool2d_backward_kernel[blocks, threads](dy, argmax, dx)


# ----------------------------------------------------------------------------------------------------
# Element-wise activations (any shape: the wrappers flatten)
# ----------------------------------------------------------------------------------------------------


@cuda.jit
def _act_forward_kernel(x, out, code):
    i = cuda.grid(1)
    if i < out.size:
        out[i] = _act(code, x[i])


@cuda.jit
def _act_backward_kernel(y, dy, dx, code):
    # relu gets x here (x > 0 and relu(x) > 0 agree), the others their output y.
    i = cuda.grid(1)
    if i < dx.size:
        dx[i] = dy[i] * _act_grad_from_out(code, y[i])


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


def relu_forward(x, out) -> None:
    """out = max(x, 0)."""
    _elementwise(_act_forward_kernel, x, out, 1, n=_same_size(x, out))


def relu_backward(x, dy, dx) -> None:
    """dx = dy * (x > 0)."""
    _elementwise(_act_backward_kernel, x, dy, dx, 1, n=_same_size(x, dy, dx))


def sigmoid_forward(x, out) -> None:
    """out = 1 / (1 + exp(-x)), computed without overflow for large |x|."""
    _elementwise(_act_forward_kernel, x, out, 2, n=_same_size(x, out))


def sigmoid_backward(y, dy, dx) -> None:
    """dx = dy * y * (1 - y), y = sigmoid(x)."""
    _elementwise(_act_backward_kernel, y, dy, dx, 2, n=_same_size(y, dy, dx))


def tanh_forward(x, out) -> None:
    """out = tanh(x)."""
    _elementwise(_act_forward_kernel, x, out, 3, n=_same_size(x, out))


def tanh_backward(y, dy, dx) -> None:
    """dx = dy * (1 - y**2), y = tanh(x)."""
    _elementwise(_act_backward_kernel, y, dy, dx, 3, n=_same_size(y, dy, dx))


# ----------------------------------------------------------------------------------------------------
# Row-wise softmax family, 2-D (M, K): one thread per row
# ----------------------------------------------------------------------------------------------------


@cuda.jit(device=True)
def _row_max_lse(x, r):
    """(max, log-sum-exp) of row r, the max subtracted before exp so nothing overflows."""
    k = x.shape[1]
    mx = x[r, 0]
    for j in range(1, k):
        if x[r, j] > mx:
            mx = x[r, j]
    s = 0.0
    for j in range(k):
        s += math.exp(x[r, j] - mx)
    return mx, mx + math.log(s)


@cuda.jit
def _softmax_kernel(x, out, log):
    r = cuda.grid(1)
    if r >= x.shape[0]:
        return
    mx, lse = _row_max_lse(x, r)
    for j in range(x.shape[1]):
        if log:
            out[r, j] = x[r, j] - lse
        else:
            out[r, j] = math.exp(x[r, j] - lse)


@cuda.jit
def _softmax_backward_kernel(y, dy, dx):
    r = cuda.grid(1)
    if r >= y.shape[0]:
        return
    s = 0.0
    for j in range(y.shape[1]):
        s += dy[r, j] * y[r, j]
    for j in range(y.shape[1]):
        dx[r, j] = y[r, j] * (dy[r, j] - s)


@cuda.jit
def _log_softmax_backward_kernel(y, dy, dx):
    r = cuda.grid(1)
    if r >= y.shape[0]:
        return
    s = 0.0
    for j in range(y.shape[1]):
        s += dy[r, j]
    for j in range(y.shape[1]):
        dx[r, j] = dy[r, j] - math.exp(y[r, j]) * s


def _rows(kernel, first, *args) -> None:
    _check(first.ndim == 2, "row-wise kernel: arrays must be 2-D (M, K)")
    if first.shape[0] == 0 or first.shape[1] == 0:
        return
    blocks, threads = _launch_1d(first.shape[0])
    kernel[blocks, threads](first, *args)


def softmax_forward(x, out) -> None:
    """out = softmax(x) over the last axis (max-subtracted)."""
    _rows(_softmax_kernel, x, out, False)


def softmax_backward(y, dy, dx) -> None:
    """dx = y * (dy - sum(dy * y)) row by row."""
    _rows(_softmax_backward_kernel, y, dy, dx)


def log_softmax_forward(x, out) -> None:
    """out = x - logsumexp(x) over the last axis."""
    _rows(_softmax_kernel, x, out, True)


def log_softmax_backward(y, dy, dx) -> None:
    """dx = dy - exp(y) * sum(dy) row by row (y = log-softmax output)."""
    _rows(_log_softmax_backward_kernel, y, dy, dx)


@cuda.jit
def _xent_forward_kernel(x, labels, target, probs, losses, sparse):
    # Per row: probs = softmax(x); loss = -sum_j t_j log p_j = sum_j t_j (lse - x_j), or lse - x[label].
    r = cuda.grid(1)
    if r >= x.shape[0]:
        return
    mx, lse = _row_max_lse(x, r)
    for j in range(x.shape[1]):
        probs[r, j] = math.exp(x[r, j] - lse)
    if sparse:
        losses[r] = lse - x[r, labels[r]]
    else:
        s = 0.0
        for j in range(x.shape[1]):
            s += target[r, j] * (lse - x[r, j])
        losses[r] = s


@cuda.jit
def _xent_backward_kernel(probs, labels, target, dlogits, scale, sparse):
    r = cuda.grid(1)
    if r >= probs.shape[0]:
        return
    if sparse:
        for j in range(probs.shape[1]):
            dlogits[r, j] = probs[r, j] * scale
        lab = labels[r]
        dlogits[r, lab] = (probs[r, lab] - 1.0) * scale
    else:
        ts = 0.0
        for j in range(probs.shape[1]):
            ts += target[r, j]
        for j in range(probs.shape[1]):
            dlogits[r, j] = (probs[r, j] * ts - target[r, j]) * scale


def _mean_of_device(losses, count: int) -> float:
    # The per-element losses come back to the host and are summed there in float64: a handful of numbers
    # per batch, so a device reduction would not pay for its complexity.
    return float(losses.copy_to_host().sum(dtype=np.float64) / count) if count else float("nan")


def softmax_xent_sparse_forward(logits, labels, probs) -> float:
    """probs = softmax(logits); returns mean over rows of -log probs[row, label] (labels int64 (M,))."""
    _check(logits.ndim == 2 and labels.shape == (logits.shape[0],), "xent: labels must have shape (M,)")
    m = logits.shape[0]
    losses = cuda.device_array(m, dtype=np.float64)
    _rows(_xent_forward_kernel, logits, labels, _dummy(logits.dtype).reshape(1, 1), probs, losses, True)
    return _mean_of_device(losses, m)


def softmax_xent_sparse_backward(probs, labels, dlogits, scale) -> None:
    """dlogits = (probs - onehot(labels)) * scale."""
    _rows(_xent_backward_kernel, probs, labels, _dummy(probs.dtype).reshape(1, 1), dlogits,
          float(scale), True)


def softmax_xent_dense_forward(logits, target, probs) -> float:
    """probs = softmax(logits); returns mean over rows of -sum(target * log probs)."""
    _check(tuple(target.shape) == tuple(logits.shape), "xent: target must be shaped like logits")
    m = logits.shape[0]
    losses = cuda.device_array(m, dtype=np.float64)
    _rows(_xent_forward_kernel, logits, _dummy(np.int64), target, probs, losses, False)
    return _mean_of_device(losses, m)


def softmax_xent_dense_backward(probs, target, dlogits, scale) -> None:
    """dlogits = (probs * sum(target) - target) * scale, row by row."""
    _rows(_xent_backward_kernel, probs, _dummy(np.int64), target, dlogits, float(scale), False)


@cuda.jit
def _bce_forward_kernel(z, t, p, losses):
    i = cuda.grid(1)
    if i < z.size:
        v = z[i]
        losses[i] = max(v, 0.0) - v * t[i] + math.log1p(math.exp(-abs(v)))
        p[i] = _sigmoid(v)


@cuda.jit
def _bce_backward_kernel(p, t, dz, scale):
    i = cuda.grid(1)
    if i < dz.size:
        dz[i] = (p[i] - t[i]) * scale


def bce_logits_forward(z, t, p) -> float:
    """Mean over all elements of max(z,0) - z t + log(1 + exp(-|z|)) (binary cross-entropy on logits);
    p = sigmoid(z) for the backward pass."""
    n = _same_size(z, t, p)
    losses = cuda.device_array(max(n, 1), dtype=np.float64)
    _elementwise(_bce_forward_kernel, z, t, p, losses, n=n)
    return _mean_of_device(losses[:n], n)


def bce_logits_backward(p, t, dz, scale) -> None:
    """dz = (p - t) * scale, p = sigmoid(z) from the forward pass."""
    _elementwise(_bce_backward_kernel, p, t, dz, float(scale), n=_same_size(p, t, dz))


# ----------------------------------------------------------------------------------------------------
# Dense layer
# ----------------------------------------------------------------------------------------------------


def dense_forward(x, w, b, out) -> None:
    """out = x @ w + b: one tiled matmul with the bias added as each output element is written."""
    _gemm(x, w, out, bias=b)


def dense_backward(x, w, dy, dx, dw, db) -> None:
    """dx = dy @ w^T, dw = x^T @ dy (tiled matmuls reading one operand transposed), db = sum of dy rows."""
    _gemm(dy, w, dx, tb=True)
    _gemm(x, dy, dw, ta=True)
    _check(tuple(db.shape) == (dy.shape[1],), "dense: db must have shape (O,)")
    _col_sum(dy, db)


# ----------------------------------------------------------------------------------------------------
# Dropout
# ----------------------------------------------------------------------------------------------------


@cuda.jit
def _dropout_forward_kernel(x, u, rate, keep_scale, out, mask):
    i = cuda.grid(1)
    if i < out.size:
        m = keep_scale if u[i] >= rate else 0.0
        mask[i] = m
        out[i] = x[i] * m


@cuda.jit
def _mul_kernel(a, b, out):
    i = cuda.grid(1)
    if i < out.size:
        out[i] = a[i] * b[i]


def dropout_forward(x, u, rate, out, mask) -> None:
    """mask = (u >= rate) / (1 - rate); out = x * mask (inverted dropout; u uniforms in [0, 1))."""
    rate = float(rate)
    keep_scale = 1.0 / (1.0 - rate) if rate < 1.0 else 0.0
    _elementwise(_dropout_forward_kernel, x, u, rate, keep_scale, out, mask, n=_same_size(x, u, out, mask))


def dropout_backward(dy, mask, dx) -> None:
    """dx = dy * mask."""
    _elementwise(_mul_kernel, dy, mask, dx, n=_same_size(dy, mask, dx))


# ----------------------------------------------------------------------------------------------------
# Tied-weight autoencoder: composed from the tiled matmul and element-wise kernels
# ----------------------------------------------------------------------------------------------------


def tied_ae_forward(x, W, b, c, y, xhat, enc, dec) -> None:
    """y = h(x W + b); xhat = g(y W^T + c): two tiled matmuls with bias and activation fused in."""
    _gemm(x, W, y, bias=b, act=int(enc))
    _gemm(y, W, xhat, tb=True, bias=c, act=int(dec))


@cuda.jit
def _scale_by_act_grad_kernel(g, y, out, code):
    # out = g * act'(.) written in terms of the activation's output y.
    i = cuda.grid(1)
    if i < out.size:
        out[i] = g[i] * _act_grad_from_out(code, y[i])


@cuda.jit
def _add_kernel(a, out):
    i = cuda.grid(1)
    if i < out.size:
        out[i] += a[i]


def tied_ae_backward(x, W, y, xhat, dy, dxhat, dx, dW, db, dc, enc, dec) -> None:
    """Gradients of the tied autoencoder; dx, dW, db, dc overwritten, dW = encoder + decoder paths; dx
    may be None (not computed).

    dz = dxhat g'(z); dc = sum_n dz; da = (dy + dz W) h'(a); db = sum_n da; dx = da W^T;
    dW = x^T da + dz^T y.
    """
    n_, d = x.shape
    hd = W.shape[1]
    _check(tuple(W.shape) == (d, hd) and tuple(y.shape) == (n_, hd) and tuple(xhat.shape) == (n_, d),
           "tied_ae: shapes of x, W, y, xhat do not agree")
    dz = cuda.device_array((n_, d), dtype=x.dtype)
    _elementwise(_scale_by_act_grad_kernel, dxhat, xhat, dz, int(dec), n=dz.size)
    _col_sum(dz, dc)
    g = cuda.device_array((n_, hd), dtype=x.dtype)
    _gemm(dz, W, g)                                    # dz W: the gradient reaching y from the decoder
    _elementwise(_add_kernel, dy, g, n=g.size)         # + the upstream gradient of y
    da = cuda.device_array((n_, hd), dtype=x.dtype)
    _elementwise(_scale_by_act_grad_kernel, g, y, da, int(enc), n=da.size)
    _col_sum(da, db)
    if dx is not None:
        _gemm(da, W, dx, tb=True)
    _gemm(x, da, dW, ta=True)                          # encoder path
    _gemm(dz, y, dW, ta=True, accumulate=True)         # + decoder path


# ----------------------------------------------------------------------------------------------------
# Optimizer updates, in place on flat parameter arrays: one thread per parameter
# ----------------------------------------------------------------------------------------------------


@cuda.jit
def _sgd_kernel(param, grad, velocity, lr, momentum, nesterov):
    i = cuda.grid(1)
    if i < param.size:
        v = momentum * velocity[i] - lr * grad[i]
        velocity[i] = v
        if nesterov:
            param[i] += momentum * v - lr * grad[i]
        else:
            param[i] += v


@cuda.jit
def _adam_kernel(param, grad, m, v, lr_t, beta1, beta2, eps):
    i = cuda.grid(1)
    if i < param.size:
        g = grad[i]
        mi = m[i] + (g - m[i]) * (1.0 - beta1)
        vi = v[i] + (g * g - v[i]) * (1.0 - beta2)
        m[i] = mi
        v[i] = vi
        param[i] -= lr_t * mi / (math.sqrt(vi) + eps)


@cuda.jit
def _rmsprop_kernel(param, grad, ms, lr, rho, eps):
    i = cuda.grid(1)
    if i < param.size:
        g = grad[i]
        s = rho * ms[i] + (1.0 - rho) * g * g
        ms[i] = s
        param[i] -= lr * g / (math.sqrt(s) + eps)


def sgd_update(param, grad, velocity, lr, momentum, nesterov) -> None:
    """Keras SGD: v = m v - lr g; p += v (nesterov: p += m v - lr g with the new v)."""
    _elementwise(_sgd_kernel, param, grad, velocity, float(lr), float(momentum), bool(nesterov),
                 n=_same_size(param, grad, velocity))


def adam_update(param, grad, m, v, lr, beta1, beta2, eps, t) -> None:
    """Keras Adam at step t >= 1; the bias correction lr sqrt(1 - b2^t) / (1 - b1^t) is computed on the host."""
    beta1, beta2, t = float(beta1), float(beta2), int(t)
    lr_t = float(lr) * math.sqrt(1.0 - beta2 ** t) / (1.0 - beta1 ** t)
    _elementwise(_adam_kernel, param, grad, m, v, lr_t, beta1, beta2, float(eps),
                 n=_same_size(param, grad, m, v))


def rmsprop_update(param, grad, ms, lr, rho, eps) -> None:
    """ms = rho ms + (1 - rho) g^2; p -= lr g / (sqrt(ms) + eps)."""
    _elementwise(_rmsprop_kernel, param, grad, ms, float(lr), float(rho), float(eps),
                 n=_same_size(param, grad, ms))


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
