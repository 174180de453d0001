"""Train a two-layer network with nothing but minidl's autograd engine (no layers, no optimizer class).

The data are three interleaved spirals in 2-D (a classic that a linear model cannot separate). The model
is ``logits = relu(x W1 + b1) W2 + b2``; the loss is softmax cross-entropy; the update is plain gradient
descent written out by hand, so every step of training is visible::

    python examples/autograd_two_layer.py           # 300 steps, prints loss and accuracy
    python examples/autograd_two_layer.py --quick   # 30 steps (used by the tests)

Typical result: training accuracy rises from ~33 % (chance) to > 90 % in 300 steps. Figures (in
``figures/autograd_two_layer/``, or ``--out DIR``): loss.png (the loss per step) and decision_regions.png (the
class the trained net predicts over the plane, with the training points).
"""
from __future__ import annotations

import argparse
import os

import numpy as np

import minidl.functional as F
from minidl import Tensor, no_grad
from _common import add_out_argument, announce_figures, figure_dir


def spirals(n_per_class: int = 100, classes: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points (N, 2) on ``classes`` noisy spiral arms and their labels (N,)."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for k in range(classes):
        r = np.linspace(0.0, 1.0, n_per_class)
        t = np.linspace(k * 4, (k + 1) * 4, n_per_class) + rng.normal(0, 0.2, n_per_class)
        xs.append(np.c_[r * np.sin(t), r * np.cos(t)])
        ys.append(np.full(n_per_class, k))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys)


def main(steps: int = 300, hidden: int = 64, lr: float = 1.0, seed: int = 0, out: str | None = None) -> float:
    x, y = spirals(seed=seed)
    rng = np.random.default_rng(seed)
    W1 = Tensor(rng.normal(0, 1.0, (2, hidden)), requires_grad=True, dtype=np.float32)
    b1 = Tensor(np.zeros(hidden), requires_grad=True, dtype=np.float32)
    W2 = Tensor(rng.normal(0, 0.1, (hidden, 3)), requires_grad=True, dtype=np.float32)
    b2 = Tensor(np.zeros(3), requires_grad=True, dtype=np.float32)
    params = [W1, b1, W2, b2]
    acc = 0.0
    losses = []
    for step in range(steps + 1):
        h = F.relu(x @ W1 + b1)                  # every op records itself in the graph ...
        logits = h @ W2 + b2
        loss = F.cross_entropy(logits, y)
        loss.backward()                          # ... which backward() walks in reverse
        with no_grad():
            for p in params:                     # gradient descent, by hand
                p.data -= lr * p.grad
                p.grad = None
        acc = float((logits.data.argmax(1) == y).mean())
        losses.append(loss.item())
        if step % max(steps // 10, 1) == 0:
            print(f"step {step:4d}  loss {loss.item():.4f}  accuracy {acc:.3f}")
    save_figures(figure_dir(__file__, out), x, y, losses, params)
    return acc


def save_figures(out: str, x: np.ndarray, y: np.ndarray, losses: list[float], params: list[Tensor]) -> None:
    """Writes loss.png and decision_regions.png (the predicted class on a grid over the plane)."""
    import matplotlib.pyplot as plt

    W1, b1, W2, b2 = (p.data for p in params)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(losses)
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy")
    ax.set_title("training loss")
    fig.savefig(os.path.join(out, "loss.png"), dpi=100, bbox_inches="tight")
    plt.close(fig)

    g = np.linspace(-1.1, 1.1, 200, dtype=np.float32)
    gx, gy = np.meshgrid(g, g)
    grid = np.c_[gx.ravel(), gy.ravel()]
    pred = (np.maximum(grid @ W1 + b1, 0) @ W2 + b2).argmax(1).reshape(gx.shape)  # the same net, in NumPy
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.contourf(gx, gy, pred, levels=[-0.5, 0.5, 1.5, 2.5], cmap="Pastel1", alpha=0.9)
    ax.scatter(x[:, 0], x[:, 1], c=y, cmap="Set1", s=10, edgecolors="k", linewidths=0.3)
    ax.set_title("decision regions of the trained net")
    fig.savefig(os.path.join(out, "decision_regions.png"), dpi=100, bbox_inches="tight")
    plt.close(fig)
    announce_figures(out)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few steps only (for tests)")
    add_out_argument(ap, __file__)
    args = ap.parse_args()
    main(steps=30 if args.quick else 300, out=args.out)
