"""TensorBoard event files written by hand: TFRecord framing + tf.Event protobuf.

Record framing (TFRecord):
    uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)
Event:   wall_time=1 (double), step=2 (int64), file_version=3 (string), summary=5
Summary: value=1 (repeated Value)
Value:   tag=1 (string), simple_value=2 (float)
"""

from __future__ import annotations

import os
import socket
import struct
import time

from . import protobuf as pb


def _make_table() -> list[int]:
    poly = 0x82F63B78  # Castagnoli, reflected
    table = []
    for n in range(256):
        crc = n
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _make_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord(data: bytes) -> bytes:
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", masked_crc32c(header)) + data + struct.pack("<I", masked_crc32c(data))


def encode_event(
    wall_time: float, step: int = 0, *, file_version: str | None = None, scalars: dict[str, float] | None = None
) -> bytes:
    msg = pb.f_double(1, wall_time)
    if step:
        msg += pb.f_varint(2, step)
    if file_version is not None:
        msg += pb.f_bytes(3, file_version)
    if scalars:
        summary = b"".join(
            pb.f_message(1, pb.f_bytes(1, tag) + pb.f_float(2, float(value))) for tag, value in scalars.items()
        )
        msg += pb.f_message(5, summary)
    return msg


def event_file_name(now: float | None = None) -> str:
    """Name like torch's SummaryWriter: events.out.tfevents.<time>.<host>.<pid>.0"""
    now = time.time() if now is None else now
    return f"events.out.tfevents.{int(now)}.{socket.gethostname()}.{os.getpid()}.0"


class EventWriter:
    """Appends scalar events to one event file, flushing after each write."""

    def __init__(self, log_dir: str):
        os.makedirs(log_dir, exist_ok=True)
        self.path = os.path.join(log_dir, event_file_name())
        self._fh = open(self.path, "ab")
        self._write(encode_event(time.time(), file_version="brain.Event:2"))

    def _write(self, data: bytes) -> None:
        self._fh.write(tfrecord(data))

    def add_scalars(self, step: int, scalars: dict[str, float], wall_time: float | None = None) -> None:
        wall_time = time.time() if wall_time is None else wall_time
        # One event per value, as torch's SummaryWriter.add_scalar does.
        for tag, value in scalars.items():
            self._write(encode_event(wall_time, step, scalars={tag: value}))
        self._fh.flush()

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.flush()
            self._fh.close()


def read_records(path: str):
    """Yield the data of each record, checking both CRCs (used by tests)."""
    with open(path, "rb") as fh:
        while True:
            header = fh.read(8)
            if not header:
                return
            (length,) = struct.unpack("<Q", header)
            (hcrc,) = struct.unpack("<I", fh.read(4))
            if hcrc != masked_crc32c(header):
                raise ValueError("bad length crc")
            data = fh.read(length)
            (dcrc,) = struct.unpack("<I", fh.read(4))
            if dcrc != masked_crc32c(data):
                raise ValueError("bad data crc")
            yield data
