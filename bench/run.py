"""The benchmark suite: minidl against PyTorch CPU, Keras 3 and scikit-learn; rewrites bench/RESULTS.md.

``python -m bench`` (or ``python bench/run.py``) runs, on 5,000 MNIST-shaped samples (the embedded digits)
at batch 64 with SGD(0.01, momentum 0.9) unless stated:

- LeNet-5, the Keras MNIST CNN and MLP 784-64-10 training epochs;
- the tied autoencoder 784-128-784 epoch (Adam, BCE);
- CNN inference (predict) at batch 256;
- KMeans 5,000 x 784, k=10, n_init=1, same initial centres, against scikit-learn (time and inertia);
- Numba compile time: the CNN's first training step in a fresh process with an empty ``NUMBA_CACHE_DIR``
  (cold) and in a second fresh process with the same cache (warm);
- peak RSS of one CNN epoch against PyTorch's (and Keras').

Every (framework, workload) pair runs in its OWN fresh process (``python -m bench.worker``), the
frameworks one after the other for each workload, on identical data, shapes, batch size, optimizer and
number of steps: the OpenMP runtime state is process-wide, so in one process one framework would always
run in the other's threading configuration (see bench/RESULTS.md, "Fairness"). Timed workloads report
the median of ``--epochs`` epochs after one warm-up epoch, and the ratio minidl / peer (< 1: minidl
faster). A peer that is not installed is reported as missing, never faked.

Usage::

    python -m bench                    # full suite (a few minutes), rewrites the suite section of RESULTS.md
    python -m bench --quick            # smoke test: 512 samples, 1 timed epoch, no compile / RSS rows
    python -m bench --frameworks minidl --no-write   # minidl only, print the table
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"
SUITE_HEADING = "## Training-epoch suite (python -m bench)"

__all__ = ["Row", "evaluate_row", "render_table", "render_markdown", "update_results", "main", "run_worker"]

# (key, label, peers, target text)
TIMED = [
    ("lenet5", "LeNet-5 epoch", ("torch", "keras"), "<= 1.0x torch, <= 0.5x keras"),
    ("cnn", "Keras MNIST CNN epoch", ("torch", "keras"), "<= 1.0x torch, <= 0.5x keras"),
    ("mlp", "MLP 784-64-10 epoch", ("torch", "keras"), "<= 1.0x torch, <= 0.5x keras"),
    ("tied_ae", "tied AE 784-128-784 epoch (Adam, BCE)", ("torch", "keras"), "<= 0.5x keras"),
    ("predict", "CNN predict, batch 256", ("torch", "keras"), "<= 0.5x keras"),
]


@dataclass
class Row:
    """One line of the table. Values are numbers, or None / a short string ('missing', 'failed', '-').

    ``torch`` holds the first peer (scikit-learn for KMeans), ``keras`` the second. ``unit`` is 's' or 'MB'.
    ``torch_max`` / ``keras_max`` are the target ratios (minidl / peer) or None when the row has none;
    ``abs_max`` is a target on the minidl value itself (compile rows). ``note`` explains a miss or a detail.
    """

    name: str
    minidl: Any = None
    torch: Any = "-"
    keras: Any = "-"
    unit: str = "s"
    target: str = ""
    torch_max: float | None = None
    keras_max: float | None = None
    abs_max: float | None = None
    extra_ok: bool | None = None  # an extra condition (KMeans inertia within 1 %)
    note: str = ""
    met: bool | None = field(default=None)


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def ratio(a: Any, b: Any) -> float | None:
    """a / b when both are numbers, else None."""
    a, b = _num(a), _num(b)
    return a / b if a is not None and b not in (None, 0.0) else None


def evaluate_row(row: Row) -> Row:
    """Sets ``row.met``: True when every target it has is met, False when one is missed, None when a
    needed number is missing (a missing peer never counts as met)."""
    checks: list[bool | None] = []
    if row.torch_max is not None:
        r = ratio(row.minidl, row.torch)
        checks.append(None if r is None else r <= row.torch_max)
    if row.keras_max is not None:
        r = ratio(row.minidl, row.keras)
        checks.append(None if r is None else r <= row.keras_max)
    if row.abs_max is not None:
        v = _num(row.minidl)
        checks.append(None if v is None else v <= row.abs_max)
    if row.extra_ok is not None or (row.torch_max is not None and row.name.startswith("KMeans")):
        checks.append(row.extra_ok)
    if not checks:
        row.met = None
    elif any(c is False for c in checks):
        row.met = False
    elif any(c is None for c in checks):
        row.met = None
    else:
        row.met = True
    return row


def _fmt(v: Any, unit: str) -> str:
    n = _num(v)
    if n is None:
        return str(v) if v is not None else "failed"
    if unit == "MB":
        return f"{n:.0f} MB"
    return f"{n:.3f}" if n < 100 else f"{n:.1f}"


def _fmt_ratio(a: Any, b: Any) -> str:
    r = ratio(a, b)
    return "-" if r is None else f"{r:.2f}"


def _met(row: Row) -> str:
    return {True: "yes", False: "NO", None: "n/a"}[row.met]


HEADER = ("workload", "minidl s", "torch s", "minidl/torch", "keras s", "minidl/keras", "target", "met?")


def _cells(row: Row) -> list[str]:
    return [row.name, _fmt(row.minidl, row.unit), _fmt(row.torch, row.unit), _fmt_ratio(row.minidl, row.torch),
            _fmt(row.keras, row.unit), _fmt_ratio(row.minidl, row.keras), row.target, _met(row)]


def render_table(rows: list[Row]) -> str:
    """A fixed-width text table of ``rows`` (for the terminal)."""
    cells = [list(HEADER)] + [_cells(r) for r in rows]
    w = [max(len(c[i]) for c in cells) for i in range(len(HEADER))]
    lines = ["  ".join(c[i].ljust(w[i]) if i in (0, 6) else c[i].rjust(w[i]) for i in range(len(c)))
             for c in cells]
    lines.insert(1, "  ".join("-" * x for x in w))
    return "\n".join(lines)


def render_markdown(rows: list[Row], meta: dict[str, str]) -> str:
    """The suite section of bench/RESULTS.md: heading, machine / versions / command / date, table, notes.

    ``meta`` keys used: machine, versions, command, date, load, settings (all optional strings).
    """
    out = [SUITE_HEADING, ""]
    for key, label in (("date", "Date"), ("machine", "Machine"), ("load", "Load"), ("versions", "Versions"),
                       ("command", "Command"), ("settings", "Settings")):
        if meta.get(key):
            out.append(f"- {label}: {meta[key]}")
    out += ["", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for r in rows:
        c = _cells(r)
        if r.met is False:
            c[-1] = "**NO**"
        out.append("| " + " | ".join(x.replace("|", "/") for x in c) + " |")
    out += ["", "KMeans row: the \"torch\" columns hold scikit-learn. Memory rows: peak RSS in MB "
                "(`ru_maxrss` after one epoch in a fresh process). Ratios < 1: minidl is faster / smaller.", ""]
    notes = [f"- {r.name}: {r.note}" for r in rows if r.note]
    if notes:
        out += ["Notes (one per missed target or unusual row):", ""] + notes + [""]
    return "\n".join(out)


def update_results(section: str, path: Path = RESULTS) -> str:
    """Replaces the suite section of ``path`` (from its heading to the next '## ' heading), or inserts it
    right after the title; the other sections are kept as they are. Returns the new text."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    pat = re.compile(re.escape(SUITE_HEADING) + r"\n.*?(?=^## |\Z)", re.S | re.M)
    body = section.rstrip("\n") + "\n\n"
    if pat.search(text):
        text = pat.sub(lambda _m: body, text, count=1)
    else:
        m = re.search(r"^## ", text, re.M)
        if m:
            text = text[:m.start()] + body + text[m.start():]
        else:
            text = text.rstrip("\n") + "\n\n" + body
    text = text.rstrip("\n") + "\n"
    path.write_text(text)
    return text


# ---------------------------------------------------------------------------------------- running workers
def run_worker(framework: str, workload: str, samples: int, epochs: int, extra_env: dict[str, str] | None = None,
               extra_args: list[str] | None = None, timeout: float = 1800) -> dict:
    """Runs ``python -m bench.worker`` in a fresh process; returns its JSON (or {'failed': reason})."""
    env = dict(os.environ)
    env.update(extra_env or {})
    cmd = [sys.executable, "-m", "bench.worker", "--framework", framework, "--workload", workload,
           "--samples", str(samples), "--epochs", str(epochs), *(extra_args or [])]
    try:
        p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"failed": f"timed out after {timeout:.0f} s"}
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        tail = (p.stderr or p.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"failed": f"exit {p.returncode}: {tail[0][:200]}"}
    return json.loads(lines[-1])


def _value(res: dict, key: str = "median") -> Any:
    if "missing" in res:
        return "missing"
    if "failed" in res:
        return "failed"
    return res.get(key)


def _lscpu() -> tuple[str, str]:
    model, cores = platform.processor() or platform.machine(), str(os.cpu_count())
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        m = re.search(r"Model name:\s*(.+)", out)
        model = m.group(1).strip() if m else model
    except OSError:
        pass
    return model, cores


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "missing"


def main(argv: list[str] | None = None) -> list[Row]:
    ap = argparse.ArgumentParser(description="minidl benchmark suite (PyTorch CPU, Keras 3, scikit-learn)")
    ap.add_argument("--epochs", type=int, default=5, help="timed epochs per workload (median reported)")
    ap.add_argument("--samples", type=int, default=5000)
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: 512 samples, 1 timed epoch, no compile / memory rows, RESULTS.md untouched")
    ap.add_argument("--frameworks", default="minidl,torch,keras,sklearn",
                    help="comma-separated subset; the others are reported as skipped")
    ap.add_argument("--workloads", default=None, help="comma-separated subset of lenet5,cnn,mlp,tied_ae,predict,"
                                                       "kmeans,compile,rss (default: all)")
    ap.add_argument("--peer-omp-passive", action="store_true",
                    help="also run the peers with OMP_WAIT_POLICY=PASSIVE (for a heavily oversubscribed machine; "
                         "not their default, so recorded in RESULTS.md)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per worker process before it counts as failed")
    ap.add_argument("--no-write", action="store_true", help="do not rewrite bench/RESULTS.md")
    ap.add_argument("--results", default=str(RESULTS), help="the markdown file to update")
    args = ap.parse_args(argv)
    if args.quick:
        args.samples, args.epochs, args.no_write = min(args.samples, 512), 1, True
    fws = set(args.frameworks.split(","))
    wanted = set(args.workloads.split(",")) if args.workloads else None
    if wanted is None and args.quick:
        wanted = {k for k, *_ in TIMED} | {"kmeans"}
    peer_env = {"OMP_WAIT_POLICY": "PASSIVE"} if args.peer_omp_passive else {}
    n, e = args.samples, args.epochs
    seen: dict[str, str] = {}
    loads: list[float] = [os.getloadavg()[0]]  # 1-min load average sampled before every worker
    skipped = "skipped"

    def worker(fw: str, wl: str, **kw: Any) -> dict:
        if fw not in fws:
            return {"missing": skipped}
        env = dict(kw.pop("extra_env", {}) or {})
        if fw != "minidl":
            env = {**peer_env, **env}
        loads.append(os.getloadavg()[0])
        res = run_worker(fw, wl, n, e, extra_env=env, timeout=args.timeout, **kw)
        if "version" in res:
            seen[fw] = f"{res['threads']} threads" if "threads" in res else ""
        if "failed" in res:
            print(f"  {fw} {wl}: FAILED {res['failed']}", file=sys.stderr)
        return res

    def val(res: dict, key: str = "median") -> Any:
        return skipped if res.get("missing") == skipped else _value(res, key)

    rows: list[Row] = []
    for key, label, peers, target in TIMED:
        if wanted is not None and key not in wanted:
            continue
        print(f"running {key} ...", file=sys.stderr, flush=True)
        res = {fw: worker(fw, key) for fw in ("minidl", *peers)}
        row = Row(label, val(res["minidl"]), val(res["torch"]), val(res["keras"]), target=target,
                  torch_max=1.0 if "torch" in target else None, keras_max=0.5)
        rows.append(evaluate_row(row))

    if wanted is None or "kmeans" in wanted:
        print("running kmeans ...", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory() as td:
            init = ["--init", os.path.join(td, "c0.npy")]
            km = worker("minidl", "kmeans", extra_args=init)
            sk = worker("sklearn", "kmeans", extra_args=init) if "failed" not in km else {"failed": "no centres"}
        ri = ratio(km.get("inertia"), sk.get("inertia"))
        row = Row(f"KMeans {n}x784, k=10, n_init=1", val(km), val(sk), target="<= 1.0x sklearn, inertia +-1%",
                  torch_max=1.0, extra_ok=None if ri is None else abs(ri - 1) <= 0.01)
        if ri is not None:
            row.note = (f"inertia minidl {km['inertia']:.1f} vs sklearn {sk['inertia']:.1f} (ratio {ri:.6f}); "
                        f"iterations {km['n_iter']} vs {sk['n_iter']}")
        rows.append(evaluate_row(row))

    if not args.quick and (wanted is None or "compile" in wanted):
        print("running compile (cold, warm) ...", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="minidl_nbcache_") as cache:
            env = {"NUMBA_CACHE_DIR": cache}
            cold = worker("minidl", "first_step", extra_env=env)
            warm = worker("minidl", "first_step", extra_env=env)
        for res, label, limit in ((cold, "cold", 15.0), (warm, "warm", 2.0)):
            total = (res["import_s"] + res["first_step_s"]) if "first_step_s" in res else val(res)
            row = Row(f"compile: CNN first step, {label} cache (import + step)", total,
                      target=f"<= {limit:.0f} s", abs_max=limit)
            if "first_step_s" in res:
                row.note = f"import minidl {res['import_s']:.2f} s + first step {res['first_step_s']:.2f} s"
            rows.append(evaluate_row(row))

    if not args.quick and (wanted is None or "rss" in wanted):
        print("running rss ...", file=sys.stderr, flush=True)
        res = {fw: worker(fw, "rss") for fw in ("minidl", "torch", "keras")}
        row = Row("peak RSS, CNN epoch", val(res["minidl"], "peak_mb"), val(res["torch"], "peak_mb"),
                  val(res["keras"], "peak_mb"), unit="MB", target="<= 1.5x torch", torch_max=1.5)
        row.note = "baseline after imports + data: " + ", ".join(
            f"{fw} {r['baseline_mb']:.0f} MB" for fw, r in res.items() if "baseline_mb" in r)
        rows.append(evaluate_row(row))

    for r in rows:  # one line per missed target
        if r.met is False:
            why = []
            for peer, mx in (("torch", r.torch_max), ("keras", r.keras_max)):
                q = ratio(r.minidl, getattr(r, peer))
                if mx is not None and q is not None and q > mx:
                    why.append(f"{q:.2f}x {'sklearn' if r.name.startswith('KMeans') else peer} (target <= {mx}x)")
            if r.abs_max is not None and _num(r.minidl) is not None and r.minidl > r.abs_max:
                why.append(f"{r.minidl:.1f} s (target <= {r.abs_max:.0f} s)")
            if r.extra_ok is False:
                why.append("inertia differs by more than 1 %")
            r.note = ("MISSED: " + "; ".join(why) + (f". {r.note}" if r.note else "")).strip()

    model, cores = _lscpu()
    vers = {"python": platform.python_version(), "numpy": _version("numpy"), "numba": _version("numba"),
            "torch": _version("torch"), "keras": _version("keras"), "scikit-learn": _version("scikit-learn")}
    vtext = ", ".join(f"{k} {v}" + (f" ({seen[k]})" if seen.get(k) else "")
                      for k, v in vers.items())
    load = os.getloadavg()
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{model}, {cores} cores ({platform.system()} {platform.machine()})",
        "load": f"1-min load average {min(loads):.1f} to {max(loads):.1f} before the workers (1/5/15-min "
                f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end); above {cores} other jobs shared the "
                "cores and every timing is inflated",
        "versions": vtext + ("; Keras on the torch backend" if "keras" in fws else ""),
        "command": "`python -m bench" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip() + "`",
        "settings": f"{n} embedded MNIST digits, batch 64 (predict 256), SGD(0.01, momentum 0.9) / Adam(1e-3); "
                    f"median of {e} timed epochs after 1 warm-up; one fresh process per framework and workload; "
                    f"OMP_WAIT_POLICY: minidl PASSIVE (its default), peers "
                    f"{'PASSIVE (--peer-omp-passive)' if peer_env else os.environ.get('OMP_WAIT_POLICY', 'unset (their default)')}",
    }
    print(f"# {meta['machine']}; {meta['load']}\n# {meta['versions']}\n# {meta['settings']}")
    print(render_table(rows))
    for r in rows:
        if r.note:
            print(f"  - {r.name}: {r.note}")
    if not args.no_write:
        update_results(render_markdown(rows, meta), Path(args.results))
        print(f"wrote {args.results}", file=sys.stderr)
    return rows


if __name__ == "__main__":
    if __package__ in (None, ""):  # python bench/run.py: make `bench.worker` importable for the workers
        sys.path.insert(0, str(ROOT))
    main()
