"""Training-epoch benchmarks: minidl against PyTorch CPU, back to back in one process.

``python -m bench`` (or ``python bench/run.py``) times, on 5,000 MNIST-shaped samples (the embedded
digits) at batch 64 with SGD(0.01, momentum 0.9) unless stated, the median of ``--epochs`` timed epochs
after one warm-up epoch, for:

- LeNet-5 (conv 6@5x5 same - pool - conv 16@5x5 - pool - 120 - 84 - 10)
- the Keras MNIST CNN (32c3 - pool - 64c3 - pool - dense 128 - 10)
- MLP 784 - 64 - 10
- tied-weight autoencoder 784 - 128 - 784, Adam, BCE (minidl's TiedAutoencoder kernel vs a PyTorch
  module using one weight matrix twice)
- CNN inference (predict) at batch 256

and prints the table with the ratio minidl / PyTorch (< 1 means minidl is faster). PyTorch is an optional
peer (``pip install -e ".[bench]"``): when it is missing its columns say so. Each framework uses its own
default threading (minidl sets OMP_WAIT_POLICY=PASSIVE; see bench/RESULTS.md).
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np

import minidl
from minidl import layers, models
import minidl.functional as F
from minidl import Tensor


def _data(n: int = 5000):
    with np.load(__import__("os").path.join(__import__("os").path.dirname(__file__), "..", "minidl",
                                             "datasets", "data", "mnist5k.npz")) as f:
        x, y = f["x"][:n].astype(np.float32) / 255, f["y"][:n].astype(np.int64)
    return x, y


def _minidl_model(name: str):
    L = layers
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
    raise ValueError(name)


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
    raise ValueError(name)


def _median_time(fn, epochs: int) -> float:
    fn()  # warm-up: Numba compile / cache load, allocator warm-up
    ts = []
    for _ in range(epochs):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def bench_classifier(name: str, x: np.ndarray, y: np.ndarray, epochs: int, torch) -> tuple[float, float | None]:
    xin = x.reshape(len(x), -1) if name == "mlp" else x[..., None]
    minidl.utils.set_random_seed(0)
    m = models.Sequential(_minidl_model(name))
    m.compile(optimizer=minidl.optimizers.SGD(0.01, momentum=0.9), loss="sparse_categorical_crossentropy")
    t_mini = _median_time(lambda: m.fit(xin, y, batch_size=64, epochs=1, verbose=0), epochs)
    if torch is None:
        return t_mini, None
    torch.manual_seed(0)
    tm = _torch_model(name)
    xt = torch.tensor(xin if name == "mlp" else np.ascontiguousarray(xin.transpose(0, 3, 1, 2)))
    yt = torch.tensor(y)
    opt = torch.optim.SGD(tm.parameters(), lr=0.01, momentum=0.9)
    lossf = torch.nn.CrossEntropyLoss()

    def epoch():
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            lossf(tm(xt[idx]), yt[idx]).backward()
            opt.step()

    return t_mini, _median_time(epoch, epochs)


def bench_tied_ae(x: np.ndarray, epochs: int, torch) -> tuple[float, float | None]:
    x2 = x.reshape(len(x), -1)
    rng = np.random.default_rng(0)
    W = Tensor(rng.normal(0, 0.05, (784, 128)).astype(np.float32), requires_grad=True)
    b = Tensor(np.zeros(128, np.float32), requires_grad=True)
    c = Tensor(np.zeros(784, np.float32), requires_grad=True)
    opt = minidl.optimizers.Adam(1e-3)
    params = [W, b, c]

    def epoch():
        perm = rng.permutation(len(x2))
        for i in range(0, len(x2), 64):
            xb = np.ascontiguousarray(x2[perm[i:i + 64]])
            _, logits = F.tied_autoencoder(xb, W, b, c, "sigmoid", "linear")
            F.binary_cross_entropy_with_logits(logits, xb).backward()
            opt.apply_gradients(params)
            for p in params:
                p.grad = None

    t_mini = _median_time(epoch, epochs)
    if torch is None:
        return t_mini, None
    Wt = torch.nn.Parameter(torch.tensor(W.data.copy()))
    bt, ct = torch.nn.Parameter(torch.zeros(128)), torch.nn.Parameter(torch.zeros(784))
    topt = torch.optim.Adam([Wt, bt, ct], lr=1e-3, eps=1e-7)
    xt = torch.tensor(x2)
    lossf = torch.nn.BCEWithLogitsLoss()

    def tepoch():
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 64):
            xb = xt[perm[i:i + 64]]
            topt.zero_grad()
            h = torch.sigmoid(xb @ Wt + bt)
            lossf(h @ Wt.T + ct, xb).backward()
            topt.step()

    return t_mini, _median_time(tepoch, epochs)


def bench_predict(x: np.ndarray, epochs: int, torch) -> tuple[float, float | None]:
    xin = x[..., None]
    m = models.Sequential(_minidl_model("cnn"))
    t_mini = _median_time(lambda: m.predict(xin, batch_size=256), epochs)
    if torch is None:
        return t_mini, None
    tm = _torch_model("cnn").eval()
    xt = torch.tensor(np.ascontiguousarray(xin.transpose(0, 3, 1, 2)))

    def tpred():
        with torch.no_grad():
            for i in range(0, len(xt), 256):
                tm(xt[i:i + 256])

    return t_mini, _median_time(tpred, epochs)


def main(argv=None) -> list[tuple[str, float, float | None]]:
    ap = argparse.ArgumentParser(description="minidl training benchmarks against PyTorch CPU")
    ap.add_argument("--epochs", type=int, default=5, help="timed epochs per workload (median reported)")
    ap.add_argument("--samples", type=int, default=5000)
    args = ap.parse_args(argv)
    try:
        import torch
    except ImportError:
        torch = None
    x, y = _data(args.samples)
    rows = []
    for name in ("lenet5", "cnn", "mlp"):
        rows.append((f"{name} epoch", *bench_classifier(name, x, y, args.epochs, torch)))
    rows.append(("tied AE 784-128-784 epoch (Adam, BCE)", *bench_tied_ae(x, args.epochs, torch)))
    rows.append(("CNN predict, batch 256", *bench_predict(x, args.epochs, torch)))
    peer = f"torch {torch.__version__}" if torch is not None else "torch missing"
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}, numpy "
          f"{np.__version__}, numba {__import__('numba').__version__}, {peer}; {args.samples} samples, "
          f"median of {args.epochs} epochs")
    print(f"{'workload':42s} {'minidl s':>9s} {'torch s':>9s} {'ratio':>7s}")
    for name, a, b in rows:
        bs = f"{b:9.3f}" if b is not None else f"{'missing':>9s}"
        rs = f"{a / b:7.2f}" if b is not None else f"{'-':>7s}"
        print(f"{name:42s} {a:9.3f} {bs} {rs}")
    return rows


if __name__ == "__main__":
    main()
