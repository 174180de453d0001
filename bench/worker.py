"""One benchmark measurement for one framework, meant to run in a fresh process; prints one JSON line.

``python -m bench.worker --framework {minidl,torch,keras,sklearn} --workload NAME [--samples N] [--epochs E]``

Why a process per framework: the OpenMP runtime's settings are process-wide and fixed when the first
OpenMP library loads. minidl sets ``OMP_WAIT_POLICY=PASSIVE`` (its best setting: Numba's spinning threads
starve the BLAS GEMM that follows each parallel region), while PyTorch runs best with the OpenMP default
(threads spin between ops). In one process one of the two always runs in the other's configuration:
PyTorch imported after minidl becomes passive (slower), and minidl with PyTorch's spinning threads around
is several times slower (bench/RESULTS.md, "Fairness"). So each framework gets its own process, with its
own defaults, and imports nothing of the other. This module therefore imports no framework at module level.

Workloads (``--workload``):

- ``lenet5``, ``cnn``, ``mlp``: one training epoch (SGD(0.01, momentum 0.9), batch 64, sparse CE);
- ``tied_ae``: tied autoencoder 784-128-784 epoch (Adam(1e-3), BCE on logits), batch 64;
- ``predict``: CNN inference at batch 256 over all samples;
- ``kmeans``: KMeans k=10, n_init=1 from given initial centres (``--init`` .npy file; minidl writes it with
  its k-means++ when the file does not exist yet);
- ``rss``: peak resident memory after one CNN epoch (and the baseline after imports and data);
- ``first_step``: time of the first CNN training step (compilation included) in this fresh process.

Output: one JSON object on the last stdout line, e.g. ``{"framework": "torch", "workload": "cnn",
"times": [...], "median": 0.51, ...}``; ``{"missing": "..."}`` when the framework is not installed.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "minidl" / "datasets" / "data" / "mnist5k.npz"

__all__ = ["load_data", "median_time", "run", "FRAMEWORKS", "WORKLOADS", "main"]

FRAMEWORKS = ("minidl", "torch", "keras", "sklearn")
WORKLOADS = ("lenet5", "cnn", "mlp", "tied_ae", "predict", "kmeans", "rss", "first_step")
BATCH, PRED_BATCH, LR, MOMENTUM = 64, 256, 0.01, 0.9


def load_data(n: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` embedded MNIST digits, tiled when ``n`` > 5,000.

    Returns:
        x: (n, 28, 28) float32 in [0, 1]; y: (n,) int64 labels.
    """
    with np.load(DATA) as f:
        x, y = f["x"], f["y"]
    reps = -(-n // len(x))
    x = np.concatenate([x] * reps)[:n].astype(np.float32) / 255
    y = np.concatenate([y] * reps)[:n].astype(np.int64)
    return x, y


def median_time(fn: Callable[[], Any], epochs: int, warmup: int = 1) -> list[float]:
    """Calls ``fn`` ``warmup`` times untimed (compile, caches, allocator), then returns ``epochs`` timings (s)."""
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(epochs):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return ts


def _maxrss_mb() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS)
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / (1024 * 1024) if sys.platform == "darwin" else r / 1024


# ----------------------------------------------------------------------------------------------- minidl
def _minidl_layers(name: str) -> list:
    from minidl import layers as L

    if name == "lenet5":
        return [L.Input((28, 28, 1)), L.Conv2D(6, 5, padding="same", activation="relu"), L.MaxPooling2D(2),
                L.Conv2D(16, 5, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
                L.Dense(120, activation="relu"), L.Dense(84, activation="relu"), L.Dense(10, activation="softmax")]
    if name == "cnn":
        return [L.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
                L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
                L.Dense(128, activation="relu"), L.Dense(10, activation="softmax")]
    if name == "mlp":
        return [L.Input((784,)), L.Dense(64, activation="relu"), L.Dense(10, activation="softmax")]
    raise ValueError(f"unknown classifier {name!r}")


def _minidl_classifier(name: str):
    import minidl
    from minidl import models

    minidl.utils.set_random_seed(0)
    m = models.Sequential(_minidl_layers(name))
    m.compile(optimizer=minidl.optimizers.SGD(LR, momentum=MOMENTUM), loss="sparse_categorical_crossentropy")
    return m


def _run_minidl(workload: str, x: np.ndarray, y: np.ndarray, epochs: int, init: str | None) -> dict:
    import minidl

    if workload in ("lenet5", "cnn", "mlp"):
        xin = x.reshape(len(x), -1) if workload == "mlp" else x[..., None]
        m = _minidl_classifier(workload)
        return {"times": median_time(lambda: m.fit(xin, y, batch_size=BATCH, epochs=1, verbose=0), epochs)}
    if workload == "tied_ae":
        import minidl.functional as F
        from minidl import Tensor

        x2 = x.reshape(len(x), -1)
        rng = np.random.default_rng(0)
        W = Tensor(rng.normal(0, 0.05, (784, 128)).astype(np.float32), requires_grad=True)
        b = Tensor(np.zeros(128, np.float32), requires_grad=True)
        c = Tensor(np.zeros(784, np.float32), requires_grad=True)
        opt, params = minidl.optimizers.Adam(1e-3), [W, b, c]

        def epoch() -> None:
            perm = rng.permutation(len(x2))
            for i in range(0, len(x2), BATCH):
                xb = np.ascontiguousarray(x2[perm[i:i + BATCH]])
                _, logits = F.tied_autoencoder(xb, W, b, c, "sigmoid", "linear")
                F.binary_cross_entropy_with_logits(logits, xb).backward()
                opt.apply_gradients(params)
                for p in params:
                    p.grad = None

        return {"times": median_time(epoch, epochs)}
    if workload == "predict":
        m = _minidl_classifier("cnn")
        xin = x[..., None]
        return {"times": median_time(lambda: m.predict(xin, batch_size=PRED_BATCH), epochs)}
    if workload == "kmeans":
        from minidl.cluster import KMeans, kmeans_plusplus

        X = x.reshape(len(x), -1)
        if init is None:
            raise ValueError("kmeans needs --init PATH (.npy initial centres; written here when absent)")
        if os.path.exists(init):
            c0 = np.load(init)
        else:
            c0, _ = kmeans_plusplus(X, 10, random_state=0)
            np.save(init, c0)
        km = KMeans(10, init=c0, n_init=1)
        ts = median_time(lambda: km.fit(X), epochs)
        return {"times": ts, "inertia": float(km.inertia_), "n_iter": int(km.n_iter_)}
    if workload == "rss":
        m = _minidl_classifier("cnn")
        base = _maxrss_mb()
        m.fit(x[..., None], y, batch_size=BATCH, epochs=1, verbose=0)
        return {"baseline_mb": base, "peak_mb": _maxrss_mb()}
    if workload == "first_step":
        t0 = time.perf_counter()
        m = _minidl_classifier("cnn")
        m.fit(x[:BATCH, ..., None], y[:BATCH], batch_size=BATCH, epochs=1, verbose=0)
        return {"first_step_s": time.perf_counter() - t0}
    raise ValueError(f"workload {workload!r} not available for minidl")


# ------------------------------------------------------------------------------------------------ torch
def _torch_model(name: str):
    import torch.nn as nn

    if name == "lenet5":
        return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),
                             nn.ReLU(), nn.Linear(84, 10))
    if name == "cnn":
        return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))
    if name == "mlp":
        return nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
    raise ValueError(f"unknown classifier {name!r}")


def _torch_epoch_fn(name: str, x: np.ndarray, y: np.ndarray):
    """A plain PyTorch training loop over one shuffled epoch (the idiomatic fast path; CE on logits)."""
    import torch

    torch.manual_seed(0)
    tm = _torch_model(name)
    xt = torch.tensor(x.reshape(len(x), -1) if name == "mlp" else x[:, None])
    yt = torch.tensor(y)
    opt = torch.optim.SGD(tm.parameters(), lr=LR, momentum=MOMENTUM)
    lossf = torch.nn.CrossEntropyLoss()

    def epoch() -> None:
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), BATCH):
            idx = perm[i:i + BATCH]
            opt.zero_grad()
            lossf(tm(xt[idx]), yt[idx]).backward()
            opt.step()

    return epoch


def _run_torch(workload: str, x: np.ndarray, y: np.ndarray, epochs: int, init: str | None) -> dict:
    import torch

    if workload in ("lenet5", "cnn", "mlp"):
        return {"times": median_time(_torch_epoch_fn(workload, x, y), epochs)}
    if workload == "tied_ae":
        x2 = torch.tensor(x.reshape(len(x), -1))
        rng = np.random.default_rng(0)
        Wt = torch.nn.Parameter(torch.tensor(rng.normal(0, 0.05, (784, 128)).astype(np.float32)))
        bt, ct = torch.nn.Parameter(torch.zeros(128)), torch.nn.Parameter(torch.zeros(784))
        topt = torch.optim.Adam([Wt, bt, ct], lr=1e-3, eps=1e-7)
        lossf = torch.nn.BCEWithLogitsLoss()

        def epoch() -> None:
            perm = torch.randperm(len(x2))
            for i in range(0, len(x2), BATCH):
                xb = x2[perm[i:i + BATCH]]
                topt.zero_grad()
                h = torch.sigmoid(xb @ Wt + bt)
                lossf(h @ Wt.T + ct, xb).backward()
                topt.step()

        return {"times": median_time(epoch, epochs)}
    if workload == "predict":
        torch.manual_seed(0)
        tm = _torch_model("cnn").eval()
        xt = torch.tensor(x[:, None])

        def pred() -> None:
            with torch.no_grad():
                for i in range(0, len(xt), PRED_BATCH):
                    tm(xt[i:i + PRED_BATCH])

        return {"times": median_time(pred, epochs)}
    if workload == "rss":
        epoch = _torch_epoch_fn("cnn", x, y)
        base = _maxrss_mb()
        epoch()
        return {"baseline_mb": base, "peak_mb": _maxrss_mb()}
    raise ValueError(f"workload {workload!r} not available for torch")


# ------------------------------------------------------------------------------------------------ keras
def _keras_model(name: str):
    import keras
    from keras import layers as L

    if name in ("lenet5", "cnn", "predict"):
        if name == "lenet5":
            body = [L.Conv2D(6, 5, padding="same", activation="relu"), L.MaxPooling2D(2),
                    L.Conv2D(16, 5, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
                    L.Dense(120, activation="relu"), L.Dense(84, activation="relu")]
        else:
            body = [L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2), L.Conv2D(64, 3, activation="relu"),
                    L.MaxPooling2D(2), L.Flatten(), L.Dense(128, activation="relu")]
        m = keras.Sequential([keras.Input((28, 28, 1)), *body, L.Dense(10, activation="softmax")])
    elif name == "mlp":
        m = keras.Sequential([keras.Input((784,)), L.Dense(64, activation="relu"), L.Dense(10, activation="softmax")])
    else:
        raise ValueError(f"unknown classifier {name!r}")
    m.compile(optimizer=keras.optimizers.SGD(LR, momentum=MOMENTUM), loss="sparse_categorical_crossentropy")
    return m


def _run_keras(workload: str, x: np.ndarray, y: np.ndarray, epochs: int, init: str | None) -> dict:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    keras.utils.set_random_seed(0)
    if workload in ("lenet5", "cnn", "mlp", "rss"):
        name = "cnn" if workload == "rss" else workload
        xin = x.reshape(len(x), -1) if name == "mlp" else x[..., None]
        m = _keras_model(name)
        fit = lambda: m.fit(xin, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=True)  # noqa: E731
        if workload == "rss":
            base = _maxrss_mb()
            fit()
            return {"baseline_mb": base, "peak_mb": _maxrss_mb()}
        return {"times": median_time(fit, epochs)}
    if workload == "tied_ae":
        from keras import ops

        class TiedAutoencoder(keras.layers.Layer):
            """sigmoid(x W + b) W^T + c: one weight matrix (784, 128) used twice; returns logits."""

            def build(self, input_shape):
                self.W = self.add_weight(shape=(784, 128), initializer=keras.initializers.RandomNormal(0, 0.05))
                self.b = self.add_weight(shape=(128,), initializer="zeros")
                self.c = self.add_weight(shape=(784,), initializer="zeros")

            def call(self, xb):
                h = ops.sigmoid(ops.matmul(xb, self.W) + self.b)
                return ops.matmul(h, ops.transpose(self.W)) + self.c

        x2 = x.reshape(len(x), -1)
        m = keras.Sequential([keras.Input((784,)), TiedAutoencoder()])
        m.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True))
        return {"times": median_time(lambda: m.fit(x2, x2, batch_size=BATCH, epochs=1, verbose=0, shuffle=True),
                                     epochs)}
    if workload == "predict":
        m = _keras_model("cnn")
        xin = x[..., None]
        return {"times": median_time(lambda: m.predict(xin, batch_size=PRED_BATCH, verbose=0), epochs)}
    raise ValueError(f"workload {workload!r} not available for keras")


# ---------------------------------------------------------------------------------------------- sklearn
def _run_sklearn(workload: str, x: np.ndarray, y: np.ndarray, epochs: int, init: str | None) -> dict:
    if workload != "kmeans":
        raise ValueError(f"workload {workload!r} not available for sklearn")
    from sklearn.cluster import KMeans

    if init is None or not os.path.exists(init):
        raise ValueError("sklearn kmeans needs --init PATH written by the minidl worker (same initial centres)")
    c0 = np.load(init)
    km = KMeans(10, init=c0, n_init=1, algorithm="lloyd")
    X = x.reshape(len(x), -1)
    ts = median_time(lambda: km.fit(X), epochs)
    return {"times": ts, "inertia": float(km.inertia_), "n_iter": int(km.n_iter_)}


_RUNNERS = {"minidl": _run_minidl, "torch": _run_torch, "keras": _run_keras, "sklearn": _run_sklearn}
_MODULE = {"minidl": "minidl", "torch": "torch", "keras": "keras", "sklearn": "sklearn"}


def run(framework: str, workload: str, samples: int = 5000, epochs: int = 5, init: str | None = None,
        preimport: str | None = None) -> dict:
    """Runs one measurement in this process and returns its result dict.

    Args:
        framework: one of FRAMEWORKS. workload: one of WORKLOADS. samples: data size (tiled digits).
        epochs: timed repetitions after one warm-up (their median is reported). init: .npy path of the
            KMeans initial centres. preimport: a module to import *before* the framework (only for the
            import-order experiment in bench/RESULTS.md; never used by the suite).

    Returns:
        {"framework", "workload", "samples", "epochs", ...}: ``times`` and ``median`` (s) for timed
        workloads, ``missing`` when the framework is not installed.
    """
    if framework not in _RUNNERS:
        raise ValueError(f"unknown framework {framework!r}; choose from {FRAMEWORKS}")
    if workload not in WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}; choose from {WORKLOADS}")
    out: dict[str, Any] = {"framework": framework, "workload": workload, "samples": samples, "epochs": epochs}
    t0 = time.perf_counter()
    try:
        if preimport:
            __import__(preimport)
        if framework == "keras":
            os.environ.setdefault("KERAS_BACKEND", "torch")
        mod = __import__(_MODULE[framework])
    except ImportError as e:
        out["missing"] = f"{framework} not installed ({e})"
        return out
    out["import_s"] = time.perf_counter() - t0
    out["version"] = getattr(mod, "__version__", "?")
    x, y = load_data(samples)
    out.update(_RUNNERS[framework](workload, x, y, epochs, init))
    if "times" in out:
        out["median"] = statistics.median(out["times"])
    if framework in ("torch", "keras"):
        import torch

        out["threads"] = torch.get_num_threads()
    out["omp_wait_policy"] = os.environ.get("OMP_WAIT_POLICY", "unset")
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--framework", required=True, choices=FRAMEWORKS)
    ap.add_argument("--workload", required=True, choices=WORKLOADS)
    ap.add_argument("--samples", type=int, default=5000)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--init", default=None, help="KMeans initial centres (.npy)")
    ap.add_argument("--preimport", default=None, help="import this module first (import-order experiment)")
    a = ap.parse_args(argv)
    res = run(a.framework, a.workload, a.samples, a.epochs, a.init, a.preimport)
    print(json.dumps(res))
    return res


if __name__ == "__main__":
    main()
