"""Run under ``mpiexec -n 2`` by tests/test_distributed.py: ``python fit_worker.py MODE [DIR]``.

Modes: ``data_mismatch`` (other data on rank 1 is an error), ``fit_cuda`` (a model on 'cuda', 2 ranks == one 'cpu' process), ``fit`` (model.fit / evaluate / predict with distributed=True on 2 ranks == one process with the
same global batch and data order; file-writing callbacks on rank 0 only, into DIR). Asserts on its own and
prints ``OK rank R`` at the end.
"""
import os
import sys

import numpy as np

import minidl
from minidl import Input, Model, Sequential, callbacks, layers, optimizers
from minidl import distributed as dist


def _functional():
    inp = Input((6,))
    h = layers.Dense(16, activation="relu")(inp)
    out = layers.Dense(3, activation="softmax")(h)
    return Model(inp, out)


def _sequential():
    return Sequential([Input((6,)), layers.Dense(16, activation="relu"), layers.Dense(3, activation="softmax")])


def _data(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    y = ((x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 0.5)).astype(np.int64)
    return x, y


def fit(r: int, p: int, out_dir: str) -> None:
    x, y = _data(256 + 37, 0)  # 293 samples: the last global batch (37) is cut unevenly (19 + 18)
    xv, yv = _data(101, 1)
    for build in (_functional, _sequential):
        minidl.random.seed(100 + r)  # different initial weights on each rank: fit's broadcast must fix it
        model = build()
        model.compile(optimizer=optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        start = [w.copy() for w in model.get_weights()]
        dist.broadcast_arrays(start)  # rank 0's initial weights, for the single-process reference
        ref = build()
        ref.compile(optimizer=optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        ref.set_weights(start)
        log = os.path.join(out_dir, f"{build.__name__}_rank{r}.csv")
        hist = model.fit(x, y, batch_size=64, epochs=2, shuffle=False, verbose=0, validation_data=(xv, yv),
                         callbacks=[callbacks.CSVLogger(log)], distributed=True)
        ref_hist = ref.fit(x, y, batch_size=64, epochs=2, shuffle=False, verbose=0, validation_data=(xv, yv))
        for w, wr in zip(model.get_weights(), ref.get_weights()):
            err = np.abs(w - wr).max()
            assert err < 1e-5, f"rank {r} {build.__name__}: weights differ from one process by {err}"
        assert np.abs(model.get_weights()[0] - start[0]).max() > 1e-2  # it did train
        for k in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert np.allclose(hist.history[k], ref_hist.history[k], atol=1e-5), (k, hist.history, ref_hist.history)
        ev = model.evaluate(xv, yv, verbose=0, distributed=True)
        ev_ref = ref.evaluate(xv, yv, verbose=0)
        assert np.allclose(ev, ev_ref, atol=1e-5), (ev, ev_ref)
        pred = model.predict(xv, distributed=True)
        assert pred.shape == (101, 3) and np.allclose(pred, ref.predict(xv), atol=1e-5)
        # the replicas are identical to the last bit
        mine = np.concatenate([w.ravel() for w in model.get_weights()])
        both = dist.allgather_arrays(mine[None])
        assert np.array_equal(both[0], both[1])
        print(f"rank {r} {build.__name__}: max weight difference vs 1 process "
              f"{max(np.abs(w - wr).max() for w, wr in zip(model.get_weights(), ref.get_weights())):.2e}", flush=True)
        # save / save_weights write on rank 0 only (a per-rank path, to see which rank wrote)
        model.save(os.path.join(out_dir, f"{build.__name__}_model_rank{r}.npz"))
        model.save_weights(os.path.join(out_dir, f"{build.__name__}_weights_rank{r}.npz"))
    dist.barrier()
    if r == 0:  # the CSVLogger, save and save_weights wrote on rank 0 only
        names = sorted(os.listdir(out_dir))
        assert names == sorted(f"{b}_{k}_rank0.{e}" if k else f"{b}_rank0.csv" for b in ("_functional", "_sequential")
                               for k, e in (("", ""), ("model", "npz"), ("weights", "npz"))), names


def fit_cuda(r: int, p: int) -> None:
    """A model on 'cuda' (the simulator under the tests): 2 ranks == one process on 'cpu'."""
    x, y = _data(40, 0)
    minidl.random.seed(100 + r)
    model = Sequential([Input((6,)), layers.Dense(4, activation="relu"), layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    start = [w.copy() for w in model.get_weights()]
    dist.broadcast_arrays(start)
    ref = Sequential([Input((6,)), layers.Dense(4, activation="relu"), layers.Dense(3, activation="softmax")])
    ref.compile(optimizer=optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    ref.set_weights(start)
    model.to("cuda")
    model.fit(x, y, batch_size=20, epochs=1, shuffle=False, verbose=0, distributed=True)
    ref.fit(x, y, batch_size=20, epochs=1, shuffle=False, verbose=0)
    err = max(np.abs(w - wr).max() for w, wr in zip(model.get_weights(), ref.get_weights()))
    assert err < 1e-5, f"rank {r}: 'cuda' weights differ from one 'cpu' process by {err}"
    assert np.abs(model.get_weights()[0] - start[0]).max() > 1e-4
    print(f"rank {r} cuda: max weight difference vs 1 cpu process {err:.2e}", flush=True)


def data_mismatch(r: int, p: int) -> None:
    """Rank 1 holds other training data: fit(distributed=True) raises on both ranks before training."""
    x, y = _data(64, r)
    minidl.random.seed(100 + r)  # other weights too: an early broadcast would change rank 1's
    model = _sequential()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    before = model.get_weights()
    try:
        model.fit(x, y, batch_size=32, verbose=0, distributed=True)
    except dist.DistributedError as e:
        print(f"rank {r} caught: {e}", flush=True)
    else:
        raise AssertionError("different data on the ranks was not detected")
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))  # nothing changed


if __name__ == "__main__":
    mode = sys.argv[1]
    world = dist.init()
    assert world.size == 2, world
    globals()[mode](world.rank, world.size, *sys.argv[2:])
    print(f"OK rank {world.rank}", flush=True)
