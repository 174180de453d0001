"""GTSRB, the German Traffic Sign Recognition Benchmark: 51,839 colour photos of 43 kinds of traffic sign
(download only).

Nothing is embedded; the first call downloads three archives once into ``$MINIDL_DATA_DIR/gtsrb/`` (or
``~/.minidl/datasets/gtsrb/``) and checks their MD5 (the checksums torchvision publishes for the same files):

* ``GTSRB-Training_fixed.zip`` (about 187 MB): 39,209 training images, ``GTSRB/Training/<class>/*.ppm`` with one
  ``GT-<class>.csv`` per class folder;
* ``GTSRB_Final_Test_Images.zip`` (about 89 MB): 12,630 test images, ``GTSRB/Final_Test/Images/*.ppm``;
* ``GTSRB_Final_Test_GT.zip``: ``GT-final_test.csv``, the test labels.

The photos are PPM files of 15x15 to 250x250 pixels with a region of interest (``Roi.X1`` ... ``Roi.Y2``,
inclusive pixel coordinates) around the sign in each CSV row. They are read straight out of the archives (no
extraction), cropped to the ROI and resized to ``size`` x ``size`` by area averaging (bilinear when
enlarging), so every image comes out as one uint8 array::

    from minidl.datasets import gtsrb
    (x_train, y_train), (x_test, y_test) = gtsrb.load_data()     # size=32
    x_train.shape, y_train.shape   # (39209, 32, 32, 3), (39209,)

Labels are class ids 0..42 (``CLASS_NAMES``), shaped (N,). Decoding ~52,000 small PPMs takes some seconds;
the archives stay compressed in the cache. On an offline machine, copy the three files into the cache
folder by hand.

Source: J. Stallkamp, M. Schlipsing, J. Salmen, C. Igel, *Man vs. computer: Benchmarking machine learning
algorithms for traffic sign recognition*, Neural Networks 32, 2012 (https://benchmark.ini.rub.de/).
"""
from __future__ import annotations

import csv
import io
import os
import zipfile

import numpy as np

from ._download import get_file

__all__ = ["load_data", "FILES", "CLASS_NAMES", "read_ppm", "resize"]

_BASE = "https://sid.erda.dk/public/archives/daaeac0d7ce1152aea9b61d9f1e19370/"
#: name -> (mirrors, MD5). The archive URLs and MD5s as used by torchvision.datasets.GTSRB; they could not be
#: re-checked from the offline machine this module was written on.
FILES: dict[str, tuple[list[str], str]] = {
    "train": ([_BASE + "GTSRB-Training_fixed.zip"], "513f3c79a4c5141765e10e952eaa2478"),
    "test": ([_BASE + "GTSRB_Final_Test_Images.zip"], "c7e4e6327067d32654124b0fe9e82185"),
    "test_gt": ([_BASE + "GTSRB_Final_Test_GT.zip"], "fe31e9c9270bbcd7b84b7f21a9d9d9e5"),
}
SUBDIR = "gtsrb"

#: The 43 sign classes, by class id (the benchmark's own descriptions, shortened).
CLASS_NAMES: tuple[str, ...] = (
    "speed limit 20", "speed limit 30", "speed limit 50", "speed limit 60", "speed limit 70",
    "speed limit 80", "end of speed limit 80", "speed limit 100", "speed limit 120", "no passing",
    "no passing for trucks", "right of way at next intersection", "priority road", "yield", "stop",
    "no vehicles", "no trucks", "no entry", "general caution", "dangerous curve left",
    "dangerous curve right", "double curve", "bumpy road", "slippery road", "road narrows on the right",
    "road work", "traffic signals", "pedestrians", "children crossing", "bicycles crossing",
    "beware of ice/snow", "wild animals crossing", "end of all limits", "turn right ahead", "turn left ahead",
    "ahead only", "go straight or right", "go straight or left", "keep right", "keep left",
    "roundabout mandatory", "end of no passing", "end of no passing for trucks",
)


def read_ppm(data: bytes, name: str = "image") -> np.ndarray:
    """Decodes a binary PPM (P6, maxval 255) into a uint8 array (H, W, 3).

    Raises:
        ValueError: Not a P6 file with maxval 255, or too few pixel bytes.
    """
    tokens: list[bytes] = []
    pos = 0
    # Header: "P6", width, height, maxval, separated by whitespace, with '#' comments; one whitespace byte
    # then the pixels.
    while len(tokens) < 4:
        while pos < len(data) and data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            while pos < len(data) and data[pos:pos + 1] not in (b"\n", b"\r"):
                pos += 1
            continue
        start = pos
        while pos < len(data) and not data[pos:pos + 1].isspace():
            pos += 1
        if start == pos:
            raise ValueError(f"{name}: truncated PPM header")
        tokens.append(data[start:pos])
    pos += 1
    if tokens[0] != b"P6" or not all(t.isdigit() for t in tokens[1:]):
        raise ValueError(f"{name}: not a binary PPM (P6) file (header {b' '.join(tokens)!r})")
    w, h, maxval = (int(t) for t in tokens[1:])
    if maxval != 255 or w <= 0 or h <= 0:
        raise ValueError(f"{name}: unsupported PPM ({w}x{h}, maxval {maxval}; expected 8-bit)")
    need = w * h * 3
    if len(data) - pos < need:
        raise ValueError(f"{name}: PPM holds {len(data) - pos} pixel bytes, its header announces {need}")
    return np.frombuffer(data, np.uint8, count=need, offset=pos).reshape(h, w, 3).copy()


def resize(image: np.ndarray, size: int) -> np.ndarray:
    """Resizes an (H, W, C) uint8 image to (size, size, C).

    Shrinking averages each output pixel's footprint (area resampling, which does not alias the way picking
    one source pixel does); enlarging interpolates bilinearly between pixel centres.
    """
    img = image.astype(np.float64)
    for axis in (0, 1):
        img = _resample_axis(img, size, axis)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def _resample_axis(img: np.ndarray, size: int, axis: int) -> np.ndarray:
    n = img.shape[axis]
    if n == size:
        return img
    if n > size:
        # Area weights: output pixel i covers source interval [i n/size, (i+1) n/size).
        edges = np.arange(size + 1) * (n / size)
        lo, hi = edges[:-1, None], edges[1:, None]
        src = np.arange(n)[None, :]
        weights = np.clip(np.minimum(hi, src + 1) - np.maximum(lo, src), 0, None) / (n / size)
    else:
        centres = (np.arange(size) + 0.5) * (n / size) - 0.5
        centres = np.clip(centres, 0, n - 1)
        left = np.floor(centres).astype(int)
        right = np.minimum(left + 1, n - 1)
        frac = centres - left
        weights = np.zeros((size, n))
        weights[np.arange(size), left] += 1 - frac
        weights[np.arange(size), right] += frac
    return np.moveaxis(np.tensordot(weights, np.moveaxis(img, axis, 0), axes=1), 0, axis)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def _image(zf: zipfile.ZipFile, member: str, row: dict[str, str], size: int, crop: bool) -> np.ndarray:
    img = read_ppm(zf.read(member), member)
    if crop:
        x1, y1, x2, y2 = (int(row[k]) for k in ("Roi.X1", "Roi.Y1", "Roi.X2", "Roi.Y2"))
        if 0 <= x1 <= x2 < img.shape[1] and 0 <= y1 <= y2 < img.shape[0]:
            img = img[y1:y2 + 1, x1:x2 + 1]  # inclusive coordinates; a bad ROI keeps the whole photo
    return resize(img, size)


def _read_train(path: os.PathLike[str], size: int, crop: bool) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        csvs = sorted(n for n in names if n.rsplit("/", 1)[-1].startswith("GT-") and n.endswith(".csv"))
        if not csvs:
            raise ValueError(f"{path} holds no GT-<class>.csv annotation files")
        for gt in csvs:
            folder = gt.rsplit("/", 1)[0]
            for row in _rows(zf.read(gt).decode("utf-8")):
                member = f"{folder}/{row['Filename']}"
                if member not in names:
                    raise ValueError(f"{path}: {gt} lists {row['Filename']}, which is not in the archive")
                images.append(_image(zf, member, row, size, crop))
                labels.append(int(row["ClassId"]))
    return np.stack(images), np.asarray(labels, np.uint8)


def _read_test(path: os.PathLike[str], gt_path: os.PathLike[str], size: int, crop: bool
               ) -> tuple[np.ndarray, np.ndarray]:
    with zipfile.ZipFile(gt_path) as zf:
        gt = [n for n in zf.namelist() if n.endswith("GT-final_test.csv")]
        if not gt:
            raise ValueError(f"{gt_path} lacks GT-final_test.csv")
        rows = _rows(zf.read(gt[0]).decode("utf-8"))
    images = []
    with zipfile.ZipFile(path) as zf:
        by_name = {n.rsplit("/", 1)[-1]: n for n in zf.namelist() if n.endswith(".ppm")}
        for row in rows:
            member = by_name.get(row["Filename"])
            if member is None:
                raise ValueError(f"{path} lacks test image {row['Filename']} listed in GT-final_test.csv")
            images.append(_image(zf, member, row, size, crop))
    return np.stack(images), np.asarray([int(r["ClassId"]) for r in rows], np.uint8)


def load_data(size: int = 32, *, crop: bool = True, cache_dir: str | os.PathLike[str] | None = None):
    """Loads GTSRB, downloading the three archives on first use.

    Args:
        size: Side of the square output images (32 gives CIFAR-sized images).
        crop: Crop each photo to its annotated region of interest before resizing.
        cache_dir: Cache root; defaults to ``$MINIDL_DATA_DIR`` or ``~/.minidl/datasets``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images (39209, size, size, 3) and (12630, size, size,
        3), uint8 class ids (N,) in 0..42.

    Raises:
        ChecksumError: An archive does not match its published MD5.
        DownloadError: An archive could not be downloaded (the message says where to place it by hand).
        ValueError: ``size`` < 1, or an archive lacks an annotation file or an image it lists.
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    paths = {key: get_file(url[0].rsplit("/", 1)[-1], url, md5, "md5", cache_dir, SUBDIR)
             for key, (url, md5) in FILES.items()}
    x_train, y_train = _read_train(paths["train"], int(size), crop)
    x_test, y_test = _read_test(paths["test"], paths["test_gt"], int(size), crop)
    return (x_train, y_train), (x_test, y_test)
