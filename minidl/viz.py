"""Plots for looking at data, training runs and what a network has learned (matplotlib).

Every function returns the :class:`matplotlib.figure.Figure` it drew on, and accepts two keyword arguments:

* ``ax`` -- draw into an existing Axes instead of a new figure. Functions that draw a grid of tiles split
  that Axes' slot into a sub-grid (the Axes must come from ``plt.subplots``/``add_subplot``).
* ``path`` -- also save the figure as an image (PNG unless the suffix says otherwise).

Figures are created through ``pyplot`` so that ``plt.show()`` and notebooks display them; this module never
picks a backend (set ``MPLBACKEND=Agg`` for headless use). In a long loop, ``plt.close(fig)`` the figures
you no longer need.

Only NumPy and matplotlib are imported, so this module works without the rest of minidl. Tensors or other
array-likes are converted with ``np.asarray``.
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = [
    "show_images",
    "plot_confusion_matrix",
    "plot_history",
    "plot_weights",
    "plot_filters",
    "plot_feature_maps",
    "plot_latent_2d",
    "plot_reconstructions",
    "plot_graph",
]

PathLike = str | os.PathLike[str] | None

from .graph_plot import plot_graph  # noqa: E402  (the autograd graph, drawn; see minidl/graph_plot.py)


# ----------------------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------------------
def _as_array(x: Any, name: str) -> np.ndarray:
    # minidl Tensors (and torch tensors on CPU) expose __array__ or .numpy(); prefer .data when it is an array
    # so that autograd wrappers do not need to be imported here.
    data = getattr(x, "data", None)
    if isinstance(data, np.ndarray):
        x = data
    arr = np.asarray(x)
    if arr.dtype == object:
        raise ValueError(f"{name} must be a numeric array, got an object array of shape {arr.shape}")
    return arr


def _class_labels(labels: Any, n: int, name: str = "labels") -> np.ndarray:
    """Returns labels as a 1-D array of length n; accepts (N,), Keras' CIFAR (N, 1) and one-hot (N, K)."""
    arr = np.asarray(labels)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    elif arr.ndim == 2 and arr.shape[1] > 1 and np.issubdtype(arr.dtype, np.number):
        arr = arr.argmax(axis=1)  # one-hot or probabilities
    if arr.ndim != 1 or len(arr) != n:
        raise ValueError(f"{name} must have shape ({n},), ({n}, 1) or ({n}, K); got {np.shape(labels)}")
    return arr


def _new_figure(figsize: tuple[float, float]) -> Figure:
    import matplotlib.pyplot as plt  # imported lazily: importing minidl.viz must not touch the backend

    return plt.figure(figsize=figsize)


def _single_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig = _new_figure(figsize)
    return fig, fig.add_subplot(1, 1, 1)


def _grid_axes(
    nrows: int, ncols: int, ax: Axes | None, tile_size: float = 1.2, extra_height: float = 0.0
) -> tuple[Figure, np.ndarray]:
    """Returns a figure and an (nrows, ncols) array of Axes, new or carved out of ``ax``'s slot."""
    if ax is None:
        fig = _new_figure((max(2.0, ncols * tile_size), max(1.5, nrows * tile_size + extra_height)))
        return fig, fig.subplots(nrows, ncols, squeeze=False)
    spec = ax.get_subplotspec()
    if spec is None:
        raise ValueError("ax must be a grid Axes (from plt.subplots or fig.add_subplot) to hold a tile grid")
    fig = ax.figure
    ax.remove()
    sub = spec.subgridspec(nrows, ncols)
    axes = np.empty((nrows, ncols), dtype=object)
    for i in range(nrows):
        for j in range(ncols):
            axes[i, j] = fig.add_subplot(sub[i, j])
    return fig, axes


def _finish(fig: Figure, path: PathLike) -> Figure:
    if path is not None:
        fig.savefig(path, dpi=100, bbox_inches="tight")
    return fig


def _tile(ax: Axes, img: np.ndarray, cmap: str | None, vmin: float | None, vmax: float | None) -> None:
    ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _to_rgb01(img: np.ndarray) -> np.ndarray:
    """Maps an (H, W, 3|4) image to what imshow accepts: uint8 as is, floats rescaled into [0, 1] if needed."""
    if img.dtype == np.uint8:
        return img
    img = img.astype(np.float64)
    lo, hi = float(img.min()), float(img.max())
    if lo >= 0.0 and hi <= 1.0:
        return img
    # Out-of-range floats (standardised inputs, raw kernels) would be clipped by imshow; min-max them instead.
    return (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)


def _hide_unused(axes: np.ndarray, used: int) -> None:
    for a in axes.flat[used:]:
        a.axis("off")


def _symmetric_limit(x: np.ndarray) -> float:
    # Diverging colour maps are centred on zero so that positive and negative weights read the same way.
    m = float(np.abs(x).max()) if x.size else 0.0
    return m if m > 0 else 1.0


# ----------------------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------------------
def show_images(
    images: Any,
    labels: Any = None,
    ncols: int = 10,
    cmap: str = "gray",
    title: str | None = None,
    *,
    class_names: Sequence[str] | None = None,
    ax: Axes | None = None,
    path: PathLike = None,
) -> Figure:
    """Shows images in a grid, optionally with a label above each.

    Args:
        images: (N, H, W) grayscale or (N, H, W, C) with C in {1, 3, 4}. uint8 images are shown on 0..255;
            float grayscale images are auto-scaled per tile, float colour images rescaled into [0, 1].
        labels: Optional labels, shape (N,), (N, 1) (Keras CIFAR-10) or one-hot (N, K); ints or strings.
        ncols: Tiles per row.
        cmap: Colour map for grayscale images.
        title: Figure title.
        class_names: Maps integer labels to names, e.g. ``fashion_mnist.CLASS_NAMES``.
        ax: Axes whose slot receives the grid.
        path: Where to save the figure.

    Returns:
        The figure.

    Raises:
        ValueError: ``images`` is not 3-D or 4-D with 1, 3 or 4 channels, or ``labels`` has the wrong length.
    """
    imgs = _as_array(images, "images")
    if imgs.ndim == 4 and imgs.shape[-1] == 1:
        imgs = imgs[..., 0]
    if not (imgs.ndim == 3 or (imgs.ndim == 4 and imgs.shape[-1] in (3, 4))) or len(imgs) == 0:
        raise ValueError(f"images must have shape (N, H, W) or (N, H, W, 1|3|4) with N > 0; got {imgs.shape}")
    if ncols < 1:
        raise ValueError(f"ncols must be >= 1, got {ncols}")
    n = len(imgs)
    labs = _class_labels(labels, n) if labels is not None else None
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig, axes = _grid_axes(nrows, ncols, ax, extra_height=0.4 if title else 0.0)
    gray_limits = (0, 255) if imgs.dtype == np.uint8 else (None, None)
    for i, a in enumerate(axes.flat[:n]):
        if imgs.ndim == 3:
            _tile(a, imgs[i], cmap, *gray_limits)
        else:
            _tile(a, _to_rgb01(imgs[i]), None, None, None)
        if labs is not None:
            lab = labs[i]
            if class_names is not None and np.issubdtype(np.asarray(lab).dtype, np.integer):
                lab = class_names[int(lab)]
            a.set_title(str(lab), fontsize=8)
    _hide_unused(axes, n)
    if title:
        fig.suptitle(title)
    return _finish(fig, path)


# ----------------------------------------------------------------------------------------------------------
# Evaluation and training
# ----------------------------------------------------------------------------------------------------------
def plot_confusion_matrix(
    cm: Any,
    class_names: Sequence[str] | None = None,
    normalize: bool = False,
    *,
    title: str | None = None,
    cmap: str = "Blues",
    ax: Axes | None = None,
    path: PathLike = None,
) -> Figure:
    """Draws a confusion matrix as a heat map with the counts (or fractions) written in the cells.

    Args:
        cm: (K, K) matrix, rows = true class, columns = predicted class (scikit-learn's convention).
        class_names: K tick labels; defaults to 0..K-1.
        normalize: Divide each row by its sum, so cells show per-class recall (rows summing to 0 stay 0).
        title: Axes title.
        cmap: Colour map.
        ax: Axes to draw into.
        path: Where to save the figure.

    Returns:
        The figure.

    Raises:
        ValueError: ``cm`` is not square, or ``class_names`` does not have K entries.
    """
    m = _as_array(cm, "cm").astype(np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise ValueError(f"cm must be a square (K, K) matrix; got shape {m.shape}")
    k = m.shape[0]
    names = [str(i) for i in range(k)] if class_names is None else [str(c) for c in class_names]
    if len(names) != k:
        raise ValueError(f"class_names has {len(names)} entries for a {k}x{k} matrix")
    if normalize:
        sums = m.sum(axis=1, keepdims=True)
        m = np.divide(m, sums, out=np.zeros_like(m), where=sums != 0)
    fig, ax = _single_axes(ax, (max(4.0, 0.55 * k + 2.0), max(3.5, 0.55 * k + 1.5)))
    image = ax.imshow(m, cmap=cmap, vmin=0.0, vmax=1.0 if normalize else None, interpolation="nearest")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    long_names = max(map(len, names)) > 2  # slanted tick labels only when they would overlap
    ax.set_xticks(range(k), names, rotation=45 if long_names else 0, ha="right" if long_names else "center")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    if title:
        ax.set_title(title)
    if k <= 20:  # beyond that the numbers no longer fit in the cells
        threshold = m.max() / 2.0 if m.size else 0.0
        for i in range(k):
            for j in range(k):
                text = f"{m[i, j]:.2f}" if normalize else f"{m[i, j]:.0f}"
                ax.text(j, i, text, ha="center", va="center", fontsize=8,
                        color="white" if m[i, j] > threshold else "black")
    return _finish(fig, path)


def plot_history(history: Any, *, ax: Axes | None = None, path: PathLike = None) -> Figure:
    """Plots loss and metrics against the epoch, one panel per quantity, validation curves dashed.

    Args:
        history: ``{'loss': [...], 'val_loss': [...], 'accuracy': [...], ...}``, or an object with such a dict
            in ``.history`` (the History returned by ``model.fit``). Each ``val_<name>`` curve is drawn in the
            panel of ``<name>``.
        ax: Axes whose slot receives the panels.
        path: Where to save the figure.

    Returns:
        The figure.

    Raises:
        ValueError: ``history`` is empty, not a mapping, or holds a curve that is not a 1-D sequence.
    """
    hist = getattr(history, "history", history)
    if not isinstance(hist, Mapping) or not hist:
        raise ValueError("history must be a non-empty dict of per-epoch values or an object with .history")
    curves = {}
    for key, values in hist.items():
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"history[{key!r}] must be a non-empty 1-D sequence; got shape {arr.shape}")
        curves[str(key)] = arr
    # Panels in first-seen order of the base names; 'loss' first as in Keras' progress bar.
    bases: list[str] = []
    for key in curves:
        base = key[4:] if key.startswith("val_") else key
        if base not in bases:
            bases.append(base)
    if "loss" in bases:
        bases.remove("loss")
        bases.insert(0, "loss")
    ncols = min(len(bases), 3)
    nrows = math.ceil(len(bases) / ncols)
    if ax is None:
        fig = _new_figure((4.2 * ncols, 3.2 * nrows))
        axes = fig.subplots(nrows, ncols, squeeze=False)
    else:
        fig, axes = _grid_axes(nrows, ncols, ax)
    for a, base in zip(axes.flat, bases):
        for key, style in ((base, "-"), ("val_" + base, "--")):
            if key in curves:
                y = curves[key]
                a.plot(np.arange(1, len(y) + 1), y, style, marker="o" if len(y) <= 30 else None,
                       markersize=3, label=key)
        a.set_xlabel("epoch")
        a.set_title(base)
        a.grid(True, alpha=0.3)
        a.legend()
        a.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    _hide_unused(axes, len(bases))
    if ax is None:
        fig.tight_layout()
    return _finish(fig, path)


# ----------------------------------------------------------------------------------------------------------
# What a network learned
# ----------------------------------------------------------------------------------------------------------
def plot_weights(
    W: Any,
    image_shape: Sequence[int],
    *,
    ncols: int = 10,
    class_names: Sequence[str] | None = None,
    cmap: str = "seismic",
    title: str | None = None,
    ax: Axes | None = None,
    path: PathLike = None,
) -> Figure:
    """Shows each unit's incoming Dense weights as an image: the "templates" a linear classifier learns.

    For a softmax regression on MNIST (``W`` of shape (784, 10), ``image_shape=(28, 28)``) each tile shows which
    pixels push the score of its digit up (red) or down (blue).

    Args:
        W: Dense kernel of shape (in_features, units), with ``in_features == prod(image_shape)``.
        image_shape: (H, W) or (H, W, C) of the flattened input.
        ncols: Tiles per row.
        class_names: Titles of the units (default ``unit i``).
        cmap: Diverging colour map, centred on 0 separately for each unit (grayscale inputs).
        title: Figure title.
        ax: Axes whose slot receives the grid.
        path: Where to save the figure.

    Returns:
        The figure.

    Raises:
        ValueError: ``W`` is not 2-D, or ``in_features`` does not equal ``prod(image_shape)``.
    """
    w = _as_array(W, "W")
    shape = tuple(int(s) for s in image_shape)
    if w.ndim != 2:
        raise ValueError(f"W must be a 2-D Dense kernel (in_features, units); got shape {w.shape}")
    if len(shape) not in (2, 3) or math.prod(shape) != w.shape[0]:
        raise ValueError(
            f"W has {w.shape[0]} input features, which does not reshape into image_shape {shape} "
            f"({math.prod(shape)} values)"
        )
    units = w.shape[1]
    if class_names is not None and len(class_names) != units:
        raise ValueError(f"class_names has {len(class_names)} entries for {units} units")
    ncols = max(1, min(ncols, units))
    fig, axes = _grid_axes(math.ceil(units / ncols), ncols, ax, extra_height=0.4 if title else 0.0)
    rgb = len(shape) == 3 and shape[2] in (3, 4)
    for u, a in enumerate(axes.flat[:units]):
        img = w[:, u].reshape(shape)
        if rgb:
            _tile(a, _to_rgb01(img), None, None, None)
        else:
            img = img if img.ndim == 2 else img[..., 0]  # one channel of a multi-channel input
            lim = _symmetric_limit(img)
            _tile(a, img, cmap, -lim, lim)
        a.set_title(str(class_names[u]) if class_names is not None else f"unit {u}", fontsize=8)
    _hide_unused(axes, units)
    if title:
        fig.suptitle(title)
    return _finish(fig, path)


def plot_filters(
    kernel: Any,
    *,
    ncols: int = 8,
    cmap: str = "seismic",
    title: str | None = None,
    ax: Axes | None = None,
    path: PathLike = None,
) -> Figure:
    """Shows Conv2D kernels, one tile per output filter.

    With 3 input channels each filter is shown in colour (min-max scaled per filter, as for the first layer of
    an RGB network); otherwise the first input channel is shown on a diverging colour map centred on 0.

    Args:
        kernel: Conv2D kernel of shape (kh, kw, in_channels, out_channels) (Keras layout).
        ncols: Tiles per row.
        cmap: Colour map for single-channel filters.
        title: Figure title.
        ax: Axes whose slot receives the grid.
        path: Where to save the figure.

    Returns:
        The figure.

    Raises:
        ValueError: ``kernel`` is not 4-D.
    """
    k = _as_array(kernel, "kernel")
    if k.ndim != 4 or 0 in k.shape:
        raise ValueError(f"kernel must have shape (kh, kw, in_channels, out_channels); got {k.shape}")
    out = k.shape[3]
    ncols = max(1, min(ncols, out))
    fig, axes = _grid_axes(math.ceil(out / ncols), ncols, ax, tile_size=1.0, extra_height=0.4 if title else 0.0)
    for f, a in enumerate(axes.flat[:out]):
        if k.shape[2] == 3:
            _tile(a, _to_rgb01(k[:, :, :, f].astype(np.float64)), None, None, None)
        else:
            img = k[:, :, 0, f]
            lim = _symmetric_limit(img)
            _tile(a, img, cmap, -lim, lim)
        a.set_title(str(f), fontsize=7)
    _hide_unused(axes, out)
    if title:
        fig.suptitle(title)
    return _finish(fig, path)


def plot_feature_maps(
    maps: Any,
    *,
    ncols: int = 8,
    cmap: str = "viridis",
    title: str | None = None,
    ax: Axes | None = None,
    path: PathLike = None,
) -> Figure:
    """Shows the activations of a convolutional layer for one input, one tile per channel.

    Args:
        maps: (H, W, C) activations, or (1, H, W, C) (a batch of one, as a model returns it).
        ncols: Tiles per row.
        cmap: Colour map; each tile is scaled to its own range.
        title: Figure title.
        ax: Axes whose slot receives the grid.
        path: Where to save the figure.

    Returns:
        The figure.

    Raises:
        ValueError: ``maps`` is not (H, W, C) or (1, H, W, C).
    """
    m = _as_array(maps, "maps")
    if m.ndim == 4 and m.shape[0] == 1:
        m = m[0]
    if m.ndim != 3 or 0 in m.shape:
        raise ValueError(f"maps must have shape (H, W, C) or (1, H, W, C); got {np.shape(maps)}")
    c = m.shape[2]
    ncols = max(1, min(ncols, c))
    fig, axes = _grid_axes(math.ceil(c / ncols), ncols, ax, extra_height=0.4 if title else 0.0)
    for i, a in enumerate(axes.flat[:c]):
        _tile(a, m[:, :, i], cmap, None, None)
        a.set_title(str(i), fontsize=7)
    _hide_unused(axes, c)
    if title:
        fig.suptitle(title)
    return _finish(fig, path)


def plot_latent_2d(
    codes: Any,
    labels: Any = None,
    title: str | None = None,
    *,
    class_names: Sequence[str] | None = None,
    ax: Axes | None = None,
    path: PathLike = None,
) -> Figure:
    """Scatter plot of 2-D codes (autoencoder bottleneck, PCA, t-SNE, ...) coloured by class.

    Args:
        codes: (N, 2) coordinates.
        labels: Optional class of each point, shape (N,), (N, 1) or one-hot (N, K); one colour and one legend
            entry per class.
        title: Axes title.
        class_names: Legend names for integer labels.
        ax: Axes to draw into.
        path: Where to save the figure.

    Returns:
        The figure.

    Raises:
        ValueError: ``codes`` is not (N, 2), or ``labels`` does not have N entries.
    """
    z = _as_array(codes, "codes")
    if z.ndim != 2 or z.shape[1] != 2:
        raise ValueError(f"codes must have shape (N, 2); got {z.shape}")
    fig, ax = _single_axes(ax, (6.0, 5.0))
    size = 12 if len(z) < 2000 else 4  # smaller dots keep dense clouds readable
    if labels is None:
        ax.scatter(z[:, 0], z[:, 1], s=size, alpha=0.7)
    else:
        labs = _class_labels(labels, len(z))
        classes = np.unique(labs)
        cmap = matplotlib.colormaps["tab10" if len(classes) <= 10 else "tab20"]
        for i, c in enumerate(classes):
            sel = labs == c
            name = class_names[int(c)] if class_names is not None and np.issubdtype(labs.dtype, np.integer) else c
            ax.scatter(z[sel, 0], z[sel, 1], s=size, alpha=0.7, color=cmap(i % cmap.N), label=str(name))
        ax.legend(markerscale=2.0, fontsize=8, loc="best", title="class")
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    if title:
        ax.set_title(title)
    return _finish(fig, path)


def plot_reconstructions(
    original: Any,
    reconstructed: Any,
    n: int = 10,
    *,
    image_shape: Sequence[int] | None = None,
    cmap: str = "gray",
    ax: Axes | None = None,
    path: PathLike = None,
) -> Figure:
    """Shows the first ``n`` inputs (top row) above their reconstructions (bottom row).

    Args:
        original: (N, H, W), (N, H, W, C), or flat (N, D) images.
        reconstructed: Same shape as ``original`` (e.g. an autoencoder's output).
        n: Number of columns (capped at N).
        image_shape: (H, W) or (H, W, C) for flat inputs; default: a square (sqrt(D), sqrt(D)) image.
        cmap: Colour map for grayscale images.
        ax: Axes whose slot receives the two rows.
        path: Where to save the figure.

    Returns:
        The figure.

    Raises:
        ValueError: The shapes differ, or flat inputs cannot be reshaped into images.
    """
    a = _as_array(original, "original")
    b = _as_array(reconstructed, "reconstructed")
    if a.shape != b.shape:
        raise ValueError(f"original {a.shape} and reconstructed {b.shape} must have the same shape")
    if a.ndim == 2:
        d = a.shape[1]
        if image_shape is None:
            side = math.isqrt(d)
            if side * side != d:
                raise ValueError(f"flat images of {d} values are not square; pass image_shape")
            image_shape = (side, side)
        if math.prod(image_shape) != d:
            raise ValueError(f"image_shape {tuple(image_shape)} does not hold {d} values")
        a, b = a.reshape(-1, *image_shape), b.reshape(-1, *image_shape)
    if a.ndim == 4 and a.shape[-1] == 1:
        a, b = a[..., 0], b[..., 0]
    if not (a.ndim == 3 or (a.ndim == 4 and a.shape[-1] in (3, 4))) or len(a) == 0:
        raise ValueError(f"images must be (N, H, W), (N, H, W, 1|3|4) or flat (N, D); got {np.shape(original)}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    n = min(n, len(a))
    fig, axes = _grid_axes(2, n, ax)
    if a.ndim == 3:
        # Both rows use the originals' gray scale, so that a faded reconstruction looks faded; reconstructed
        # values outside the inputs' range (e.g. a linear decoder's negatives) saturate instead of washing out
        # the originals.
        if a.dtype == np.uint8:
            lo, hi = 0.0, 255.0
        else:
            lo, hi = float(a[:n].min()), float(a[:n].max())
            hi = hi if hi > lo else lo + 1.0
    for j in range(n):
        for row, imgs in enumerate((a, b)):
            if a.ndim == 3:
                _tile(axes[row, j], imgs[j], cmap, lo, hi)
            else:
                _tile(axes[row, j], _to_rgb01(imgs[j]), None, None, None)
    axes[0, 0].set_ylabel("original", fontsize=8)
    axes[1, 0].set_ylabel("reconstructed", fontsize=8)
    return _finish(fig, path)
