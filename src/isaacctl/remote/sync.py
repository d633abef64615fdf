"""Moving trees of files with rsync, here or over the system ssh with the pinned host key.

Why rsync and not SFTP: measured here, paramiko's SFTP moves 1 GiB in ~21 s where rsync over
OpenSSH takes ~6 s (Python-side packet handling is the bottleneck), and rsync's quick check
makes a second fetch of unchanged files nearly free."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from isaacctl.errors import IsaacctlError
from isaacctl.remote.base import Remote

# rsync --info=progress2:  "    123,456,789  45%   12.34MB/s    0:00:03 (xfr#3, to-chk=5/10)"
_PROGRESS = re.compile(r"^\s*([\d,]+)\s+(\d+)%")
_STATS = {
    "files_transferred": re.compile(r"Number of regular files transferred: ([\d,]+)"),
    "bytes_transferred": re.compile(r"Total transferred file size: ([\d,]+)"),
    "files_total": re.compile(r"Number of files: ([\d,]+)"),
}


@dataclass(frozen=True)
class SyncStats:
    files_transferred: int
    bytes_transferred: int
    files_total: int


def _rsync() -> str:
    found = shutil.which("rsync")
    if found is None:
        raise IsaacctlError(
            "rsync is needed on this machine to move files",
            hint="install it: apt-get install rsync (or brew install rsync)",
        )
    return found


def _run(argv: list[str], on_progress: Callable[[int, int], None] | None) -> SyncStats:
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        return _watch(process, on_progress)
    except BaseException:
        _stop(process)
        raise


def _stop(process: subprocess.Popen) -> None:
    """After Ctrl-C (which rsync saw too) or another error here: let rsync remove its temporary
    file before this process exits, so no half-written file is left behind."""
    for stop in (None, process.terminate, process.kill):
        if stop is not None:
            stop()
        try:
            process.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


def _watch(process: subprocess.Popen, on_progress: Callable[[int, int], None] | None) -> SyncStats:
    assert process.stdout is not None and process.stderr is not None
    output: list[str] = []
    pending = b""
    while True:
        chunk = process.stdout.read1(65536) if hasattr(process.stdout, "read1") else process.stdout.read(4096)
        if not chunk:
            break
        pending += chunk
        *pieces, pending = re.split(rb"[\r\n]", pending)
        for piece in pieces:
            text = piece.decode(errors="replace")
            output.append(text)
            match = _PROGRESS.match(text)
            if match and on_progress is not None:
                on_progress(int(match.group(1).replace(",", "")), int(match.group(2)))
    errors = process.stderr.read().decode(errors="replace")
    status = process.wait()
    if status != 0:
        hint = "install rsync on the workstation" if "command not found" in errors else None
        raise IsaacctlError(
            f"rsync failed (exit {status})", hint=hint, details="\n".join(errors.strip().splitlines()[-8:])
        )
    text = "\n".join(output)
    values = {
        key: int(m.group(1).replace(",", "")) if (m := pattern.search(text)) else 0 for key, pattern in _STATS.items()
    }
    return SyncStats(**values)


def _base_argv(remote: Remote) -> list[str]:
    # No --partial or --inplace: rsync writes each file under a temporary name and renames it
    # when complete, so an interrupted transfer never leaves a truncated file under its real
    # name (a checkpoint that later fails to load). --protect-args: remote paths travel in
    # rsync's protocol, not through the remote shell, which rsync before 3.2.4 (Ubuntu 22.04
    # has 3.2.3) would split at spaces.
    argv = [_rsync(), "--archive", "--protect-args", "--stats", "--info=progress2", "--no-inc-recursive"]
    shell = remote.rsync_shell()
    if shell:
        argv += ["--rsh", shell]
    return argv


def pull(
    remote: Remote,
    base: str,
    relative: Sequence[str],
    dest: Path,
    *,
    filters: Sequence[str] = (),
    on_progress: Callable[[int, int], None] | None = None,
) -> SyncStats:
    """Copy base/<each relative path> from the host to dest/<relative path>. Never deletes.
    Symbolic links are left out: one planted in a job's folder would otherwise come home
    pointing at this machine's files (~/.ssh/...), and be taken for a checkpoint."""
    dest.mkdir(parents=True, exist_ok=True)
    sources = [remote.rsync_location(f"{base.rstrip('/')}/./{item}") for item in relative]
    argv = [
        *_base_argv(remote),
        "--no-links",
        "--relative",
        *[f"--filter={rule}" for rule in filters],
        *sources,
        f"{dest}/",
    ]
    return _run(argv, on_progress)


def push(
    remote: Remote, local: Path, remote_folder: str, on_progress: Callable[[int, int], None] | None = None
) -> SyncStats:
    """Copy a local file or folder into a folder on the host."""
    argv = [*_base_argv(remote), str(local), remote.rsync_location(remote_folder.rstrip("/") + "/")]
    return _run(argv, on_progress)


def pull_path(
    remote: Remote, path: str, local_folder: Path, on_progress: Callable[[int, int], None] | None = None
) -> SyncStats:
    """Copy one file or folder from the host into a local folder; links that point out of it
    are left out (--safe-links), for the same reason as in pull."""
    argv = [*_base_argv(remote), "--safe-links", remote.rsync_location(path), f"{local_folder}/"]
    return _run(argv, on_progress)
