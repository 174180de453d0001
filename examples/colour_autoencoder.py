"""Colour image reconstruction with a convolutional autoencoder: traffic signs (GTSRB) or CIFAR-10, 32x32x3
(the lecture's "AE Reconstruct-TrafficSigns" notebook).

    python examples/colour_autoencoder.py                      # GTSRB if cached, else CIFAR-10 if cached
    python examples/colour_autoencoder.py --dataset cifar10    # pick one
    python examples/colour_autoencoder.py --quick              # smoke run (used by the tests), see below

The lesson:
1. A colour image is three channels; a convolutional autoencoder keeps them together: every filter of the
   first layer reads all three (kernels 3x3x3), so colour and shape are learned jointly.
2. Encoder Conv(32) -> pool -> Conv(16) -> pool gives an 8x8x16 code, 1,024 floats for 3,072 inputs (3x
   compression); the decoder mirrors it with UpSampling2D and ends in Conv(3, sigmoid), one output per
   channel in [0, 1]. Trained with binary cross-entropy (per channel value) and Adam.
3. Scored by the test MSE per channel value against two references that need no training: the mean
   training image, and a 4x4 block average (each 4x4 patch replaced by its mean colour: an 8x8x3 code of
   192 floats, blown up again), a blurred copy that the learned 1,024-float code should beat.

Data: ``minidl.datasets.gtsrb`` (43 sign classes, cropped to the sign and resized to 32x32) or
``minidl.datasets.cifar10``, only when already in the dataset cache (``$MINIDL_DATA_DIR`` or
``~/.minidl/datasets``): this script never starts a ~200 MB download, it says where to put the files instead.
``--quick`` without a cached data set runs on a small SYNTHETIC set of coloured shapes
(``_common.synthetic_shapes``), clearly labelled as such in the output; it checks that the code runs, its
numbers mean nothing.

Figures (in ``figures/colour_autoencoder/``, or ``--out DIR``): reconstructions.png (test images above their
reconstructions) and code_channels.png (4 of the 16 code channels of the first test images).

Recorded: nothing yet. Neither GTSRB nor CIFAR-10 is in the dataset cache of the offline machine this lesson
was written on, so no full run could be made; run it where the archives are cached and record the numbers.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import minidl
from minidl import layers, models, optimizers
from minidl.datasets import cifar10, default_cache_dir, gtsrb
from _common import add_out_argument, announce_figures, figure_dir, synthetic_shapes


def gtsrb_cached() -> bool:
    folder = default_cache_dir() / gtsrb.SUBDIR
    return all((folder / urls[0].rsplit("/", 1)[-1]).exists() for urls, _ in gtsrb.FILES.values())


def cifar10_cached() -> bool:
    return (default_cache_dir() / cifar10.FNAME).exists()


def load(dataset: str, quick: bool) -> tuple[np.ndarray, np.ndarray, str]:
    """(x_train, x_test, description): float32 images (N, 32, 32, 3) in [0, 1]."""
    if dataset == "auto":
        dataset = "gtsrb" if gtsrb_cached() else "cifar10" if cifar10_cached() else "synthetic"
    if dataset == "synthetic" and not quick:
        sys.exit("Neither GTSRB nor CIFAR-10 is cached in "
                 f"{default_cache_dir()} (set MINIDL_DATA_DIR to use another folder). Download\n  "
                 + "\n  ".join(u[0] for u, _ in gtsrb.FILES.values())
                 + f"\ninto {default_cache_dir() / gtsrb.SUBDIR}, or {cifar10.ORIGINS[0]} into "
                 f"{default_cache_dir()}; or run --quick for a smoke run on synthetic shapes.")
    if dataset == "gtsrb":
        if not gtsrb_cached():
            sys.exit(f"GTSRB is not cached in {default_cache_dir() / gtsrb.SUBDIR}; see minidl.datasets.gtsrb")
        (x_train, _), (x_test, _) = gtsrb.load_data(size=32)
        desc = "GTSRB traffic signs (32x32, cropped to the sign)"
    elif dataset == "cifar10":
        if not cifar10_cached():
            sys.exit(f"CIFAR-10 is not cached: {default_cache_dir() / cifar10.FNAME} does not exist. Download "
                     f"{cifar10.ORIGINS[0]} there (or set MINIDL_DATA_DIR).")
        (x_train, _), (x_test, _) = cifar10.load_data()
        desc = "CIFAR-10"
    else:
        x_train, _ = synthetic_shapes(512, seed=0)
        x_test, _ = synthetic_shapes(128, seed=1)
        desc = "SYNTHETIC coloured shapes (smoke run only, not a real data set)"
    return x_train.astype("float32") / 255, x_test.astype("float32") / 255, desc


def build() -> models.Sequential:
    return models.Sequential([
        layers.Input((32, 32, 3)),
        layers.Conv2D(32, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),   # 16x16x32
        layers.Conv2D(16, 3, padding="same", activation="relu"), layers.MaxPooling2D(2, name="code"),  # 8x8x16
        layers.Conv2D(16, 3, padding="same", activation="relu"), layers.UpSampling2D(2),   # 16x16
        layers.Conv2D(32, 3, padding="same", activation="relu"), layers.UpSampling2D(2),   # 32x32
        layers.Conv2D(3, 3, padding="same", activation="sigmoid"),
    ], name="colour_conv_ae")


def block_average(x: np.ndarray, block: int = 4) -> np.ndarray:
    """Each block x block patch replaced by its mean colour (32x32 -> 8x8 colours, blown up again)."""
    n, h, w, c = x.shape
    small = x.reshape(n, h // block, block, w // block, block, c).mean(axis=(2, 4))
    return np.repeat(np.repeat(small, block, axis=1), block, axis=2)


def main(quick: bool = False, out: str | None = None, dataset: str = "auto", epochs: int | None = None,
         train_samples: int | None = 10000, seed: int = 0) -> dict[str, float]:
    minidl.utils.set_random_seed(seed)
    x_train, x_test, desc = load(dataset, quick)
    if quick:
        x_train, x_test = x_train[:256], x_test[:64]
    elif train_samples:
        x_train = x_train[:train_samples]
    x_test = x_test[:2000]
    epochs = (1 if quick else 10) if epochs is None else epochs
    print(f"data: {desc}; {len(x_train)} training, {len(x_test)} test images")

    model = build()
    model.summary()
    model.compile(optimizer=optimizers.Adam(learning_rate=1e-3), loss="binary_crossentropy")
    start = time.perf_counter()
    model.fit(x_train, x_train, batch_size=64, epochs=epochs, verbose=2)
    seconds = time.perf_counter() - start
    rec = model.predict(x_test, batch_size=250)
    k = [layer.name for layer in model.layers].index("code") + 1
    codes = models.Sequential(model.layers[:k]).predict(x_test[:8])

    results = {
        "synthetic_data": float(desc.startswith("SYNTHETIC")),
        "code_floats": float(np.prod(codes.shape[1:])),
        "params": float(model.count_params()),
        "test_mse": float(np.mean((rec - x_test) ** 2)),
        "mean_image_mse": float(np.mean((x_train.mean(axis=0) - x_test) ** 2)),
        "block_average_mse": float(np.mean((block_average(x_test) - x_test) ** 2)),
        "train_seconds": seconds,
    }

    import matplotlib.pyplot as plt

    from minidl import viz

    out = figure_dir(__file__, out)
    for fig in (viz.plot_reconstructions(x_test[:10], rec[:10], path=os.path.join(out, "reconstructions.png")),
                viz.show_images(codes[:4, :, :, :4].transpose(0, 3, 1, 2).reshape(-1, 8, 8), ncols=4,
                                title="code channels 0-3 of four test images (one row each)",
                                path=os.path.join(out, "code_channels.png"))):
        plt.close(fig)
    announce_figures(out)

    if results["synthetic_data"]:
        print("NOTE: these numbers come from SYNTHETIC shapes (no data set cached); they mean nothing.")
    for key, value in results.items():
        print(f"{key:20s} {value:.4f}")
    return results


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 epoch on 256 images (smoke test)")
    add_out_argument(ap, __file__)
    ap.add_argument("--dataset", choices=("auto", "gtsrb", "cifar10"), default="auto",
                    help="auto: GTSRB if cached, else CIFAR-10 if cached (else --quick uses synthetic shapes)")
    ap.add_argument("--epochs", type=int, default=None, help="default 10 (quick 1)")
    ap.add_argument("--train-samples", type=int, default=10000, help="train on the first N images (0: all)")
    a = ap.parse_args()
    main(quick=a.quick, out=a.out, dataset=a.dataset, epochs=a.epochs, train_samples=a.train_samples)
