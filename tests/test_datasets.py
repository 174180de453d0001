"""Tests for minidl.datasets.

The embedded MNIST subset is tested directly. The downloaders are tested against a local HTTP server on
127.0.0.1 serving small fake files generated here in the real formats; an autouse guard makes any request
to another host fail, so these tests never touch the internet.
"""
from __future__ import annotations

import collections
import gzip
import hashlib
import http.server
import io
import pickle
import socket
import tarfile
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator

import numpy as np
import pytest

from minidl.datasets import ChecksumError, DownloadError, _download, cifar10, fashion_mnist, get_file, mnist


# ----------------------------------------------------------------------------------------------------------
# Fixtures: a counting local HTTP server, an isolated cache, a guard against non-local traffic.
# ----------------------------------------------------------------------------------------------------------
class FileServer:
    """Serves ``files`` (URL path -> bytes) and counts the requests per path."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.hits: collections.Counter[str] = collections.Counter()
        self.truncated: set[str] = set()  # paths whose Content-Length promises more than is sent
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                server.hits[self.path] += 1
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                extra = 1000 if self.path in server.truncated else 0
                self.send_header("Content-Length", str(len(body) + extra))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:  # keep pytest output clean
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        # A short poll interval makes shutdown() return quickly (the default 0.5 s adds up over the tests).
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def add(self, path: str, body: bytes) -> str:
        self.files[path] = body
        return self.base + path

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[FileServer]:
    srv = FileServer()
    try:
        yield srv
    finally:
        srv.close()


@pytest.fixture(autouse=True)
def only_localhost(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Isolates the cache in tmp_path and refuses any URL whose host is not 127.0.0.1."""
    monkeypatch.setenv("MINIDL_DATA_DIR", str(tmp_path / "cache"))
    real_urlopen = urllib.request.urlopen

    def guarded(request, *args, **kwargs):
        url = request.full_url if isinstance(request, urllib.request.Request) else request
        host = urllib.parse.urlsplit(url).hostname
        if host != "127.0.0.1":
            raise AssertionError(f"test tried to reach {url}")
        return real_urlopen(request, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", guarded)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    """Encodes an array as a gzipped IDX file (big-endian, as in the MNIST distribution)."""
    dtype = {0x08: ">u1", 0x0B: ">i2"}[code]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return gzip.compress(header + array.astype(dtype).tobytes(), mtime=0)


def closed_port_url() -> str:
    """A 127.0.0.1 URL on which nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/nothing.bin"


def cache_files(root) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


# ----------------------------------------------------------------------------------------------------------
# Embedded MNIST subset
# ----------------------------------------------------------------------------------------------------------
def test_embedded_mnist_shapes_dtypes_and_strata():
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (4000, 28, 28) and x_test.shape == (1000, 28, 28)
    assert y_train.shape == (4000,) and y_test.shape == (1000,)
    for a in (x_train, y_train, x_test, y_test):
        assert a.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(y_train, minlength=10), [400] * 10)
    np.testing.assert_array_equal(np.bincount(y_test, minlength=10), [100] * 10)
    assert x_train.max() == 255 and x_train.min() == 0
    # The final shuffle mixes the classes: the first 50 samples are not a single-class run.
    assert len(np.unique(y_train[:50])) == 10 and len(np.unique(y_test[:50])) > 5


def test_embedded_mnist_is_deterministic_and_pinned():
    (a, b), (c, d) = mnist.load_data()
    (a2, b2), (c2, d2) = mnist.load_data()
    for u, v in ((a, a2), (b, b2), (c, c2), (d, d2)):
        np.testing.assert_array_equal(u, v)
    a[0] += 1  # results are fresh copies: mutating one must not leak into the next call
    np.testing.assert_array_equal(mnist.load_data()[0][0][0], a2[0])
    # Regression pin of the split itself (labels order and images): changes if the split ever changes.
    assert sha256(b2.tobytes())[:16] == PINNED["y_train"]
    assert sha256(d2.tobytes())[:16] == PINNED["y_test"]
    assert sha256(a2.tobytes())[:16] == PINNED["x_train"]


# sha256 prefixes of the split as first implemented (RandomState(1998) per-class permutation + shuffle).
PINNED = {"y_train": "0201df9d63a6ed38", "y_test": "500cb400192e666b", "x_train": "e4215d7fef8ef06c"}


def test_embedded_mnist_train_test_disjoint_and_complete():
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    with np.load(mnist._EMBEDDED) as f:
        x_all, y_all = f["x"], f["y"]
    key = lambda x, y: [img.tobytes() + bytes([int(lab)]) for img, lab in zip(x, y)]  # noqa: E731
    train, test, everything = key(x_train, y_train), key(x_test, y_test), key(x_all, y_all)
    assert not set(train) & set(test)
    # Every embedded digit is used exactly once: train + test is a permutation of the file.
    assert collections.Counter(train + test) == collections.Counter(everything)


def test_embedded_mnist_needs_no_network(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the embedded subset must not download anything")

    monkeypatch.setattr(_download, "get_file", fail)
    monkeypatch.setattr(mnist, "get_file", fail)
    (x_train, _), _ = mnist.load_data()
    assert len(x_train) == 4000


def test_docstrings_say_subset_and_how_to_get_full():
    for doc in (mnist.__doc__, mnist.load_data.__doc__):
        assert "5,000" in doc and "full=True" in doc


# ----------------------------------------------------------------------------------------------------------
# get_file
# ----------------------------------------------------------------------------------------------------------
def test_get_file_downloads_once_and_verifies(server, tmp_path):
    body = b"hello minidl" * 1000
    url = server.add("/blob.bin", body)
    cache = tmp_path / "c"
    p1 = get_file("blob.bin", url, sha256(body), cache_dir=cache)
    p2 = get_file("blob.bin", [url], sha256(body), "sha256", cache_dir=cache)
    assert p1 == p2 == cache / "blob.bin" and p1.read_bytes() == body
    assert server.hits["/blob.bin"] == 1
    assert cache_files(cache) == ["blob.bin"]  # no temporary files left behind
    # MD5 works too, inferred from the digest length.
    assert get_file("blob.bin", url, md5(body), cache_dir=cache) == p1 and server.hits["/blob.bin"] == 1


def test_get_file_checksum_mismatch_leaves_nothing(server, tmp_path):
    url = server.add("/blob.bin", b"tampered")
    cache = tmp_path / "c"
    with pytest.raises(ChecksumError, match="checksum mismatch"):
        get_file("blob.bin", url, sha256(b"original"), cache_dir=cache)
    assert cache_files(cache) == []


def test_get_file_truncated_transfer_leaves_nothing(server, tmp_path):
    url = server.add("/blob.bin", b"only part of it")
    server.truncated.add("/blob.bin")
    with pytest.raises(DownloadError, match="connection closed after 15 of 1015 bytes"):
        get_file("blob.bin", url, sha256(b"only part of it"), cache_dir=tmp_path)
    assert cache_files(tmp_path) == []


def test_get_file_falls_back_to_next_mirror(server, tmp_path):
    good = server.add("/good/blob.bin", b"payload")
    bad = server.add("/bad/blob.bin", b"corrupt")
    missing = server.base + "/missing/blob.bin"
    p = get_file("blob.bin", [closed_port_url(), missing, bad, good], sha256(b"payload"), cache_dir=tmp_path)
    assert p.read_bytes() == b"payload"
    assert server.hits["/missing/blob.bin"] == 1 and server.hits["/good/blob.bin"] == 1
    assert cache_files(tmp_path) == ["blob.bin"]


def test_get_file_network_failure_says_where_to_put_the_file(tmp_path):
    with pytest.raises(DownloadError) as info:
        get_file("blob.bin", closed_port_url(), sha256(b"x"), cache_dir=tmp_path, cache_subdir="sub")
    message = str(info.value)
    assert str(tmp_path / "sub" / "blob.bin") in message and "offline" in message
    assert cache_files(tmp_path) == []


def test_get_file_uses_manually_placed_file_and_replaces_a_corrupt_one(server, tmp_path):
    (tmp_path / "blob.bin").write_bytes(b"payload")
    # A valid file placed by hand is used without any network access.
    placed = get_file("blob.bin", closed_port_url(), sha256(b"payload"), cache_dir=tmp_path)
    assert placed.read_bytes() == b"payload"
    # A corrupt cached file is re-downloaded (with a warning) and replaced.
    (tmp_path / "blob.bin").write_bytes(b"truncated")
    url = server.add("/blob.bin", b"payload")
    with pytest.warns(UserWarning, match="downloading it again"):
        p = get_file("blob.bin", url, sha256(b"payload"), cache_dir=tmp_path)
    assert p.read_bytes() == b"payload" and server.hits["/blob.bin"] == 1


def test_get_file_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        get_file("f", "http://127.0.0.1:1/f", "abc", cache_dir=tmp_path)  # hash length neither md5 nor sha256
    with pytest.raises(ValueError):
        get_file("f", "http://127.0.0.1:1/f", sha256(b""), "sha1", cache_dir=tmp_path)
    with pytest.raises(ValueError):
        get_file("f", [], sha256(b""), cache_dir=tmp_path)


def test_default_cache_dir_honours_env(monkeypatch, tmp_path):
    monkeypatch.setenv("MINIDL_DATA_DIR", str(tmp_path / "x"))
    assert _download.default_cache_dir() == tmp_path / "x"
    monkeypatch.delenv("MINIDL_DATA_DIR")
    assert _download.default_cache_dir().parts[-2:] == (".minidl", "datasets")


# ----------------------------------------------------------------------------------------------------------
# IDX parsing
# ----------------------------------------------------------------------------------------------------------
def test_read_idx_roundtrip_and_errors(tmp_path):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a.gz").write_bytes(idx_bytes(a))
    out = _download.read_idx(tmp_path / "a.gz")
    assert out.dtype == np.uint8 and out.flags.writeable
    np.testing.assert_array_equal(out, a)
    # Multi-byte types are big-endian on disk and come back in native order.
    b = np.array([-300, 7, 30000], dtype=np.int16)
    (tmp_path / "b.idx").write_bytes(gzip.decompress(idx_bytes(b, 0x0B)))
    out = _download.read_idx(tmp_path / "b.idx")
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, b)
    (tmp_path / "bad.gz").write_bytes(gzip.compress(b"not an idx file"))
    with pytest.raises(ValueError, match="not an IDX"):
        _download.read_idx(tmp_path / "bad.gz")
    (tmp_path / "short.gz").write_bytes(gzip.compress(gzip.decompress(idx_bytes(a))[:-1]))
    with pytest.raises(ValueError, match="header announces"):
        _download.read_idx(tmp_path / "short.gz")


# ----------------------------------------------------------------------------------------------------------
# Full MNIST (fake mnist.npz)
# ----------------------------------------------------------------------------------------------------------
def fake_mnist_npz() -> tuple[bytes, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, 6, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 3, dtype=np.uint8),
    }
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue(), arrays


def test_mnist_full_download_once_and_parse(server, monkeypatch, tmp_path):
    body, arrays = fake_mnist_npz()
    monkeypatch.setattr(mnist, "ORIGINS", [server.add("/tf-keras-datasets/mnist.npz", body)])
    monkeypatch.setattr(mnist, "FILE_HASH", sha256(body))
    for _ in range(2):
        (x_train, y_train), (x_test, y_test) = mnist.load_data(full=True)
    assert server.hits["/tf-keras-datasets/mnist.npz"] == 1
    assert cache_files(tmp_path / "cache") == ["mnist.npz"]
    assert x_train.shape == (6, 28, 28) and x_train.dtype == np.uint8 and y_test.shape == (3,)
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])
    # Keras-style path= selects the full set too, cached under that name.
    (x_train, _), _ = mnist.load_data("other.npz")
    assert len(x_train) == 6 and (tmp_path / "cache" / "other.npz").exists()


def test_mnist_full_checksum_mismatch(server, monkeypatch, tmp_path):
    body, _ = fake_mnist_npz()
    monkeypatch.setattr(mnist, "ORIGINS", [server.add("/mnist.npz", body)])
    # The real published hash cannot match the fake file.
    with pytest.raises(ChecksumError):
        mnist.load_data(full=True)
    assert cache_files(tmp_path / "cache") == []


# ----------------------------------------------------------------------------------------------------------
# Fashion-MNIST (fake IDX files)
# ----------------------------------------------------------------------------------------------------------
def serve_fake_fashion(server: FileServer, monkeypatch) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, 5, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, 2, dtype=np.uint8),
    }
    hashes = {}
    for name, a in arrays.items():
        body = idx_bytes(a)
        server.add("/fashion/" + name, body)
        hashes[name] = md5(body)
    # First mirror is dead: the loader must fall through to the second.
    monkeypatch.setattr(fashion_mnist, "MIRRORS", [server.base + "/dead/", server.base + "/fashion/"])
    monkeypatch.setattr(fashion_mnist, "FILES", hashes)
    return arrays


def test_fashion_mnist_download_once_and_parse(server, monkeypatch, tmp_path):
    arrays = serve_fake_fashion(server, monkeypatch)
    for _ in range(2):
        (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert x_train.shape == (5, 28, 28) and y_train.shape == (5,) and x_test.shape == (2, 28, 28)
    assert x_train.dtype == y_train.dtype == np.uint8
    np.testing.assert_array_equal(x_train, arrays["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(y_test, arrays["t10k-labels-idx1-ubyte.gz"])
    assert all(server.hits["/fashion/" + name] == 1 for name in arrays)
    assert cache_files(tmp_path / "cache" / "fashion-mnist") == sorted(arrays)
    assert len(fashion_mnist.CLASS_NAMES) == 10


def test_fashion_mnist_checksum_mismatch(server, monkeypatch, tmp_path):
    serve_fake_fashion(server, monkeypatch)
    bad = dict(fashion_mnist.FILES, **{"train-labels-idx1-ubyte.gz": "0" * 32})
    monkeypatch.setattr(fashion_mnist, "FILES", bad)
    with pytest.raises(ChecksumError):
        fashion_mnist.load_data()
    assert "train-labels-idx1-ubyte.gz" not in cache_files(tmp_path / "cache")


# ----------------------------------------------------------------------------------------------------------
# CIFAR-10 (fake cifar-10-python.tar.gz in the real layout)
# ----------------------------------------------------------------------------------------------------------
def cifar_tar(batches: dict[str, object]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, obj in batches.items():
            data = pickle.dumps(obj, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        meta = pickle.dumps({b"label_names": [b"airplane"]}, protocol=2)
        info = tarfile.TarInfo("cifar-10-batches-py/batches.meta")
        info.size = len(meta)
        tar.addfile(info, io.BytesIO(meta))
    return buf.getvalue()


def fake_cifar_batches() -> dict[str, dict]:
    rng = np.random.default_rng(2)
    batches = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        n = 3 if name == "test_batch" else 2
        batches[name] = {
            b"batch_label": name.encode(),
            b"labels": [int(v) for v in rng.integers(0, 10, n)],
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"filenames": [b"img%d.png" % j for j in range(n)],
        }
    return batches


def test_cifar10_download_once_and_parse(server, monkeypatch, tmp_path):
    batches = fake_cifar_batches()
    body = cifar_tar(batches)
    monkeypatch.setattr(cifar10, "ORIGINS", [server.add("/~kriz/cifar-10-python.tar.gz", body)])
    monkeypatch.setattr(cifar10, "FILE_HASH", md5(body))  # the md5 path of the checker
    for _ in range(2):
        (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert server.hits["/~kriz/cifar-10-python.tar.gz"] == 1
    assert x_train.shape == (10, 32, 32, 3) and x_test.shape == (3, 32, 32, 3)
    assert y_train.shape == (10, 1) and y_test.shape == (3, 1)  # Keras' (N, 1) label layout
    assert x_train.dtype == y_train.dtype == np.uint8
    # Row layout: 1024 red, then 1024 green, then 1024 blue values, each a row-major 32x32 plane.
    row = batches["data_batch_2"][b"data"][1]
    c, h, w = 2, 5, 7
    assert x_train[3, h, w, c] == row[c * 1024 + h * 32 + w]
    np.testing.assert_array_equal(x_train[3], row.reshape(3, 32, 32).transpose(1, 2, 0))
    np.testing.assert_array_equal(y_test[:, 0], batches["test_batch"][b"labels"])
    assert y_train[2, 0] == batches["data_batch_2"][b"labels"][0]


def test_cifar10_checksum_mismatch(server, monkeypatch, tmp_path):
    monkeypatch.setattr(cifar10, "ORIGINS", [server.add("/c.tar.gz", cifar_tar(fake_cifar_batches()))])
    with pytest.raises(ChecksumError):
        cifar10.load_data()
    assert cache_files(tmp_path / "cache") == []


def test_cifar10_refuses_pickles_with_foreign_globals(server, monkeypatch):
    batches = fake_cifar_batches()
    batches["data_batch_3"][b"extra"] = collections.OrderedDict()  # a global outside the allow-list
    body = cifar_tar(batches)
    monkeypatch.setattr(cifar10, "ORIGINS", [server.add("/c.tar.gz", body)])
    monkeypatch.setattr(cifar10, "FILE_HASH", sha256(body))
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        cifar10.load_data()


def test_cifar10_missing_batch(server, monkeypatch):
    batches = fake_cifar_batches()
    del batches["test_batch"]
    body = cifar_tar(batches)
    monkeypatch.setattr(cifar10, "ORIGINS", [server.add("/c.tar.gz", body)])
    monkeypatch.setattr(cifar10, "FILE_HASH", sha256(body))
    with pytest.raises(ValueError, match="test_batch"):
        cifar10.load_data()


def test_published_hashes_look_right():
    # Shape checks only: the values themselves cannot be verified offline (see the module docstrings).
    assert len(mnist.FILE_HASH) == 64 and len(cifar10.FILE_HASH) == 64 and len(cifar10.FILE_MD5) == 32
    assert all(len(h) == 32 for h in fashion_mnist.FILES.values()) and len(fashion_mnist.FILES) == 4
    assert all(u.startswith("https://") for u in mnist.ORIGINS + cifar10.ORIGINS)
