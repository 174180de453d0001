"""Datasets with Keras-style ``load_data()`` functions returning ``(x_train, y_train), (x_test, y_test)``.

* :mod:`minidl.datasets.mnist` -- a 5,000-digit MNIST subset embedded in the package (offline, default),
  or full MNIST with ``mnist.load_data(full=True)`` (download).
* :mod:`minidl.datasets.fashion_mnist` -- Fashion-MNIST (download).
* :mod:`minidl.datasets.cifar10` -- CIFAR-10 (download; labels shaped (N, 1) as in Keras).
* :mod:`minidl.datasets.gtsrb` -- GTSRB traffic signs, 43 classes, resized to 32x32 (download).

Downloads are cached in ``$MINIDL_DATA_DIR`` or ``~/.minidl/datasets`` and checked against published
checksums. This package needs only NumPy and the standard library, not the rest of minidl.
"""
from . import cifar10, fashion_mnist, gtsrb, mnist
from ._download import ChecksumError, DownloadError, default_cache_dir, get_file

__all__ = [
    "mnist",
    "fashion_mnist",
    "cifar10",
    "gtsrb",
    "get_file",
    "default_cache_dir",
    "ChecksumError",
    "DownloadError",
]
