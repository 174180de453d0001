"""Download, verify and parse helpers shared by the dataset loaders.

Only the standard library and NumPy are used, so ``minidl.datasets`` works without the rest of minidl.

The cache lives in ``$MINIDL_DATA_DIR`` when that variable is set, else in ``~/.minidl/datasets/``. A file is
downloaded to a temporary file *inside the cache directory*, its checksum is verified, and only then is it
renamed into place with :func:`os.replace` (atomic on one filesystem), so a half-finished or corrupted download
never sits in the cache under the final name. Each attempt has its own temporary
(``.name.<host>-<pid>.<random>.part``), removed when the attempt fails or is interrupted; the ``.part`` files of a
process that was killed are removed by the next download of the same file (see :mod:`minidl._atomic`).

Machines without internet access can fill the cache by hand: copy the file (same name) into the cache
directory; it is checked against the same hash and then used as if it had been downloaded.
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import pickle
import urllib.error
import urllib.request
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np

from minidl._atomic import clean_stale_temporaries, temporary_for

__all__ = [
    "ChecksumError",
    "DownloadError",
    "default_cache_dir",
    "file_hash",
    "get_file",
    "read_idx",
    "restricted_pickle_load",
]

#: Seconds to wait on a silent socket before giving up on a mirror.
TIMEOUT_S = 60.0
_CHUNK = 1 << 20


class ChecksumError(ValueError):
    """A downloaded (or manually placed) file does not match its published checksum."""


class DownloadError(OSError):
    """No mirror could deliver a file (network failure, HTTP error, ...)."""


def default_cache_dir() -> Path:
    """Returns the dataset cache directory: ``$MINIDL_DATA_DIR`` or ``~/.minidl/datasets``."""
    env = os.environ.get("MINIDL_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".minidl" / "datasets"


def _resolve_algorithm(expected_hash: str, hash_algorithm: str) -> str:
    algorithm = hash_algorithm.lower()
    if algorithm == "auto":
        # Same rule as Keras' get_file: a 64-hex-digit hash is SHA-256, a 32-digit one is MD5.
        if len(expected_hash) == 64:
            return "sha256"
        if len(expected_hash) == 32:
            return "md5"
        raise ValueError(
            f"cannot infer the hash algorithm of {expected_hash!r}; pass hash_algorithm='sha256' or 'md5'"
        )
    if algorithm not in ("sha256", "md5"):
        raise ValueError(f"hash_algorithm must be 'auto', 'sha256' or 'md5', got {hash_algorithm!r}")
    return algorithm


def _new_hasher(algorithm: str) -> "hashlib._Hash":
    if algorithm == "md5":
        # MD5 is only used to identify published files, not for security; FIPS builds need this flag.
        return hashlib.md5(usedforsecurity=False)
    return hashlib.sha256()


def file_hash(path: str | os.PathLike[str], algorithm: str = "sha256") -> str:
    """Returns the hex digest of a file.

    Args:
        path: File to hash.
        algorithm: ``'sha256'`` or ``'md5'``.

    Returns:
        The lowercase hex digest.
    """
    if algorithm not in ("sha256", "md5"):
        raise ValueError(f"algorithm must be 'sha256' or 'md5', got {algorithm!r}")
    return _hash_file(Path(path), algorithm)


def _fetch_to(url: str, out: BinaryIO, hasher: "hashlib._Hash") -> None:
    """Streams ``url`` into the open file ``out`` while hashing it."""
    request = urllib.request.Request(url, headers={"User-Agent": "minidl-datasets/0.1 (python urllib)"})
    received = 0
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        announced = response.headers.get("Content-Length")
        for chunk in iter(lambda: response.read(_CHUNK), b""):
            out.write(chunk)
            hasher.update(chunk)
            received += len(chunk)
    # http.client ends a body cut short by the server without an error; report it as the network failure it
    # is rather than as a checksum mismatch.
    if announced is not None and announced.isdigit() and received != int(announced):
        raise DownloadError(f"connection closed after {received} of {announced} bytes")


def get_file(
    fname: str,
    origin: str | Sequence[str],
    file_hash: str,
    hash_algorithm: str = "auto",
    cache_dir: str | os.PathLike[str] | None = None,
    cache_subdir: str = "",
) -> Path:
    """Returns the path of a verified local copy of a file, downloading it once if needed.

    Args:
        fname: File name inside the cache, e.g. ``'mnist.npz'``.
        origin: URL, or list of mirror URLs tried in order, of the file.
        file_hash: Expected hex digest (published checksum) of the file.
        hash_algorithm: ``'sha256'``, ``'md5'`` or ``'auto'`` (inferred from the digest's length).
        cache_dir: Cache root; defaults to :func:`default_cache_dir`.
        cache_subdir: Sub-folder of the cache root, e.g. ``'fashion-mnist'``.

    Returns:
        Path of the cached, verified file.

    Raises:
        ChecksumError: A mirror delivered bytes whose digest differs from ``file_hash``. Nothing is
            left in the cache in that case.
        DownloadError: No mirror could be reached. The message says where to place the file by hand.
    """
    algorithm = _resolve_algorithm(file_hash, hash_algorithm)
    expected = file_hash.lower()
    urls = [origin] if isinstance(origin, str) else list(origin)
    if not urls:
        raise ValueError("origin must name at least one URL")
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    folder = folder / cache_subdir if cache_subdir else folder
    target = folder / fname

    if target.exists():
        actual = _hash_file(target, algorithm)
        if actual == expected:
            return target  # cached and valid: never download twice
        warnings.warn(
            f"cached file {target} has {algorithm} {actual}, expected {expected}; downloading it again",
            stacklevel=2,
        )

    folder.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(target, ".part")
    errors: list[str] = []
    bad_checksum = False
    for url in urls:
        # The temporary file sits next to the target so that os.replace is an atomic rename, not a copy.
        fd, tmp = temporary_for(target, ".part")
        try:
            hasher = _new_hasher(algorithm)
            with os.fdopen(fd, "wb") as out:
                _fetch_to(url, out, hasher)
            actual = hasher.hexdigest()
            if actual != expected:
                bad_checksum = True
                errors.append(f"{url}: {algorithm} checksum mismatch (got {actual}, expected {expected})")
                continue
            os.replace(tmp, target)
            return target
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            # URLError covers HTTP errors and DNS failures, HTTPException protocol errors, OSError timeouts and
            # resets, ValueError malformed URLs. Every one of them means "try the next mirror". A connection
            # cut short is not always an exception in http.client; the checksum catches that case.
            errors.append(f"{url}: {exc}")
        finally:
            tmp.unlink(missing_ok=True)

    details = "\n  ".join(errors)
    if bad_checksum:
        raise ChecksumError(
            f"could not get a valid copy of {fname!r}; nothing was saved to {folder}.\n  {details}\n"
            "A mirror may serve a different version of the file, or the download was corrupted."
        )
    raise DownloadError(
        f"could not download {fname!r} from any mirror:\n  {details}\n"
        f"If this machine is offline, download the file elsewhere from one of the URLs above and copy it to\n"
        f"  {target}\n"
        f"(set MINIDL_DATA_DIR to use another cache directory); it will be checked against "
        f"{algorithm} {expected}."
    )


def _hash_file(path: Path, algorithm: str) -> str:
    hasher = _new_hasher(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


# IDX type codes (http://yann.lecun.com/exdb/mnist/): the third magic byte. Data are big-endian.
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Parses an IDX file (the MNIST / Fashion-MNIST format), gzipped or not.

    The header is two zero bytes, a type code, the number of dimensions ``ndim``, then ``ndim`` big-endian
    uint32 sizes; the data follow in C order.

    Args:
        path: ``.gz`` or raw IDX file.

    Returns:
        Array of shape given by the header, in native byte order (uint8 for MNIST: images (N, 28, 28),
        labels (N,)).

    Raises:
        ValueError: The header is malformed or the data size does not match it.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (magic bytes {raw[:4]!r})")
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: header announces shape {shape} ({expected} bytes), file holds {len(raw) - header}"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="), copy=True)  # native order, writable


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that can rebuild NumPy arrays and plain containers, and nothing else.

    The CIFAR-10 batches are pickles; a pickle can run arbitrary code, so only the globals a NumPy array
    needs are allowed (the file's checksum is verified too, this is defence in depth for hand-placed files).
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),  # pickles written by NumPy 1.x (the CIFAR-10 files)
        ("numpy._core.multiarray", "_reconstruct"),  # pickles written by NumPy 2.x
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # protocol-2 pickles written by Python 3 encode bytes this way
    }

    def find_class(self, module: str, name: str) -> object:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name} from a dataset pickle")


def restricted_pickle_load(f: BinaryIO) -> object:
    """Loads a Python-2-era pickle (bytes keys) allowing only NumPy arrays and builtin containers.

    Args:
        f: Binary file object positioned at the pickle.

    Returns:
        The unpickled object (for CIFAR-10: a dict with ``b'data'`` and ``b'labels'``).
    """
    # encoding='bytes' keeps Python 2 str objects (the dict keys) as bytes, as Keras and torchvision do.
    return _RestrictedUnpickler(f, encoding="bytes").load()
