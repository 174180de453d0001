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

__all__ = ["FIGURES_ROOT", "add_out_argument", "figure_dir", "announce_figures", "write_report"]

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
