"""Data-parallel training of the Keras MNIST convnet on MPI: ``mpiexec -n 2 python examples/distributed_mnist.py``.

Every rank holds the whole (embedded 4,000-sample) training set and a replica of the model of
``examples/mnist_keras_cnn.py``; ``fit(..., distributed=True)`` cuts each global batch of 128 into one
shard per rank, averages the gradients with one all-reduce per step, and applies the same Adam step on
every rank (docs/distributed.md explains why that is the same as one process on the global batch).

What it prints (rank 0 prints the summary; every rank prints its own throughput):

1. one epoch in ONE process (rank 0 alone, the others wait): the baseline;
2. the same epoch on all ranks, data-parallel: per-rank samples/s and the speed-up over (1);
3. the time of one all-reduce of all the gradients (the model's parameters, one flat float32 buffer);
4. the test accuracy (evaluate with distributed=True).

Run alone (``python examples/distributed_mnist.py``) it trains in one process. ``--quick``: 256 samples,
for the tests. Needs the extra: ``pip install -e ".[distributed]"`` (mpi4py and the mpich wheel).
Measured numbers: bench/RESULTS.md ("Data-parallel CNN epoch").
"""
import argparse
import time

import numpy as np

import minidl as keras
from minidl import distributed as dist
from minidl import layers


def build_model() -> keras.Sequential:
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])


def compiled(weights: list | None = None) -> keras.Sequential:
    model = build_model()
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    if weights is not None:
        model.set_weights(weights)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="256 training samples (smoke test)")
    parser.add_argument("--epochs", type=int, default=1, help="data-parallel epochs (default 1)")
    parser.add_argument("--batch-size", type=int, default=128, help="the GLOBAL batch (default 128)")
    args = parser.parse_args()
    world = dist.init()
    r, p = world.rank, world.size
    keras.utils.set_random_seed(0)

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    if args.quick:
        x_train, y_train, x_test, y_test = x_train[:256], y_train[:256], x_test[:128], y_test[:128]
    x_train = np.expand_dims(x_train.astype("float32") / 255, -1)
    x_test = np.expand_dims(x_test.astype("float32") / 255, -1)
    y_train = keras.utils.to_categorical(y_train, 10)
    y_test = keras.utils.to_categorical(y_test, 10)
    n, bs = len(x_train), args.batch_size

    model = compiled()
    start_weights = [w.copy() for w in model.get_weights()]
    dist.broadcast_arrays(start_weights)  # rank 0's initial weights, for the baseline

    # Warm-up on a few samples, so that Numba's compilation (or cache load) is timed in neither run.
    compiled(start_weights).fit(x_train[:bs], y_train[:bs], batch_size=bs, epochs=1, verbose=0)

    # (1) the baseline: one process, the same epoch; the other ranks wait (they sleep in the barrier's poll)
    t_one = None
    if p > 1:
        dist.set_timeout(3600)
        if r == 0:
            alone = compiled(start_weights)
            t0 = time.perf_counter()
            alone.fit(x_train, y_train, batch_size=bs, epochs=1, verbose=0, shuffle=False)
            t_one = time.perf_counter() - t0
        dist.barrier()

    # (2) the data-parallel epoch(s)
    dist.barrier()
    t0 = time.perf_counter()
    model.fit(x_train, y_train, batch_size=bs, epochs=args.epochs, verbose=2 if p == 1 else 0, shuffle=True,
              distributed=True)
    t_dp = (time.perf_counter() - t0) / args.epochs
    lo, hi = dist.shard_bounds(n)
    mine = f"rank {r} of {p}: {hi - lo} of {n} samples per epoch in {t_dp:.2f} s = {(hi - lo) / t_dp:.0f} samples/s"
    lines = [b.decode() for b in dist.allgather_bytes(mine.encode())]

    # (3) one all-reduce of every gradient (as fit does each step), timed over 20 calls
    grads = [np.zeros(w.shape, np.float32) for w in model.trainable_weights]
    dist.barrier()
    t0 = time.perf_counter()
    for _ in range(20):
        dist.allreduce_mean(grads, weight=1.0, extras=[0.0, 0.0])
    t_ar = (time.perf_counter() - t0) / 20
    n_params = sum(g.size for g in grads)

    # (4) accuracy (a collective: every rank calls it)
    loss, acc = model.evaluate(x_test, y_test, verbose=0, distributed=True)
    if r == 0:
        print("\n".join(lines))
        print(f"all ranks: {n / t_dp:.0f} samples/s per epoch of {n} (global batch {bs}, {bs // p} per rank)")
        if t_one is not None:
            print(f"one process: {n / t_one:.0f} samples/s ({t_one:.2f} s per epoch); speed-up of {p} processes: "
                  f"{t_one / t_dp:.2f}x")
        print(f"all-reduce of {n_params} float32 gradients (one buffer): {t_ar * 1e3:.2f} ms per step")
        print(f"test loss {loss:.4f}, test accuracy {acc:.4f}")


if __name__ == "__main__":
    main()
