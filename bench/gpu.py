"""GPU benchmark (issue 7): LeNet-5 and the Keras MNIST CNN epoch on 'cuda' against 'cpu' and PyTorch CUDA.

One training epoch over 60,000 MNIST-shaped samples (the 5,000 embedded digits tiled) at batch 128,
SGD(0.01, momentum 0.9), sparse categorical cross-entropy, for

- minidl on 'cuda' (``model.to('cuda')``, see docs/cuda.md),
- minidl on 'cpu' (the same model and data),
- PyTorch on CUDA, when torch with CUDA is installed (plain training loop, data already on the GPU).

Each is timed as the median of ``--epochs`` epochs after one warm-up epoch (compilation, allocator), and
the ratios are printed against the targets: minidl 'cuda' >= 10x faster than minidl 'cpu' on the CNN
epoch, and within 2x of PyTorch CUDA.

Without a real NVIDIA GPU the script says so and exits with status 0 without timing anything. With
``--simulator`` it runs on Numba's CUDA simulator instead (``NUMBA_ENABLE_CUDASIM=1``): only to check that
the code path works (use ``--quick``: tiny images and a handful of samples); simulator times are not
GPU timings and are labelled as such.

Usage::

    python bench/gpu.py                       # on a machine with an NVIDIA GPU (pip install -e ".[cuda]")
    python bench/gpu.py --simulator --quick   # smoke test anywhere
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["main", "gpu_available"]


def gpu_available() -> tuple[bool, str]:
    """(True, device name) when numba.cuda sees a GPU (or the simulator is on); (False, why) otherwise."""
    try:
        from numba import cuda
    except ImportError as e:  # numba-cuda missing
        return False, f"numba.cuda cannot be imported ({e}); install the extra: pip install -e \".[cuda]\""
    try:
        if not cuda.is_available():
            return False, "numba.cuda found no NVIDIA GPU (no driver or no device)"
        if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
            return True, "CUDA simulator"
        name = cuda.get_current_device().name
        return True, name.decode() if isinstance(name, bytes) else str(name)
    except Exception as e:  # driver errors surface here
        return False, f"numba.cuda could not open a GPU: {e}"


def _models(size: int, tiny: bool = False):
    """The two networks on (size, size, 1) inputs; ``tiny`` divides every width (for the simulator, which
    runs each GPU thread as a Python thread: the real widths take many minutes per step there)."""
    from minidl import layers as L

    w = (lambda c: max(2, c // 16)) if tiny else (lambda c: c)
    lenet = [L.Input((size, size, 1)), L.Conv2D(w(6), 5, padding="same", activation="relu"), L.MaxPooling2D(2),
             L.Conv2D(w(16), 5, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
             L.Dense(w(120), activation="relu"), L.Dense(w(84), activation="relu"), L.Dense(10, activation="softmax")]
    cnn = [L.Input((size, size, 1)), L.Conv2D(w(32), 3, activation="relu"), L.MaxPooling2D(2),
           L.Conv2D(w(64), 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
           L.Dense(w(128), activation="relu"), L.Dense(10, activation="softmax")]
    return {"lenet5": lenet, "cnn": cnn}


def _time(fn, epochs: int, warmup: bool = True) -> float:
    if warmup:
        fn()  # compilation, device allocations
    ts = []
    for _ in range(epochs):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def _minidl_epoch(name: str, device: str, x, y, batch: int, size: int, tiny: bool = False):
    import minidl
    from minidl import models

    minidl.utils.set_random_seed(0)
    m = models.Sequential(_models(size, tiny)[name])
    m.compile(optimizer=minidl.optimizers.SGD(0.01, momentum=0.9), loss="sparse_categorical_crossentropy")
    if device != "cpu":
        m.to(device)
    return lambda: m.fit(x, y, batch_size=batch, epochs=1, verbose=0)


def _torch_cuda_epoch(name: str, x, y, batch: int):
    import torch
    import torch.nn as nn

    if name == "lenet5":
        tm = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                           nn.MaxPool2d(2), nn.Flatten(), nn.LazyLinear(120), nn.ReLU(), nn.Linear(120, 84),
                           nn.ReLU(), nn.Linear(84, 10))
    else:
        tm = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                           nn.MaxPool2d(2), nn.Flatten(), nn.LazyLinear(128), nn.ReLU(), nn.Linear(128, 10))
    tm = tm.cuda()
    xt = torch.tensor(x.transpose(0, 3, 1, 2).copy()).cuda()
    yt = torch.tensor(y).cuda()
    tm(xt[:2])  # materialise the lazy layer before the optimizer sees the parameters
    opt = torch.optim.SGD(tm.parameters(), lr=0.01, momentum=0.9)
    lossf = nn.CrossEntropyLoss()

    def epoch() -> None:
        perm = torch.randperm(len(xt), device="cuda")
        for i in range(0, len(xt), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            lossf(tm(xt[idx]), yt[idx]).backward()
            opt.step()
        torch.cuda.synchronize()

    return epoch


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="minidl 'cuda' vs 'cpu' vs PyTorch CUDA training epochs")
    ap.add_argument("--samples", type=int, default=60000)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs (median) after one warm-up epoch")
    ap.add_argument("--simulator", action="store_true", help="run on Numba's CUDA simulator (code-path check only)")
    ap.add_argument("--quick", action="store_true", help="tiny smoke version: 12x12 images, widths / 16, 2 samples, one step, no warm-up")
    ap.add_argument("--no-cpu", action="store_true", help="skip the minidl 'cpu' epochs")
    args = ap.parse_args(argv)
    if args.simulator:
        if "numba" in sys.modules and os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
            print("bench/gpu.py: --simulator must be set before numba is imported", file=sys.stderr)
            return 2
        os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
    simulated = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
    ok, what = gpu_available()
    if not ok:
        print(f"bench/gpu.py: no GPU benchmark run: {what}. Nothing was timed. "
              "Run on a machine with an NVIDIA GPU, or use --simulator --quick to check the code path.")
        return 0
    if simulated and not args.quick:
        print("bench/gpu.py: the simulator is far too slow for the full benchmark; add --quick")
        return 2

    import numpy as np

    sys.path.insert(0, str(ROOT))
    from bench.worker import load_data

    # --quick: one training step per model and device of narrow versions of the two networks, no warm-up
    # (the simulator runs every GPU thread in Python)
    size, n, batch, epochs = (12, 2, 2, 1) if args.quick else (28, args.samples, args.batch, args.epochs)
    warm = not args.quick
    x, y = load_data(n)
    x = np.ascontiguousarray(x[:, :size, :size, None])
    label = "CUDA SIMULATOR (code-path check, not GPU timings)" if simulated else f"GPU: {what}"
    print(f"# {label}; {n} samples {size}x{size}, batch {batch}, median of {epochs} epochs" + (" after a warm-up" if warm else ", no warm-up"))

    res: dict[str, dict[str, float | None]] = {}
    for name in ("lenet5", "cnn"):
        r: dict[str, float | None] = {"cuda": _time(_minidl_epoch(name, "cuda", x, y, batch, size, args.quick), epochs, warm)}
        r["cpu"] = None if args.no_cpu else _time(_minidl_epoch(name, "cpu", x, y, batch, size, args.quick), epochs, warm)
        res[name] = r
    # torch last: imported after minidl's CPU epochs so that its OpenMP settings do not touch them
    torch_ok = False
    if not simulated:
        try:
            import torch

            torch_ok = torch.cuda.is_available()
        except ImportError:
            pass
    for name in res:
        res[name]["torch_cuda"] = _time(_torch_cuda_epoch(name, x, y, batch), epochs) if torch_ok else None

    def f(v):
        return "missing" if v is None else f"{v:.4g}"

    print(f"{'epoch':8s} {'cuda s':>8s} {'cpu s':>8s} {'cpu/cuda':>9s} {'torch cuda s':>13s} {'cuda/torch':>11s}")
    for name, r in res.items():
        sp = f"{r['cpu'] / r['cuda']:.2f}" if r["cpu"] else "-"
        vt = f"{r['cuda'] / r['torch_cuda']:.2f}" if r["torch_cuda"] else "-"
        print(f"{name:8s} {f(r['cuda']):>8s} {f(r['cpu']):>8s} {sp:>9s} {f(r['torch_cuda']):>13s} {vt:>11s}")
    c = res["cnn"]
    if simulated:
        print("targets not evaluated: simulator timings say nothing about a GPU")
    else:
        if c["cpu"]:
            print(f"target CNN: cuda >= 10x faster than cpu: {c['cpu'] / c['cuda']:.1f}x -> "
                  f"{'met' if c['cpu'] / c['cuda'] >= 10 else 'MISSED'}")
        if c["torch_cuda"]:
            print(f"target CNN: within 2x of PyTorch CUDA: {c['cuda'] / c['torch_cuda']:.2f}x -> "
                  f"{'met' if c['cuda'] / c['torch_cuda'] <= 2 else 'MISSED'}")
        else:
            print("PyTorch CUDA missing: no comparison (nothing faked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
