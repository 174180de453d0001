"""Benchmark of the CPU conv / pool kernels against PyTorch CPU, plus Numba compile and cache-load times.

Times forward + backward, batch 64, float32, of the conv and pooling layers of

* LeNet-5:          conv 6@5x5 'same' on 28x28x1, maxpool 2, conv 16@5x5 'valid', maxpool 2
* Keras MNIST CNN:  conv 32@3x3 'valid' on 28x28x1, maxpool 2, conv 64@3x3 'valid', maxpool 2

for ``minidl.kernels.cpu`` (NHWC) and, when torch is installed, the same layers in PyTorch CPU (NCHW,
``torch.nn.functional.conv2d`` / ``max_pool2d`` with autograd). As in a real network, the first conv layer
computes no input gradient (its input is the data) in both frameworks. Prints a table of medians and the
ratio minidl / torch (< 1 means minidl is faster; both timed alternately so that they share the
machine's load), then the cold compile time of every CPU kernel (fresh
process, empty ``NUMBA_CACHE_DIR``) and the warm load time (second process, same cache).

Usage::

    python bench/kernels.py [--reps 30] [--threads N] [--no-compile]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _import_kernels():
    try:
        from minidl.kernels import cpu, shapes
    except ImportError:  # package not installed yet: import the top-level kernels/ folder directly
        sys.path.insert(0, ROOT)
        from kernels import cpu, shapes
    return cpu, shapes


# (name, kind, params): conv params (F, k, padding); pool params (k,)
NETS = {
    "LeNet-5": [("conv1 6@5x5 same", "conv", (6, 5, "same")), ("pool1 2x2", "pool", (2,)),
                ("conv2 16@5x5 valid", "conv", (16, 5, "valid")), ("pool2 2x2", "pool", (2,))],
    "Keras MNIST CNN": [("conv1 32@3x3 valid", "conv", (32, 3, "valid")), ("pool1 2x2", "pool", (2,)),
                        ("conv2 64@3x3 valid", "conv", (64, 3, "valid")), ("pool2 2x2", "pool", (2,))],
}
BATCH = 64


def _paired_times(fa, fb, reps: int) -> tuple[list[float], list[float]]:
    """Times ``fa`` and ``fb`` alternately (so both see the same machine load); seconds per call."""
    for _ in range(2):
        fa()
        if fb is not None:
            fb()
    ta, tb = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        fa()
        ta.append(time.perf_counter() - t0)
        if fb is not None:
            t0 = time.perf_counter()
            fb()
            tb.append(time.perf_counter() - t0)
    return ta, tb


def _minidl_layers(cpu, shapes, layers, rng):
    """One closure per layer doing forward + backward with preallocated NHWC float32 buffers."""
    h, w, c = 28, 28, 1
    fns = []
    for idx, (_, kind, params) in enumerate(layers):
        x = rng.standard_normal((BATCH, h, w, c)).astype(np.float32)
        if kind == "conv":
            f, k, padding = params
            oh, ph, _ = shapes.conv_output_size(h, k, 1, padding)
            ow, pw, _ = shapes.conv_output_size(w, k, 1, padding)
            wt = (rng.standard_normal((k, k, c, f)) * 0.1).astype(np.float32)
            b = np.zeros(f, np.float32)
            y = np.empty((BATCH, oh, ow, f), np.float32)
            dy = rng.standard_normal(y.shape).astype(np.float32)
            dx, dw, db = np.empty_like(x), np.empty_like(wt), np.empty_like(b)
            need_dx = idx > 0

            keep = cpu.conv2d_keeps_cols(c, f, k, k, 1, 1)

            def fn(x=x, wt=wt, b=b, y=y, dy=dy, dx=dx, dw=dw, db=db, ph=ph, pw=pw, need_dx=need_dx, keep=keep):
                # as the Conv2D Function does on the CPU: the im2col matrix is kept for the kernel gradient
                # only for shallow windows (conv2d_keeps_cols), else rebuilt chunk by chunk
                cols = None
                if keep:
                    cols = np.empty((y.shape[0] * y.shape[1] * y.shape[2], wt.shape[0] * wt.shape[1] * wt.shape[2]),
                                    np.float32)
                cpu.conv2d_forward(x, wt, b, y, 1, 1, ph, pw, cols=cols)
                cpu.conv2d_backward_kernel(x, dy, dw, 1, 1, ph, pw, cols=cols)
                cpu.conv2d_backward_bias(dy, db)
                if need_dx:
                    cpu.conv2d_backward_input(dy, wt, dx, 1, 1, ph, pw)
            h, w, c = oh, ow, f
        else:
            (k,) = params
            oh, ph, _ = shapes.conv_output_size(h, k, k, "valid")
            ow, pw, _ = shapes.conv_output_size(w, k, k, "valid")
            y = np.empty((BATCH, oh, ow, c), np.float32)
            am = np.empty(y.shape, np.int64)
            dy = rng.standard_normal(y.shape).astype(np.float32)
            dx = np.empty_like(x)

            def fn(x=x, y=y, am=am, dy=dy, dx=dx, k=k, ph=ph, pw=pw):
                cpu.maxpool2d_forward(x, y, am, k, k, k, k, ph, pw)
                cpu.maxpool2d_backward(dy, am, dx)
            h, w = oh, ow
        fns.append(fn)
    return fns


def _torch_layers(torch, layers, rng):
    F = torch.nn.functional
    h, w, c = 28, 28, 1
    fns = []
    for idx, (_, kind, params) in enumerate(layers):
        x = torch.tensor(rng.standard_normal((BATCH, c, h, w)).astype(np.float32), requires_grad=idx > 0)
        if kind == "conv":
            f, k, padding = params
            wt = torch.tensor((rng.standard_normal((f, c, k, k)) * 0.1).astype(np.float32), requires_grad=True)
            b = torch.zeros(f, requires_grad=True)
            with torch.no_grad():
                yshape = F.conv2d(x, wt, b, padding=padding).shape
            dy = torch.tensor(rng.standard_normal(tuple(yshape)).astype(np.float32))

            def fn(x=x, wt=wt, b=b, dy=dy, padding=padding):
                wt.grad = b.grad = x.grad = None
                F.conv2d(x, wt, b, padding=padding).backward(dy)
            h, w, c = yshape[2], yshape[3], f
        else:
            (k,) = params
            with torch.no_grad():
                yshape = F.max_pool2d(x, k).shape
            dy = torch.tensor(rng.standard_normal(tuple(yshape)).astype(np.float32))

            def fn(x=x, dy=dy, k=k):
                x.grad = None
                F.max_pool2d(x, k).backward(dy)
            h, w = yshape[2], yshape[3]
        fns.append(fn)
    return fns


def _exercise_all(cpu, dtype=np.float32) -> None:
    """Calls every CPU kernel once on tiny arrays (compiles the ``dtype`` specialization of each)."""
    r = np.random.default_rng(0)
    a = lambda *s: r.standard_normal(s).astype(dtype)  # noqa: E731
    x, wt, b = a(2, 6, 6, 2), a(3, 3, 2, 3), a(3)
    y = np.empty((2, 6, 6, 3), dtype)
    x1 = x[..., :1].copy()
    cpu.conv2d_forward(x1, wt[:, :, :1].copy(), b, np.empty((2, 4, 4, 3), dtype), 1, 1, 0, 0)  # direct path
    cpu.conv2d_backward_kernel(x1, np.empty((2, 4, 4, 3), dtype), np.empty((3, 3, 1, 3), dtype), 1, 1, 0, 0)
    w17, y17 = a(3, 3, 1, 17), np.empty((2, 4, 4, 17), dtype)          # nine-tap direct path (> 16 filters)
    cpu.conv2d_forward(x1, w17, a(17), y17, 1, 1, 0, 0)
    cpu.conv2d_backward_kernel(x1, y17, np.empty_like(w17), 1, 1, 0, 0)
    x8, w8 = a(2, 6, 6, 8), a(3, 3, 8, 3)
    cpu.conv2d_forward(x8, w8, b, y, 1, 1, 1, 1)                     # im2col + GEMM path
    cpu.conv2d_backward_input(y, wt, np.empty_like(x), 1, 1, 1, 1)
    cpu.conv2d_backward_kernel(x, y, np.empty_like(wt), 1, 1, 1, 1)
    cpu.conv2d_backward_bias(y, np.empty_like(b))
    p, am = np.empty((2, 3, 3, 2), dtype), np.empty((2, 3, 3, 2), np.int64)
    cpu.maxpool2d_forward(x, p, am, 2, 2, 2, 2, 0, 0)
    cpu.maxpool2d_backward(p, am, np.empty_like(x))
    m, o = a(4, 5), np.empty((4, 5), dtype)
    for name in ("relu", "sigmoid", "tanh", "softmax", "log_softmax"):
        getattr(cpu, name + "_forward")(m, o)
        getattr(cpu, name + "_backward")(o, m, np.empty_like(m))
    lab = np.array([0, 1, 2, 3], np.int64)
    cpu.softmax_xent_sparse_forward(m, lab, o)
    cpu.softmax_xent_sparse_backward(o, lab, np.empty_like(m), 0.25)
    cpu.softmax_xent_dense_forward(m, o, np.empty_like(m))
    cpu.softmax_xent_dense_backward(o, m, np.empty_like(m), 0.25)
    cpu.bce_logits_forward(m, o, np.empty_like(m))
    cpu.bce_logits_backward(m, o, np.empty_like(m), 0.05)
    wd, bd, yd = a(5, 3), a(3), np.empty((4, 3), dtype)
    cpu.dense_forward(m, wd, bd, yd)
    cpu.dense_backward(m, wd, yd, np.empty_like(m), np.empty_like(wd), np.empty_like(bd))
    cpu.dropout_forward(m, np.abs(m), 0.5, o, np.empty_like(m))
    cpu.dropout_backward(m, o, np.empty_like(m))
    c = a(5)
    cpu.tied_ae_forward(m, wd, bd, c, yd, o, 2, 2)
    cpu.tied_ae_backward(m, wd, yd, o, yd, m, np.empty_like(m), np.empty_like(wd), np.empty_like(bd),
                         np.empty_like(c), 2, 2)
    flat = a(10)
    cpu.sgd_update(flat, a(10), np.zeros(10, dtype), 0.1, 0.9, True)
    cpu.adam_update(flat, a(10), np.zeros(10, dtype), np.zeros(10, dtype), 1e-3, 0.9, 0.999, 1e-7, 1)
    cpu.rmsprop_update(flat, a(10), np.zeros(10, dtype), 1e-3, 0.9, 1e-7)


def _compile_probe() -> None:
    t0 = time.perf_counter()
    cpu, _ = _import_kernels()
    t1 = time.perf_counter()
    _exercise_all(cpu)
    t2 = time.perf_counter()
    print(f"{t1 - t0:.3f} {t2 - t1:.3f}")


def _compile_times() -> tuple[float, float, float]:
    """(import seconds, cold compile seconds, warm load seconds), each in a fresh process."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        cmd = [sys.executable, os.path.abspath(__file__), "--_compile-probe"]
        cold = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout.split()
        warm = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout.split()
    return float(cold[0]), float(cold[1]), float(warm[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=30, help="timed repetitions per layer (median reported)")
    ap.add_argument("--threads", type=int, default=0,
                    help="threads for Numba, OpenBLAS and torch (default: their defaults)")
    ap.add_argument("--no-compile", action="store_true", help="skip the compile-time measurement")
    ap.add_argument("--_compile-probe", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._compile_probe:
        _compile_probe()
        return

    if args.threads and os.environ.get("_MINIDL_BENCH_THREADS") != str(args.threads):
        # Thread pools read their size when first loaded: re-run this script with the variables set.
        n = str(args.threads)
        env = dict(os.environ, NUMBA_NUM_THREADS=n, OPENBLAS_NUM_THREADS=n, OMP_NUM_THREADS=n,
                   MKL_NUM_THREADS=n, _MINIDL_BENCH_THREADS=n)
        sys.exit(subprocess.call([sys.executable, os.path.abspath(__file__), *sys.argv[1:]], env=env))

    cpu, shapes = _import_kernels()
    try:
        import torch
        if args.threads:
            torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
    import numba

    print(f"numpy {np.__version__}, numba {numba.__version__} ({numba.get_num_threads()} threads), "
          f"torch {torch.__version__ + f' ({torch.get_num_threads()} threads)' if torch else 'not installed'}")
    print(f"batch {BATCH}, float32, forward + backward per layer, {args.reps} runs each, minidl and torch "
          f"alternating; milliseconds, median (min); ratio = minidl / torch of the medians (of the mins)\n")
    header = (f"| {'network':<15} | {'layer':<18} | {'minidl ms':>15} | {'torch ms':>15} | "
              f"{'ratio':>11} |")
    print(header)
    print("|" + "|".join("-" * len(col) for col in header.split("|")[1:-1]) + "|")
    rng = np.random.default_rng(0)
    fmt = lambda med, mn: f"{med:7.2f} ({mn:5.2f})"  # noqa: E731
    for net, layers in NETS.items():
        mine = _minidl_layers(cpu, shapes, layers, rng)
        theirs = _torch_layers(torch, layers, rng) if torch else [None] * len(layers)
        tot = np.zeros(4)
        for (name, _, _), fm, ft in zip(layers, mine, theirs):
            ta, tb = _paired_times(fm, ft, args.reps)
            m = [statistics.median(ta) * 1e3, min(ta) * 1e3]
            if tb:
                t = [statistics.median(tb) * 1e3, min(tb) * 1e3]
                tot += m + t
                print(f"| {net:<15} | {name:<18} | {fmt(*m):>15} | {fmt(*t):>15} | "
                      f"{m[0] / t[0]:4.2f} ({m[1] / t[1]:4.2f}) |")
            else:
                tot += m + [0, 0]
                print(f"| {net:<15} | {name:<18} | {fmt(*m):>15} | {'-':>15} | {'-':>11} |")
        if torch:
            print(f"| {net:<15} | {'total':<18} | {fmt(*tot[:2]):>15} | {fmt(*tot[2:]):>15} | "
                  f"{tot[0] / tot[2]:4.2f} ({tot[1] / tot[3]:4.2f}) |")

    if not args.no_compile:
        imp, cold, warm = _compile_times()
        print(f"\nimport minidl.kernels.cpu: {imp:.2f} s; first call of every CPU kernel (float32): "
              f"cold compile {cold:.1f} s (empty NUMBA_CACHE_DIR), warm cache load {warm:.2f} s")


if __name__ == "__main__":
    main()
