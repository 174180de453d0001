"""The classification course examples run end to end (``--quick``), print their metrics and write their figures.

The scripts run in this process through ``runpy`` (as ``__main__``, with ``sys.argv`` set as a user would
type it) rather than in subprocesses: every subprocess would load the Numba kernels again, which on the
shared 2-core machine costs seconds per script.
"""
from __future__ import annotations

import runpy
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")  # before any script imports pyplot: no display in the tests

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(autouse=True)
def _examples_on_path(monkeypatch):
    # ``python examples/x.py`` puts examples/ first on sys.path (the scripts import their _common helper
    # from there); runpy.run_path does not, so the tests do it.
    monkeypatch.syspath_prepend(str(EXAMPLES))


def run_example(script: str, args: list[str], monkeypatch, capsys) -> tuple[str, dict[str, float]]:
    """Runs ``examples/<script> args`` as ``__main__``; returns stdout and its ``key value`` metric lines."""
    monkeypatch.setattr(sys, "argv", [script, *args])
    runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    out = capsys.readouterr().out
    metrics = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and "_" in parts[0]:
            try:
                metrics[parts[0]] = float(parts[1])
            except ValueError:
                pass
    return out, metrics


def assert_pngs(folder: Path, names: list[str]) -> None:
    for name in names:
        path = folder / name
        assert path.exists(), f"{name} was not written"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 2000, name


def assert_reports(folder: Path, names: list[str]) -> None:
    # The report's own tests check its contents; here: written, one self-contained page with its matrix.
    for name in names:
        text = (folder / name).read_text(encoding="utf-8")
        assert '<table id="confusion">' in text and "https://" not in text and "<script src" not in text, name


def assert_probability(metrics: dict[str, float], *keys: str) -> None:
    for key in keys:
        assert key in metrics, f"metric line {key!r} missing"
        assert 0.0 <= metrics[key] <= 1.0, (key, metrics[key])


def test_mnist_linear_mlp_quick(tmp_path, monkeypatch, capsys):
    out, m = run_example("mnist_linear_mlp.py", ["--quick", "--out", str(tmp_path)], monkeypatch, capsys)
    assert_probability(m, "linear_test_acc", "mlp_test_acc")
    assert m["linear_test_acc"] > 0.3  # 2 epochs of softmax regression are already far above chance (0.1)
    assert "confusion matrix" in out and "digit  precision  recall  support" in out
    assert "Total params: 235146" in out
    assert_pngs(tmp_path, ["linear_weights.png", "confusion_linear.png", "confusion_mlp.png",
                           "history_linear.png", "history_mlp.png"])
    assert_reports(tmp_path, ["report_linear.html", "report_mlp.html"])


def test_mnist_cnn_filters_quick(tmp_path, monkeypatch, capsys):
    out, m = run_example("mnist_cnn_filters.py", ["--quick", "--out", str(tmp_path)], monkeypatch, capsys)
    assert_probability(m, "cnn_test_acc", "lenet_test_acc")
    assert "Total params: 12810" in out and "Total params: 61706" in out
    assert_pngs(tmp_path, ["digit.png", "cnn_filters.png", "lenet_filters.png", "confusion_cnn.png",
                           "confusion_lenet.png", "cnn_feature_maps_conv1.png", "cnn_feature_maps_conv2.png",
                           "lenet_feature_maps_conv1.png", "lenet_feature_maps_conv2.png"])
    assert_reports(tmp_path, ["report_cnn.html", "report_lenet.html"])


def test_overfitting_dropout_quick(tmp_path, monkeypatch, capsys):
    out, m = run_example("overfitting_dropout.py", ["--quick", "--out", str(tmp_path)], monkeypatch, capsys)
    for kind in ("small", "big", "dropout"):
        assert_probability(m, f"{kind}_train_acc", f"{kind}_val_acc", f"{kind}_test_acc")
        assert m[f"{kind}_min_val_loss"] <= m[f"{kind}_val_loss"]
    assert "== big: 669706 parameters" in out
    assert_pngs(tmp_path, ["history_small.png", "history_big.png", "history_dropout.png", "compare_loss.png"])


def test_vgg_style_quick(tmp_path, monkeypatch, capsys):
    out, m = run_example("vgg_style.py", ["--quick", "--out", str(tmp_path)], monkeypatch, capsys)
    assert_probability(m, "vgg_test_acc")
    assert m["vgg_params"] > 0 and "block2_conv2" in out  # the summary lists both blocks
    assert_pngs(tmp_path, ["history.png", "confusion.png", "filters_block1.png"])
    assert_reports(tmp_path, ["report.html"])


def test_vgg_style_cifar10_not_cached_exits_with_instructions(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MINIDL_DATA_DIR", str(tmp_path))  # an empty cache: nothing may be downloaded
    with pytest.raises(SystemExit) as exc:
        run_example("vgg_style.py", ["--dataset", "cifar10"], monkeypatch, capsys)
    assert "CIFAR-10 is not cached" in str(exc.value.code) and str(tmp_path) in str(exc.value.code)


def test_transfer_learning_quick(tmp_path, monkeypatch, capsys):
    out, m = run_example("transfer_learning.py", ["--quick", "--out", str(tmp_path)], monkeypatch, capsys)
    assert_probability(m, "base_test_acc_0_4", "scratch_test_acc_5_9", "frozen_conv_test_acc_5_9",
                       "new_conv_test_acc_5_9")
    # Freezing shows in the parameter counts: only the head trains on top of the frozen convolutions.
    assert m["frozen_conv_trainable_params"] < m["new_conv_trainable_params"] < m["scratch_trainable_params"]
    assert "frozen weights unchanged after fit" in out
    assert_pngs(tmp_path, ["compare_val_accuracy.png", "base_filters.png", "confusion_frozen_conv.png"])


def test_mlp_hidden_units_quick(tmp_path, monkeypatch, capsys):
    out, m = run_example("mlp_hidden_units.py", ["--quick", "--out", str(tmp_path)], monkeypatch, capsys)
    assert_probability(m, "plain_test_acc", "l2_test_acc")
    assert "Total params: 50890" in out  # 784*64 + 64 + 64*10 + 10
    assert m["l2_weight_rms"] < m["plain_weight_rms"]  # the penalty shrinks the same initial weights
    assert_pngs(tmp_path, ["hidden_units_plain.png", "hidden_units_l2.png", "history_plain.png",
                           "history_l2.png"])
    assert_reports(tmp_path, ["report_plain.html"])


def test_mlp_hidden_units_l2_penalty_enters_the_loss(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    ns = runpy.run_path(str(EXAMPLES / "mlp_hidden_units.py"), run_name="mlp_hidden_units")
    import numpy as np

    layer = ns["L2Dense"](3, l2=0.5)
    layer(np.ones((2, 4), np.float32))
    w = layer.kernel.numpy()
    assert len(layer.losses) == 1 and np.isclose(float(layer.losses[0].numpy()), 0.5 * np.sum(w ** 2), rtol=1e-5)
    rough = ns["roughness"]
    assert rough(np.ones((784, 2))) == 0.0
    assert 3.5 < rough(np.random.default_rng(0).normal(size=(784, 20))) < 4.5  # independent noise: about 4
    with pytest.raises(ValueError, match="l2 must be >= 0"):
        ns["L2Dense"](3, l2=-1.0)


def test_transfer_clustering_quick(tmp_path, monkeypatch, capsys):
    out, m = run_example("transfer_clustering.py", ["--quick", "--out", str(tmp_path)], monkeypatch, capsys)
    for name in ("pixels", "pixels_pca", "ae_codes", "cnn_features", "cnn_conv_pca"):
        # 5 clusters vs 5 classes: the best matching covers at least 1/5 of the samples.
        assert 0.2 - 1e-4 <= m[f"{name}_acc"] <= 1.0 and 0.0 <= m[f"{name}_nmi"] <= 1.0, name
    assert m["pixels_acc"] > 0.35  # raw-pixel KMeans needs no training: far above chance on 300 digits
    assert "source: 300 labelled digits 0-4; target: 300 unlabelled digits 5-9" in out
    assert_pngs(tmp_path, ["features_pixels.png", "features_ae.png", "features_cnn.png", "features_cnn_conv.png"])


def test_cifar10_classifiers_quick_is_labelled_synthetic_without_the_archive(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MINIDL_DATA_DIR", str(tmp_path / "empty"))  # nothing cached: nothing may download
    out, m = run_example("cifar10_classifiers.py", ["--quick", "--out", str(tmp_path)], monkeypatch, capsys)
    assert "data: SYNTHETIC coloured shapes" in out and "they mean nothing" in out and m["synthetic_data"] == 1
    assert m["linear_params"] == 3072 * 10 + 10 and m["hidden_params"] == 3072 * 64 + 64 + 64 * 10 + 10
    assert_probability(m, "linear_test_acc", "hidden_test_acc", "cnn_test_acc")
    assert_pngs(tmp_path, [f"confusion_{k}.png" for k in ("linear", "hidden", "cnn")]
                + ["weights_linear.png", "hidden_units.png", "cnn_filters.png"])
    assert_reports(tmp_path, [f"report_{k}.html" for k in ("linear", "hidden", "cnn")])


def test_cifar10_classifiers_full_run_without_the_archive_says_where_to_put_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MINIDL_DATA_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as exc:
        run_example("cifar10_classifiers.py", [], monkeypatch, capsys)
    assert "CIFAR-10 is not cached" in str(exc.value.code) and str(tmp_path) in str(exc.value.code)


def test_cifar10_classifiers_uses_a_cached_archive(tmp_path, monkeypatch, capsys):
    # A tiny fake cifar-10-python.tar.gz placed in the cache by hand: the real CIFAR-10 path runs, offline.
    import hashlib
    import io
    import pickle
    import tarfile

    import numpy as np

    from minidl.datasets import cifar10

    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]:
            n = 12
            data = pickle.dumps({b"labels": [int(v) for v in rng.integers(0, 10, n)],
                                 b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8)}, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (tmp_path / cifar10.FNAME).write_bytes(buf.getvalue())
    monkeypatch.setattr(cifar10, "FILE_HASH", hashlib.sha256(buf.getvalue()).hexdigest())
    monkeypatch.setattr(cifar10, "ORIGINS", ["http://127.0.0.1:9/cifar-10-python.tar.gz"])  # never reached
    monkeypatch.setenv("MINIDL_DATA_DIR", str(tmp_path))
    out, m = run_example("cifar10_classifiers.py", ["--quick", "--out", str(tmp_path / "figs")], monkeypatch, capsys)
    assert "data: CIFAR-10; 60 training, 12 test images" in out and m["synthetic_data"] == 0
    assert "mean nothing" not in out and "airplane" in out
    assert_pngs(tmp_path / "figs", ["confusion_cnn.png", "weights_linear.png"])


def test_architectures_quick(tmp_path, monkeypatch, capsys):
    out, m = run_example("architectures.py", ["--quick", "--out", str(tmp_path)], monkeypatch, capsys)
    assert m["lenet5_params"] == 61706  # Keras's count for this LeNet-5
    # LeNet-5's multiply-adds by hand: conv1 28*28*5*5*1*6, conv2 10*10*5*5*6*16, dense 400*120 + 120*84 + 84*10.
    assert m["lenet5_macs"] == 28 * 28 * 25 * 6 + 10 * 10 * 25 * 6 * 16 + 400 * 120 + 120 * 84 + 84 * 10
    assert m["alexnet_style_macs"] > m["vgg16_style_macs"] > m["lenet5_macs"]
    # ResNet-style: stem, 4 blocks of two 3x3 convs at 14x14x16 / 7x7x32, a 1x1 widening conv, the classifier.
    assert m["resnet_style_macs"] == (28 * 28 * 9 * 16 + 4 * 14 * 14 * 9 * 16 * 16 + 14 * 14 * 16 * 32
                                      + 4 * 7 * 7 * 9 * 32 * 32 + 3 * 3 * 32 * 10)
    assert_probability(m, "lenet5_test_acc", "alexnet_style_test_acc", "vgg16_style_test_acc", "resnet_style_test_acc")
    assert "block5_conv3" in out  # 13 conv layers, as in VGG-16
    assert_pngs(tmp_path, ["compare.png", "history_lenet5.png", "history_alexnet_style.png",
                           "history_vgg16_style.png", "history_resnet_style.png"])


def test_plain_vs_residual_quick(tmp_path, monkeypatch, capsys):
    out, m = run_example("plain_vs_residual.py", ["--quick", "--out", str(tmp_path)], monkeypatch, capsys)
    assert m["num_blocks"] == 2 and m["deep_conv_layers"] == 5
    # The shortcut adds no parameters; each extra block adds two 3x3x16x16 convolutions with biases.
    assert m["deep_plain_params"] == m["deep_residual_params"] == m["shallow_plain_params"] + 2 * (9 * 16 * 16 + 16)
    assert_probability(m, "shallow_plain_test_acc", "deep_plain_test_acc", "deep_residual_test_acc")
    assert_pngs(tmp_path, ["training_loss.png", "training_accuracy.png"])


def test_residual_block_adds_the_identity(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    ns = runpy.run_path(str(EXAMPLES / "plain_vs_residual.py"), run_name="plain_vs_residual")
    import numpy as np

    x = np.random.default_rng(0).random((2, 5, 5, 16)).astype("float32")
    block, plain = ns["ResidualBlock"](16, shortcut=True), ns["ResidualBlock"](16, shortcut=False)
    y_res = block(x).numpy()
    plain(x)
    plain.set_weights(block.get_weights())  # the same convolutions
    f = plain.conv2(plain.conv1(x)).numpy()
    np.testing.assert_allclose(y_res, np.maximum(x + f, 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(plain(x).numpy(), np.maximum(f, 0), rtol=1e-5, atol=1e-6)


def test_residual_block_trains_inside_sequential_from_the_first_fit(monkeypatch):
    # Its sub-layers are built with the block, so the very first fit() trains them.
    monkeypatch.syspath_prepend(str(EXAMPLES))
    ns = runpy.run_path(str(EXAMPLES / "plain_vs_residual.py"), run_name="plain_vs_residual")
    import numpy as np

    from minidl import layers, models

    block = ns["ResidualBlock"](4, shortcut=False)
    model = models.Sequential([layers.Input((6, 6, 4)), block, layers.Flatten(), layers.Dense(2, activation="softmax")])
    assert model.count_params() == 2 * (9 * 4 * 4 + 4) + 6 * 6 * 4 * 2 + 2
    before = block.conv1.kernel.numpy().copy()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(rng.random((32, 6, 6, 4)).astype("float32"), rng.integers(0, 2, 32), epochs=2, verbose=0)
    assert not np.array_equal(before, block.conv1.kernel.numpy())
