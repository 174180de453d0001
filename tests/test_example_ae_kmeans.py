"""examples/ae_kmeans_mnist.py runs (its --quick mode) and prints its metric lines (issue #6)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "examples" / "ae_kmeans_mnist.py"
METRIC = re.compile(r"^(.+?) \+ KMeans:\s+acc (\S+)\s+NMI (\S+)$")


def _run_quick(out: Path) -> str:
    # A subprocess: the example parses sys.argv and prints; run it as a user would.
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--out", str(out)], capture_output=True,
                          text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_ae_kmeans_quick_prints_metrics_and_saves_figure(tmp_path):
    out = _run_quick(tmp_path / "run")
    scores = {}
    for line in out.splitlines():
        m = METRIC.match(line.strip())
        if m:
            scores[m.group(1).strip()] = (float(m.group(2)), float(m.group(3)))
    assert set(scores) == {"raw pixels (784-D)", "PCA-10", "AE codes (10-D)"}, out
    for name, (acc, nmi) in scores.items():
        assert 0.0 <= acc <= 1.0 and 0.0 <= nmi <= 1.0, (name, acc, nmi)
        # 10 clusters vs 10 classes: the 10 disjoint cyclic matchings cover every sample once, so the best one
        # matches at least 1/10 of them (printed to 4 decimals).
        assert acc >= 0.1 - 1e-4, (name, acc)
    # Raw-pixel KMeans is far above chance even on the 600 quick digits.
    assert scores["raw pixels (784-D)"][0] > 0.3
    # The time itself depends on the machine (a quick run can print "0.0 s"): check only its form and the epochs.
    train = re.search(r"^training time: (\d+\.\d) s \((\d+) epochs, (\d+\.\d\d) s/epoch\)$", out, re.M)
    assert train is not None, out
    assert int(train.group(2)) == 2, out
    assert (tmp_path / "run" / "ae_codes_pca2.png").stat().st_size > 1000
