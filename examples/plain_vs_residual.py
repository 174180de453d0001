"""Plain vs residual: the same deep CNN with and without identity shortcuts (ResNet's y = relu(x + F(x))),
compared by their training-loss curves: the degradation problem and how shortcuts fix it.

    python examples/plain_vs_residual.py            # full run (timing below)
    python examples/plain_vs_residual.py --quick    # a smoke run (used by the tests)

The lesson (the classification-basics deck's "34-layer plain vs 34-layer residual"):
1. Stacking more layers should never hurt in principle (extra layers could learn the identity), yet a deep
   *plain* network trains worse than a shallower one: its *training* loss stays higher. This is not
   overfitting; the optimizer fails to find the solution ("degradation").
2. A residual block computes ``y = relu(x + F(x))`` with ``F = conv3x3 -> relu -> conv3x3``: the block only has
   to learn the correction F(x) to the identity, and the gradient reaches the early layers through the
   ``+ x`` path unchanged. With the same layers and the same parameter count, the residual net trains.
3. Networks (no batch normalization, He-initialized, Adam): a stem Conv(16) and 2x2 pooling to 14x14, then
   ``--blocks`` blocks of two 3x3 convs with 16 filters, then pooling, Flatten and Dense(10). The plain net is
   the residual net with the shortcuts removed; a shallow plain net with 1 block is the reference.

Without batch normalization the residual branches must start small: here the second conv of each residual
block starts at zero, so the deep residual net starts as the shallow one and learns the corrections (with He
initialization there too, the 8 branches add up and the first epoch's loss is 4.2, measured).

The nets are built with the functional API (``minidl.Input``, ``layers.Add()([x, f])``, ``minidl.Model``).
The same block as one custom layer, ``ResidualBlock`` below (the pattern of ``minidl.layers``' custom-layer
docs), fits inside a ``Sequential``; ``architectures.py`` uses it.

Figures (in ``figures/plain_vs_residual/``, or ``--out DIR``): training_loss.png (training loss per epoch of the
three nets) and training_accuracy.png.

Recorded (full run: 4,000 train / 1,000 test embedded digits, 8 blocks = 17 conv layers, 6 epochs, batch 64,
Adam 1e-3, seed 0, ``nice -n 10 python examples/plain_vs_residual.py``, 116 s wall-clock on 2 shared cores):

    net (params)                 training loss, epoch 1 -> 6    test acc
    shallow plain, 3 conv (12,650)       1.085 -> 0.079           0.957
    deep plain, 17 conv (45,130)         1.245 -> 0.095           0.949
    deep residual, 17 conv (45,130)      0.837 -> 0.052           0.972

The degradation problem, measured: the deep plain net has 3.6x the parameters of the shallow one and yet a
higher training loss after 6 epochs (0.095 vs 0.079). With shortcuts the same depth trains best (0.052) and
generalises best (0.972).
"""
from __future__ import annotations

import argparse
import os
import time

import minidl
import minidl.functional as F
from minidl import layers, models, optimizers
from _common import add_out_argument, announce_figures, figure_dir


class ResidualBlock(layers.Layer):
    """``relu(x + conv(relu(conv(x))))`` with 3x3 'same' convolutions; ``shortcut=False`` drops the ``x +``
    (a plain block with the same layers and parameters)."""

    def __init__(self, filters: int = 16, shortcut: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.filters, self.shortcut = filters, shortcut
        self.conv1 = layers.Conv2D(filters, 3, padding="same", activation="relu", kernel_initializer="he_normal")
        # Residual branches start at zero (each block starts as the identity, the initialisation of Goyal et
        # al. 2017 and Fixup for nets without batch normalization): He-initialized branches would add up
        # over the blocks and blow the activations up. A plain block cannot do this (it would output 0).
        self.conv2 = layers.Conv2D(filters, 3, padding="same",
                                   kernel_initializer="zeros" if shortcut else "he_normal")

    def build(self, input_shape):
        # Build the sub-layers now, not lazily on the first call: fit() gathers the trainable weights when it
        # starts, and weights created during the first batch would not be trained in that fit (measured).
        self.conv1._ensure_built(input_shape)
        self.conv2._ensure_built((*tuple(input_shape)[:-1], self.filters))

    def call(self, x, training=False):
        f = self.conv2(self.conv1(x, training=training), training=training)
        return F.relu(x + f if self.shortcut else f)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "shortcut": self.shortcut}


def build(blocks: int, shortcut: bool, name: str) -> minidl.Model:
    """The functional-API net: each block is ``f = conv(relu(conv(x)))``, then ``relu(Add()([x, f]))`` with the
    shortcut or ``relu(f)`` without (the same layers, the same parameters)."""
    inputs = minidl.Input((28, 28, 1))
    x = layers.Conv2D(16, 3, padding="same", activation="relu", kernel_initializer="he_normal")(inputs)
    x = layers.MaxPooling2D(2)(x)                                                  # 14x14x16
    for _ in range(blocks):
        f = layers.Conv2D(16, 3, padding="same", activation="relu", kernel_initializer="he_normal")(x)
        # Residual branches start at zero (see ResidualBlock); a plain block keeps He initialization.
        f = layers.Conv2D(16, 3, padding="same", kernel_initializer="zeros" if shortcut else "he_normal")(f)
        x = layers.Activation("relu")(layers.Add()([x, f]) if shortcut else f)
    x = layers.Flatten()(layers.MaxPooling2D(2)(x))
    outputs = layers.Dense(10, activation="softmax")(x)
    return minidl.Model(inputs, outputs, name=name)


def main(quick: bool = False, out: str | None = None, blocks: int = 8, epochs: int | None = None,
         seed: int = 0) -> dict[str, float]:
    (x_train, y_train), (x_test, y_test) = minidl.datasets.mnist.load_data()
    x_train, x_test = x_train[..., None].astype("float32") / 255, x_test[..., None].astype("float32") / 255
    if quick:
        x_train, y_train, x_test, y_test, blocks = x_train[:256], y_train[:256], x_test[:100], y_test[:100], 2
    epochs = (1 if quick else 6) if epochs is None else epochs
    nets = {"shallow_plain": (1, False), "deep_plain": (blocks, False), "deep_residual": (blocks, True)}
    results: dict[str, float] = {"num_blocks": float(blocks), "deep_conv_layers": float(2 * blocks + 1)}
    histories = {}
    for name, (n, shortcut) in nets.items():
        minidl.utils.set_random_seed(seed)
        model = build(n, shortcut, name)
        model.compile(optimizer=optimizers.Adam(learning_rate=1e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        start = time.perf_counter()
        histories[name] = model.fit(x_train, y_train, batch_size=64, epochs=epochs, verbose=2)
        results[f"{name}_seconds"] = time.perf_counter() - start
        results[f"{name}_params"] = float(model.count_params())
        results[f"{name}_first_epoch_loss"] = float(histories[name].history["loss"][0])
        results[f"{name}_final_train_loss"] = float(histories[name].history["loss"][-1])
        results[f"{name}_test_acc"] = float(model.evaluate(x_test, y_test, verbose=0)[1])

    import matplotlib.pyplot as plt

    out = figure_dir(__file__, out)
    for key, label in (("loss", "training loss"), ("accuracy", "training accuracy")):
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, hist in histories.items():
            values = hist.history[key]
            ax.plot(range(1, len(values) + 1), values, marker="o", label=name.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        if key == "loss":
            ax.set_yscale("log")
        ax.set_title(f"{label}: {2 * blocks + 1} conv layers plain vs residual")
        ax.legend()
        fig.savefig(os.path.join(out, f"training_{key}.png"), dpi=100, bbox_inches="tight")
        plt.close(fig)
    announce_figures(out)

    for key, value in results.items():
        print(f"{key:30s} {value:.4f}")
    return results


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 blocks, 1 epoch on 256 digits (smoke test)")
    add_out_argument(ap, __file__)
    ap.add_argument("--blocks", type=int, default=8, help="residual / plain blocks of the deep nets (default 8)")
    ap.add_argument("--epochs", type=int, default=None, help="epochs per net (default 6; quick 1)")
    a = ap.parse_args()
    main(quick=a.quick, out=a.out, blocks=a.blocks, epochs=a.epochs)
