"""Transfer learning on the embedded MNIST: a CNN trained on digits 0-4 lends its frozen convolutional
layers to a classifier of digits 5-9 trained on only a few samples, compared with training from scratch.

    python examples/transfer_learning.py               # full run, a few minutes on 2 shared cores
    python examples/transfer_learning.py --quick        # a smoke run (used by the tests)

The lesson:
1. **Pretraining.** A CNN (conv 16 -> pool -> conv 32 -> pool -> dense 64 -> softmax 5) is trained on
   all 2,000 training digits 0-4.
2. **Reuse, frozen.** Its convolution layers -- the *same layer objects*, no copy -- are put under a new
   head (Flatten -> Dense(64) -> Dense(5)) for digits 5-9 (labels shifted to 0-4), with
   ``layer.trainable = False`` set *before* ``compile``: their weights move to ``non_trainable_weights``,
   get no gradient and the optimizer never sees them. The script asserts that they are bit-for-bit
   unchanged after ``fit``. Only the head (51,589 of 56,389 parameters) learns.
3. **Reuse part, add a new conv layer.** Only the frozen first conv layer (generic stroke detectors) is
   kept and a new trainable conv layer is stacked on it before the head -- the usual choice when the new
   task differs more from the old one.
4. **From scratch.** The same architecture with fresh weights trained on the same few digits.

With few labelled samples of the new classes (20 per digit below), features learned on *other* digits
carry over: the frozen-feature models beat training from scratch on the 500 test digits 5-9.

Recorded (full run: pretraining 5 epochs; then 40 epochs on 20 digits per class = 100 samples, validated
on 500 other training digits 5-9; Adam 1e-3, batch 32, seed 0; 8.2 min on 2 heavily shared cores):

    base_test_acc_0_4           0.9860   (pretrained CNN on the 500 test digits 0-4)
    scratch_test_acc_5_9        0.8760   (56,389 trainable parameters)
    frozen_conv_test_acc_5_9    0.9060   (51,589 trainable: the head only)
    new_conv_test_acc_5_9       0.9100   (56,229 trainable: new conv2 + head)

Figures (in ``figures/transfer_learning/``, or ``--out DIR``): compare_val_accuracy.png (validation accuracy per
epoch of the three models on digits 5-9), base_filters.png (the transferred first-layer filters) and
confusion_frozen_conv.png.
"""
from __future__ import annotations

import argparse
import os

import numpy as np

import minidl
from minidl import layers, models
from minidl.metrics import confusion_matrix
from _common import add_out_argument, announce_figures, figure_dir


def conv_base() -> list[layers.Layer]:
    """The feature extractor: (N, 28, 28, 1) -> (N, 5, 5, 32)."""
    return [layers.Conv2D(16, 3, activation="relu", name="conv1"), layers.MaxPooling2D(2, name="pool1"),
            layers.Conv2D(32, 3, activation="relu", name="conv2"), layers.MaxPooling2D(2, name="pool2")]


def head(num_classes: int = 5) -> list[layers.Layer]:
    return [layers.Flatten(), layers.Dense(64, activation="relu"), layers.Dense(num_classes, activation="softmax")]


def compiled(stack: list[layers.Layer], name: str) -> models.Sequential:
    model = models.Sequential([layers.Input((28, 28, 1)), *stack], name=name)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def per_class_subset(y: np.ndarray, per_class: int, classes) -> np.ndarray:
    return np.sort(np.concatenate([np.flatnonzero(y == c)[:per_class] for c in classes]))


def main(quick: bool = False, out: str | None = None, per_class: int = 20) -> dict[str, float]:
    minidl.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = minidl.datasets.mnist.load_data()
    x_train = x_train[..., None].astype("float32") / 255
    x_test = x_test[..., None].astype("float32") / 255
    low_tr, low_te = y_train < 5, y_test < 5
    high_te = ~low_te
    if quick:
        per_class = 5
    pre_epochs, epochs = (1, 2) if quick else (5, 40)

    # 1. Pretrain on digits 0-4.
    xa, ya = x_train[low_tr], y_train[low_tr]
    if quick:
        xa, ya = xa[:256], ya[:256]
    base_layers = conv_base()
    base = compiled(base_layers + head(), "base_0_4")
    base.fit(xa, ya, batch_size=32, epochs=pre_epochs, verbose=2)
    results = {"base_test_acc_0_4": float(base.evaluate(x_test[low_te], y_test[low_te], verbose=0)[1])}

    # The new task: digits 5-9 as classes 0-4, few labelled samples; validation digits disjoint from them.
    small = per_class_subset(y_train, per_class, range(5, 10))
    xb, yb = x_train[small], y_train[small] - 5
    rest = np.setdiff1d(np.flatnonzero(~low_tr), small)[: 100 if quick else 500]
    val = (x_train[rest], y_train[rest] - 5)
    xt, yt = x_test[high_te], y_test[high_te] - 5
    print(f"new task: {len(xb)} training digits 5-9, {len(rest)} validation, {len(xt)} test")

    # 2./3. Freeze the pretrained convolutions *before* compiling the models that reuse them.
    conv1, pool1, conv2, pool2 = base_layers
    for layer in (conv1, conv2):
        layer.trainable = False
    frozen_before = {w.name: w.numpy().copy() for layer in (conv1, conv2) for w in layer.weights}

    candidates = {
        "scratch": compiled(conv_base() + head(), "scratch"),
        "frozen_conv": compiled([conv1, pool1, conv2, pool2] + head(), "frozen_conv"),
        "new_conv": compiled([conv1, pool1, layers.Conv2D(32, 3, activation="relu", name="new_conv2"),
                              layers.MaxPooling2D(2)] + head(), "new_conv"),
    }
    histories, preds = {}, {}
    for name, model in candidates.items():
        model.summary()
        histories[name] = model.fit(xb, yb, batch_size=32, epochs=epochs, verbose=0, validation_data=val)
        results[f"{name}_test_acc_5_9"] = float(model.evaluate(xt, yt, verbose=0)[1])
        results[f"{name}_trainable_params"] = float(sum(w.size for w in model.trainable_weights))
        preds[name] = model.predict(xt).argmax(axis=1)

    # The frozen weights did not move, although two models trained on top of them.
    for w in (w for layer in (conv1, conv2) for w in layer.weights):
        assert np.array_equal(w.numpy(), frozen_before[w.name]), f"frozen weight {w.name} changed during fit"
    print(f"frozen weights unchanged after fit: {', '.join(frozen_before)}")

    out = figure_dir(__file__, out)
    import matplotlib.pyplot as plt

    from minidl import viz

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, hist in histories.items():
        acc = hist.history["val_accuracy"]
        ax.plot(np.arange(1, len(acc) + 1), acc, label=f"{name} (test {results[f'{name}_test_acc_5_9']:.3f})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy, digits 5-9")
    ax.set_title(f"{len(xb)} training digits: transfer vs from scratch")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.savefig(os.path.join(out, "compare_val_accuracy.png"), dpi=100, bbox_inches="tight")
    plt.close(fig)
    for fig in (viz.plot_filters(conv1.kernel.numpy(), title="conv1 filters learned on digits 0-4",
                                 path=os.path.join(out, "base_filters.png")),
                viz.plot_confusion_matrix(confusion_matrix(yt, preds["frozen_conv"], 5),
                                          class_names=[str(d) for d in range(5, 10)],
                                          title="frozen conv + new head, test digits 5-9",
                                          path=os.path.join(out, "confusion_frozen_conv.png"))):
        plt.close(fig)
    announce_figures(out)

    print()
    for key, value in results.items():
        print(f"{key:32s} {value:.4f}")
    return results


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1-2 epochs on a few digits (smoke test)")
    add_out_argument(ap, __file__)
    ap.add_argument("--per-class", type=int, default=20, help="training digits per class of the new task")
    a = ap.parse_args()
    main(quick=a.quick, out=a.out, per_class=a.per_class)
