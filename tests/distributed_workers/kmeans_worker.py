"""Run under ``mpiexec -n 2`` by tests/test_distributed.py: ``python kmeans_worker.py kmeans``.

KMeans(distributed=True) with the rows split over 2 ranks (uneven: 157 + 143) == single-process KMeans on
all rows: from the same initial centres, and with k-means++ from the same seed. Prints ``OK rank R``.
"""
import sys

import numpy as np

from minidl import distributed as dist
from minidl.cluster import KMeans


def kmeans(r: int, p: int) -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 4, (4, 3))
    X = (centres[rng.integers(0, 4, 300)] + rng.normal(0, 1.0, (300, 3))).astype(np.float64) + 100.0
    lo, hi = (0, 157) if r == 0 else (157, 300)
    c0 = X[[3, 50, 200, 250]]
    for kwargs in ({"init": c0, "n_init": 1}, {"init": "k-means++", "n_init": 1, "random_state": 7},
                   {"init": "random", "n_init": 3, "random_state": 1}):
        one = KMeans(4, **kwargs).fit(X)
        km = KMeans(4, distributed=True, **kwargs).fit(X[lo:hi])
        labels = dist.allgather_arrays(km.labels_)
        assert np.array_equal(labels, one.labels_), (kwargs, np.count_nonzero(labels != one.labels_))
        assert np.isclose(km.inertia_, one.inertia_, rtol=1e-9), (km.inertia_, one.inertia_)
        assert np.allclose(km.cluster_centers_, one.cluster_centers_, atol=1e-9)
        assert np.array_equal(km.predict(X[:20]), one.predict(X[:20]))
        print(f"rank {r} {kwargs['init'] if isinstance(kwargs['init'], str) else 'array'}: inertia "
              f"{km.inertia_:.6f} == {one.inertia_:.6f}, {km.n_iter_} / {one.n_iter_} iterations", flush=True)


if __name__ == "__main__":
    world = dist.init()
    assert world.size == 2, world
    globals()[sys.argv[1]](world.rank, world.size)
    print(f"OK rank {world.rank}", flush=True)
