"""K-means clustering written natively on NumPy and Numba, with scikit-learn's names and behaviour.

The model: given samples ``X`` of shape ``(n, d)`` find ``k`` centres ``C`` of shape ``(k, d)`` minimising the
*inertia* ``J(C) = Σ_i min_j ‖x_i − c_j‖²``. Lloyd's algorithm alternates an assignment step (each sample to
its nearest centre) and an update step (each centre to the mean of its samples); neither step can increase
``J``, so the inertia sequence is monotone.

Reading order: :mod:`.reference` (the textbook algorithm and k-means++ in NumPy), :mod:`.estimator`
(``KMeans``: checks, centring the data, ``n_init`` runs), :mod:`.lloyd` (the fast iteration: one kernel for
``fit`` and ``predict``), :mod:`.kmeans_plusplus` (seeding), :mod:`.validation` (argument checks).
"""
from __future__ import annotations

from .estimator import KMeans
from .kmeans_plusplus import kmeans_plusplus
from .validation import NotFittedError, check_array

__all__ = ["KMeans", "kmeans_plusplus", "NotFittedError", "check_array"]

# (the name minidl.decomposition used before the split)
_check_array = check_array
