"""Data parallelism across processes on MPI (mpi4py): the same script runs alone or under ``mpiexec``.

Install the extra (``pip install -e ".[distributed]"``: mpi4py and the ``mpich`` wheel, which provides
``mpiexec``; no system MPI needed), then start the same script on N processes with
``mpiexec -n 2 python script.py``. In the script::

    from minidl import distributed as dist
    dist.init()                               # rank 0 / size 1 when not started by mpiexec
    model.fit(x, y, batch_size=128, distributed=True)   # 128 = the GLOBAL batch, 64 per rank on 2 ranks
    print(model.evaluate(x_test, y_test, distributed=True))  # every rank must call it (a collective)
    model.save("model.npz")                   # writes on rank 0 only

``examples/distributed_mnist.py`` is a whole script; docs/distributed.md explains the math.

The pieces, usable on their own (e.g. in a hand-written training loop):

- :func:`init`, :func:`rank`, :func:`size`, :func:`is_main`, :func:`barrier`;
- :func:`allreduce_mean`: a list of arrays averaged over the ranks in place, ONE all-reduce of one flat
  buffer per call (optionally weighted by shard size, plus scalars riding along);
- :func:`broadcast_weights` (rank 0's weights and optimizer state to every rank), :func:`check_same_model`
  (architectures and shapes compared at start, naming the rank that differs);
- :class:`DataParallel`: the sharding and gradient averaging of a data-parallel training loop.
- :mod:`minidl.distributed.kmeans`: Lloyd iterations and k-means++ seeding on row-sharded data
  (``minidl.cluster.KMeans(..., distributed=True)``).

Faults never hang: every collective is non-blocking and polled with a deadline (``init(timeout=...)``,
default 300 s), an uncaught exception on any rank calls ``MPI_Abort`` (all ranks end), and a rank that
dies is noticed by ``mpiexec``, which kills the rest.
"""
from __future__ import annotations

from ._world import (
    DistributedError, DistributedTimeoutError, World, allgather_arrays, allgather_bytes, allreduce_mean,
    allreduce_sum, barrier, broadcast_arrays, get_timeout, init, is_distributed, is_initialized, is_main,
    launched_by_mpi, rank, set_timeout, shard_bounds, size, writes_files,
)
from .training import DataParallel, broadcast_weights, check_same_data, check_same_model, describe_model

__all__ = [
    "DistributedError", "DistributedTimeoutError", "World", "init", "is_initialized", "launched_by_mpi", "rank",
    "size", "is_main", "is_distributed", "barrier", "get_timeout", "set_timeout", "allreduce_mean",
    "allreduce_sum", "broadcast_arrays", "allgather_bytes", "allgather_arrays", "shard_bounds", "writes_files",
    "describe_model", "check_same_model", "check_same_data", "broadcast_weights", "DataParallel",
]
