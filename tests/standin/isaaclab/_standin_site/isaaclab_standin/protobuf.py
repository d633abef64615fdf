"""A few protobuf wire-format encoders (enough for tf.Event and ONNX)."""

from __future__ import annotations

import struct


def varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64  # int64 negatives are 10-byte varints
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def key(field: int, wire_type: int) -> bytes:
    return varint((field << 3) | wire_type)


def f_varint(field: int, value: int) -> bytes:
    return key(field, 0) + varint(int(value))


def f_double(field: int, value: float) -> bytes:
    return key(field, 1) + struct.pack("<d", value)


def f_float(field: int, value: float) -> bytes:
    return key(field, 5) + struct.pack("<f", value)


def f_bytes(field: int, value: bytes | str) -> bytes:
    if isinstance(value, str):
        value = value.encode("utf-8")
    return key(field, 2) + varint(len(value)) + value


f_message = f_bytes
