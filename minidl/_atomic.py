"""Atomic file replacement with unique temporary names, and cleanup of temporaries left by dead processes.

Used by the dataset downloader and by model saving. Standard library only (``minidl.datasets`` stays free of the
rest of minidl).

A file ``dir/name`` is written to ``dir/.name.<host>-<pid>.<random><suffix>`` (unique per call, so threads and
processes writing the same target never share a temporary), then moved over the target with :func:`os.replace`,
an atomic rename on one filesystem: a reader sees the old file or the new one, never a mix. A temporary is left
behind only when its writer is killed (``kill -9``, power loss); :func:`clean_stale_temporaries` removes those of
processes that no longer run on this host, and those of any host that were not modified for ``max_age_s``.
"""
from __future__ import annotations

import contextlib
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write", "clean_stale_temporaries", "temporary_for"]

def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# Read once at import: os.umask can only be read by setting it, which is not thread-safe later on.
_UMASK = _read_umask()

#: A temporary untouched this long is stale whoever wrote it (a writer on another host, a reused pid).
STALE_AFTER_S = 24 * 3600.0


def _host() -> str:
    # Only characters that are safe in a file name and cannot be confused with the separators used here.
    return re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname() or "host")[:32]


def temporary_for(target: str | os.PathLike[str], suffix: str) -> tuple[int, Path]:
    """Creates a new, uniquely named empty temporary next to ``target``.

    Args:
        target: The final path; the temporary is created in its directory (which must exist).
        suffix: ``'.part'``, ``'.tmp'``, ...

    Returns:
        ``(fd, path)``: an open file descriptor (the caller closes it) and the temporary's path.
    """
    target = Path(target)
    prefix = f".{target.name}.{_host()}-{os.getpid()}."
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=target.parent)
    # mkstemp creates the file 0600; the finished file gets the mode open() would have given it.
    if os.name != "nt":
        try:
            os.fchmod(fd, 0o666 & ~_UMASK)
        except OSError:
            pass
    return fd, Path(name)


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process on Windows: rely on the age rule there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # exists but belongs to someone else (or the number is not a pid): not ours to judge
    return True


def clean_stale_temporaries(target: str | os.PathLike[str], suffix: str,
                            max_age_s: float = STALE_AFTER_S) -> list[Path]:
    """Removes temporaries of ``target`` whose writer is dead, or which were not modified for ``max_age_s``.

    A temporary of a live writer (this process included: another thread may be writing) is kept. Errors
    (permissions, a file removed meanwhile) are ignored: cleaning is best effort and never fails a save.

    Args:
        target: The final path whose temporaries (``.name.*suffix`` in its directory) are examined.
        suffix: The suffix the writers used.
        max_age_s: Age in seconds after which any temporary counts as stale.

    Returns:
        The paths removed.
    """
    target = Path(target)
    pattern = re.compile(re.escape(f".{target.name}.") + r"(?:([A-Za-z0-9_]+)-(\d+)\.)?.*" + re.escape(suffix) + "$")
    removed: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    host, now = _host(), time.time()
    for entry in entries:
        m = pattern.match(entry.name)
        if m is None:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            age = now - entry.stat(follow_symlinks=False).st_mtime
            dead = m.group(1) == host and not _pid_alive(int(m.group(2)))
            if dead or age > max_age_s:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


@contextlib.contextmanager
def atomic_write(target: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[BinaryIO]:
    """Context manager: write a binary file that replaces ``target`` atomically when the block ends normally.

    On any exception (KeyboardInterrupt included) the temporary is removed and ``target`` is left as it was.
    The data are flushed and fsync'ed before the rename, so after a crash the target is the old file or the
    complete new one. Stale temporaries of dead writers are removed first.

    Args:
        target: Final path; its directory must exist.
        suffix: Suffix of the temporary.

    Yields:
        A binary file object open for writing.
    """
    target = Path(target)
    clean_stale_temporaries(target, suffix)
    fd, tmp = temporary_for(target, suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
