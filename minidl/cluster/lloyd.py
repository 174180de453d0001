"""Lloyd's algorithm, fast: one per-iteration kernel (distance GEMM + nearest centre + centre sums, chunk by
chunk on every thread) that serves ``fit`` (:func:`lloyd`) and ``predict`` (:func:`assign`).

What it optimises over the textbook version in :mod:`.reference` (which computes the full (n, k) distance
matrix, then the means):

* Distances through GEMMs, like scikit-learn: ``‖x‖² − 2 x·c + ‖c‖²`` with ``‖x‖²`` precomputed once per fit and
  ``X @ Cᵀ`` computed chunk by chunk (512 rows); right after each chunk's GEMM, while the chunk is still in
  cache, the same thread picks each sample's nearest centre and updates the centre sums (:func:`_chunk_pass`).
* The centre sums are carried from one iteration to the next: only the samples that changed cluster are moved
  from one sum to another, so the late iterations, where few labels change, read X once (for the GEMM).
* Every thread writes only to output it owns (its rows' labels, its own partial sums), so there are no data
  races and no atomics. No BLAS is called inside Numba's threads (nested OpenBLAS and Numba thread pools can
  dead-lock): the row blocks run on :mod:`minidl.kernels.blas`'s pool, each with a one-thread OpenBLAS GEMM and
  a ``nogil`` Numba pass.
* The dot products run in the input's float dtype (float32 stays float32, like scikit-learn's float32 GEMM);
  the norms, centre sums, shifts and inertia are accumulated in float64, so float32 input still converges like
  float64. Buffers are allocated once per run, not once per iteration.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from minidl.kernels import blas as _blas

__all__ = ["lloyd", "assign", "sq_norms", "exact_inertia", "mean_feature_variance"]

# Floating-point flags for the dot-product loops: "reassoc" lets LLVM split a sum into several SIMD partial sums
# (without it a reduction loop runs one scalar add at a time), "contract" lets it use fused multiply-adds. Both
# only change round-off (at the level of float32's own 1e-7), never which samples are summed.
_FAST = {"reassoc", "contract"}


@njit(parallel=True, fastmath=_FAST, cache=True)
def sq_norms(X):  # pragma: no cover - compiled
    """``‖x_i‖²`` of every row, accumulated in float64: ``(n, d) -> (n,)``. Computed once per fit."""
    n, d = X.shape
    out = np.empty(n)
    for i in prange(n):
        s = 0.0
        for f in range(d):
            v = np.float64(X[i, f])
            s += v * v
        out[i] = s
    return out


@njit(cache=True)
def _prepare_centers(centers, centers_x, c_sq):  # pragma: no cover - compiled
    """Copy the float64 ``centers`` ``(k, d)`` into ``centers_x`` (X's dtype) and write ``c_sq[j] = ‖c_j‖²``."""
    k, d = centers.shape
    for j in range(k):
        s = 0.0
        for f in range(d):
            c = centers[j, f]
            centers_x[j, f] = c
            s += c * c
        c_sq[j] = s


@njit(cache=True)
def _update_centers(centers, sums, counts):  # pragma: no cover - compiled
    """Update step in place: ``c_j ← sums_j / counts_j`` (an empty cluster keeps its centre).

    Returns:
        the total squared centre shift ``Σ_j ‖c_j^{new} − c_j‖²`` (scikit-learn's ``tol`` criterion).
    """
    k, d = centers.shape
    shift = 0.0
    for j in range(k):
        if counts[j] == 0:
            continue
        inv = 1.0 / counts[j]
        for f in range(d):
            new = sums[j, f] * inv
            delta = new - centers[j, f]
            shift += delta * delta
            centers[j, f] = new
    return shift


@njit(parallel=True, fastmath=_FAST, cache=True)
def exact_inertia(X, centers, labels):  # pragma: no cover - compiled
    """``Σ_i ‖x_i − c_{labels_i}‖²`` by explicit differences in float64 (no cancellation, unlike the dot form)."""
    n, d = X.shape
    total = 0.0
    for i in prange(n):
        j = labels[i]
        s = 0.0
        for f in range(d):
            diff = X[i, f] - centers[j, f]
            s += diff * diff
        total += s
    return total


@njit(fastmath=_FAST, cache=True)
def mean_feature_variance(X):  # pragma: no cover - compiled
    """``mean_f Var(X[:, f])`` in float64, two passes (means, then squared deviations: no cancellation).

    Row by row, so both passes stream X in memory order; scikit-learn scales ``tol`` by this number.
    """
    n, d = X.shape
    mean = np.zeros(d)
    for i in range(n):
        for f in range(d):
            mean[f] += X[i, f]
    mean /= n
    total = 0.0
    for i in range(n):
        for f in range(d):
            diff = X[i, f] - mean[f]
            total += diff * diff
    return total / (n * d)


@njit(cache=True)
def _relocate_empty(X, labels, min_dist, sums, counts):  # pragma: no cover - compiled
    """Re-seed every empty cluster with the sample farthest from its own centre (scikit-learn's rule).

    The moved sample is taken out of its old cluster's sum. Samples alone in their cluster are skipped so a move
    never empties another cluster. Returns the number of clusters that stayed empty (only when there are fewer
    distinct points than clusters).
    """
    k = counts.shape[0]
    n_empty = 0
    for j in range(k):
        if counts[j] == 0:
            n_empty += 1
    if n_empty == 0:
        return 0
    order = np.argsort(-min_dist)  # farthest first
    pos = 0
    left = 0
    for j in range(k):
        if counts[j] != 0:
            continue
        moved = False
        while pos < order.shape[0]:
            i = order[pos]
            pos += 1
            old = labels[i]
            if counts[old] <= 1 or min_dist[i] <= 0.0:
                continue
            for f in range(X.shape[1]):
                sums[old, f] -= X[i, f]
                sums[j, f] = X[i, f]
            counts[old] -= 1
            counts[j] = 1
            moved = True
            break
        if not moved:
            left += 1
    return left




# Rows per GEMM chunk in :func:`lloyd`: a (512, 784) float32 chunk is 1.6 MB, small enough to stay in the L2/L3
# cache between its distance GEMM and the pass that re-reads it (scikit-learn chunks by 256).
_CHUNK = 512


@njit(nogil=True, cache=True)
def _chunk_pass(X, lo, hi, dots, x_sq, c_sq, labels, min_dist, sums, counts, full):  # pragma: no cover - compiled
    """Assignment for rows ``lo:hi`` given their dot products ``dots[i - lo, j] = x_i · c_j``, plus the update-step sums.

    ``full``: add every row to its cluster's sum (``sums``/``counts`` then hold this thread's share of the totals).
    Otherwise only the rows whose label changed are moved, out of the old cluster's sum and into the new one
    (``sums``/``counts`` then hold this thread's share of the *change* of the totals): in a typical run only the
    first few iterations move many samples, so most iterations never re-read X for the sums.

    Serial and ``nogil``: it runs in one of :mod:`minidl.kernels.blas`'s pool threads right after that thread's
    own single-threaded GEMM on the same rows (no BLAS inside Numba's threads, no Numba threads here). Writes
    only rows ``lo:hi`` of ``labels``/``min_dist`` and adds into the caller's private ``sums (k, d)``/``counts (k,)``.
    Returns ``(inertia of these rows, number of changed labels)``.
    """
    d = X.shape[1]
    k = c_sq.shape[0]
    inertia = 0.0
    changed = 0
    for i in range(lo, hi):
        best = np.inf  # nearest centre by ‖c_j‖² − 2 x·c_j (‖x‖² is the same for every centre)
        best_j = 0
        for j in range(k):
            dist = c_sq[j] - 2.0 * dots[i - lo, j]
            if dist < best:
                best = dist
                best_j = j
        old = labels[i]
        if old != best_j:
            changed += 1
            labels[i] = best_j
        v = x_sq[i] + best
        v = v if v > 0.0 else 0.0
        min_dist[i] = v
        inertia += v
        if full:
            counts[best_j] += 1
            for f in range(d):
                sums[best_j, f] += X[i, f]
        elif old != best_j:
            counts[old] -= 1
            counts[best_j] += 1
            for f in range(d):
                sums[old, f] -= X[i, f]
                sums[best_j, f] += X[i, f]
    return inertia, changed


@njit(cache=True)
def _reduce_parts(part_sums, part_counts, sums, counts, full):  # pragma: no cover - compiled
    """``sums = Σ_t part_sums[t]`` (``full``) or ``sums += Σ_t part_sums[t]`` (changes), likewise ``counts``; serially
    in a fixed order (deterministic)."""
    n_blocks, k, d = part_sums.shape
    if full:
        sums[:] = 0.0
        counts[:] = 0
    for t in range(n_blocks):
        for j in range(k):
            counts[j] += part_counts[t, j]
            for f in range(d):
                sums[j, f] += part_sums[t, j, f]


@njit(cache=True)
def _label_sums(X, labels, sums, counts):  # pragma: no cover - compiled
    """``sums[j] = Σ_{labels_i = j} x_i`` and ``counts[j]`` from scratch, in float64 (the exact means at the end)."""
    sums[:] = 0.0
    counts[:] = 0
    for i in range(X.shape[0]):
        j = labels[i]
        counts[j] += 1
        for f in range(X.shape[1]):
            sums[j, f] += X[i, f]


def _block_step(X, lo, hi, centers_xT, dots, x_sq, c_sq, labels, min_dist, my_sums, my_counts, full):
    """One thread's share of a Lloyd step: rows ``lo:hi`` in chunks of ``_CHUNK``, each chunk one single-threaded
    GEMM ``X[a:b] @ C.T`` (OpenBLAS, GIL released) followed at once by :func:`_chunk_pass` (Numba, ``nogil``)
    while the chunk is still in cache. Adds into this thread's own ``my_sums``/``my_counts`` (zeroed here)."""
    inertia, changed = 0.0, 0
    my_sums[:] = 0.0
    my_counts[:] = 0
    with _blas._OneThread():
        for a in range(lo, hi, _CHUNK):
            b = min(hi, a + _CHUNK)
            np.matmul(X[a:b], centers_xT, out=dots[: b - a])
            i_, c_ = _chunk_pass(X, a, b, dots, x_sq, c_sq, labels, min_dist, my_sums, my_counts, full)
            inertia += i_
            changed += c_
    return inertia, changed


def _buffers(X: np.ndarray, k: int, n_threads: int) -> tuple:
    """Everything one run needs, allocated once: the row blocks (one per thread), the centres in X's dtype
    and their squared norms, labels (-1: "changed" for every sample in the first step), distances, the GEMM
    chunks' dot products, and per-thread and total centre sums."""
    n, d = X.shape
    n_blocks = max(1, min(n_threads, _blas.threads(), n))  # 1 when BLAS can't be pinned to one thread per call
    return (_blas.blocks(n, n_blocks), np.empty((k, d), dtype=X.dtype), np.empty(k),
            np.full(n, -1, dtype=np.int64), np.empty(n), np.empty((n_blocks, min(_CHUNK, n), k), dtype=X.dtype),
            np.empty((n_blocks, k, d)), np.empty((n_blocks, k), dtype=np.int64), np.empty((k, d)),
            np.empty(k, dtype=np.int64))


def _iteration(X, x_sq, centers, blocks, centers_x, c_sq, labels, min_dist, dots, part_sums, part_counts,
               sums, counts, full) -> tuple[float, int]:
    """One Lloyd iteration's pass over the data, the kernel ``fit`` and ``predict`` share: every thread runs
    GEMM + nearest centre + centre sums on its block of rows (:func:`_block_step`), then the per-thread sums
    are reduced in a fixed order. Returns ``(inertia, number of changed labels)``."""
    _prepare_centers(centers, centers_x, c_sq)
    args = [
        (X, lo, hi, centers_x.T, dots[t], x_sq, c_sq, labels, min_dist, part_sums[t], part_counts[t], full)
        for t, (lo, hi) in enumerate(blocks)
    ]
    results = _blas.fork_join(_block_step, args)  # one block per thread, all at once
    _reduce_parts(part_sums, part_counts, sums, counts, full)
    return sum(r[0] for r in results), sum(r[1] for r in results)


def assign(X: np.ndarray, x_sq: np.ndarray, centers: np.ndarray, n_threads: int) -> tuple[np.ndarray, np.ndarray, float]:
    """The assignment step alone, for ``predict`` / ``score``: one :func:`_iteration` with the centres fixed.

    Returns:
        ``(labels (n,) int64, min_dist (n,) float64, inertia)``.
    """
    blocks, centers_x, c_sq, labels, min_dist, dots, part_sums, part_counts, sums, counts = _buffers(
        X, centers.shape[0], n_threads)
    inertia, _ = _iteration(X, x_sq, centers, blocks, centers_x, c_sq, labels, min_dist, dots, part_sums,
                            part_counts, sums, counts, True)
    return labels, min_dist, inertia


def lloyd(X, x_sq, centers_init, max_iter, tol_abs, n_threads):
    """Lloyd iterations with scikit-learn's stopping rules.

    Each iteration computes the distances through GEMMs (``X @ C.T``, like scikit-learn): the rows are split in
    ``n_threads`` blocks, one per thread of :mod:`minidl.kernels.blas`'s sleeping pool (the caller runs the
    first), and each thread runs GEMM + argmin + centre sums chunk by chunk (:func:`_block_step`). The centre
    sums are kept from one iteration to the next and only the samples that changed cluster are moved
    (:func:`_chunk_pass`); the first iteration, and the one after an empty cluster was re-seeded, sum from
    scratch. Measured on 2 cores, 5,000 x 784 float32, k = 10, 73 iterations: 0.075 s against 0.096 s when every
    iteration re-sums all samples, identical labels. Then the empty-cluster fix-up and the centre update.
    Stops when no label changed (strict convergence: the centres are then recomputed as exactly the means of
    the returned labels) or when the total squared centre shift is ``≤ tol_abs``; in the latter case (and at
    ``max_iter``) a final assignment makes the labels match the returned centres. Every buffer is allocated
    once, before the iterations.

    Returns:
        ``(centers (k, d) float64, labels (n,) int64, n_iter, history (n_iter,) float64)`` where ``history[t]`` is
        the inertia of the assignment made in iteration ``t``.
    """
    centers = centers_init.copy()  # float64: the means are accumulated and stored in double precision
    blocks, centers_x, c_sq, labels, min_dist, dots, part_sums, part_counts, sums, counts = _buffers(
        X, centers.shape[0], n_threads)

    def step(full: bool) -> tuple[float, int]:
        return _iteration(X, x_sq, centers, blocks, centers_x, c_sq, labels, min_dist, dots, part_sums,
                          part_counts, sums, counts, full)

    history = []
    strict = False
    full = True
    for _ in range(max_iter):
        inertia, n_changed = step(full)
        history.append(inertia)
        # a re-seeded cluster's sum no longer matches the labels: sum from scratch in the next step
        full = bool(np.any(counts == 0))
        _relocate_empty(X, labels, min_dist, sums, counts)
        if n_changed == 0 and not full:
            _label_sums(X, labels, sums, counts)  # no drift from the running sums: exact means of the labels
        shift = _update_centers(centers, sums, counts)
        if n_changed == 0:
            strict = True
            break
        if shift <= tol_abs:
            break
    if not strict:
        step(True)
    return centers, labels, len(history), np.array(history)


# --------------------------------------------------------------------------------------------------------------
# Input checks and seeding
# --------------------------------------------------------------------------------------------------------------
