"""Smoke tests of the benchmark suite (bench/): the minidl side on tiny data, and the table rendering.

No timing assertions: only that every workload runs and reports sensible numbers, that peers missing or
skipped are reported as such, and that the table / RESULTS.md rendering says what the rows say. Needs no
torch, keras or scikit-learn.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import run as bench_run  # noqa: E402
from bench import worker  # noqa: E402
from bench.run import Row, evaluate_row, render_markdown, render_table, update_results  # noqa: E402


def test_load_data_tiles_and_scales():
    x, y = worker.load_data(5003)
    assert x.shape == (5003, 28, 28) and x.dtype == np.float32 and y.shape == (5003,)
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.5
    np.testing.assert_array_equal(x[5000:], x[:3])  # tiled past the 5,000 embedded digits


@pytest.mark.parametrize("workload", ["mlp", "tied_ae", "lenet5"])
def test_minidl_timed_workloads_run_on_tiny_data(workload):
    res = worker.run("minidl", workload, samples=64, epochs=2)
    assert len(res["times"]) == 2 and all(t > 0 for t in res["times"])
    assert res["median"] == pytest.approx(float(np.median(res["times"])))
    assert res["omp_wait_policy"] != "unset"  # minidl's own default is in force


def test_minidl_kmeans_writes_then_reuses_initial_centres(tmp_path):
    init = str(tmp_path / "c0.npy")
    a = worker.run("minidl", "kmeans", samples=200, epochs=1, init=init)
    c0 = np.load(init)
    assert c0.shape == (10, 784)
    b = worker.run("minidl", "kmeans", samples=200, epochs=1, init=init)
    assert a["inertia"] > 0 and b["inertia"] == pytest.approx(a["inertia"])  # same centres, same result


def test_worker_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown workload"):
        worker.run("minidl", "resnet", samples=8, epochs=1)
    with pytest.raises(ValueError, match="unknown framework"):
        worker.run("jax", "mlp", samples=8, epochs=1)


def test_suite_minidl_only_end_to_end(tmp_path, capsys):
    """The orchestrator in its own subprocesses, minidl only: peers are reported as skipped, not faked."""
    rows = bench_run.main(["--frameworks", "minidl", "--workloads", "mlp", "--samples", "128", "--epochs", "1",
                           "--no-write"])
    assert len(rows) == 1 and isinstance(rows[0].minidl, float) and rows[0].minidl > 0
    assert rows[0].torch == "skipped" and rows[0].keras == "skipped" and rows[0].met is None
    out = capsys.readouterr().out
    assert "MLP 784-64-10 epoch" in out and "skipped" in out


def _fake_rows():
    return [
        evaluate_row(Row("fast", 1.0, 2.0, 4.0, target="t", torch_max=1.0, keras_max=0.5)),
        evaluate_row(Row("slow", 3.0, 2.0, 4.0, target="t", torch_max=1.0, keras_max=0.5, note="MISSED: why")),
        evaluate_row(Row("nopeer", 1.0, "missing", "missing", target="t", torch_max=1.0, keras_max=0.5)),
        evaluate_row(Row("compile", 20.0, target="<= 15 s", abs_max=15.0)),
        evaluate_row(Row("rss", 300.0, 250.0, 500.0, unit="MB", target="<= 1.5x torch", torch_max=1.5)),
    ]


def test_evaluate_row_targets():
    fast, slow, nopeer, comp, rss = _fake_rows()
    assert fast.met is True and slow.met is False and nopeer.met is None and comp.met is False and rss.met is True
    km = evaluate_row(Row("KMeans x", 1.0, 2.0, torch_max=1.0, extra_ok=False))
    assert km.met is False  # fast, but the inertia condition fails


def test_render_table_and_markdown(tmp_path):
    rows = _fake_rows()
    table = render_table(rows)
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["workload", "minidl", "s"] and len(lines) == 2 + len(rows)
    slow = next(ln for ln in lines if ln.startswith("slow"))
    assert "1.50" in slow and "0.75" in slow and slow.rstrip().endswith("NO")
    assert "missing" in next(ln for ln in lines if ln.startswith("nopeer"))
    assert "300 MB" in table and "1.20" in table

    md = render_markdown(rows, {"date": "D", "machine": "M", "command": "`python -m bench`"})
    assert md.startswith(bench_run.SUITE_HEADING)
    assert "- Machine: M" in md and "| slow | 3.000 | 2.000 | 1.50 | 4.000 | 0.75 | t | **NO** |" in md
    assert "- slow: MISSED: why" in md

    # rewriting RESULTS.md replaces only the suite section and keeps the others, in place
    path = tmp_path / "RESULTS.md"
    path.write_text("# Benchmark results\n\n## Kernels\n\nkeep me\n")
    update_results(md, path)
    text = path.read_text()
    assert text.index(bench_run.SUITE_HEADING) < text.index("## Kernels") and "keep me" in text
    md2 = render_markdown(rows[:1], {"date": "E"})
    update_results(md2, path)
    text = path.read_text()
    assert text.count(bench_run.SUITE_HEADING) == 1 and "- Date: E" in text and "- Date: D" not in text
    assert "keep me" in text


def _gpu_script(*args: str, env_extra: dict | None = None, drop_sim: bool = False):
    import os
    import subprocess

    env = dict(os.environ, **(env_extra or {}))
    if drop_sim:
        env.pop("NUMBA_ENABLE_CUDASIM", None)
    return subprocess.run([sys.executable, str(ROOT / "bench" / "gpu.py"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_gpu_bench_runs_on_the_simulator():
    """bench/gpu.py --simulator --quick: one step of narrow LeNet-5 / CNN on 'cuda' (simulated) and 'cpu'."""
    p = _gpu_script("--simulator", "--quick")
    assert p.returncode == 0, p.stderr[-2000:]
    assert "CUDA SIMULATOR" in p.stdout and "targets not evaluated" in p.stdout
    rows = {ln.split()[0]: ln.split() for ln in p.stdout.splitlines() if ln.startswith(("lenet5", "cnn"))}
    assert set(rows) == {"lenet5", "cnn"}
    for cols in rows.values():
        assert float(cols[1]) > 0 and float(cols[2]) > 0  # cuda s, cpu s measured
        assert cols[4] == "missing"  # PyTorch CUDA is never faked on the simulator


@pytest.mark.skipif(Path("/dev/nvidia0").exists(), reason="a real GPU would run the full GPU benchmark")
def test_gpu_bench_without_gpu_exits_cleanly_with_a_message():
    p = _gpu_script(drop_sim=True)
    assert p.returncode == 0 and "no GPU benchmark run" in p.stdout and "Nothing was timed" in p.stdout
