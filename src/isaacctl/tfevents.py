"""Reads scalars from TensorBoard event files, with the standard library only.

Why not the `tensorboard` package: it pulls in grpcio, numpy and protobuf (tens of MB and
~1 s of imports) to read a format that is a few lines of framing: TFRecord (length, masked
CRC, data, masked CRC) around `Event` protobuf messages. This file also runs ON the workstation
(sent as `python3 -c`, stdlib only) to summarise running jobs without copying their logs, so
it must not import anything from isaacctl. Checked against the real reader in the tests.

    python3 tfevents.py summary JOBS_DIR JOB_ID...   -> one JSON line per job
"""

from __future__ import annotations

import json
import os
import struct
import sys
from typing import Iterator

# The tag that carries the mean episode reward, per library (and the stdout-free ones need it).
REWARD_TAGS = ("Train/mean_reward", "Reward / Total reward (mean)", "rewards/iter", "rollout/ep_rew_mean")
LENGTH_TAGS = (
    "Train/mean_episode_length",
    "Episode / Total timesteps (mean)",
    "episode_lengths/iter",
    "rollout/ep_len_mean",
)


def _varint(data, pos):
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data):
    """(field number, wire type, value) of one protobuf message; value is int or bytes."""
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(data, pos)
            value, pos = data[pos : pos + size], pos + size
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            return  # groups are not used by TensorBoard
        yield number, wire, value


def _tensor_value(data):
    """A scalar from a TensorProto (newer writers store scalars as tensors)."""
    dtype = None
    for number, wire, value in _fields(data):
        if number == 1:
            dtype = value
        elif number == 4 and value:  # tensor_content
            if dtype == 2 and len(value) >= 8:
                return struct.unpack("<d", value[:8])[0]
            if len(value) >= 4:
                return struct.unpack("<f", value[:4])[0]
        elif number == 5:  # float_val
            return struct.unpack("<f", value[:4])[0] if wire == 2 else struct.unpack("<f", value)[0]
        elif number == 6:  # double_val
            return struct.unpack("<d", value[:8])[0]
    return None


def _summary_values(data):
    for number, _, value in _fields(data):
        if number != 1:
            continue
        tag, scalar = None, None
        for inner, wire, item in _fields(value):
            if inner == 1:
                tag = item.decode("utf-8", "replace")
            elif inner == 2 and wire == 5:
                scalar = struct.unpack("<f", item)[0]
            elif inner == 8 and wire == 2:
                scalar = _tensor_value(item)
        if tag is not None and scalar is not None:
            yield tag, scalar


def records(path):
    """The raw records of one event file; a record torn by a writer still writing ends it."""
    with open(path, "rb") as handle:
        while True:
            header = handle.read(12)
            if len(header) < 12:
                return
            (length,) = struct.unpack("<Q", header[:8])
            data = handle.read(length)
            if len(data) < length or len(handle.read(4)) < 4:
                return
            yield data


def scalars(path: str) -> Iterator[tuple[str, int, float, float]]:
    """(tag, step, wall_time, value) for every scalar in one event file."""
    for data in records(path):
        wall_time, step, summary = 0.0, 0, None
        for number, _, value in _fields(data):
            if number == 1:
                wall_time = struct.unpack("<d", value)[0]
            elif number == 2:
                step = value
            elif number == 5:
                summary = value
        if summary is not None:
            for tag, value in _summary_values(summary):
                yield tag, step, wall_time, value


def event_files(folder: str) -> Iterator[str]:
    for root, _, names in os.walk(folder):
        for name in sorted(names):
            if name.startswith("events.out.tfevents."):
                yield os.path.join(root, name)


def summary(folder):
    """The last step, reward and episode length found under a job's logs folder."""
    last = {"last_step": None, "mean_reward": None, "episode_length": None}
    for path in event_files(folder):
        for tag, step, _, value in scalars(path):
            if tag in REWARD_TAGS and (last["last_step"] is None or step >= last["last_step"]):
                last["last_step"], last["mean_reward"] = step, value
            elif tag in LENGTH_TAGS:
                last["episode_length"] = value
    return last


def main(argv):
    if len(argv) < 2 or argv[0] != "summary":
        print(__doc__, file=sys.stderr)
        return 2
    jobs_dir = argv[1]
    for job_id in argv[2:]:
        print(json.dumps({"job": job_id, **summary(os.path.join(jobs_dir, job_id, "logs"))}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
