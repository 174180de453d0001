"""An interactive, self-contained HTML report of a trained classifier (``minidl.viz.report``).

The classification lessons point learners to interactive confusion-matrix demos: click a cell of the matrix and
see the images behind the count. :func:`report` writes such a page for any minidl classifier, as **one HTML
file** that needs nothing else: no network, no JavaScript library; every picture is an inline ``data:`` URI
and the few lines of JavaScript that make the cells clickable are written into the page. It holds

* the training curves (from the ``History`` returned by ``fit``), if given;
* the confusion matrix, rows the true class and columns the prediction, each cell showing its count; clicking
  a non-empty cell (or focusing it and pressing Enter) shows the images of that (true, predicted) pair, each as
  its own picture (up to ``max_images_per_cell`` of them; the heading says how many there are in all);
* per-class precision ``TP / (TP + FP)``, recall ``TP / (TP + FN)`` and support, and the accuracy;
* the first layer's weights as images: a Dense kernel (D, units) whose D is the number of pixels, one tile per
  unit, or a Conv2D kernel (kh, kw, in, out), one tile per filter.

Example::

    history = model.fit(x_train, y_train, epochs=5, validation_split=0.1)
    minidl.viz.report(model, x_test, y_test, history=history, class_names=[str(d) for d in range(10)],
                      path="report.html")       # open it in any browser

The small images are encoded by a minimal PNG writer (zlib from the standard library), so the report does
not need matplotlib for them; the curves and the weight grids are matplotlib figures from :mod:`minidl.viz`.
"""
from __future__ import annotations

import base64
import html
import io
import math
import os
import struct
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["report", "png_bytes"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bytes(image: np.ndarray) -> bytes:
    """Encodes a uint8 image as PNG (8-bit grayscale for (H, W), 8-bit RGB for (H, W, 3)).

    Each row is stored with PNG filter type 0 (none) and the whole image is deflated by zlib: the format's
    minimum, enough for the 28x28 and 32x32 images of the lessons.

    Args:
        image: uint8 array of shape (H, W) or (H, W, 3).

    Returns:
        The PNG file's bytes.

    Raises:
        ValueError: ``image`` is not uint8 or not of shape (H, W) / (H, W, 3).
    """
    img = np.asarray(image)
    if img.dtype != np.uint8 or not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 3)) or img.size == 0:
        raise ValueError(f"image must be a non-empty uint8 array (H, W) or (H, W, 3); got {img.dtype} {img.shape}")
    h, w = img.shape[:2]
    color_type = 0 if img.ndim == 2 else 2
    rows = np.ascontiguousarray(img).reshape(h, -1)
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rows], axis=1).tobytes()  # filter byte 0 per row
    header = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return (_PNG_SIGNATURE + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", zlib.compress(raw, 6))
            + _png_chunk(b"IEND", b""))


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _figure_uri(fig: Any) -> str:
    """A matplotlib figure as a PNG data URI (the figure is closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return _data_uri(buf.getvalue())


def _labels(y: Any, n: int) -> np.ndarray:
    """Integer class labels (N,) from labels (N,), (N, 1) or one-hot / probability rows (N, K)."""
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] > 1:
        arr = arr.argmax(axis=1)
    elif arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 or len(arr) != n:
        raise ValueError(f"y must hold one label per sample of x ({n}): shape (N,), (N, 1) or one-hot (N, K); "
                         f"got shape {np.asarray(y).shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise ValueError("y must hold non-negative integer class labels")
    return arr.astype(np.int64)


def _predicted_classes(probs: np.ndarray, n: int) -> np.ndarray:
    p = np.asarray(probs)
    if p.ndim == 2 and p.shape[1] > 1:
        return p.argmax(axis=1).astype(np.int64)
    if p.ndim == 2 and p.shape[1] == 1 or p.ndim == 1:
        return (p.reshape(n) >= 0.5).astype(np.int64)  # one sigmoid output: class 1 when p >= 0.5
    raise ValueError(f"model.predict returned shape {p.shape}; expected (N, K) class scores")


def _infer_image_shape(sample_shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """(H, W) or (H, W, 3) for a sample of ``sample_shape``, or None when it is not an image."""
    if len(sample_shape) == 2:
        return sample_shape
    if len(sample_shape) == 3 and sample_shape[2] in (1, 3):
        return sample_shape[:2] if sample_shape[2] == 1 else sample_shape
    if len(sample_shape) == 1:
        d = sample_shape[0]
        side = math.isqrt(d)
        if side * side == d:
            return (side, side)  # 784 -> 28x28
        side = math.isqrt(d // 3)
        if d % 3 == 0 and side * side * 3 == d:
            return (side, side, 3)  # 3072 -> 32x32x3
    return None


def _to_uint8_images(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """(N, ...) samples as uint8 images of ``shape``, scaled by the data's global min and max."""
    imgs = x.reshape((len(x), *shape))
    if imgs.dtype == np.uint8:
        return imgs
    imgs = imgs.astype(np.float64)
    lo, hi = float(np.min(imgs)), float(np.max(imgs))
    # One scale for all images, so that a faint digit looks faint; [0, 1] data keep their brightness.
    if 0.0 <= lo and hi <= 1.0:
        lo, hi = 0.0, 1.0
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    return np.clip(np.round((imgs - lo) * scale), 0, 255).astype(np.uint8)


def _first_kernel(model: Any) -> tuple[str, np.ndarray] | None:
    """(layer name, kernel) of the first layer (depth first through nested models) that has a kernel."""
    for layer in getattr(model, "layers", []):
        if getattr(layer, "layers", None):
            found = _first_kernel(layer)
            if found is not None:
                return found
        kernel = getattr(layer, "kernel", None)
        if kernel is not None:
            return layer.name, np.asarray(getattr(kernel, "data", kernel))
    return None


def _weights_uri(model: Any, image_shape: tuple[int, ...] | None, max_units: int) -> tuple[str, str] | None:
    """(caption, data URI) of the first layer's weights as images, or None when they are not images."""
    from . import viz

    found = _first_kernel(model)
    if found is None:
        return None
    name, kernel = found
    if kernel.ndim == 4:
        k = kernel[..., :max_units]
        fig = viz.plot_filters(k, title=f"{name}: {kernel.shape[3]} filters {kernel.shape[0]}x{kernel.shape[1]}")
        return f"first layer {name!r}, kernel {kernel.shape}", _figure_uri(fig)
    if kernel.ndim == 2 and image_shape is not None and math.prod(image_shape) == kernel.shape[0]:
        k = kernel[:, :max_units]
        fig = viz.plot_weights(k, image_shape, ncols=min(10, k.shape[1]),
                               title=f"{name}: the incoming weights of {k.shape[1]} of {kernel.shape[1]} units")
        return f"first layer {name!r}, kernel {kernel.shape}, one image per unit", _figure_uri(fig)
    return None


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ccc; padding: 3px 7px; text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; }
td.cm { min-width: 2.6em; }
td.cm.nonempty { cursor: pointer; }
td.cm.nonempty:hover, td.cm:focus { outline: 2px solid #333; }
td.cm.selected { outline: 3px solid #d00; }
.cell-images img { width: 56px; height: 56px; image-rendering: pixelated; margin: 2px; border: 1px solid #ddd; }
.note { color: #666; font-size: 0.9em; }
"""

# Inline script: a click (or Enter / Space) on a non-empty cell shows that cell's group of images and hides
# the others; nothing is fetched.
_SCRIPT = """
(function () {
  var groups = document.querySelectorAll('.cell-images');
  var cells = document.querySelectorAll('td.cm.nonempty');
  var status = document.getElementById('cell-status');
  function show(cell) {
    var id = 'cell-' + cell.dataset.true + '-' + cell.dataset.pred;
    for (var i = 0; i < groups.length; i++) { groups[i].hidden = groups[i].id !== id; }
    for (var j = 0; j < cells.length; j++) { cells[j].classList.toggle('selected', cells[j] === cell); }
    status.hidden = true;
  }
  for (var k = 0; k < cells.length; k++) {
    cells[k].addEventListener('click', function () { show(this); });
    cells[k].addEventListener('keydown', function (e) {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); show(this); }
    });
  }
})();
"""


def report(
    model: Any,
    x: Any,
    y: Any,
    history: Any = None,
    class_names: Sequence[str] | None = None,
    path: str | os.PathLike[str] = "report.html",
    *,
    image_shape: Sequence[int] | None = None,
    max_images_per_cell: int = 60,
    max_weight_units: int = 64,
    title: str = "minidl model report",
    batch_size: int = 256,
) -> str:
    """Writes a self-contained interactive HTML report of a classifier evaluated on ``(x, y)``.

    Args:
        model: A trained classifier with ``predict(x, batch_size=...)`` returning class scores (N, K) (or one
            sigmoid column (N, 1), thresholded at 0.5) and, for the weights section, ``layers``.
        x: Inputs (N, ...), e.g. (N, 784), (N, 28, 28, 1) or (N, 32, 32, 3); also the pictures of the cells.
        y: True labels (N,), (N, 1) (Keras' CIFAR-10 layout) or one-hot (N, K).
        history: The ``History`` returned by ``fit`` (or its ``.history`` dict); None leaves the curves out.
        class_names: Names of the K classes (default ``0 .. K-1``).
        path: Where to write the HTML file (its folder must exist).
        image_shape: (H, W) or (H, W, 3) of one sample; inferred when None (2-D samples, (H, W, 1|3), or a
            flat vector of a square number of pixels: 784 -> 28x28, 3072 -> 32x32x3). Samples that are not
            images get no pictures.
        max_images_per_cell: At most this many pictures per (true, predicted) cell (the first ones in x's
            order); the count shown is always the full one.
        max_weight_units: At most this many units / filters in the weights section.
        title: The page's title.
        batch_size: Passed to ``model.predict``.

    Returns:
        ``path`` as a string.

    Raises:
        ValueError: ``x`` is empty, ``y`` does not hold one integer label per sample, ``class_names`` is
            shorter than the number of classes, ``max_images_per_cell`` < 1 or ``image_shape`` does not
            match the samples. Nothing is written then.
    """
    from .metrics import precision_recall_per_class  # lazy: minidl.viz must not import the whole library

    xs = np.asarray(x)
    if xs.ndim < 2 or len(xs) == 0:
        raise ValueError(f"x must be a non-empty batch of samples (N, ...); got shape {xs.shape}")
    n = len(xs)
    y_true = _labels(y, n)
    if not isinstance(max_images_per_cell, int) or max_images_per_cell < 1:
        raise ValueError(f"max_images_per_cell must be an int >= 1; got {max_images_per_cell!r}")
    if image_shape is not None:
        shape = tuple(int(s) for s in image_shape)
        if len(shape) == 3 and shape[2] == 1:
            shape = shape[:2]
        if math.prod(shape) != math.prod(xs.shape[1:]) or not (len(shape) == 2 or (len(shape) == 3 and shape[2] == 3)):
            raise ValueError(f"image_shape {tuple(image_shape)} must be (H, W) or (H, W, 3) with as many values as "
                             f"one sample of x {xs.shape[1:]}")
    else:
        shape = _infer_image_shape(tuple(xs.shape[1:]))

    probs = np.asarray(model.predict(xs, batch_size=batch_size))
    y_pred = _predicted_classes(probs, n)
    k = int(max(y_true.max(), y_pred.max()) + 1)
    if probs.ndim == 2 and probs.shape[1] > 1:
        k = max(k, probs.shape[1])
    if class_names is None:
        names = [str(i) for i in range(k)]
    else:
        names = [str(c) for c in class_names]
        if len(names) < k:
            raise ValueError(f"class_names has {len(names)} names for {k} classes")
        k = len(names)

    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    precision, recall, _, support = precision_recall_per_class(y_true, y_pred, k)
    accuracy = float(np.mean(y_true == y_pred))
    images = _to_uint8_images(xs, shape) if shape is not None else None

    esc = html.escape
    parts: list[str] = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{esc(title)}</title>",
        f"<style>{_STYLE}</style></head><body>", f"<h1>{esc(title)}</h1>",
        f"<p>{n} samples, {k} classes, accuracy <b>{accuracy:.4f}</b> ({int(np.trace(cm))} of {n} correct).</p>",
    ]

    if history is not None:
        from . import viz

        parts.append("<h2>Training curves</h2>")
        parts.append(f'<img class="figure" alt="training curves" src="{_figure_uri(viz.plot_history(history))}">')

    parts.append("<h2>Confusion matrix</h2>")
    parts.append('<p class="note">Rows: true class; columns: predicted class. Click a cell to see its images.</p>')
    parts.append('<table id="confusion"><tr><th>true \\ predicted</th>'
                 + "".join(f"<th>{esc(c)}</th>" for c in names) + "<th>recall</th></tr>")
    row_sums = cm.sum(axis=1)
    for t in range(k):
        cells = []
        for p in range(k):
            count = int(cm[t, p])
            frac = count / row_sums[t] if row_sums[t] else 0.0
            # Diagonal cells shade green, errors red, by the fraction of the row they hold.
            rgb = (40, 160, 60) if t == p else (210, 40, 40)
            style = f"background: rgba({rgb[0]}, {rgb[1]}, {rgb[2]}, {0.08 + 0.7 * frac:.3f})" if count else ""
            attrs = f'class="cm{" nonempty" if count else ""}" data-true="{t}" data-pred="{p}" data-count="{count}"'
            if count:
                attrs += f' tabindex="0" title="true {esc(names[t])}, predicted {esc(names[p])}: {count}"'
            cells.append(f'<td {attrs} style="{style}">{count}</td>')
        parts.append(f"<tr><th>{esc(names[t])}</th>{''.join(cells)}<td>{recall[t]:.3f}</td></tr>")
    parts.append("<tr><th>precision</th>" + "".join(f"<td>{precision[p]:.3f}</td>" for p in range(k))
                 + f"<td>acc {accuracy:.3f}</td></tr></table>")

    parts.append('<p id="cell-status" class="note">No cell selected.</p>')
    for t in range(k):
        for p in range(k):
            count = int(cm[t, p])
            if not count:
                continue
            idx = np.flatnonzero((y_true == t) & (y_pred == p))[:max_images_per_cell]
            shown = f"all {count}" if len(idx) == count else f"the first {len(idx)} of {count}"
            parts.append(f'<div class="cell-images" id="cell-{t}-{p}" data-true="{t}" data-pred="{p}" '
                         f'data-count="{count}" hidden>')
            parts.append(f"<h3>true {esc(names[t])}, predicted {esc(names[p])}: {shown}</h3>")
            if images is None:
                parts.append(f'<p class="note">samples {", ".join(str(i) for i in idx)} (not images)</p>')
            else:
                for i in idx:
                    parts.append(f'<img class="sample" data-index="{int(i)}" alt="sample {int(i)}" '
                                 f'title="sample {int(i)}" src="{_data_uri(png_bytes(images[i]))}">')
            parts.append("</div>")

    parts.append("<h2>Per-class precision and recall</h2>")
    parts.append('<table id="per-class"><tr><th>class</th><th>precision</th><th>recall</th><th>support</th></tr>')
    for c in range(k):
        parts.append(f"<tr><th>{esc(names[c])}</th><td>{precision[c]:.3f}</td><td>{recall[c]:.3f}</td>"
                     f"<td>{int(support[c])}</td></tr>")
    parts.append("</table>")

    weights = _weights_uri(model, shape, max_weight_units)
    parts.append("<h2>First-layer weights</h2>")
    if weights is None:
        parts.append('<p class="note">The first layer with a kernel does not map onto the images.</p>')
    else:
        caption, uri = weights
        parts.append(f'<p class="note">{esc(caption)}</p><img class="figure" alt="first-layer weights" src="{uri}">')

    parts.append(f"<script>{_SCRIPT}</script></body></html>")
    text = "\n".join(parts) + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return str(path)
