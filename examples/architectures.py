"""Classic CNN architectures scaled to 28x28 digits: LeNet-5, AlexNet-, VGG-16- and ResNet-style nets, with a
table of parameters, multiply-adds, training time and accuracy.

    python examples/architectures.py            # full run (timing below)
    python examples/architectures.py --quick    # a smoke run (used by the tests)

The lesson (the classification-basics deck's LeNet, AlexNet, VGG-16 slides):
* **LeNet-5** (1998): two 5x5 conv layers (6 and 16 filters) with pooling, then Dense 120 -> 84 -> 10. Small
  and fast; most of its parameters are in the first Dense layer.
* **AlexNet-style** (2012): deeper and wider, ReLU everywhere, three conv layers in a row before the last
  pooling, two large Dense layers with Dropout(0.5) (AlexNet's 11x11 stride-4 first layer makes no sense on
  28x28, so every kernel is 3x3 here and the widths are scaled down).
* **VGG-16-style** (2014): only 3x3 convolutions, in blocks of 2-3 with 'same' padding, the width doubling
  after each pooling: 13 conv layers and 3 Dense layers as in VGG-16, widths divided by 8 (8 ... 64) and the
  fifth pooling dropped (28 -> 14 -> 7 -> 3 -> 1 after four).
Depth costs compute more than parameters: the multiply-adds column (counted per image from the layer
shapes: Conv2D ``H_out·W_out·kh·kw·C_in·C_out``, Dense ``in·out``) grows much faster than the parameter
column, and training time follows it.

* **ResNet-style** (2015): residual blocks ``relu(x + conv(relu(conv(x))))`` (``ResidualBlock`` from
  ``plain_vs_residual.py``, which shows why the shortcuts matter), two stages of two blocks, 10 conv layers.

Figures (in ``figures/architectures/``, or ``--out DIR``): compare.png (parameters, multiply-adds, time per
epoch and test accuracy per model) and history_<model>.png.

Recorded (full run: 4,000 train / 1,000 test embedded digits, 5 epochs each, Adam 1e-3, batch 64, seed 0,
``nice -n 10 python examples/architectures.py``, 33 s wall-clock on 2 shared cores; s/epoch moved by up to 2x
between three runs of the same code: LeNet-5 0.4-1.0, AlexNet-style 2.9-5.4, VGG-16-style 1.2-2.7):

    model            params   multiply-adds   s/epoch   test acc
    LeNet-5          61,706         416,520      0.4     0.953
    AlexNet-style   428,682      13,537,280      2.9     0.959
    VGG-16-style    256,546       3,280,256      1.2     0.750
    ResNet-style     49,866       3,828,800      1.7     0.960

AlexNet-style needs 32x LeNet's multiply-adds for +0.6 % here. The VGG-16-style net, 16 weight layers deep
without batch normalization, is still far behind after 5 epochs (its training accuracy climbs slowly; see
history_vgg16_style.png): depth alone makes a network harder to train, the problem ``plain_vs_residual.py``
shows and residual shortcuts address: the ResNet-style net, 10 conv layers with the fewest parameters of
the four, is the most accurate after 5 epochs.
"""
from __future__ import annotations

import argparse
import os
import time

import minidl
from minidl import layers, models, optimizers
from minidl.models.summary import layer_macs
from _common import add_out_argument, announce_figures, figure_dir
from plain_vs_residual import ResidualBlock


def lenet5() -> models.Sequential:
    return models.Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(6, 5, padding="same", activation="relu"), layers.MaxPooling2D(2),   # 14x14x6
        layers.Conv2D(16, 5, activation="relu"), layers.MaxPooling2D(2),                  # 5x5x16
        layers.Flatten(), layers.Dense(120, activation="relu"), layers.Dense(84, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ], name="lenet5")


def alexnet_style() -> models.Sequential:
    return models.Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(32, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),  # 14x14
        layers.Conv2D(64, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),  # 7x7
        layers.Conv2D(96, 3, padding="same", activation="relu"),
        layers.Conv2D(96, 3, padding="same", activation="relu"),
        layers.Conv2D(64, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),  # 3x3
        layers.Flatten(), layers.Dense(256, activation="relu"), layers.Dropout(0.5),
        layers.Dense(256, activation="relu"), layers.Dropout(0.5), layers.Dense(10, activation="softmax"),
    ], name="alexnet_style")


def vgg16_style(width: int = 8) -> models.Sequential:
    stack: list = [layers.Input((28, 28, 1))]
    for b, (mult, n) in enumerate([(1, 2), (2, 2), (4, 3), (8, 3), (8, 3)], start=1):
        stack += [layers.Conv2D(width * mult, 3, padding="same", activation="relu", name=f"block{b}_conv{i + 1}")
                  for i in range(n)]
        if b <= 4:  # 28 -> 14 -> 7 -> 3 -> 1; a fifth pooling would have nothing left to pool
            stack.append(layers.MaxPooling2D(2))
    stack += [layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dropout(0.5),
              layers.Dense(128, activation="relu"), layers.Dropout(0.5), layers.Dense(10, activation="softmax")]
    return models.Sequential(stack, name="vgg16_style")


def resnet_style() -> models.Sequential:
    """Two stages of two residual blocks (16 then 32 filters), a 1x1 conv between them to widen the channels."""
    return models.Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(16, 3, padding="same", activation="relu", kernel_initializer="he_normal"),
        layers.MaxPooling2D(2),                                                                   # 14x14x16
        ResidualBlock(16), ResidualBlock(16),
        layers.Conv2D(32, 1, activation="relu", kernel_initializer="he_normal"), layers.MaxPooling2D(2),  # 7x7x32
        ResidualBlock(32), ResidualBlock(32),
        layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(10, activation="softmax"),
    ], name="resnet_style")


def multiply_adds(model: models.Sequential) -> int:
    """Multiply-adds of one forward pass of one image: the total of ``model.summary(show_macs=True)``
    (:func:`minidl.models.summary.layer_macs`, which counts the Conv2D and Dense layers, sub-layers too)."""
    return sum(layer_macs(layer) for layer in model.layers)


BUILDERS = {"lenet5": lenet5, "alexnet_style": alexnet_style, "vgg16_style": vgg16_style, "resnet_style": resnet_style}


def main(quick: bool = False, out: str | None = None, epochs: int | None = None, seed: int = 0) -> dict[str, float]:
    (x_train, y_train), (x_test, y_test) = minidl.datasets.mnist.load_data()
    x_train, x_test = x_train[..., None].astype("float32") / 255, x_test[..., None].astype("float32") / 255
    if quick:
        x_train, y_train, x_test, y_test = x_train[:256], y_train[:256], x_test[:100], y_test[:100]
    epochs = (1 if quick else 5) if epochs is None else epochs
    results: dict[str, float] = {}
    histories = {}
    for name, build in BUILDERS.items():
        minidl.utils.set_random_seed(seed)
        model = build()
        model.compile(optimizer=optimizers.Adam(learning_rate=1e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.summary(show_macs=True)
        start = time.perf_counter()
        histories[name] = model.fit(x_train, y_train, batch_size=64, epochs=epochs, verbose=2)
        seconds = time.perf_counter() - start
        results[f"{name}_params"] = float(model.count_params())
        results[f"{name}_macs"] = float(multiply_adds(model))
        results[f"{name}_seconds_per_epoch"] = seconds / epochs
        results[f"{name}_test_acc"] = float(model.evaluate(x_test, y_test, verbose=0)[1])

    print(f"\n{'model':15s} {'params':>9s} {'mult-adds':>11s} {'s/epoch':>8s} {'test acc':>9s}")
    for name in BUILDERS:
        print(f"{name:15s} {results[name + '_params']:9,.0f} {results[name + '_macs']:11,.0f} "
              f"{results[name + '_seconds_per_epoch']:8.2f} {results[name + '_test_acc']:9.4f}")

    import matplotlib.pyplot as plt

    from minidl import viz

    out = figure_dir(__file__, out)
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.4))
    for ax, (key, label) in zip(axes, [("params", "parameters"), ("macs", "multiply-adds per image"),
                                       ("seconds_per_epoch", "seconds per epoch"), ("test_acc", "test accuracy")]):
        ax.bar(list(BUILDERS), [results[f"{n}_{key}"] for n in BUILDERS], color=["C0", "C1", "C2", "C3"])
        ax.set_title(label)
        ax.tick_params(axis="x", labelrotation=20)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "compare.png"), dpi=100)
    plt.close(fig)
    for name, hist in histories.items():
        plt.close(viz.plot_history(hist, path=os.path.join(out, f"history_{name}.png")))
    announce_figures(out)

    for key, value in results.items():
        print(f"{key:28s} {value:.4f}")
    return results


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 epoch on 256 digits (smoke test)")
    add_out_argument(ap, __file__)
    ap.add_argument("--epochs", type=int, default=None, help="epochs per model (default 5; quick 1)")
    a = ap.parse_args()
    main(quick=a.quick, out=a.out, epochs=a.epochs)
