"""minidl.viz.report: one self-contained HTML file (structure parsed here) that works in a real browser.

The browser test drives Debian's headless Chromium through chromedriver's W3C WebDriver HTTP API with the
standard library only (urllib + json); it is skipped, with the reason, where chromium / chromedriver are not
installed (``.ci/run`` installs them when it can).
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import zlib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

import minidl
from minidl import layers, models
from minidl.report import png_bytes


class _Page(HTMLParser):
    """Collects what the tests check: every URL-bearing attribute, scripts, the confusion cells, the groups."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[dict] = []
        self.cells: dict[tuple[int, int], int] = {}
        self.groups: dict[tuple[int, int], dict] = {}
        self._group: tuple[int, int] | None = None
        self._depth = 0
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "href", "action", "data", "poster"):
            if key in a:
                self.urls.append(a[key])
        if "style" in a and "url(" in a["style"]:
            self.urls.append(a["style"])
        if tag == "script":
            self.scripts.append(a)
        if tag == "link":
            self.urls.append(a.get("href", ""))
        if tag == "img":
            self.images.append(a["src"])
        if tag == "td" and "cm" in a.get("class", "").split():
            self.cells[int(a["data-true"]), int(a["data-pred"])] = int(a["data-count"])
        if tag == "div" and "cell-images" in a.get("class", "").split():
            key = (int(a["data-true"]), int(a["data-pred"]))
            self.groups[key] = {"count": int(a["data-count"]), "hidden": "hidden" in a, "indices": []}
            self._group, self._depth = key, 0
        if self._group is not None:
            if tag == "div":
                self._depth += 1
            if tag == "img":
                self.groups[self._group]["indices"].append(int(a["data-index"]))

    def handle_endtag(self, tag):
        if self._group is not None and tag == "div":
            self._depth -= 1
            if self._depth == 0:
                self._group = None


def _small_problem(n: int = 60, seed: int = 0):
    """A 3-class problem on 8x8 grayscale images and a briefly trained Flatten-Dense model (mistakes remain)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.random((n, 8, 8, 1)).astype("float32") * 0.6
    for c in range(3):  # class c brightens rows 2c..2c+1, plus noise: separable but not trivially
        x[y == c, 2 * c:2 * c + 2] += 0.4
    minidl.utils.set_random_seed(seed)
    model = models.Sequential([layers.Input((8, 8, 1)), layers.Flatten(), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    return model, x, y, history


def _expected(model, x, y):
    pred = model.predict(x).argmax(axis=1)
    cells = {}
    for t, p in zip(y.tolist(), pred.tolist()):
        cells[t, p] = cells.get((t, p), 0) + 1
    return pred, cells


def test_png_bytes_decodes_to_the_pixels():
    img = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    data = png_bytes(img)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    # Decode by hand: IHDR then IDAT (filter byte 0 per row) -> the same pixels.
    assert data[12:16] == b"IHDR"
    assert int.from_bytes(data[16:20], "big") == 4 and int.from_bytes(data[20:24], "big") == 3
    idat_len = int.from_bytes(data[33:37], "big")
    assert data[37:41] == b"IDAT"
    raw = np.frombuffer(zlib.decompress(data[41:41 + idat_len]), np.uint8).reshape(3, 5)
    assert (raw[:, 0] == 0).all() and (raw[:, 1:] == img).all()
    rgb = np.zeros((2, 2, 3), np.uint8)
    assert png_bytes(rgb)[25] == 2  # colour type 2: RGB
    with pytest.raises(ValueError, match="uint8"):
        png_bytes(img.astype(np.float32))


def test_report_is_self_contained_with_one_image_group_per_nonempty_cell(tmp_path):
    model, x, y, history = _small_problem()
    pred, expected = _expected(model, x, y)
    path = minidl.viz.report(model, x, y, history=history, class_names=["a", "b", "c"],
                             path=tmp_path / "report.html")
    text = Path(path).read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)

    # Self-contained: every URL is an inline data: URI, no script is loaded from anywhere.
    assert page.urls and all(u.startswith("data:image/png;base64,") for u in page.urls), page.urls[:3]
    assert "http://" not in text and "https://" not in text and "//cdn" not in text
    assert page.scripts == [{}]  # one inline script, no src
    for uri in page.images:
        assert base64.b64decode(uri.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"

    # Every cell of the 3x3 matrix with its count; one hidden group per non-empty cell with exactly its images.
    assert page.cells == {(t, p): expected.get((t, p), 0) for t in range(3) for p in range(3)}
    assert set(page.groups) == set(expected)
    assert any(t != p for t, p in expected), "the fixture should leave some mistakes"
    for (t, p), group in page.groups.items():
        want = np.flatnonzero((y == t) & (pred == p)).tolist()
        assert group["count"] == expected[t, p] and group["indices"] == want and group["hidden"]
    n_cell_images = sum(len(g["indices"]) for g in page.groups.values())
    assert len(page.images) == n_cell_images + 2  # plus the training curves and the first-layer weights
    assert "Per-class precision and recall" in text and "Training curves" in text


def test_report_caps_images_per_cell_and_says_so(tmp_path):
    model, x, y, _ = _small_problem()
    _, expected = _expected(model, x, y)
    path = minidl.viz.report(model, x, y.reshape(-1, 1), path=tmp_path / "r.html",
                             max_images_per_cell=2)
    page = _Page()
    page.feed(Path(path).read_text(encoding="utf-8"))
    for key, group in page.groups.items():
        assert group["count"] == expected[key] and len(group["indices"]) == min(2, expected[key])
    assert page.cells[max(expected, key=expected.get)] == max(expected.values())  # the full count still shown


def test_report_rejects_bad_input_before_writing(tmp_path):
    model, x, y, _ = _small_problem(n=20)
    target = tmp_path / "r.html"
    with pytest.raises(ValueError, match="one label per sample"):
        minidl.viz.report(model, x, y[:-1], path=target)
    with pytest.raises(ValueError, match="class_names has 2 names for 3 classes"):
        minidl.viz.report(model, x, y, class_names=["a", "b"], path=target)
    with pytest.raises(ValueError, match="max_images_per_cell"):
        minidl.viz.report(model, x, y, max_images_per_cell=0, path=target)
    with pytest.raises(ValueError, match="image_shape"):
        minidl.viz.report(model, x, y, image_shape=(7, 9), path=target)
    assert not target.exists()


# ------------------------------------------------------------------------------------------- real browser
def _find_browser() -> tuple[str, str] | None:
    driver = shutil.which("chromedriver")
    browser = next((b for b in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if b), None)
    return (driver, browser) if driver and browser else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _WebDriver:
    """The few W3C WebDriver commands the test needs, over HTTP with urllib."""

    ELEMENT = "element-6066-11e4-a52e-4f735466cecf"

    def __init__(self, driver: str, browser: str) -> None:
        self.port = _free_port()
        self.proc = subprocess.Popen([driver, f"--port={self.port}"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if self._call("GET", "/status")["value"].get("ready"):
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError("chromedriver did not start within 30 s")
            time.sleep(0.1)
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": browser,
            # --no-sandbox: CI containers run as root, where Chromium's sandbox refuses to start.
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1200,900"]}}}}
        self.session = self._call("POST", "/session", caps)["value"]["sessionId"]

    def _call(self, method: str, url: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read())

    def cmd(self, method: str, url: str, body: dict | None = None):
        return self._call(method, f"/session/{self.session}{url}", body)["value"]

    def find(self, css: str) -> str:
        return self.cmd("POST", "/element", {"using": "css selector", "value": css})[self.ELEMENT]

    def script(self, js: str):
        return self.cmd("POST", "/execute/sync", {"script": js, "args": []})

    def quit(self) -> None:
        try:
            self._call("DELETE", f"/session/{self.session}")
        finally:
            self.proc.terminate()
            self.proc.wait(timeout=10)


_VISIBLE_IMAGES = """
return Array.from(document.querySelectorAll('img.sample'))
  .filter(function (e) { var r = e.getBoundingClientRect(); return e.offsetParent !== null && r.width > 0; })
  .map(function (e) { return Number(e.dataset.index); });
"""


def test_report_click_on_an_offdiagonal_cell_shows_exactly_its_images_in_chromium(tmp_path):
    found = _find_browser()
    if found is None:
        pytest.skip("no headless browser: install Debian's chromium and chromium-driver (.ci/run does)")
    model, x, y, history = _small_problem()
    pred, expected = _expected(model, x, y)
    off = sorted((k for k in expected if k[0] != k[1]), key=lambda k: -expected[k])
    assert len(off) >= 2, "the fixture should leave mistakes in at least two cells"
    path = Path(minidl.viz.report(model, x, y, history=history, path=tmp_path / "report.html")).resolve()

    wd = _WebDriver(*found)
    try:
        wd.cmd("POST", "/url", {"url": path.as_uri()})
        assert wd.script(_VISIBLE_IMAGES) == []  # nothing shown before a click
        for t, p in off[:2]:
            cell = wd.find(f'td.cm[data-true="{t}"][data-pred="{p}"]')
            assert wd.cmd("GET", f"/element/{cell}/text") == str(expected[t, p])
            wd.cmd("POST", f"/element/{cell}/click", {})
            shown = wd.script(_VISIBLE_IMAGES)
            assert shown == np.flatnonzero((y == t) & (pred == p)).tolist(), (t, p, shown)
            # Each picture decoded by the browser (a broken data URI has naturalWidth 0) at 8x8 pixels.
            sizes = wd.script("return Array.from(document.querySelectorAll('.cell-images:not([hidden]) img'))"
                              ".map(function (e) { return [e.naturalWidth, e.naturalHeight]; });")
            assert sizes == [[8, 8]] * len(shown)
    finally:
        wd.quit()
