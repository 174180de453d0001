"""Run under ``mpiexec -n 2`` by tests/test_distributed.py: ``python module_worker.py MODE``.

Each mode asserts on its own and prints ``OK rank R`` at the end; the test reads the output and the exit
status. Modes: collectives, sgd (2-rank data-parallel SGD == 1-process SGD), mismatch, exit, kill, raise,
hang.
"""
import os
import signal
import sys
import time

import numpy as np

import minidl.functional as F
from minidl import Tensor
from minidl import distributed as dist


def collectives(r: int, p: int) -> None:
    a = np.full((3, 2), r + 1.0, dtype=np.float32)
    b = np.full(4, 10.0 * (r + 1), dtype=np.float64)
    extras = dist.allreduce_mean([a, b])
    assert extras == [] and np.allclose(a, 1.5) and np.allclose(b, 15.0), (a, b)
    a[...] = r + 1.0
    (loss,) = dist.allreduce_mean([a], weight=r + 1, extras=[10.0 * r])  # weights 1 and 2
    assert np.allclose(a, (1 * 1 + 2 * 2) / 3) and np.isclose(loss, (0 + 20) / 3), (a, loss)
    c = np.full(5, float(r)); d = np.arange(3, dtype=np.int64) * (r + 1)
    dist.broadcast_arrays([c, d])
    assert np.all(c == 0) and np.all(d == np.arange(3)), (c, d)
    assert dist.allgather_bytes(b"x" * (r + 1)) == [b"x", b"xx"]
    g = dist.allgather_arrays(np.full((r + 1, 2), r))
    assert g.tolist() == [[0, 0], [1, 1], [1, 1]], g
    assert [dist.shard_bounds(5, i, 2) for i in range(2)] == [(0, 3), (3, 5)]
    dist.barrier()


def _params(seed: int):
    rng = np.random.default_rng(seed)
    return [Tensor(rng.normal(0, 0.3, (6, 8)).astype(np.float32), requires_grad=True),
            Tensor(np.zeros(8, np.float32), requires_grad=True),
            Tensor(rng.normal(0, 0.3, (8, 3)).astype(np.float32), requires_grad=True),
            Tensor(np.zeros(3, np.float32), requires_grad=True)]


def _loss(params, x, y):
    w1, b1, w2, b2 = params
    return F.cross_entropy(F.relu(x @ w1 + b1) @ w2 + b2, y)


class _Params:  # the two attributes of a model that DataParallel uses
    def __init__(self, params):
        self.weights = params
        self.trainable_weights = params
        self.non_trainable_weights = []
        self.optimizer = None

    def set_weights(self, arrays):
        for p, a in zip(self.weights, arrays):
            p.data[...] = a


def sgd(r: int, p: int) -> None:
    """Plain-gradient training loop: 2 ranks, global batch 64 (32 each) vs one process, batch 64."""
    data = np.random.default_rng(0)
    x = data.normal(size=(256, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1)
    steps, lr, batch = 12, 0.5, 64
    params = _params(seed=100 + r)  # different initial weights on each rank: the broadcast must fix it
    dp = dist.DataParallel(_Params(params))
    losses = []
    for s in range(steps):
        lo = (s * batch) % len(x)
        xb, yb = dp.shard(x[lo:lo + batch], y[lo:lo + batch])
        loss = _loss(params, Tensor(xb), yb)
        loss.backward()
        value, _ = dp.reduce_step(params, len(xb), loss.item())
        losses.append(value)
        for q in params:
            q.data -= lr * q.grad
            q.grad = None
    ref = _params(seed=100)  # rank 0's initial weights, trained alone on the full batches
    ref_losses = []
    for s in range(steps):
        lo = (s * batch) % len(x)
        loss = _loss(ref, Tensor(x[lo:lo + batch]), y[lo:lo + batch])
        loss.backward()
        ref_losses.append(loss.item())
        for q in ref:
            q.data -= lr * q.grad
            q.grad = None
    for q, qr in zip(params, ref):
        err = np.abs(q.data - qr.data).max()
        assert err < 1e-5, f"rank {r}: weights differ from the single-process run by {err}"
    assert np.allclose(losses, ref_losses, atol=1e-6), (losses, ref_losses)
    assert abs(ref[0].data - _params(100)[0].data).max() > 1e-2  # it did train
    # every rank ends with exactly the same weights
    mine = np.concatenate([q.data.ravel() for q in params])
    allw = dist.allgather_arrays(mine[None])
    assert np.array_equal(allw[0], allw[1])
    print(f"rank {r}: max weight difference vs 1 process "
          f"{max(np.abs(q.data - qr.data).max() for q, qr in zip(params, ref)):.2e}", flush=True)


def mismatch(r: int, p: int) -> None:
    from minidl import Sequential, layers

    units = 8 if r == 0 else 9
    model = Sequential([layers.Input((4,)), layers.Dense(units), layers.Dense(2)])
    try:
        dist.check_same_model(model)
    except dist.DistributedError as e:
        print(f"rank {r} caught: {e}", flush=True)
    else:
        raise AssertionError("mismatched models were not detected")


def faulty(r: int, p: int, how: str) -> None:
    dist.set_timeout(float(os.environ.get("WORKER_TIMEOUT", "300")))
    a = np.ones(1000, dtype=np.float32)
    for step in range(2000):
        if r == 1 and step == 3:
            if how == "exit":
                os._exit(3)
            if how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if how == "raise":
                raise RuntimeError("rank 1 failed on purpose")
            if how == "hang":
                time.sleep(120)
        dist.allreduce_mean([a])
    print(f"rank {r} FINISHED", flush=True)


if __name__ == "__main__":
    mode = sys.argv[1]
    world = dist.init()
    assert world.size == 2, world
    if mode in ("exit", "kill", "raise", "hang"):
        faulty(world.rank, world.size, mode)
    else:
        globals()[mode](world.rank, world.size)
    print(f"OK rank {world.rank}", flush=True)
