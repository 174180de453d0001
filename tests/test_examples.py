"""The examples run (quick modes, so that the suite stays fast), in subprocesses as a user runs them, and write
their figures: into ``--out DIR`` when given, else into ``figures/<example name>/`` under the current directory."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_script(args: list[str], cwd: Path | None = None, timeout: int = 180) -> str:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def assert_pngs(folder: Path, names: list[str]) -> None:
    for name in names:
        path = folder / name
        assert path.exists(), f"{name} was not written into {folder}"
        assert path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 1000, name


def test_mnist_keras_cnn_quick(tmp_path):
    out = run_script([str(EXAMPLES / "mnist_keras_cnn.py"), "--quick", "--out", str(tmp_path)], timeout=120)
    assert "Total params: 34826" in out
    assert "Test accuracy:" in out and "Confusion matrix" in out
    acc = float(out.split("Test accuracy:")[1].split()[0])
    assert 0.0 <= acc <= 1.0
    assert_pngs(tmp_path, ["history.png", "confusion.png"])
    assert '<table id="confusion">' in (tmp_path / "report.html").read_text(encoding="utf-8")
    assert f"figures written to {tmp_path}" in out


def test_autoencoder_clustering_quick(tmp_path):
    out = run_script([str(EXAMPLES / "autoencoder_clustering.py"), "--quick", "--out", str(tmp_path)])
    values = dict(line.split() for line in out.splitlines() if line.startswith(("ae_", "dae_", "kmeans_")))
    for key in ("ae_test_bce", "dae_denoise_mse", "kmeans_pixels_acc", "kmeans_ae_codes_acc"):
        assert 0.0 <= float(values[key]) <= 1.0
    assert float(values["kmeans_pixels_acc"]) > 0.3  # raw-pixel KMeans is far above chance (0.1)
    assert_pngs(tmp_path, ["reconstructions.png", "latent_pca_pixels.png", "latent_pca_codes.png"])


def test_default_figure_folder_is_figures_slash_example_name(tmp_path):
    # No --out: the figures land in figures/<example name>/ under the current directory, and the run says so.
    out = run_script([str(EXAMPLES / "autograd_two_layer.py"), "--quick"], cwd=tmp_path, timeout=120)
    folder = tmp_path / "figures" / "autograd_two_layer"
    assert_pngs(folder, ["loss.png", "decision_regions.png"])
    assert re.search(r"figures written to figures/autograd_two_layer/?: decision_regions.png, loss.png", out), out
    accs = [float(m) for m in re.findall(r"accuracy (\S+)", out)]
    assert accs and all(0.0 <= a <= 1.0 for a in accs)


def test_figure_dir_helper(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import _common

    monkeypatch.chdir(tmp_path)
    assert _common.figure_dir("/somewhere/examples/my_lesson.py") == os.path.join("figures", "my_lesson")
    assert (tmp_path / "figures" / "my_lesson").is_dir()
    explicit = tmp_path / "a" / "b"
    assert _common.figure_dir("my_lesson.py", explicit) == str(explicit) and explicit.is_dir()
    (explicit / "x.png").write_bytes(PNG_MAGIC)
    (explicit / "notes.txt").write_text("not a figure")
    assert _common.announce_figures(explicit) == ["x.png"]


# Examples owned by other work (their own figure conventions) and the shared helper itself.
_NOT_LESSONS = {"_common.py", "distributed_mnist.py"}


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py") if p.name not in _NOT_LESSONS))
def test_every_example_writes_figures_by_default(script):
    # Each lesson takes --out through the shared helper (default figures/<name>/) and writes there even when
    # --out is not given: no "if out:" guard around its figures.
    src = (EXAMPLES / script).read_text()
    assert "add_out_argument(" in src and "figure_dir(__file__" in src and "announce_figures(" in src, script
    assert "if out:" not in src and "if plots:" not in src, script
