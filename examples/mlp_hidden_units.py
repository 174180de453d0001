"""What the hidden units of a one-hidden-layer network look at: Flatten -> Dense(64, relu) -> Dense(10, softmax),
the 64 units' incoming weights shown as 28x28 images, without and with an L2 weight penalty.

    python examples/mlp_hidden_units.py            # full run (timing below)
    python examples/mlp_hidden_units.py --quick    # a smoke run (used by the tests)

The lesson (the classification deck's "weights of the 64 hidden neurons" and "smoothed weights" slides):
1. Each hidden unit computes ``relu(x · w_j + b_j)``: its 784 incoming weights w_j, reshaped to 28x28, are
   the image that excites it most per unit of norm. Unlike the ten templates of a linear classifier they
   are not one per class: some look like strokes or parts of digits, many like noise that still works.
2. An L2 penalty ``λ Σ W²`` on the hidden kernel pulls every weight towards 0, most strongly those that
   the data do not need (the border pixels, which are always 0, get no gradient from the data at all and
   decay away), so the units become smoother and more readable. The roughness printed below is the mean
   squared difference of neighbouring pixels of the unit images, divided by their mean square (lower =
   smoother).
3. The penalty is Keras's: ``layers.Dense(64, activation="relu", kernel_regularizer=regularizers.l2(λ))``
   adds ``λ Σ kernel²`` to the training loss. ``L2Dense`` below writes the same penalty out by hand with
   ``Layer.add_loss`` (how a regularizer enters the loss); ``--explicit`` trains with it instead, and gives
   the same numbers.

Figures (in ``figures/mlp_hidden_units/``, or ``--out DIR``): hidden_units_plain.png, hidden_units_l2.png (one
tile per unit, red positive, blue negative), history_plain.png and history_l2.png; report_plain.html is the
interactive report (``minidl.viz.report``).

Recorded (4,000 train / 1,000 test embedded digits, 30 epochs, Adam, batch 64, seed 0, 2 shared cores;
``nice -n 10 python examples/mlp_hidden_units.py`` (λ = 0.01, Keras's ``l2()`` default), 6-9 s wall-clock, and
``... --l2 0.001``; ``--explicit`` (L2Dense) gives the same numbers to the last digit):

    hidden kernel            test acc   train acc   weight RMS   border RMS   roughness
    no penalty                 0.934      0.999       0.088        0.086        2.25
    L2, λ = 0.001              0.933      0.994       0.037        0.017        1.54
    L2, λ = 0.01               0.926      0.962       0.016        0.006        0.95

Without the penalty the border weights keep their random initial values (RMS 0.086, like the rest): the
data never move them. The penalty removes them and smooths the units (roughness 2.25 -> 0.95, the units
become stroke-like blobs in hidden_units_l2.png) at a small cost in accuracy on this small training set.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

import minidl
from minidl import layers, models, optimizers, regularizers
from _common import add_out_argument, announce_figures, figure_dir, write_report


class L2Dense(layers.Dense):
    """``Dense`` plus the penalty ``l2 * sum(kernel ** 2)`` on its kernel, added to the model's loss."""

    def __init__(self, units: int, l2: float = 1e-2, **kwargs) -> None:
        super().__init__(units, **kwargs)
        if not l2 >= 0:
            raise ValueError(f"l2 must be >= 0, got {l2!r}")
        self.l2 = float(l2)

    def call(self, x, training=False):
        out = super().call(x, training=training)
        self.add_loss((self.kernel * self.kernel).sum() * self.l2)  # the model adds this to its loss
        return out


def build(l2: float | None, explicit: bool = False) -> models.Sequential:
    if l2 is None:
        hidden = layers.Dense(64, activation="relu", name="hidden")
    elif explicit:
        hidden = L2Dense(64, l2=l2, activation="relu", name="hidden")
    else:
        hidden = layers.Dense(64, activation="relu", kernel_regularizer=regularizers.l2(l2), name="hidden")
    return models.Sequential([layers.Input((28, 28)), layers.Flatten(), hidden,
                              layers.Dense(10, activation="softmax", name="output")])


def roughness(kernel: np.ndarray, shape: tuple[int, int] = (28, 28)) -> float:
    """Mean squared difference of horizontally and vertically neighbouring weights of each unit image, over
    the mean squared weight: 0 for constant images, about 4 for independent noise."""
    w = kernel.T.reshape(-1, *shape)
    dx, dy = np.diff(w, axis=2), np.diff(w, axis=1)
    return float((np.mean(dx ** 2) + np.mean(dy ** 2)) / np.mean(w ** 2))


def main(quick: bool = False, out: str | None = None, epochs: int | None = None, l2: float = 1e-2,
         seed: int = 0, explicit: bool = False) -> dict[str, float]:
    (x_train, y_train), (x_test, y_test) = minidl.datasets.mnist.load_data()
    x_train, x_test = x_train.astype("float32") / 255, x_test.astype("float32") / 255
    if quick:
        x_train, y_train = x_train[:512], y_train[:512]
    epochs = (2 if quick else 30) if epochs is None else epochs
    results: dict[str, float] = {"l2": l2}
    trained = {}
    for name, lam in (("plain", None), ("l2", l2)):
        minidl.utils.set_random_seed(seed)  # the same initial weights for both
        model = build(lam, explicit)
        model.compile(optimizer=optimizers.Adam(learning_rate=1e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        if name == "plain":
            model.summary()
        start = time.perf_counter()
        hist = model.fit(x_train, y_train, batch_size=64, epochs=epochs, verbose=0, validation_split=0.1)
        results[f"{name}_seconds"] = time.perf_counter() - start
        pred = model.predict(x_test).argmax(axis=1)
        kernel = model.layers[1].kernel.numpy()
        results[f"{name}_test_acc"] = float(np.mean(pred == y_test))
        results[f"{name}_train_acc"] = float(hist.history["accuracy"][-1])
        results[f"{name}_weight_rms"] = float(np.sqrt(np.mean(kernel ** 2)))
        results[f"{name}_roughness"] = roughness(kernel)
        # Border pixels (always 0 in MNIST) receive no gradient from the data: only the penalty moves them.
        border = np.ones((28, 28), bool)
        border[4:-4, 4:-4] = False
        results[f"{name}_border_weight_rms"] = float(np.sqrt(np.mean(kernel[border.ravel()] ** 2)))
        hidden_out = model.layers[1](x_test.reshape(len(x_test), -1)).numpy()
        results[f"{name}_dead_units"] = float(np.sum(hidden_out.max(axis=0) <= 0))  # never active on the test set
        trained[name] = (model, hist, kernel)

    import matplotlib.pyplot as plt

    from minidl import viz

    out = figure_dir(__file__, out)
    for name, (model, hist, kernel) in trained.items():
        label = "no penalty" if name == "plain" else f"L2 penalty {l2:g}"
        for fig in (viz.plot_weights(kernel, (28, 28), ncols=8,
                                     title=f"Dense(64) hidden units, {label}: incoming weights as images",
                                     path=os.path.join(out, f"hidden_units_{name}.png")),
                    viz.plot_history(hist, path=os.path.join(out, f"history_{name}.png"))):
            plt.close(fig)
    announce_figures(out)
    write_report(trained["plain"][0], x_test, y_test, out, "report_plain.html", history=trained["plain"][1],
                 title="Flatten -> Dense(64, relu) -> Dense(10, softmax), test digits")

    for key, value in results.items():
        print(f"{key:24s} {value:.4f}")
    return results


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 epochs on 512 digits (smoke test)")
    add_out_argument(ap, __file__)
    ap.add_argument("--epochs", type=int, default=None, help="epochs per model (default 30; quick 2)")
    ap.add_argument("--l2", type=float, default=1e-2, help="coefficient of the L2 penalty (default 0.01)")
    ap.add_argument("--explicit", action="store_true", help="the L2 penalty written out by hand (L2Dense)")
    a = ap.parse_args()
    main(quick=a.quick, out=a.out, epochs=a.epochs, l2=a.l2, explicit=a.explicit)
