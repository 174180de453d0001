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
