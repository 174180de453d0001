"""Fashion-MNIST: 70,000 28x28 grayscale images of clothing in 10 classes (download only).

Nothing is embedded; the first call downloads the four IDX files (about 30 MB) once into
``$MINIDL_DATA_DIR/fashion-mnist/`` or ``~/.minidl/datasets/fashion-mnist/`` and checks their MD5 sums::

    from minidl.datasets import fashion_mnist
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    fashion_mnist.CLASS_NAMES[y_train[0]]

On an offline machine, copy the four ``*-ubyte.gz`` files into that directory by hand.

Source: Han Xiao, Kashif Rasul, Roland Vollgraf (Zalando Research), 2017, MIT licence.
"""
from __future__ import annotations

import os

import numpy as np

from ._download import get_file, read_idx

__all__ = ["load_data", "MIRRORS", "FILES", "CLASS_NAMES"]

#: Base URLs tried in order. The first is the folder ``keras.datasets.fashion_mnist`` downloads from; the
#: second is the original Zalando S3 bucket used by torchvision. Neither could be re-checked from the offline
#: machine this module was written on.
MIRRORS: list[str] = [
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
]
#: File name -> MD5, as published in the zalandoresearch/fashion-mnist README (the same values are
#: hard-coded in torchvision.datasets.FashionMNIST). Keras itself downloads these files unchecked.
FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
_SUBDIR = "fashion-mnist"


def _fetch(name: str, cache_dir: str | os.PathLike[str] | None) -> np.ndarray:
    local = get_file(name, [base + name for base in MIRRORS], FILES[name], "md5", cache_dir, _SUBDIR)
    return read_idx(local)


def load_data(*, cache_dir: str | os.PathLike[str] | None = None):
    """Loads Fashion-MNIST, downloading it on first use.

    Args:
        cache_dir: Cache root; defaults to ``$MINIDL_DATA_DIR`` or ``~/.minidl/datasets``. Files go into its
            ``fashion-mnist/`` sub-folder.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images (60000, 28, 28) and (10000, 28, 28) with values
        0..255, uint8 labels (60000,) and (10000,) with values 0..9 (see ``CLASS_NAMES``).

    Raises:
        ChecksumError: A file does not match its published MD5.
        DownloadError: A file could not be downloaded (the message says where to place it by hand).
        ValueError: A file is not a valid IDX file, or images and labels disagree in length.
    """
    x_train = _fetch("train-images-idx3-ubyte.gz", cache_dir)
    y_train = _fetch("train-labels-idx1-ubyte.gz", cache_dir)
    x_test = _fetch("t10k-images-idx3-ubyte.gz", cache_dir)
    y_test = _fetch("t10k-labels-idx1-ubyte.gz", cache_dir)
    for x, y in ((x_train, y_train), (x_test, y_test)):
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(f"inconsistent Fashion-MNIST files: images {x.shape}, labels {y.shape}")
    return (x_train, y_train), (x_test, y_test)
