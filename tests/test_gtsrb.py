"""minidl.datasets.gtsrb: downloads once from a local HTTP server (fake archives in the real layout), verifies
the MD5s, decodes PPMs, crops to the ROI and resizes; nothing leaves 127.0.0.1."""
from __future__ import annotations

import hashlib
import http.server
import io
import threading
import urllib.parse
import urllib.request
import zipfile
from collections import Counter

import numpy as np
import pytest

from minidl.datasets import ChecksumError, gtsrb


@pytest.fixture
def server():
    files: dict[str, bytes] = {}
    hits: Counter = Counter()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            hits[self.path] += 1
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield base, files, hits
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def only_localhost(monkeypatch, tmp_path):
    monkeypatch.setenv("MINIDL_DATA_DIR", str(tmp_path / "cache"))
    real = urllib.request.urlopen

    def guarded(request, *args, **kwargs):
        url = request.full_url if isinstance(request, urllib.request.Request) else request
        if urllib.parse.urlsplit(url).hostname != "127.0.0.1":
            raise AssertionError(f"test tried to reach {url}")
        return real(request, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", guarded)


def ppm(img: np.ndarray, comment: bool = False) -> bytes:
    h, w, _ = img.shape
    head = b"P6\n# made by the test\n" if comment else b"P6\n"
    return head + f"{w} {h}\n255\n".encode() + img.astype(np.uint8).tobytes()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


HEADER = "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n"


def fake_archives(rng):
    """Training: classes 0 and 2, two photos each; test: three photos. Each photo is a flat colour inside
    its ROI (the class's colour) and random noise outside it, so a correct crop gives a flat image."""
    colours = {0: (255, 0, 0), 2: (0, 0, 255), 1: (0, 200, 0)}
    train, test, test_rows, expected = {}, {}, [], {"train": [], "test": []}

    def photo(cls, h, w, roi):
        img = rng.integers(0, 256, (h, w, 3))
        x1, y1, x2, y2 = roi
        img[y1:y2 + 1, x1:x2 + 1] = colours[cls]
        return img

    for cls in (0, 2):
        rows = HEADER
        for k, (h, w, roi) in enumerate([(40, 50, (5, 6, 44, 33)), (20, 18, (2, 2, 15, 17))]):
            name = f"{cls:05d}_{k:05d}.ppm"
            train[f"GTSRB/Training/{cls:05d}/{name}"] = ppm(photo(cls, h, w, roi), comment=k == 1)
            rows += f"{name};{w};{h};{roi[0]};{roi[1]};{roi[2]};{roi[3]};{cls}\n"
            expected["train"].append(cls)
        train[f"GTSRB/Training/{cls:05d}/GT-{cls:05d}.csv"] = rows.encode()
    gt = HEADER
    for k, cls in enumerate((1, 0, 2)):
        name = f"{k:05d}.ppm"
        test[f"GTSRB/Final_Test/Images/{name}"] = ppm(photo(cls, 30, 30, (3, 3, 26, 26)))
        gt += f"{name};30;30;3;3;26;26;{cls}\n"
        expected["test"].append(cls)
    return (zip_bytes(train), zip_bytes(test), zip_bytes({"GT-final_test.csv": gt.encode()}), expected,
            colours)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def serve(monkeypatch, server, bodies):
    base, files, hits = server
    table = {}
    for key, body in zip(("train", "test", "test_gt"), bodies):
        name = gtsrb.FILES[key][0][0].rsplit("/", 1)[-1]
        files[f"/{name}"] = body
        table[key] = ([f"{base}/{name}"], md5(body))
    monkeypatch.setattr(gtsrb, "FILES", table)
    return hits


def test_gtsrb_downloads_once_crops_and_resizes(server, monkeypatch, tmp_path):
    train, test, gt, expected, colours = fake_archives(np.random.default_rng(0))
    hits = serve(monkeypatch, server, (train, test, gt))
    for _ in range(2):
        (x_train, y_train), (x_test, y_test) = gtsrb.load_data(size=16)
    assert all(count == 1 for count in hits.values()) and len(hits) == 3  # downloaded once each
    assert sorted(p.name for p in (tmp_path / "cache" / "gtsrb").iterdir()) == sorted(
        ["GTSRB-Training_fixed.zip", "GTSRB_Final_Test_Images.zip", "GTSRB_Final_Test_GT.zip"])
    assert x_train.shape == (4, 16, 16, 3) and x_test.shape == (3, 16, 16, 3)
    assert x_train.dtype == x_test.dtype == y_train.dtype == np.uint8
    assert y_train.tolist() == expected["train"] and y_test.tolist() == expected["test"]
    # Cropped to the ROI: every pixel is the class colour (the noise outside the ROI is gone).
    for x, y in ((x_train, y_train), (x_test, y_test)):
        for img, cls in zip(x, y):
            assert (img == np.array(colours[int(cls)], np.uint8)).all()
    # Without the crop, the noise around the sign is kept.
    (x_full, _), _ = gtsrb.load_data(size=16, crop=False)
    assert not (x_full[0] == np.array(colours[0], np.uint8)).all()


def test_gtsrb_checksum_mismatch_keeps_nothing(server, monkeypatch, tmp_path):
    train, test, gt, _, _ = fake_archives(np.random.default_rng(0))
    serve(monkeypatch, server, (train, test, gt))
    (urls, _) = gtsrb.FILES["train"]
    monkeypatch.setitem(gtsrb.FILES, "train", (urls, "0" * 32))
    with pytest.raises(ChecksumError):
        gtsrb.load_data()
    assert not (tmp_path / "cache" / "gtsrb" / "GTSRB-Training_fixed.zip").exists()


def test_gtsrb_rejects_bad_size_before_downloading(server, monkeypatch):
    hits = serve(monkeypatch, server, (b"a", b"b", b"c"))
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="size must be a positive integer"):
            gtsrb.load_data(size=bad)
    assert not hits


def test_read_ppm_and_errors():
    img = np.random.default_rng(1).integers(0, 256, (3, 5, 3)).astype(np.uint8)
    np.testing.assert_array_equal(gtsrb.read_ppm(ppm(img, comment=True)), img)
    with pytest.raises(ValueError, match="P6"):
        gtsrb.read_ppm(b"P3\n1 1\n255\n0 0 0")
    with pytest.raises(ValueError, match="pixel bytes"):
        gtsrb.read_ppm(ppm(img)[:-1])
    with pytest.raises(ValueError, match="8-bit"):
        gtsrb.read_ppm(b"P6\n1 1\n65535\n" + b"\0" * 6)


def test_resize_averages_areas_and_interpolates():
    img = np.zeros((4, 4, 1), np.uint8)
    img[:2, :2] = 200  # one bright 2x2 quadrant
    np.testing.assert_array_equal(gtsrb.resize(img, 2)[..., 0], [[200, 0], [0, 0]])
    # 3 -> 2 pixels: each output covers 1.5 source pixels; (0, 90, 180) -> (30, 150).
    row = np.array([[[0], [90], [180]]], np.uint8).repeat(3, axis=0)
    np.testing.assert_array_equal(gtsrb.resize(row, 2)[0, :, 0], [30, 150])
    # Enlarging a constant image keeps it constant; a ramp stays monotone.
    assert (gtsrb.resize(np.full((2, 3, 3), 77, np.uint8), 7) == 77).all()
    up = gtsrb.resize(row, 6)[0, :, 0]
    assert (np.diff(up.astype(int)) >= 0).all() and up[0] == 0 and up[-1] == 180
