"""A VGG-style network (stacks of Conv-Conv-Pool blocks with 'same' padding) on the embedded MNIST, or on
CIFAR-10 when its archive is already in the dataset cache.

    python examples/vgg_style.py                            # MNIST, full run (several minutes on 2 cores)
    python examples/vgg_style.py --quick                     # a smoke run (used by the tests)
    python examples/vgg_style.py --dataset cifar10 --out figs  # needs cifar-10-python.tar.gz, see below

The lesson (Simonyan & Zisserman, "Very Deep Convolutional Networks", 2014):
* Two stacked 3x3 convolutions see a 5x5 window (three see 7x7) with fewer weights than one 5x5 (7x7)
  convolution (2*9*C^2 vs 25*C^2) and an extra non-linearity in between.
* 'same' padding keeps the spatial size inside a block, so only the 2x2 max-pool at the end of each block
  halves it; the number of filters doubles from block to block (16 -> 32 here, 64 -> 128 -> ... in VGG-16),
  keeping the work per layer roughly constant while the image shrinks: 28x28 -> 14x14 -> 7x7.
* The classifier head is Flatten -> Dense -> Dropout -> Dense(softmax), as in VGG.

The filter counts are a quarter of VGG's (``--filters 16 32`` by default) so that a CPU epoch takes seconds,
not minutes; ``--filters 64 128 256`` gives VGG's first three blocks.

CIFAR-10: ``--dataset cifar10`` uses three blocks on the 32x32x3 images (32 -> 16 -> 8 -> 4). Nothing is
downloaded by this script: place ``cifar-10-python.tar.gz`` (163 MB, from
https://www.cs.toronto.edu/~kriz/cifar.html) in ``$MINIDL_DATA_DIR`` or ``~/.minidl/datasets`` first, or
run ``python -c "from minidl.datasets import cifar10; cifar10.load_data()"`` once on a machine with internet
access. ``--train-samples N`` trains on the first N images (CIFAR-10 has 50,000; a CPU epoch over all of
them takes minutes). This path was NOT run for the numbers below (no CIFAR-10 archive on the development
machine), so no CIFAR-10 accuracy is claimed here.

Recorded, MNIST (full run: filters 16/32, dense 128, 8 epochs, Adam 1e-3, batch 64, 3,600 train / 400
validation, seed 0, 2 cores heavily shared with other jobs):

    vgg_test_acc 0.9740   vgg_test_loss 0.0904   (218,490 parameters, 200,832 of them in the first Dense;
    val_accuracy 0.9825 after epoch 8; 73-158 s per epoch on the busy machine, 17.8 min in all)

Figures (in ``figures/vgg_style/``, or ``--out DIR``): history.png, confusion.png and filters_block1.png,
and report.html (``minidl.viz.report``: click a confusion-matrix cell to see its images).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import minidl
from minidl import layers, models
from minidl.datasets import cifar10, default_cache_dir
from minidl.metrics import classification_report, confusion_matrix
from _common import add_out_argument, announce_figures, figure_dir, write_report


def build_vgg(input_shape: tuple[int, int, int], filters: list[int], dense: int, num_classes: int = 10,
              dropout: float = 0.5) -> models.Sequential:
    """One Conv-Conv-MaxPool block per entry of ``filters``, then Flatten-Dense-Dropout-Dense(softmax).

    Shapes: (N, H, W, C) -> (N, H / 2^B, W / 2^B, filters[-1]) after the B blocks -> (N, num_classes).
    """
    stack: list[layers.Layer] = [layers.Input(input_shape)]
    for b, f in enumerate(filters, start=1):
        stack += [
            layers.Conv2D(f, 3, padding="same", activation="relu", name=f"block{b}_conv1"),
            layers.Conv2D(f, 3, padding="same", activation="relu", name=f"block{b}_conv2"),
            layers.MaxPooling2D(2, name=f"block{b}_pool"),
        ]
    stack += [layers.Flatten(), layers.Dense(dense, activation="relu", name="fc"), layers.Dropout(dropout),
              layers.Dense(num_classes, activation="softmax", name="predictions")]
    return models.Sequential(stack, name="vgg_style")


def load(dataset: str, quick: bool):
    """Returns (x_train, y_train), (x_test, y_test), class names; images float32 in [0, 1], labels (N,)."""
    if dataset == "mnist":
        (x_train, y_train), (x_test, y_test) = minidl.datasets.mnist.load_data()
        x_train, x_test = x_train[..., None], x_test[..., None]
        names = [str(d) for d in range(10)]
    else:
        archive = default_cache_dir() / cifar10.FNAME
        if not archive.exists():
            # Fail fast with instructions instead of trying a download an offline machine cannot make.
            sys.exit(f"CIFAR-10 is not cached: {archive} does not exist. Download {cifar10.ORIGINS[0]} into "
                     f"{archive.parent} (or set MINIDL_DATA_DIR), or run with --dataset mnist.")
        (x_train, y_train), (x_test, y_test) = cifar10.load_data()
        names = list(cifar10.CLASS_NAMES)
    return ((x_train.astype("float32") / 255, y_train.ravel().astype(np.int64)),
            (x_test.astype("float32") / 255, y_test.ravel().astype(np.int64)), names)


def main(quick: bool = False, out: str | None = None, dataset: str = "mnist", filters: list[int] | None = None,
         dense: int = 128, epochs: int | None = None, train_samples: int | None = None) -> dict[str, float]:
    minidl.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test), names = load(dataset, quick)
    if filters is None:
        filters = [16, 32] if dataset == "mnist" else [32, 64, 128]
    if quick:
        filters, dense = [4, 8], 16
        train_samples = 256
        x_test, y_test = x_test[:200], y_test[:200]
    if train_samples:
        x_train, y_train = x_train[:train_samples], y_train[:train_samples]
    if epochs is None:
        epochs = 1 if quick else (8 if dataset == "mnist" else 10)

    model = build_vgg(x_train.shape[1:], filters, dense)
    model.summary()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.monotonic()
    hist = model.fit(x_train, y_train, batch_size=64, epochs=epochs, verbose=2, validation_split=0.1)
    elapsed = time.monotonic() - start
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    pred = model.predict(x_test).argmax(axis=1)
    cm = confusion_matrix(y_test, pred, len(names))
    print("Confusion matrix (rows: true class, columns: predicted):")
    print(cm)
    print(classification_report(y_test, pred, target_names=names, digits=3))
    results = {"vgg_test_loss": float(loss), "vgg_test_acc": float(acc), "vgg_params": float(model.count_params()),
               "vgg_seconds_per_epoch": elapsed / epochs}

    out = figure_dir(__file__, out)
    import matplotlib.pyplot as plt

    from minidl import viz

    first = next(layer for layer in model.layers if layer.name == "block1_conv1")
    for fig in (viz.plot_history(hist, path=os.path.join(out, "history.png")),
                viz.plot_confusion_matrix(cm, class_names=names, title=f"VGG-style, {dataset} test",
                                          path=os.path.join(out, "confusion.png")),
                viz.plot_filters(first.kernel.numpy(), title="block1_conv1 filters",
                                 path=os.path.join(out, "filters_block1.png"))):
        plt.close(fig)
    announce_figures(out)
    write_report(model, x_test, y_test, out, history=hist, class_names=names, title=f"VGG-style, {dataset} test")

    for key, value in results.items():
        print(f"{key:24s} {value:.4f}")
    return results


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 epoch of a narrow net on 256 digits (smoke test)")
    add_out_argument(ap, __file__)
    ap.add_argument("--dataset", choices=("mnist", "cifar10"), default="mnist",
                    help="mnist (embedded, default) or cifar10 (must already be in the dataset cache)")
    ap.add_argument("--filters", type=int, nargs="+", default=None,
                    help="filters per block (default 16 32 for MNIST, 32 64 128 for CIFAR-10)")
    ap.add_argument("--dense", type=int, default=128, help="units of the hidden Dense layer")
    ap.add_argument("--epochs", type=int, default=None, help="default 8 (MNIST) / 10 (CIFAR-10)")
    ap.add_argument("--train-samples", type=int, default=None, help="train on the first N images only")
    a = ap.parse_args()
    main(quick=a.quick, out=a.out, dataset=a.dataset, filters=a.filters, dense=a.dense, epochs=a.epochs,
         train_samples=a.train_samples)
