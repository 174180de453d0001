"""Unique temporaries, atomic replacement and stale-temporary cleanup (issue #18): minidl._atomic and get_file."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from minidl import _atomic
from minidl.datasets import ChecksumError, DownloadError, _download, get_file


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _make(path: Path, age_s: float = 0.0) -> Path:
    path.write_bytes(b"partial")
    if age_s:
        t = time.time() - age_s
        os.utime(path, (t, t))
    return path


def test_temporaries_are_unique_and_name_their_writer(tmp_path):
    target = tmp_path / "model.npz"
    names = set()
    for _ in range(5):
        fd, p = _atomic.temporary_for(target, ".tmp")
        os.close(fd)
        names.add(p)
        assert p.parent == tmp_path and p.name.startswith(".model.npz.") and p.name.endswith(".tmp")
        assert f"-{os.getpid()}." in p.name
    assert len(names) == 5


def test_clean_removes_dead_and_old_temporaries_only(tmp_path):
    target = tmp_path / "data.bin"
    host = _atomic._host()
    dead = _make(tmp_path / f".data.bin.{host}-{_dead_pid()}.abc.part")
    alive = _make(tmp_path / f".data.bin.{host}-{os.getpid()}.abc.part")  # another thread of ours may write it
    other_host_recent = _make(tmp_path / ".data.bin.elsewhere-1.abc.part")
    other_host_old = _make(tmp_path / ".data.bin.elsewhere-1.def.part", age_s=2 * _atomic.STALE_AFTER_S)
    legacy_old = _make(tmp_path / ".data.bin.x8k2j.part", age_s=2 * _atomic.STALE_AFTER_S)  # pre-#18 names
    unrelated = _make(tmp_path / ".other.bin.elsewhere-1.abc.part", age_s=2 * _atomic.STALE_AFTER_S)
    other_suffix = _make(tmp_path / f".data.bin.{host}-{_dead_pid()}.abc.tmp")
    removed = _atomic.clean_stale_temporaries(target, ".part")
    assert set(removed) == {dead, other_host_old, legacy_old}
    for p in (alive, other_host_recent, unrelated, other_suffix):
        assert p.exists()
    for p in removed:
        assert not p.exists()


def test_atomic_write_keeps_the_old_file_when_the_writer_raises(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    for exc in (ValueError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(exc)):
            with _atomic.atomic_write(target) as f:
                f.write(b"half of the new")
                raise exc
        assert target.read_bytes() == b"old"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]


def test_atomic_write_from_threads_to_one_path(tmp_path):
    target = tmp_path / "shared.bin"
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def writer(i: int) -> None:
        start.wait()
        try:
            for j in range(25):
                with _atomic.atomic_write(target) as f:
                    f.write(bytes([i]) * 4096)
                data = target.read_bytes()
                assert len(data) == 4096 and len(set(data)) == 1  # always one writer's complete file
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared.bin"]


def test_atomic_write_from_processes_to_one_path(tmp_path):
    target = tmp_path / "shared.bin"
    code = (
        "import sys\nfrom minidl._atomic import atomic_write\n"
        "for j in range(30):\n"
        "    with atomic_write(sys.argv[1]) as f:\n"
        "        f.write(bytes([int(sys.argv[2])]) * 8192)\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(target), str(i)]) for i in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    data = target.read_bytes()
    assert len(data) == 8192 and len(set(data)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared.bin"]


def test_finished_file_gets_the_usual_mode(tmp_path):
    if os.name == "nt":
        pytest.skip("POSIX modes")
    target = tmp_path / "m.bin"
    with _atomic.atomic_write(target) as f:
        f.write(b"x")
    assert target.stat().st_mode & 0o777 == 0o666 & ~_atomic._UMASK


# get_file: its .part files ------------------------------------------------------------------------------------

BODY = b"payload " * 1000


def _fake_fetch(body: bytes, fail: BaseException | None = None):
    def fetch(url, out, hasher):
        out.write(body[: len(body) // 2])
        if fail is not None:
            raise fail
        out.write(body[len(body) // 2:])
        hasher.update(body)
    return fetch


def test_get_file_removes_stale_part_files_of_dead_downloads(tmp_path, monkeypatch):
    monkeypatch.setattr(_download, "_fetch_to", _fake_fetch(BODY))
    stale = _make(tmp_path / f".blob.bin.{_atomic._host()}-{_dead_pid()}.q1.part")
    path = get_file("blob.bin", "http://127.0.0.1:9/blob.bin", hashlib.sha256(BODY).hexdigest(), cache_dir=tmp_path)
    assert path.read_bytes() == BODY and not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob.bin"]


@pytest.mark.parametrize("fail, raises", [
    (OSError("connection reset"), DownloadError),
    (KeyboardInterrupt(), KeyboardInterrupt),
    (None, ChecksumError),  # the body arrives but its hash is wrong
])
def test_get_file_leaves_no_part_file_on_failure(tmp_path, monkeypatch, fail, raises):
    monkeypatch.setattr(_download, "_fetch_to", _fake_fetch(BODY, fail))
    expected = "0" * 64 if fail is None else hashlib.sha256(BODY).hexdigest()
    with pytest.raises(raises):
        get_file("blob.bin", ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"], expected, cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_get_file_from_threads_to_one_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(_download, "_fetch_to", _fake_fetch(BODY))
    digest = hashlib.sha256(BODY).hexdigest()
    results: list[object] = []
    start = threading.Barrier(6)

    def worker() -> None:
        start.wait()
        try:
            results.append(get_file("blob.bin", "http://127.0.0.1:9/blob.bin", digest, cache_dir=tmp_path))
        except BaseException as exc:  # noqa: BLE001
            results.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [tmp_path / "blob.bin"] * 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob.bin"]
