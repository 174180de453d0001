"""TensorBoard event files written (and read back) by hand: TFRecord framing and the few protobuf
messages a scalar or histogram summary needs. No TensorFlow or protobuf package is involved.

A file is a sequence of records, each::

    uint64 length (little endian) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)

with CRC-32C (Castagnoli) masked as ``((crc >> 15) | (crc << 17)) + 0xa282ead8`` (mod 2^32). Each ``data``
is a serialised ``tensorflow.Event``; the first carries ``file_version = "brain.Event:2"``. The messages
(field number, wire type) written here:

- ``Event``: wall_time (1, double), step (2, varint), file_version (3, bytes), summary (5, message).
- ``Summary``: value (1, message, repeated).
- ``Summary.Value``: tag (1, bytes), simple_value (2, float32), histo (5, message).
- ``HistogramProto``: min (1), max (2), num (3), sum (4), sum_squares (5) as doubles, bucket_limit (6) and
  bucket (7) as packed doubles.

:func:`read_events` parses such a file back, checking both CRCs of every record.
"""
from __future__ import annotations

import os
import socket
import struct
import time
from typing import Any, BinaryIO, Iterator

import numpy as np

__all__ = ["crc32c", "masked_crc32c", "EventFileWriter", "read_events", "encode_event", "decode_event"]


def _make_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1  # the reversed Castagnoli polynomial
        table.append(c)
    return table


_TABLE = _make_table()


def crc32c(data: bytes) -> int:
    """CRC-32C of ``data`` (``crc32c(b'123456789') == 0xE3069283``)."""
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC of ``data``."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


# ---------------------------------------------------------------------------------------------------- protobuf
def _varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64  # int64 two's complement, 10 bytes
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint((field << 3) | wire)


def _bytes_field(field: int, payload: bytes) -> bytes:
    return _key(field, 2) + _varint(len(payload)) + payload


def _histogram(values: np.ndarray, bins: int = 30) -> bytes:
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        lo = hi = 0.0
        counts, limits = np.zeros(1), np.array([0.0])
    else:
        lo, hi = float(v.min()), float(v.max())
        if lo == hi:
            counts, limits = np.array([float(v.size)]), np.array([hi])
        else:
            counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
            counts, limits = counts.astype(np.float64), edges[1:]
    msg = b"".join(_key(f, 1) + struct.pack("<d", x) for f, x in
                   ((1, lo), (2, hi), (3, float(v.size)), (4, float(v.sum())), (5, float(np.dot(v, v)))))
    msg += _bytes_field(6, struct.pack(f"<{len(limits)}d", *limits))
    msg += _bytes_field(7, struct.pack(f"<{len(counts)}d", *counts))
    return msg


def encode_event(wall_time: float, step: int = 0, file_version: str | None = None,
                 scalars: dict[str, float] | None = None, histograms: dict[str, np.ndarray] | None = None) -> bytes:
    """A serialised ``Event`` with a Summary of ``scalars`` (tag -> value) and ``histograms`` (tag -> array)."""
    out = _key(1, 1) + struct.pack("<d", float(wall_time)) + _key(2, 0) + _varint(int(step))
    if file_version is not None:
        out += _bytes_field(3, file_version.encode())
    values = b""
    for tag, value in (scalars or {}).items():
        values += _bytes_field(1, _bytes_field(1, tag.encode()) + _key(2, 5) + struct.pack("<f", float(value)))
    for tag, arr in (histograms or {}).items():
        values += _bytes_field(1, _bytes_field(1, tag.encode()) + _bytes_field(5, _histogram(arr)))
    if values:
        out += _bytes_field(5, values)
    return out


def _fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field, wire type, value) of each field of a message; raises ValueError when it is malformed."""
    i, n = 0, len(buf)

    def varint() -> int:
        nonlocal i
        shift = result = 0
        while True:
            if i >= n or shift > 63:
                raise ValueError("truncated or overlong varint")
            b = buf[i]
            i += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return result

    while i < n:
        key = varint()
        field, wire = key >> 3, key & 7
        if wire == 0:
            yield field, wire, varint()
        elif wire == 1:
            if i + 8 > n:
                raise ValueError("truncated fixed64")
            yield field, wire, buf[i:i + 8]
            i += 8
        elif wire == 2:
            size = varint()
            if i + size > n:
                raise ValueError("truncated length-delimited field")
            yield field, wire, buf[i:i + size]
            i += size
        elif wire == 5:
            if i + 4 > n:
                raise ValueError("truncated fixed32")
            yield field, wire, buf[i:i + 4]
            i += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _decode_histogram(buf: bytes) -> dict[str, Any]:
    h: dict[str, Any] = {"bucket_limit": [], "bucket": []}
    names = {1: "min", 2: "max", 3: "num", 4: "sum", 5: "sum_squares"}
    for field, wire, value in _fields(buf):
        if field in names and wire == 1:
            h[names[field]] = struct.unpack("<d", value)[0]
        elif field in (6, 7) and wire == 2:
            h["bucket_limit" if field == 6 else "bucket"].extend(struct.unpack(f"<{len(value) // 8}d", value))
    return h


def decode_event(data: bytes) -> dict[str, Any]:
    """An ``Event``'s fields: wall_time, step, file_version (when set) and summary (a list of
    ``{'tag', 'simple_value'}`` or ``{'tag', 'histo'}`` dicts)."""
    event: dict[str, Any] = {"step": 0, "summary": []}
    for field, wire, value in _fields(data):
        if field == 1 and wire == 1:
            event["wall_time"] = struct.unpack("<d", value)[0]
        elif field == 2 and wire == 0:
            event["step"] = value - (1 << 64) if value >= 1 << 63 else value
        elif field == 3 and wire == 2:
            event["file_version"] = value.decode()
        elif field == 5 and wire == 2:
            for f, w, v in _fields(value):
                if f != 1 or w != 2:
                    continue
                entry: dict[str, Any] = {}
                for vf, vw, vv in _fields(v):
                    if vf == 1 and vw == 2:
                        entry["tag"] = vv.decode()
                    elif vf == 2 and vw == 5:
                        entry["simple_value"] = struct.unpack("<f", vv)[0]
                    elif vf == 5 and vw == 2:
                        entry["histo"] = _decode_histogram(vv)
                event["summary"].append(entry)
    return event


def read_events(path: Any) -> list[dict[str, Any]]:
    """Every event of a TensorBoard event file, in order.

    Raises:
        ValueError: for a truncated record or a CRC mismatch (naming the record's offset).
    """
    with open(path, "rb") as f:
        raw = f.read()
    events, i = [], 0
    while i < len(raw):
        if i + 12 > len(raw):
            raise ValueError(f"{path}: truncated record header at byte {i}")
        header = raw[i:i + 8]
        (length,) = struct.unpack("<Q", header)
        (crc,) = struct.unpack("<I", raw[i + 8:i + 12])
        if crc != masked_crc32c(header):
            raise ValueError(f"{path}: length CRC mismatch at byte {i}")
        start, end = i + 12, i + 12 + length
        if end + 4 > len(raw):
            raise ValueError(f"{path}: truncated record at byte {i}")
        data = raw[start:end]
        (crc,) = struct.unpack("<I", raw[end:end + 4])
        if crc != masked_crc32c(data):
            raise ValueError(f"{path}: data CRC mismatch at byte {i}")
        events.append(decode_event(data))
        i = end + 4
    return events


# ---------------------------------------------------------------------------------------------------- writer
class EventFileWriter:
    """Appends events to a new ``events.out.tfevents.<time>.<host>.<pid>.<n>.v2`` file in ``log_dir``."""

    _count = 0

    def __init__(self, log_dir: str) -> None:
        os.makedirs(log_dir, exist_ok=True)
        EventFileWriter._count += 1
        name = (f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}."
                f"{EventFileWriter._count}.v2")
        self.path = os.path.join(log_dir, name)
        self._file: BinaryIO | None = open(self.path, "wb")
        self._write(encode_event(time.time(), 0, file_version="brain.Event:2"))
        self.flush()

    def _write(self, data: bytes) -> None:
        if self._file is None:
            raise ValueError(f"EventFileWriter: {self.path} is closed")
        header = struct.pack("<Q", len(data))
        self._file.write(header + struct.pack("<I", masked_crc32c(header)) + data
                         + struct.pack("<I", masked_crc32c(data)))

    def add(self, step: int, scalars: dict[str, float] | None = None,
            histograms: dict[str, np.ndarray] | None = None) -> None:
        """Writes one event holding ``scalars`` and ``histograms`` at ``step``."""
        self._write(encode_event(time.time(), step, scalars=scalars, histograms=histograms))

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
