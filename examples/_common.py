"""What the example scripts share: where their figures go.

Every example writes its PNG figures into ``figures/<example name>/`` (relative to the current directory) or
into the folder given with ``--out DIR``, ``--quick`` runs included, and prints where they went. The scripts
import this module as ``_common``: Python puts a script's own folder first on ``sys.path``, so
``python examples/<name>.py`` finds it from any directory.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

__all__ = ["FIGURES_ROOT", "add_out_argument", "figure_dir", "announce_figures", "write_report",
           "synthetic_shapes", "SYNTHETIC_CLASSES"]

#: The default root of the figure folders, relative to the current directory.
FIGURES_ROOT = "figures"


def figure_dir(script: str, out: str | os.PathLike[str] | None = None) -> str:
    """Returns the folder an example writes its figures into, created if missing.

    Args:
        script: The example's ``__file__`` (or its name); its stem names the default folder.
        out: An explicit folder (``--out DIR``); None means ``figures/<example name>/``.

    Returns:
        The folder's path as a string (for ``os.path.join``).
    """
    folder = Path(out) if out is not None else Path(FIGURES_ROOT) / Path(script).stem
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder)


def add_out_argument(parser: argparse.ArgumentParser, script: str) -> None:
    """Adds ``--out DIR`` with the default folder named in its help."""
    name = Path(script).stem
    parser.add_argument("--out", default=None,
                        help=f"folder for the PNG figures (default: {FIGURES_ROOT}/{name}/)")


def announce_figures(folder: str | os.PathLike[str]) -> list[str]:
    """Prints the folder and the PNG files in it; returns their names (sorted)."""
    names = sorted(p.name for p in Path(folder).glob("*.png"))
    print(f"figures written to {folder}{os.sep}: {', '.join(names) if names else '(none)'}")
    return names


def write_report(model, x, y, folder: str, name: str = "report.html", **kwargs) -> str:
    """Writes ``minidl.viz.report`` (the interactive HTML report) into ``folder`` and prints its path."""
    import minidl

    path = minidl.viz.report(model, x, y, path=os.path.join(folder, name), **kwargs)
    print(f"interactive report: {path} (open it in a browser; click a confusion-matrix cell to see its images)")
    return path


#: The classes of :func:`synthetic_shapes` (shape, in a colour family).
SYNTHETIC_CLASSES = ("red disc", "green disc", "blue disc", "red square", "green square", "blue square",
                     "red bar", "green bar", "blue bar", "grey ring")


def synthetic_shapes(n: int, seed: int = 0, size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """A small SYNTHETIC colour data set, for smoke runs where CIFAR-10 / GTSRB are not cached (never for
    recorded numbers): one shape per image on a random dark background, 10 classes (SYNTHETIC_CLASSES).

    Returns:
        uint8 images (n, size, size, 3) and int64 labels (n,).
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    images = np.empty((n, size, size, 3), np.uint8)
    labels = rng.integers(0, len(SYNTHETIC_CLASSES), n)
    for i, label in enumerate(labels):
        img = rng.integers(0, 80, 3)[None, None, :] + rng.integers(0, 30, (size, size, 3))
        cy, cx = rng.uniform(size * 0.3, size * 0.7, 2)
        r = rng.uniform(size * 0.15, size * 0.3)
        kind, family = divmod(int(label), 3)
        if kind == 0:
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r ** 2
        elif kind == 1:
            mask = (abs(yy - cy) <= r) & (abs(xx - cx) <= r)
        elif kind == 2:
            mask = (abs(yy - cy) <= r / 3) & (abs(xx - cx) <= r * 1.4)
        else:
            d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
            mask = (d <= r) & (d >= r * 0.6)
        colour = np.full(3, 60) + rng.integers(0, 40, 3)
        colour[family if kind < 3 else slice(None)] = 200 + rng.integers(0, 55)
        img = np.where(mask[..., None], colour[None, None, :], img)
        images[i] = np.clip(img, 0, 255)
    return images, labels.astype(np.int64)
