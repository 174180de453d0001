"""The examples run (quick modes, so that the suite stays fast)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_mnist_keras_cnn_quick():
    # A subprocess: the example parses sys.argv and prints; run it as a user would.
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(EXAMPLES / "mnist_keras_cnn.py"), "--quick"], capture_output=True,
                          text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "Total params: 34826" in out
    assert "Test accuracy:" in out and "Confusion matrix" in out
    acc = float(out.split("Test accuracy:")[1].split()[0])
    assert 0.0 <= acc <= 1.0


def test_autoencoder_clustering_quick(tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(EXAMPLES / "autoencoder_clustering.py"), "--quick", "--plots",
                           str(tmp_path)], capture_output=True, text=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    values = dict(line.split() for line in proc.stdout.splitlines() if line.startswith(("ae_", "dae_", "kmeans_")))
    for key in ("ae_test_bce", "dae_denoise_mse", "kmeans_pixels_acc", "kmeans_ae_codes_acc"):
        assert 0.0 <= float(values[key]) <= 1.0
    assert float(values["kmeans_pixels_acc"]) > 0.3  # raw-pixel KMeans is far above chance (0.1)
    for png in ("reconstructions.png", "latent_pca_pixels.png", "latent_pca_codes.png"):
        assert (tmp_path / png).stat().st_size > 1000
