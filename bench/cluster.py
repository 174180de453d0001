"""KMeans benchmark: minidl vs scikit-learn on the 5,000 embedded MNIST digits; writes bench/RESULTS.md.

Both fit the same data from the SAME initial centres (minidl's k-means++, passed as an ndarray init), k=10,
n_init=1. minidl runs in this process; scikit-learn runs in two fresh child processes that never import minidl,
one with ``OMP_WAIT_POLICY`` unset (scikit-learn's default) and one with it PASSIVE (minidl's setting, set at
import; an OpenMP runtime reads it once, at start-up). The three alternate, ``ROUNDS`` rounds of ``RUNS`` timed fits each
after a warm-up, so that both see the same machine load; reported: the median wall time and the median CPU time
(user + system of all threads, less sensitive to other jobs on a shared machine). Then minidl's raw-pixel
clustering quality (n_init=10). Run: ``python bench/cluster.py`` (``--no-write``: print only).
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RUNS = 5
ROUNDS = 3


def _load() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 embedded digits as ``(5000, 784)`` float32 in [0, 1] and their labels (no minidl import)."""
    d = np.load(ROOT / "minidl" / "datasets" / "data" / "mnist5k.npz")
    return (d["x"].reshape(len(d["x"]), -1) / 255.0).astype(np.float32), d["y"]


def _timed(fn, runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of ``runs`` calls of ``fn``."""
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return wall, cpu


def _sklearn_child(workdir: str) -> None:
    """Child process: time scikit-learn's KMeans (lloyd) from ``workdir/init.npy``, ``ROUNDS`` rounds on request.

    Protocol: the parent writes a line per round on stdin; the child answers each with one JSON line of times.
    """
    try:
        from sklearn import __version__
        from sklearn.cluster import KMeans as SKKMeans
    except ImportError:
        print("null", flush=True)
        return

    X, _ = _load()
    sk = SKKMeans(10, init=np.load(Path(workdir) / "init.npy"), n_init=1, algorithm="lloyd")
    sk.fit(X)  # warm-up
    print(json.dumps({"version": __version__}), flush=True)
    for _line in sys.stdin:
        wall, cpu = _timed(lambda: sk.fit(X), RUNS)
        print(json.dumps({"wall": wall, "cpu": cpu}), flush=True)
    np.save(Path(workdir) / "labels.npy", sk.labels_)
    print(json.dumps({"inertia": float(sk.inertia_), "n_iter": int(sk.n_iter_)}), flush=True)


def main() -> None:
    import numba

    from minidl.cluster import KMeans, kmeans_plusplus
    from minidl.cluster_metrics import cluster_accuracy, normalized_mutual_info_score

    X, y = _load()
    c0, _ = kmeans_plusplus(X, 10, random_state=0)
    ours = KMeans(10, init=c0, n_init=1)
    ours.fit(X)  # warm-up (Numba compile / caches)

    workdir = tempfile.mkdtemp(prefix="bench_kmeans_")
    np.save(Path(workdir) / "init.npy", c0)
    # Two scikit-learn children: its default OpenMP wait policy (variable unset), and PASSIVE like minidl. On an
    # idle machine the default (spin a while, then sleep) is its best setting; on a loaded one spinning threads
    # steal the cores, so both are reported.
    children, skv = {}, None
    for policy in ("unset", "PASSIVE"):
        env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
        if policy != "unset":
            env["OMP_WAIT_POLICY"] = policy
        wd = Path(workdir) / policy
        wd.mkdir()
        np.save(wd / "init.npy", c0)
        child = subprocess.Popen([sys.executable, __file__, "--sklearn-child", str(wd)], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True, env=env)
        first = json.loads(child.stdout.readline() or "null")
        if first is None:  # scikit-learn missing: the child failed on import
            child.wait()
            break
        children[policy] = (child, wd)
        skv = first["version"]

    ours_w, ours_c = [], []
    sk_t = {policy: ([], []) for policy in children}
    for _ in range(ROUNDS):
        w, c = _timed(lambda: ours.fit(X), RUNS)
        ours_w += w
        ours_c += c
        for policy, (child, _wd) in children.items():
            child.stdin.write("go\n")
            child.stdin.flush()
            r = json.loads(child.stdout.readline())
            sk_t[policy][0].extend(r["wall"])
            sk_t[policy][1].extend(r["cpu"])
    sk_res = {}
    for policy, (child, wd) in children.items():
        child.stdin.close()
        sk_res[policy] = json.loads(child.stdout.readline())
        sk_res[policy]["labels"] = np.load(wd / "labels.npy")
        child.wait()

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
    med = lambda v: float(np.median(v))  # noqa: E731
    lines = [
        "## KMeans (bench/cluster.py)",
        "",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {model}, "
        f"{os.cpu_count()} cores (shared with other jobs; 1-min load average {os.getloadavg()[0]:.1f} at the end "
        f"of the run, so wall times are noisy); Python {platform.python_version()}, numpy {np.__version__}, numba "
        f"{numba.__version__} (threading layer {numba.threading_layer()}, {numba.get_num_threads()} threads), "
        f"scikit-learn {skv or 'MISSING'}; minidl OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}, "
        "scikit-learn in fresh processes (which never import minidl) with the variable unset and PASSIVE",
        "- Command: `python bench/cluster.py`",
        "- Data: 5,000 embedded MNIST digits, 784-D float32 in [0, 1]; k=10, n_init=1, same initial centres "
        f"(minidl k-means++, random_state=0) for both; {ROUNDS} alternating rounds of {RUNS} fits each after a "
        "warm-up; medians over all fits.",
        "",
        "| implementation | median wall (s) | min wall (s) | median CPU (s) | inertia | n_iter |",
        "|---|---|---|---|---|---|",
        f"| minidl KMeans | {med(ours_w):.4f} | {min(ours_w):.4f} | {med(ours_c):.4f} | {ours.inertia_:.2f} | "
        f"{ours.n_iter_} |",
    ]
    for policy, sk in sk_res.items():
        w, c = sk_t[policy]
        lines.append(f"| sklearn KMeans (lloyd), OMP_WAIT_POLICY={policy} | {med(w):.4f} | {min(w):.4f} | "
                     f"{med(c):.4f} | {sk['inertia']:.2f} | {sk['n_iter']} |")
    if sk_res:
        lines.append("")
    for policy, sk in sk_res.items():
        w, c = sk_t[policy]
        lines.append(
            f"- minidl/sklearn (OMP_WAIT_POLICY={policy}): wall **{med(ours_w) / med(w):.2f}** (median), "
            f"{min(ours_w) / min(w):.2f} (min); CPU {med(ours_c) / med(c):.2f}; inertia ratio "
            f"{ours.inertia_ / sk['inertia']:.7f}; label agreement {(ours.labels_ == sk['labels']).mean():.4f}"
        )
    if not sk_res:
        lines += ["", "- scikit-learn is not installed: no comparison (nothing faked)."]
    lines += [
        f"- minidl raw-pixel clustering (n_init=10, random_state=0): accuracy {acc:.4f}, NMI {nmi:.4f}, "
        f"inertia {full.inertia_:.2f}",
        "",
    ]
    section = "\n".join(lines)
    print(section)
    if "--no-write" in sys.argv:
        return

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
    if len(sys.argv) == 3 and sys.argv[1] == "--sklearn-child":
        _sklearn_child(sys.argv[2])
    else:
        sys.path.insert(0, str(ROOT))
        main()
