"""CIFAR-10 with a linear classifier, one hidden layer and a CNN: the classification deck's three models, its
confusion matrices with per-class precision and recall, and the weights seen as 32x32x3 images.

    python examples/cifar10_classifiers.py             # needs cifar-10-python.tar.gz in the dataset cache
    python examples/cifar10_classifiers.py --quick     # smoke run (used by the tests), see below

The lesson:
1. A colour image is 32x32x3 = 3,072 numbers; ``Flatten`` turns it into a vector. The linear classifier
   ``softmax(x W + b)`` has one 3,072-vector per class, and each, reshaped to 32x32x3, is a colour template
   (weights_linear.png): a blueish blob for ship and airplane, a brown-green one for frog and deer. CIFAR-10
   is far harder than MNIST: objects vary in pose, scale, colour and background.
2. One hidden layer ``Flatten -> Dense(64, relu) -> Dense(10, softmax)``: its 64 units' weights, shown as
   images (hidden_units.png), are the patterns the network looks for; some are colour or edge templates.
3. A small CNN (Conv 32 -> Conv 32 -> pool -> Conv 64 -> Conv 64 -> pool -> Dense(256) -> Dropout -> softmax)
   shares each filter over the image and wins clearly.
4. The confusion matrices (rows true, columns predicted, recall per row and precision per column) show which
   classes are mixed up: cat and dog, automobile and truck, airplane and ship.

The deck's reference numbers (its own full-data Keras runs, *not* measured here): linear 38 % test accuracy,
one hidden layer 50 %, CNN 79 %.

Data: ``minidl.datasets.cifar10``, only when ``cifar-10-python.tar.gz`` is already in the dataset cache
(``$MINIDL_DATA_DIR`` or ``~/.minidl/datasets``): the script never starts the 163 MB download, it says where
to put the file. ``--quick`` without the archive runs on a small SYNTHETIC set of coloured shapes
(``_common.synthetic_shapes``), clearly labelled in the output: it checks that the code runs, its numbers
mean nothing.

Figures (in ``figures/cifar10_classifiers/``, or ``--out DIR``): confusion_<model>.png (counts, with recall
and precision), weights_linear.png, hidden_units.png, cnn_filters.png, history_<model>.png, and the
interactive reports report_<model>.html (``minidl.viz.report``: click a cell to see its images).

Recorded: nothing yet. CIFAR-10 is not in the dataset cache of the offline machine this lesson was written
on, so no full run was made here; run it where the archive is cached and record the numbers.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import minidl
from minidl import layers, models, optimizers
from minidl.datasets import cifar10, default_cache_dir
from minidl.metrics import confusion_matrix, precision_recall_per_class
from _common import (SYNTHETIC_CLASSES, add_out_argument, announce_figures, figure_dir, synthetic_shapes,
                     write_report)

DECK_REFERENCE = {"linear": 0.38, "hidden": 0.50, "cnn": 0.79}


def load(quick: bool):
    """(x_train, y_train), (x_test, y_test), class names, description; images float32 in [0, 1]."""
    archive = default_cache_dir() / cifar10.FNAME
    if archive.exists():
        (x_train, y_train), (x_test, y_test) = cifar10.load_data()
        names, desc = list(cifar10.CLASS_NAMES), "CIFAR-10"
    elif quick:
        x_train, y_train = synthetic_shapes(600, seed=0)
        x_test, y_test = synthetic_shapes(200, seed=1)
        names, desc = list(SYNTHETIC_CLASSES), "SYNTHETIC coloured shapes (smoke run only, not CIFAR-10)"
    else:
        sys.exit(f"CIFAR-10 is not cached: {archive} does not exist. Download {cifar10.ORIGINS[0]} into "
                 f"{archive.parent} (or set MINIDL_DATA_DIR), or run --quick for a smoke run on synthetic shapes.")
    return ((x_train.astype("float32") / 255, y_train.ravel().astype(np.int64)),
            (x_test.astype("float32") / 255, y_test.ravel().astype(np.int64)), names, desc)


def build(kind: str) -> models.Sequential:
    inp = layers.Input((32, 32, 3))
    if kind == "linear":
        return models.Sequential([inp, layers.Flatten(), layers.Dense(10, activation="softmax", name="linear")],
                                 name="linear")
    if kind == "hidden":
        return models.Sequential([inp, layers.Flatten(), layers.Dense(64, activation="relu", name="hidden"),
                                  layers.Dense(10, activation="softmax")], name="hidden")
    return models.Sequential([
        inp,
        layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1"),
        layers.Conv2D(32, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.Conv2D(64, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(256, activation="relu"), layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ], name="cnn")


def plot_confusion_with_precision(cm: np.ndarray, names: list[str], title: str, path: str):
    """The deck's figure: counts, a recall column on the right and a precision row at the bottom."""
    import matplotlib.pyplot as plt

    k = len(names)
    tp = np.diag(cm).astype(float)
    recall = np.divide(tp, cm.sum(1), out=np.zeros(k), where=cm.sum(1) > 0)
    precision = np.divide(tp, cm.sum(0), out=np.zeros(k), where=cm.sum(0) > 0)
    fig, ax = plt.subplots(figsize=(0.75 * k + 3, 0.6 * k + 2))
    ax.imshow(cm / np.maximum(cm.sum(1, keepdims=True), 1), cmap="Blues", vmin=0, vmax=1,
              extent=(-0.5, k - 0.5, k - 0.5, -0.5))
    for t in range(k):
        for p in range(k):
            ax.text(p, t, str(cm[t, p]), ha="center", va="center", fontsize=8,
                    color="white" if cm[t, p] > 0.6 * max(cm[t].sum(), 1) else "black")
        ax.text(k, t, f"{recall[t]:.0%}", ha="center", va="center", fontsize=8, weight="bold")
    for p in range(k):
        ax.text(p, k, f"{precision[p]:.0%}", ha="center", va="center", fontsize=8, weight="bold")
    ax.text(k, k, f"acc\n{tp.sum() / max(cm.sum(), 1):.0%}", ha="center", va="center", fontsize=8, weight="bold")
    ax.set_xlim(-0.5, k + 0.5)
    ax.set_ylim(k + 0.5, -0.5)
    ax.set_xticks(range(k + 1), [*names, "recall"], rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(k + 1), [*names, "precision"], fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(quick: bool = False, out: str | None = None, epochs: dict[str, int] | None = None,
         train_samples: int | None = None, seed: int = 0) -> dict[str, float]:
    minidl.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test), names, desc = load(quick)
    if quick:
        x_train, y_train, x_test, y_test = x_train[:512], y_train[:512], x_test[:200], y_test[:200]
    elif train_samples:
        x_train, y_train = x_train[:train_samples], y_train[:train_samples]
    epochs = epochs or ({"linear": 1, "hidden": 1, "cnn": 1} if quick else {"linear": 20, "hidden": 20, "cnn": 15})
    print(f"data: {desc}; {len(x_train)} training, {len(x_test)} test images")

    optimizers_for = {"linear": lambda: optimizers.SGD(learning_rate=0.01),
                      "hidden": lambda: optimizers.Adam(learning_rate=1e-3),
                      "cnn": lambda: optimizers.Adam(learning_rate=1e-3)}
    results: dict[str, float] = {"synthetic_data": float(desc.startswith("SYNTHETIC"))}
    trained = {}
    for kind in ("linear", "hidden", "cnn"):
        model = build(kind)
        model.compile(optimizer=optimizers_for[kind](), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.summary()
        start = time.perf_counter()
        hist = model.fit(x_train, y_train, batch_size=64, epochs=epochs[kind], verbose=2, validation_split=0.1)
        results[f"{kind}_seconds"] = time.perf_counter() - start
        pred = model.predict(x_test, batch_size=500).argmax(axis=1)
        cm = confusion_matrix(y_test, pred, len(names))
        precision, recall, _, _ = precision_recall_per_class(y_test, pred, len(names))
        results[f"{kind}_test_acc"] = float(np.mean(pred == y_test))
        results[f"{kind}_params"] = float(model.count_params())
        print(f"\n== {kind}: test accuracy {results[f'{kind}_test_acc']:.3f} (deck: {DECK_REFERENCE[kind]:.0%} on "
              f"full CIFAR-10)")
        print("class           precision  recall")
        for c, name in enumerate(names):
            print(f"{name:15s} {precision[c]:9.3f}  {recall[c]:6.3f}")
        trained[kind] = (model, hist, cm)

    import matplotlib.pyplot as plt

    from minidl import viz

    out = figure_dir(__file__, out)
    for kind, (model, hist, cm) in trained.items():
        plot_confusion_with_precision(cm, names, f"{kind}, {desc.split(' (')[0]} test",
                                      os.path.join(out, f"confusion_{kind}.png"))
        plt.close(viz.plot_history(hist, path=os.path.join(out, f"history_{kind}.png")))
    def kernel(kind: str, name: str) -> np.ndarray:
        return next(layer for layer in trained[kind][0].layers if layer.name == name).kernel.numpy()

    w_linear, w_hidden, w_conv = kernel("linear", "linear"), kernel("hidden", "hidden"), kernel("cnn", "conv1")
    for fig in (viz.plot_weights(w_linear, (32, 32, 3), class_names=names, ncols=5,
                                 title="linear classifier: one 32x32x3 template per class",
                                 path=os.path.join(out, "weights_linear.png")),
                viz.plot_weights(w_hidden, (32, 32, 3), ncols=8, title="Dense(64): the hidden units as images",
                                 path=os.path.join(out, "hidden_units.png")),
                viz.plot_filters(w_conv, title="CNN conv1 filters (3x3x3)", path=os.path.join(out, "cnn_filters.png"))):
        plt.close(fig)
    announce_figures(out)
    for kind, (model, hist, _) in trained.items():
        write_report(model, x_test, y_test, out, f"report_{kind}.html", history=hist, class_names=names,
                     title=f"{kind} on {desc}", max_images_per_cell=40)

    if results["synthetic_data"]:
        print("NOTE: these numbers come from SYNTHETIC shapes (CIFAR-10 is not cached); they mean nothing.")
    for key, value in results.items():
        print(f"{key:20s} {value:.4f}")
    return results


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 epoch each on 512 images (smoke test)")
    add_out_argument(ap, __file__)
    ap.add_argument("--train-samples", type=int, default=None, help="train on the first N images only")
    a = ap.parse_args()
    main(quick=a.quick, out=a.out, train_samples=a.train_samples)
