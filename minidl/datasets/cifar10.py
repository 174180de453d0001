"""CIFAR-10: 60,000 32x32 colour images in 10 classes (download only).

Nothing is embedded; the first call downloads ``cifar-10-python.tar.gz`` (about 163 MB) once into
``$MINIDL_DATA_DIR`` or ``~/.minidl/datasets/`` and checks its SHA-256. The batches are read straight out of
the archive (no extraction)::

    from minidl.datasets import cifar10
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    x_train.shape, y_train.shape   # (50000, 32, 32, 3), (50000, 1)

As in Keras, images are channels-last and **labels have shape (N, 1)**, not (N,); use ``y.ravel()`` where a
flat vector is needed. On an offline machine, copy ``cifar-10-python.tar.gz`` into the cache directory by hand.

Source: Alex Krizhevsky, *Learning Multiple Layers of Features from Tiny Images*, 2009
(https://www.cs.toronto.edu/~kriz/cifar.html).
"""
from __future__ import annotations

import os
import tarfile

import numpy as np

from ._download import get_file, restricted_pickle_load

__all__ = ["load_data", "ORIGINS", "FILE_HASH", "FILE_MD5", "CLASS_NAMES"]

#: Mirrors tried in order: the dataset author's page (also Keras' and torchvision's origin). It could not be
#: re-checked from the offline machine this module was written on.
ORIGINS: list[str] = ["https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]
#: SHA-256 of the archive as published in ``keras/datasets/cifar10.py`` (``file_hash=``).
FILE_HASH = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
#: MD5 published on the CIFAR page and in torchvision.datasets.CIFAR10; kept for reference, the SHA-256 is
#: what is checked. Set ``FILE_HASH = FILE_MD5`` to check the MD5 instead.
FILE_MD5 = "c58f30108f718f92721af3b95e74349a"
FNAME = "cifar-10-python.tar.gz"
CLASS_NAMES: tuple[str, ...] = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
_TEST_BATCH = "test_batch"


def _batch_arrays(batch: object, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Converts one unpickled batch dict into images (N, 32, 32, 3) and labels (N,)."""
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise ValueError(f"CIFAR-10 batch {name} lacks b'data' / b'labels'")
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    labels = np.asarray(batch[b"labels"], dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
        raise ValueError(f"CIFAR-10 batch {name}: data {data.shape}, labels {labels.shape}")
    # Each row stores the red plane, then green, then blue, each 32x32 row-major: (N, C, H, W) -> (N, H, W, C).
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, labels


def load_data(*, cache_dir: str | os.PathLike[str] | None = None):
    """Loads CIFAR-10, downloading it on first use.

    Args:
        cache_dir: Cache root; defaults to ``$MINIDL_DATA_DIR`` or ``~/.minidl/datasets``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 channels-last images (50000, 32, 32, 3) and
        (10000, 32, 32, 3), and uint8 labels of shape **(50000, 1)** and **(10000, 1)** (Keras' layout) with
        values 0..9 (see ``CLASS_NAMES``).

    Raises:
        ChecksumError: The archive does not match its published checksum.
        DownloadError: The archive could not be downloaded (the message says where to place it by hand).
        ValueError: The archive lacks a batch or a batch is malformed.
    """
    local = get_file(FNAME, ORIGINS, FILE_HASH, "auto", cache_dir)
    wanted = {*_TRAIN_BATCHES, _TEST_BATCH}
    batches: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    # One sequential pass over the gzip stream: random access into a .tar.gz would decompress it repeatedly.
    with tarfile.open(local, "r:gz") as tar:
        for member in tar:
            name = member.name.rsplit("/", 1)[-1]
            if name in wanted and member.isfile():
                f = tar.extractfile(member)
                assert f is not None  # isfile() members always have a file object
                with f:
                    batches[name] = _batch_arrays(restricted_pickle_load(f), name)
    missing = sorted(wanted - batches.keys())
    if missing:
        raise ValueError(f"{local} lacks CIFAR-10 batches {missing}")
    x_train = np.concatenate([batches[n][0] for n in _TRAIN_BATCHES])
    y_train = np.concatenate([batches[n][1] for n in _TRAIN_BATCHES]).reshape(-1, 1)
    x_test, y_test = batches[_TEST_BATCH][0].copy(), batches[_TEST_BATCH][1].reshape(-1, 1)
    return (x_train, y_train), (x_test, y_test)
