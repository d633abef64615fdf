"""Files the real libraries write, faked: checkpoints, params YAML, exported policies.

Checkpoints (.pt/.pth) are zip archives laid out like torch.save's format
(<stem>/data.pkl, <stem>/version, <stem>/data/0) whose data.pkl is a plain
pickled dict (iteration, reward, ...) and whose data/0 is deterministic
filler, so the file has about STANDIN_CHECKPOINT_BYTES bytes (default 4096).
They are NOT loadable policies. sb3 .zip files mimic stable-baselines3's
archive members. policy.onnx is a valid ONNX model (an Identity graph).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import re
import zipfile

from . import protobuf as pb

_DATE = (2024, 1, 1, 0, 0, 0)


def checkpoint_bytes() -> int:
    try:
        return max(0, int(os.environ.get("STANDIN_CHECKPOINT_BYTES", "4096")))
    except ValueError:
        return 4096


def _filler(seed: str, size: int) -> bytes:
    block = bytearray()
    digest = hashlib.sha256(seed.encode()).digest()
    while len(block) < min(size, 65536):
        digest = hashlib.sha256(digest).digest()
        block += digest
    block = bytes(block)
    if not block:
        return b""
    reps, rest = divmod(size, len(block))
    return block * reps + block[:rest]


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=_DATE)
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()


def _padded(make, seed: str) -> bytes:
    """make(filler) -> zip bytes; size the filler so the archive has the target size."""
    target = checkpoint_bytes()
    overhead = len(make(b""))
    return make(_filler(seed, max(0, target - overhead)))


def _atomic_write(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def write_torch_checkpoint(path: str, payload: dict) -> None:
    stem = re.sub(r"\.(pt|pth)$", "", os.path.basename(path)) or "archive"
    pkl = pickle.dumps({"isaacctl_standin": True, **payload}, protocol=2)

    def make(filler: bytes) -> bytes:
        return _zip(
            [
                (f"{stem}/data.pkl", pkl),
                (f"{stem}/byteorder", b"little"),
                (f"{stem}/data/0", filler),
                (f"{stem}/version", b"3\n"),
            ]
        )

    _atomic_write(path, _padded(make, f"{stem}:{sorted(payload.items())!r}"))


def write_sb3_zip(path: str, payload: dict) -> None:
    data = json.dumps({"isaacctl_standin": True, **payload}, indent=4, sort_keys=True).encode()

    def make(filler: bytes) -> bytes:
        return _zip(
            [
                ("data", data),
                ("pytorch_variables.pth", b""),
                ("policy.pth", filler),
                ("policy.optimizer.pth", b""),
                ("_stable_baselines3_version", b"2.6.0"),
                ("system_info.txt", b"- OS: isaacctl stand-in\n- Python: 3\n- PyTorch: none\n- GPU Enabled: False\n"),
            ]
        )

    _atomic_write(path, _padded(make, f"{os.path.basename(path)}:{sorted(payload.items())!r}"))


def write_torchscript_policy(path: str, obs_dim: int, act_dim: int) -> None:
    payload = {"format": "torchscript placeholder", "obs_dim": obs_dim, "act_dim": act_dim}
    pkl = pickle.dumps(payload, protocol=2)
    _atomic_write(
        path,
        _zip(
            [
                ("policy/data.pkl", pkl),
                ("policy/code/__torch__/policy.py", b"# isaacctl stand-in: not a real TorchScript module\n"),
                ("policy/version", b"3\n"),
            ]
        ),
    )


def _value_info(name: str, dims: list) -> bytes:
    shape = b"".join(pb.f_message(1, pb.f_bytes(2, d) if isinstance(d, str) else pb.f_varint(1, d)) for d in dims)
    tensor_type = pb.f_varint(1, 1) + pb.f_message(2, shape)  # elem_type FLOAT
    return pb.f_bytes(1, name) + pb.f_message(2, pb.f_message(1, tensor_type))


def onnx_identity_model(dim: int) -> bytes:
    node = pb.f_bytes(1, "obs") + pb.f_bytes(2, "actions") + pb.f_bytes(3, "policy") + pb.f_bytes(4, "Identity")
    graph = (
        pb.f_message(1, node)
        + pb.f_bytes(2, "main_graph")
        + pb.f_message(11, _value_info("obs", ["batch", dim]))
        + pb.f_message(12, _value_info("actions", ["batch", dim]))
    )
    return (
        pb.f_varint(1, 8)  # ir_version
        + pb.f_bytes(2, "isaacctl-standin")  # producer_name
        + pb.f_bytes(3, "0")  # producer_version
        + pb.f_message(7, graph)
        + pb.f_message(8, pb.f_bytes(1, "") + pb.f_varint(2, 17))
    )  # opset 17


def write_onnx_policy(path: str, dim: int) -> None:
    _atomic_write(path, onnx_identity_model(dim))


# ---- YAML (the subset params/*.yaml need) ---------------------------------
_PLAIN = re.compile(r"^[A-Za-z_./][A-Za-z0-9_./:-]*$")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "~", ""}


def _scalar(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if not isinstance(value, float) or value == value else ".nan"
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED:
        return text
    return json.dumps(text)


def to_yaml(data, indent: int = 0) -> str:
    pad = "  " * indent
    lines = []
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, dict) and value:
                lines.append(f"{pad}{key}:")
                lines.append(to_yaml(value, indent + 1))
            elif isinstance(value, (list, tuple)) and value:
                lines.append(f"{pad}{key}:")
                lines.extend(f"{pad}- {_scalar(item)}" for item in value)
            elif isinstance(value, dict):
                lines.append(f"{pad}{key}: {{}}")
            elif isinstance(value, (list, tuple)):
                lines.append(f"{pad}{key}: []")
            else:
                lines.append(f"{pad}{key}: {_scalar(value)}")
    return "\n".join(line for line in lines if line)


def write_yaml(path: str, data: dict) -> None:
    _atomic_write(path, (to_yaml(data) + "\n").encode())
