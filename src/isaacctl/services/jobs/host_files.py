"""Looking at a job's files on the host without copying them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from isaacctl.errors import RemoteError
from isaacctl.remote import Remote


@dataclass(frozen=True)
class HostFile:
    path: str  # relative to the folder listed
    size: int
    mtime: float


def list_files(remote: Remote, folder: str) -> list[HostFile]:
    """Every file under a folder on the host (GNU find, one round trip); [] when it is missing."""
    result = remote.run(["find", folder, "-type", "f", "-printf", r"%P\t%s\t%T@\n"])
    if not result.ok:
        if "No such file" in result.stderr:
            return []
        raise RemoteError(f"cannot list {folder} on {remote.description}: {result.tail(3)}")
    files = []
    for line in result.stdout.splitlines():
        path, size, mtime = line.rsplit("\t", 2)
        files.append(HostFile(path, int(size), float(mtime)))
    return files


def summarize_jobs(remote: Remote, jobs_dir: str, job_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Last step, mean reward and episode length of each job, read on the host from its
    TensorBoard files (isaacctl/tfevents.py runs there with python3, stdlib only)."""
    if not job_ids:
        return {}
    from importlib.resources import files

    source = (files("isaacctl") / "tfevents.py").read_text()
    result = remote.run(["python3", "-c", source, "summary", jobs_dir, *job_ids], timeout=120)
    summaries = {}
    for line in result.stdout.splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        summaries[entry.pop("job")] = entry
    return summaries
