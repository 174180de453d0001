"""minidl.distributed: the single-process world here, and 2-rank runs under ``mpiexec`` (the workers in
tests/distributed_workers/ assert on their own; each run has a hard timeout so a hang fails the test).

Skipped with a reason when mpi4py or mpiexec is missing (install the ``distributed`` extra; ``dev`` pulls it in).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minidl import distributed as dist

WORKERS = Path(__file__).parent / "distributed_workers"
ROOT = Path(__file__).resolve().parents[1]


def _mpiexec() -> str | None:
    here = Path(sys.executable).parent / "mpiexec"  # the mpich wheel puts it next to the interpreter
    return str(here) if here.exists() else shutil.which("mpiexec")


def _have_mpi4py() -> bool:
    try:
        import importlib.util

        return importlib.util.find_spec("mpi4py") is not None
    except ImportError:
        return False


needs_mpi = pytest.mark.skipif(
    _mpiexec() is None or not _have_mpi4py(),
    reason="mpi4py or mpiexec missing: pip install -e '.[distributed]' (mpi4py and the mpich wheel)")


def run_ranks(worker: str, mode: str, timeout: float = 90.0, env: dict | None = None,
              extra_args: list[str] = ()) -> tuple[int, str]:
    """Runs ``mpiexec -n 2 python worker mode``; returns (exit status, stdout+stderr). A run past ``timeout``
    is killed with its whole process group and fails the test (a hang is a bug, never a pass)."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join([str(ROOT), full_env.get("PYTHONPATH", "")])
    for var in dist._world._LAUNCHER_VARS:  # a test run under mpiexec itself must not leak its rank
        full_env.pop(var, None)
    proc = subprocess.Popen([_mpiexec(), "-n", "2", sys.executable, str(WORKERS / worker), mode, *extra_args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=full_env,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"mpiexec {worker} {mode} did not finish within {timeout} s (a hang):\n{out}")
    return proc.returncode, out


# ------------------------------------------------------------------------------------ single process
def test_single_process_world_is_a_noop():
    # pytest is not started by mpiexec: rank 0 of 1, and every collective returns its input unchanged.
    assert not dist.launched_by_mpi()
    w = dist.init()
    assert (w.rank, w.size, w.comm) == (0, 1, None)
    assert (dist.rank(), dist.size(), dist.is_main(), dist.is_distributed()) == (0, 1, True, False)
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert dist.allreduce_mean([a], weight=5.0, extras=[2.5]) == [2.5]
    np.testing.assert_array_equal(a, np.arange(6).reshape(2, 3))
    b = np.ones(3)
    assert dist.broadcast_arrays([b])[0] is b
    assert dist.allgather_bytes(b"ab") == [b"ab"]
    dist.barrier()
    dp = dist.DataParallel.__new__(dist.DataParallel)
    dp.rank, dp.size = 0, 1
    x = np.arange(10)
    assert dp.shard(x)[0] is x


def test_shard_bounds_cover_every_item_once():
    for n in range(0, 12):
        for p in range(1, 5):
            bounds = [dist.shard_bounds(n, r, p) for r in range(p)]
            assert bounds[0][0] == 0 and bounds[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
            sizes = [hi - lo for lo, hi in bounds]
            assert max(sizes) - min(sizes) <= 1


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="list or tuple"):
        dist.allreduce_mean(np.ones(3))
    with pytest.raises(TypeError, match=r"arrays\[1\] must be floating"):
        dist.allreduce_mean([np.ones(2), np.ones(2, dtype=np.int64)])
    with pytest.raises(ValueError, match="weight must be a number >= 0"):
        dist.allreduce_mean([np.ones(2)], weight=-1.0)
    with pytest.raises(ValueError, match="timeout must be a positive"):
        dist.set_timeout(0)


# ------------------------------------------------------------------------------------ two ranks
@needs_mpi
def test_collectives_two_ranks():
    rc, out = run_ranks("module_worker.py", "collectives")
    assert rc == 0 and out.count("OK rank") == 2, out


@needs_mpi
def test_data_parallel_sgd_equals_one_process():
    # global batch 64 = 32 per rank, averaged gradients: the same weights as one process on batch 64
    rc, out = run_ranks("module_worker.py", "sgd")
    assert rc == 0 and out.count("OK rank") == 2, out


@needs_mpi
def test_mismatched_architectures_detected_at_start():
    rc, out = run_ranks("module_worker.py", "mismatch")
    assert rc == 0 and out.count("OK rank") == 2, out
    assert "rank 1 differs from rank 0" in out and '"units": 9' in out, out


@needs_mpi
@pytest.mark.parametrize("how", ["exit", "kill", "raise", "hang"])
def test_a_failed_rank_ends_the_other_in_bounded_time(how):
    # rank 1 dies (os._exit / SIGKILL), raises, or hangs at step 3 of 2000 all-reduces; rank 0 must not
    # finish normally and must not hang (the hard timeout of run_ranks fails the test if it does).
    rc, out = run_ranks("module_worker.py", how, timeout=60, env={"WORKER_TIMEOUT": "3"})
    assert rc != 0, out
    assert "FINISHED" not in out and "OK rank" not in out, out
    if how == "raise":
        assert "rank 1 failed on purpose" in out and "MPI_Abort" in out, out
    if how == "hang":
        assert "DistributedTimeoutError" in out and "did not complete within 3 s" in out, out


# ------------------------------------------------------------------------------------ the trainer hook
def test_fit_distributed_in_one_process_is_plain_fit():
    from minidl import Sequential, layers, optimizers, random

    def run(distributed):
        random.seed(3)
        model = Sequential([layers.Input((4,)), layers.Dense(5, activation="relu"), layers.Dense(2)])
        model.compile(optimizer=optimizers.SGD(0.1), loss="mse")
        x = np.linspace(-1, 1, 40 * 4, dtype=np.float32).reshape(40, 4)
        y = np.stack([x.sum(1), x[:, 0]], 1)
        model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False, distributed=distributed)
        return model.get_weights(), model.evaluate(x, y, verbose=0, distributed=distributed), \
            model.predict(x, distributed=distributed)

    (w1, e1, p1), (w2, e2, p2) = run(False), run(True)
    assert all(np.array_equal(a, b) for a, b in zip(w1, w2)) and e1 == e2 and np.array_equal(p1, p2)


def test_distributed_argument_is_checked():
    from minidl import Sequential, layers

    model = Sequential([layers.Input((2,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.zeros((4, 2), np.float32)
    with pytest.raises(TypeError, match="distributed must be True or False"):
        model.fit(x, np.zeros((4, 1), np.float32), verbose=0, distributed="yes")
    with pytest.raises(TypeError, match="distributed must be True or False"):
        model.predict(x, distributed=1)
    with pytest.raises(TypeError, match="distributed must be True or False"):
        model.evaluate(x, np.zeros((4, 1), np.float32), verbose=0, distributed=None)

    def batches():
        while True:
            yield x, np.zeros((4, 1), np.float32)

    with pytest.raises(ValueError, match="distributed=True takes arrays, not a generator"):
        model.fit(batches(), steps_per_epoch=1, verbose=0, distributed=True)


@needs_mpi
def test_fit_evaluate_predict_two_ranks_equal_one_process(tmp_path):
    # Sequential and functional, Adam, global batch 64 (the last one 37 = 19 + 18), shuffle=False, 2 epochs,
    # validation: weights, History (loss, accuracy, val_*), evaluate and predict equal one process to 1e-5;
    # the CSVLogger, save and save_weights write on rank 0 only.
    rc, out = run_ranks("fit_worker.py", "fit", timeout=180, extra_args=[str(tmp_path)])
    assert rc == 0 and out.count("OK rank") == 2, out
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "_functional_model_rank0.npz", "_functional_rank0.csv", "_functional_weights_rank0.npz",
        "_sequential_model_rank0.npz", "_sequential_rank0.csv", "_sequential_weights_rank0.npz"]


@needs_mpi
def test_distributed_mnist_example_quick():
    # the example end to end on 256 samples: both ranks report, the summary has the speed-up and all-reduce time
    rc, out = run_ranks(str(ROOT / "examples" / "distributed_mnist.py"), "--quick", timeout=240)
    assert rc == 0, out
    assert "rank 0 of 2: 128 of 256 samples" in out and "rank 1 of 2: 128 of 256 samples" in out, out
    assert "speed-up of 2 processes" in out and "ms per step" in out and "test accuracy" in out, out


# ------------------------------------------------------------------------------------ KMeans
def test_kmeans_distributed_in_one_process_matches_kmeans():
    from minidl.cluster import KMeans

    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(m, 0.5, (40, 2)) for m in (0, 5, 10)])
    a = KMeans(3, n_init=2, random_state=0).fit(X)
    b = KMeans(3, n_init=2, random_state=0, distributed=True).fit(X)
    assert np.array_equal(a.labels_, b.labels_) and np.isclose(a.inertia_, b.inertia_)
    with pytest.raises(ValueError, match="distributed must be True or False"):
        KMeans(3, distributed="yes").fit(X)


@needs_mpi
def test_kmeans_two_ranks_equal_one_process():
    # rows split 157 + 143: same labels, inertia and centres as one process, from the same initial centres,
    # and from the same seed with k-means++ and with 'random' (n_init=3)
    rc, out = run_ranks("kmeans_worker.py", "kmeans")
    assert rc == 0 and out.count("OK rank") == 2, out


@needs_mpi
def test_fit_on_cuda_two_ranks_equal_one_cpu_process():
    # a model on 'cuda' (Numba's CUDA simulator here): gradients go through the host for the all-reduce
    pytest.importorskip("numba.cuda")
    rc, out = run_ranks("fit_worker.py", "fit_cuda", timeout=180, env={"NUMBA_ENABLE_CUDASIM": "1"})
    assert rc == 0 and out.count("OK rank") == 2, out


@needs_mpi
def test_fit_detects_different_data_on_the_ranks():
    rc, out = run_ranks("fit_worker.py", "data_mismatch")
    assert rc == 0 and out.count("OK rank") == 2, out
    assert "check_same_data: rank 1 differs from rank 0" in out and "x[0]" in out, out
