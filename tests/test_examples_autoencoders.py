"""The autoencoder course examples run end to end (``--quick``), print their metrics and write their figures.

As in ``test_examples_classify.py`` the scripts run in this process through ``runpy`` (as ``__main__`` with
``sys.argv`` set as a user would type it): a subprocess per script would load the Numba kernels again.
The quick runs train for one epoch on a few hundred digits, so only ranges and the sanity relations that hold
even then are asserted; the full-run numbers are recorded in each script's docstring.
"""
from __future__ import annotations

import runpy
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")  # before any script imports pyplot: no display in the tests

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(autouse=True)
def _examples_on_path(monkeypatch):
    # ``python examples/x.py`` puts examples/ first on sys.path (the scripts import their _common helper
    # from there); runpy.run_path does not, so the tests do it.
    monkeypatch.syspath_prepend(str(EXAMPLES))


def run_example(script: str, args: list[str], monkeypatch, capsys) -> dict[str, float]:
    """Runs ``examples/<script> args`` as ``__main__``; returns its printed ``key value`` metric lines."""
    monkeypatch.setattr(sys, "argv", [script, *args])
    runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    metrics = {}
    for line in capsys.readouterr().out.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                metrics[parts[0]] = float(parts[1])
            except ValueError:
                pass
    return metrics


def assert_pngs(folder: Path, names: list[str]) -> None:
    for name in names:
        path = folder / name
        assert path.exists(), f"{name} was not written"
        assert path.stat().st_size > 1000, f"{name} is suspiciously small"


def test_conv_autoencoder_quick(tmp_path, monkeypatch, capsys):
    m = run_example("conv_autoencoder.py", ["--quick", "--out", str(tmp_path)], monkeypatch, capsys)
    assert m["code_floats"] == 7 * 7 * 2
    assert m["compression_ratio"] == 8.0
    assert m["conv_params"] < m["dense_params"] / 10  # weight sharing: far fewer weights than the dense AE
    for key in ("conv_test_mse", "dense_test_mse", "mean_image_mse"):
        assert 0.0 < m[key] < 1.0
    assert_pngs(tmp_path, ["reconstructions_conv.png", "reconstructions_dense.png", "conv_codes.png"])


def test_overcomplete_autoencoder_quick(tmp_path, monkeypatch, capsys):
    m = run_example("overcomplete_autoencoder.py", ["--quick", "--out", str(tmp_path)], monkeypatch, capsys)
    assert 0.05 < m["input_noisy_mse"] < 0.2  # N(0, 0.5^2) noise clipped to [0, 1] on mostly black digits
    for kind in ("plain", "sparse", "denoise"):
        for metric in ("clean_mse", "noisy_mse", "active"):
            assert 0.0 <= m[f"{kind}_{metric}"] <= 1.0, (kind, metric)
        assert 0.0 <= m[f"{kind}_noise_gain"] < 2.0
    names = [f"features_{k}.png" for k in ("plain", "sparse", "denoise")]
    names += [f"noisy_reconstructions_{k}.png" for k in ("plain", "sparse", "denoise")]
    assert_pngs(tmp_path, names)


def test_latent_2d_quick(tmp_path, monkeypatch, capsys):
    m = run_example("latent_2d.py", ["--quick", "--out", str(tmp_path)], monkeypatch, capsys)
    for key in ("ae_knn_acc", "pca_knn_acc"):
        assert 0.0 <= m[key] <= 1.0
    for key in ("ae_silhouette", "pca_silhouette"):
        assert -1.0 <= m[key] <= 1.0
    assert m["pca_knn_acc"] > 0.2  # PCA needs no training: its 2-D map is far above chance (0.1) already
    assert 0.0 < m["pca_explained_var"] < 1.0
    assert_pngs(tmp_path, ["latent_2d.png", "latent_2d_reconstructions.png"])


def test_latent_2d_helpers():
    # The hand-written kNN and silhouette against cases with a known answer.
    ns = runpy.run_path(str(EXAMPLES / "latent_2d.py"), run_name="latent_2d")
    z = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
    y = np.array([0, 0, 1, 1])
    # a = 1 for every point, b = mean distance to the other pair = (10 + sqrt(101)) / 2.
    b = (10.0 + np.sqrt(101.0)) / 2
    assert np.isclose(ns["silhouette"](z, y), (b - 1.0) / b)
    assert ns["silhouette"](z, np.array([0, 1, 0, 1])) < 0  # a labelling across the clusters is negative
    assert ns["knn_accuracy"](z, y, np.array([[0.2, 0.5], [9.0, 0.5]]), np.array([0, 1]), k=1) == 1.0


def test_image_search_quick(tmp_path, monkeypatch, capsys):
    m = run_example("image_search.py", ["--quick", "--out", str(tmp_path)], monkeypatch, capsys)
    for key in ("p@10_pixels", "p@10_pca32", "p@10_codes"):
        assert 0.0 <= m[key] <= 1.0
    assert m["p@10_pixels"] > 0.4  # pixel search needs no training; far above chance (0.1) on 512 digits
    assert 0 < m["codes_live_units"] <= 32
    assert_pngs(tmp_path, ["search_pixels.png", "search_codes.png"])


def test_image_search_nearest():
    ns = runpy.run_path(str(EXAMPLES / "image_search.py"), run_name="image_search")
    rng = np.random.default_rng(0)
    db, q = rng.normal(size=(50, 5)), rng.normal(size=(7, 5))
    brute = np.argsort(((q[:, None, :] - db[None]) ** 2).sum(-1), axis=1)[:, :10]
    np.testing.assert_array_equal(ns["nearest"](q, db, 10), brute)
    assert ns["precision_at_k"](np.array([[0, 1], [2, 3]]), np.array([5, 5, 6, 5]), np.array([5, 6])) == 0.75


def test_anomaly_detection_quick(tmp_path, monkeypatch, capsys):
    m = run_example("anomaly_detection.py", ["--quick", "--out", str(tmp_path)], monkeypatch, capsys)
    assert m["holdout_digit"] == 8
    for key in ("auc_heldout", "auc_corrupted", "auc_noise", "auc_heldout_baseline", "auc_corrupted_baseline"):
        assert 0.0 <= m[key] <= 1.0
    assert m["auc_noise_baseline"] > 0.95  # uniform noise is far from the mean digit, even untrained
    assert_pngs(tmp_path, ["worst_reconstructed.png", "score_histogram.png"])


def test_roc_auc_rank_formula():
    auc = runpy.run_path(str(EXAMPLES / "anomaly_detection.py"), run_name="anomaly_detection")["roc_auc"]
    assert auc(np.array([0.1, 0.2]), np.array([0.3, 0.4])) == 1.0
    assert auc(np.array([0.3, 0.4]), np.array([0.1, 0.2])) == 0.0
    assert auc(np.array([0.5, 0.5]), np.array([0.5])) == 0.5  # ties count one half
    # Against the definition: the fraction of (normal, anomaly) pairs ordered correctly, ties 1/2.
    rng = np.random.default_rng(0)
    n, a = rng.integers(0, 5, 30).astype(float), rng.integers(2, 7, 20).astype(float)
    pairs = (a[None, :] > n[:, None]).mean() + 0.5 * (a[None, :] == n[:, None]).mean()
    assert np.isclose(auc(n, a), pairs)


def test_tied_autoencoder_quick(tmp_path, monkeypatch, capsys):
    m = run_example("tied_autoencoder.py", ["--quick", "--out", str(tmp_path)], monkeypatch, capsys)
    # Parameter counts follow from the architectures: W counted once when tied.
    assert m["tied_params"] == 784 * 128 + 128 + 784
    assert m["untied_params"] == 2 * 784 * 128 + 128 + 784
    assert m["tied_stack_params"] == 784 * 256 + 256 + 256 * 64 + 64 + 256 + 784
    assert m["tied_stack_decoder_own_params"] == 256 + 784  # the DenseTranspose layers own only biases
    for kind in ("tied", "untied", "tied_stack", "untied_stack"):
        assert 0.0 < m[f"{kind}_test_mse"] < 1.0
    assert_pngs(tmp_path, ["filters_tied.png", "filters_untied.png", "reconstructions.png"])


def test_denoising_autoencoder_quick(tmp_path, monkeypatch, capsys):
    m = run_example("denoising_autoencoder.py", ["--quick", "--out", str(tmp_path)], monkeypatch, capsys)
    assert 0.05 < m["noisy_input_mse"] < 0.2  # N(0, 0.5^2) clipped to [0, 1] on mostly black digits
    for kind in ("dense", "conv", "plain"):
        assert 0.0 < m[f"{kind}_denoised_mse"] < 1.0
    assert m["conv_params"] < m["dense_params"] / 10
    assert_pngs(tmp_path, [f"denoise_grid_{k}.png" for k in ("conv", "dense", "plain")])


def test_denoising_noise_is_clipped_gaussian():
    ns = runpy.run_path(str(EXAMPLES / "denoising_autoencoder.py"), run_name="denoising_autoencoder")
    x = np.full((200, 28, 28, 1), 0.5, np.float32)
    noisy = ns["add_noise"](x, 0.1, np.random.default_rng(0))
    assert noisy.dtype == np.float32 and noisy.shape == x.shape
    assert 0.0 <= noisy.min() and noisy.max() <= 1.0
    assert abs(float(np.std(noisy - x)) - 0.1) < 0.005  # 0.5 +- 0.1: clipping almost never acts
    assert (ns["add_noise"](np.zeros_like(x), 1.0, np.random.default_rng(0)) == 0).mean() > 0.45  # half clipped


def test_colour_autoencoder_quick_is_labelled_synthetic_without_a_cache(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MINIDL_DATA_DIR", str(tmp_path / "empty"))  # nothing cached: nothing may download
    monkeypatch.setattr(sys, "argv", ["colour_autoencoder.py", "--quick", "--out", str(tmp_path)])
    runpy.run_path(str(EXAMPLES / "colour_autoencoder.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "data: SYNTHETIC coloured shapes" in out and "they mean nothing" in out
    values = dict(line.split() for line in out.splitlines() if line.startswith(("code_floats", "test_mse")))
    assert float(values["code_floats"]) == 8 * 8 * 16 and 0.0 < float(values["test_mse"]) < 1.0
    assert_pngs(tmp_path, ["reconstructions.png", "code_channels.png"])


def test_colour_autoencoder_full_run_without_a_cache_says_where_to_put_the_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MINIDL_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(sys, "argv", ["colour_autoencoder.py"])
    with pytest.raises(SystemExit) as exc:
        runpy.run_path(str(EXAMPLES / "colour_autoencoder.py"), run_name="__main__")
    msg = str(exc.value.code)
    assert "Neither GTSRB nor CIFAR-10 is cached" in msg and str(tmp_path) in msg and "GTSRB-Training_fixed.zip" in msg


def test_colour_autoencoder_runs_on_a_cached_gtsrb(tmp_path, monkeypatch, capsys):
    # A fake GTSRB placed in the cache by hand (as on an offline machine): the lesson uses it, downloads nothing.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    try:
        from test_gtsrb import fake_archives
    finally:
        sys.path.pop(0)
    import hashlib

    from minidl.datasets import gtsrb

    cache = tmp_path / "cache"
    (cache / "gtsrb").mkdir(parents=True)
    table = {}
    for key, body in zip(("train", "test", "test_gt"), fake_archives(np.random.default_rng(0))[:3]):
        name = gtsrb.FILES[key][0][0].rsplit("/", 1)[-1]
        (cache / "gtsrb" / name).write_bytes(body)
        table[key] = ([f"http://127.0.0.1:9/{name}"], hashlib.md5(body).hexdigest())  # port 9: nothing there
    monkeypatch.setattr(gtsrb, "FILES", table)
    monkeypatch.setenv("MINIDL_DATA_DIR", str(cache))
    monkeypatch.setattr(sys, "argv", ["colour_autoencoder.py", "--quick", "--out", str(tmp_path / "figs")])
    runpy.run_path(str(EXAMPLES / "colour_autoencoder.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "data: GTSRB traffic signs (32x32, cropped to the sign); 4 training, 3 test images" in out
    assert "mean nothing" not in out
    assert_pngs(tmp_path / "figs", ["reconstructions.png", "code_channels.png"])


def test_dec_clustering_quick(tmp_path, monkeypatch, capsys):
    m = run_example("dec_clustering.py", ["--quick", "--out", str(tmp_path)], monkeypatch, capsys)
    for key in ("pixels", "pca10", "ae", "dec", "idec"):
        # 10 clusters, 10 classes: the best matching covers at least 1/10 of the digits.
        assert 0.1 - 1e-4 <= m[f"{key}_acc"] <= 1.0 and 0.0 <= m[f"{key}_nmi"] <= 1.0, key
    assert m["pixels_acc"] > 0.3  # raw-pixel KMeans needs no training
    assert m["seeds"] == 1
    assert_pngs(tmp_path, ["codes_ae.png", "codes_dec.png", "codes_idec.png", "dec_history.png"])
