"""KMeans benchmark: minidl vs scikit-learn on the 5,000 embedded MNIST digits; writes bench/RESULTS.md.

Both fit the same data from the SAME initial centres (minidl's k-means++, passed as an ndarray init), k=10,
n_init=1, back to back in one process; time is the median of 7 runs after a warm-up. Then minidl's raw-pixel
clustering quality (n_init=10). Run: ``python bench/cluster.py``.
"""
from __future__ import annotations

import datetime
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numba  # noqa: E402

from minidl.cluster import KMeans, kmeans_plusplus  # noqa: E402
from minidl.cluster_metrics import cluster_accuracy, normalized_mutual_info_score  # noqa: E402

RUNS = 7


def _median_time(fn) -> float:
    fn()  # warm-up (Numba compile / caches)
    ts = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def main() -> None:
    d = np.load(ROOT / "minidl" / "datasets" / "data" / "mnist5k.npz")
    X = (d["x"].reshape(len(d["x"]), -1) / 255.0).astype(np.float32)
    y = d["y"]
    c0, _ = kmeans_plusplus(X, 10, random_state=0)

    ours = KMeans(10, init=c0, n_init=1)
    t_ours = _median_time(lambda: ours.fit(X))
    try:
        from sklearn import __version__ as skv
        from sklearn.cluster import KMeans as SKKMeans
    except ImportError:
        skv, t_sk, sk = None, None, None
    else:
        sk = SKKMeans(10, init=c0, n_init=1, algorithm="lloyd")
        t_sk = _median_time(lambda: sk.fit(X))

    full = KMeans(10, n_init=10, random_state=0).fit(X)
    acc = cluster_accuracy(y, full.labels_)
    nmi = normalized_mutual_info_score(y, full.labels_)

    model = "unknown"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        m = re.search(r"Model name:\s*(.+)", out)
        model = m.group(1).strip() if m else model
    except OSError:
        pass
    lines = [
        "## KMeans (bench/cluster.py)",
        "",
        f"- Date: {datetime.date.today().isoformat()}; machine: {model}, {os.cpu_count()} cores "
        f"(shared with other jobs; 1-min load average {os.getloadavg()[0]:.1f} at the end of the run, so timings are "
        f"noisy); Python {platform.python_version()}, numpy "
        f"{np.__version__}, numba {numba.__version__} (threading layer {numba.threading_layer()}), "
        f"scikit-learn {skv or 'MISSING'}; OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}",
        "- Command: `python bench/cluster.py`",
        "- Data: 5,000 embedded MNIST digits, 784-D float32 in [0, 1]; k=10, n_init=1, same initial centres "
        f"(minidl k-means++, random_state=0) for both; median of {RUNS} fits after a warm-up.",
        "",
        "| implementation | median fit time (s) | inertia | n_iter |",
        "|---|---|---|---|",
        f"| minidl KMeans | {t_ours:.4f} | {ours.inertia_:.2f} | {ours.n_iter_} |",
    ]
    if sk is not None:
        lines.append(f"| sklearn KMeans (lloyd) | {t_sk:.4f} | {sk.inertia_:.2f} | {sk.n_iter_} |")
        lines += [
            "",
            f"- time ratio minidl/sklearn: **{t_ours / t_sk:.2f}**; inertia ratio: {ours.inertia_ / sk.inertia_:.6f}; "
            f"label agreement: {(ours.labels_ == sk.labels_).mean():.4f}",
        ]
    else:
        lines += ["", "- scikit-learn is not installed: no comparison (nothing faked)."]
    lines += [
        f"- minidl raw-pixel clustering (n_init=10, random_state=0): accuracy {acc:.4f}, NMI {nmi:.4f}, "
        f"inertia {full.inertia_:.2f}",
        "",
    ]
    section = "\n".join(lines)
    print(section)

    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    # replace only our own section: from our heading to the next '## ' heading (or the end)
    pat = re.compile(r"## KMeans \(bench/cluster\.py\)\n.*?(?=^## |\Z)", re.S | re.M)
    if pat.search(text):
        text = pat.sub(lambda _m: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


if __name__ == "__main__":
    main()
