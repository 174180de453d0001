"""Tests for minidl.viz: every plot runs headless on small arrays, returns a Figure, saves a non-empty PNG,
and rejects obviously wrong shapes with ValueError."""
from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")  # headless; must precede the first pyplot import

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from minidl import viz  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
rng = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")  # pyplot keeps every figure alive otherwise


def check(fig, path) -> None:
    assert isinstance(fig, Figure)
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 1000


class FakeHistory:
    def __init__(self, history):
        self.history = history


class FakeTensor:
    """Stands in for minidl.Tensor: the values live in .data."""

    def __init__(self, data):
        self.data = data


# ----------------------------------------------------------------------------------------------------------
# Each function: runs, returns a Figure, writes a PNG.
# ----------------------------------------------------------------------------------------------------------
def test_show_images_gray_and_rgb(tmp_path):
    gray = rng.integers(0, 256, (7, 8, 8), dtype=np.uint8)
    fig = viz.show_images(gray, labels=np.arange(7), ncols=4, title="digits", path=tmp_path / "g.png")
    check(fig, tmp_path / "g.png")
    assert len([a for a in fig.axes if a.axison]) == 7  # 2 rows x 4 columns, the 8th tile hidden
    rgb = rng.random((3, 6, 6, 3)) * 4 - 2  # out-of-range floats are rescaled, not clipped
    labels = np.array([[0], [1], [2]])  # Keras CIFAR-10 layout
    check(viz.show_images(rgb, labels, class_names=["a", "b", "c"], path=tmp_path / "c.png"), tmp_path / "c.png")
    check(viz.show_images(gray[:, :, :, None], path=tmp_path / "one.png"), tmp_path / "one.png")


def test_plot_confusion_matrix(tmp_path):
    cm = np.array([[5, 1, 0], [2, 3, 0], [0, 0, 0]])
    fig = viz.plot_confusion_matrix(cm, ["cat", "dog", "cow"], normalize=True, path=tmp_path / "cm.png")
    check(fig, tmp_path / "cm.png")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "0.83" in texts and "0.00" in texts  # row-normalised; the empty row stays 0, no NaN
    fig = viz.plot_confusion_matrix(cm, path=tmp_path / "raw.png")
    assert "5" in [t.get_text() for t in fig.axes[0].texts]


def test_plot_history_dict_and_object(tmp_path):
    h = {"loss": [1.0, 0.6, 0.4], "accuracy": [0.5, 0.7, 0.8], "val_loss": [1.1, 0.8, 0.7],
         "val_accuracy": [0.4, 0.6, 0.7]}
    fig = viz.plot_history(h, path=tmp_path / "h.png")
    check(fig, tmp_path / "h.png")
    panels = [a for a in fig.axes if a.axison]
    assert [a.get_title() for a in panels] == ["loss", "accuracy"]
    assert len(panels[0].lines) == 2  # train and val_ curves share a panel
    fig = viz.plot_history(FakeHistory({"loss": [3.0, 2.0]}), path=tmp_path / "h2.png")
    check(fig, tmp_path / "h2.png")


def test_plot_weights(tmp_path):
    W = rng.normal(size=(28 * 28, 10))
    fig = viz.plot_weights(W, (28, 28), ncols=5, class_names=[str(i) for i in range(10)], path=tmp_path / "w.png")
    check(fig, tmp_path / "w.png")
    check(viz.plot_weights(FakeTensor(rng.normal(size=(4 * 4 * 3, 2))), (4, 4, 3), path=tmp_path / "rgb.png"),
          tmp_path / "rgb.png")


def test_plot_filters(tmp_path):
    check(viz.plot_filters(rng.normal(size=(3, 3, 1, 6)), path=tmp_path / "f1.png"), tmp_path / "f1.png")
    check(viz.plot_filters(rng.normal(size=(5, 5, 3, 4)), path=tmp_path / "f3.png"), tmp_path / "f3.png")
    check(viz.plot_filters(rng.normal(size=(3, 3, 8, 2)), path=tmp_path / "f8.png"), tmp_path / "f8.png")


def test_plot_feature_maps(tmp_path):
    check(viz.plot_feature_maps(rng.random((10, 10, 5)), path=tmp_path / "m.png"), tmp_path / "m.png")
    check(viz.plot_feature_maps(rng.random((1, 6, 6, 3)), path=tmp_path / "m1.png"), tmp_path / "m1.png")


def test_plot_latent_2d(tmp_path):
    codes = rng.normal(size=(60, 2))
    labels = np.repeat(np.arange(3), 20)
    fig = viz.plot_latent_2d(codes, labels, "latent", class_names=["x", "y", "z"], path=tmp_path / "z.png")
    check(fig, tmp_path / "z.png")
    legend = fig.axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["x", "y", "z"]
    check(viz.plot_latent_2d(codes, path=tmp_path / "z2.png"), tmp_path / "z2.png")


def test_plot_reconstructions(tmp_path):
    x = rng.random((12, 8, 8))
    fig = viz.plot_reconstructions(x, x * 0.5, n=5, path=tmp_path / "r.png")
    check(fig, tmp_path / "r.png")
    assert len(fig.axes) == 10
    flat = rng.random((4, 16))
    check(viz.plot_reconstructions(flat, flat, path=tmp_path / "flat.png"), tmp_path / "flat.png")
    rgb = rng.random((3, 4, 4, 3))
    check(viz.plot_reconstructions(rgb, rgb, path=tmp_path / "rgb.png"), tmp_path / "rgb.png")


def test_draws_into_given_axes(tmp_path):
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(12, 4))
    assert viz.plot_confusion_matrix(np.eye(2), ax=a1) is fig
    assert viz.show_images(rng.random((4, 5, 5)), ncols=2, ax=a2) is fig  # a 2x2 grid in a2's slot
    assert viz.plot_history({"loss": [1, 0.5]}, ax=a3, path=tmp_path / "all.png") is fig
    check(fig, tmp_path / "all.png")


def test_import_does_not_pick_a_backend():
    # minidl.viz imports pyplot lazily so that importing it never selects or changes a backend.
    import subprocess
    import sys

    code = "import sys, minidl.viz; print('matplotlib.pyplot' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------------------------------------
# Wrong shapes
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call",
    [
        lambda: viz.show_images(np.zeros((8, 8))),  # a single image, not a batch
        lambda: viz.show_images(np.zeros((2, 8, 8, 2))),  # 2 channels
        lambda: viz.show_images(np.zeros((3, 8, 8)), labels=[0, 1]),
        lambda: viz.plot_confusion_matrix(np.zeros((2, 3))),
        lambda: viz.plot_confusion_matrix(np.eye(3), class_names=["a", "b"]),
        lambda: viz.plot_history({}),
        lambda: viz.plot_history({"loss": 1.0}),
        lambda: viz.plot_history([1, 2, 3]),
        lambda: viz.plot_weights(np.zeros((785, 10)), (28, 28)),  # 785 does not factor into 28x28
        lambda: viz.plot_weights(np.zeros(784), (28, 28)),
        lambda: viz.plot_filters(np.zeros((3, 3, 4))),
        lambda: viz.plot_feature_maps(np.zeros((2, 4, 4, 3))),  # a batch of two
        lambda: viz.plot_latent_2d(np.zeros((5, 3)), np.zeros(5)),
        lambda: viz.plot_latent_2d(np.zeros((5, 2)), np.zeros(4)),
        lambda: viz.plot_reconstructions(np.zeros((3, 8, 8)), np.zeros((3, 8, 9))),
        lambda: viz.plot_reconstructions(np.zeros((3, 15)), np.zeros((3, 15))),  # 15 is not a square
    ],
)
def test_wrong_shapes_raise_value_error(call):
    with pytest.raises(ValueError):
        call()
