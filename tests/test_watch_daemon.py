"""`isaacctl watch --daemon` and `--stop`: the background controller of managed jobs. There is
no systemd user session in the tests, so the daemon is the detached process: it must recover
a preempted job by itself, hold the one-controller lock meanwhile, and `--stop` must end it
and everything it started, leaving its pid file behind neither.

How a preemption is simulated: tests/harness/managed_boot.py."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from harness.managed_boot import (
    SAVE,
    job_of,
    slow_image_fixture,  # noqa: F401
    stop_preempt,
    train,
    until_saved_on_host,
    workstation_fixture,  # noqa: F401
)

pytestmark = pytest.mark.docker


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def in_session(sid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[3]) == sid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def test_watch_daemon_recovers_a_preempted_job_and_stop_leaves_no_process(workstation, cli):
    aws, record = workstation
    job_id = train(cli, "--managed")
    until_saved_on_host(record["host_root"], job_id, SAVE)
    stop_preempt(aws, record, job_of(cli, job_id))  # the instance stays stopped: only a controller helps

    started = cli("watch", "--daemon", "--interval", "1", "--sync-interval", "1")
    assert started.returncode == 0, started.stderr
    said = started.stdout + started.stderr
    assert "in the background as pid" in said, said  # the detached process, not a systemd unit
    folder = cli.state_dir / ".watch"
    deadline = time.monotonic() + 30
    while not (folder / "watch.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    pid = int((folder / "watch.pid").read_text())
    assert alive(pid) and os.getsid(pid) == pid != os.getsid(0)  # a session of its own

    # it holds the lock: a second controller for the same state folder is refused
    second = cli("watch", "--once")
    assert second.returncode == 2 and f"(pid {pid})" in second.stderr, second.stderr

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        job = job_of(cli, job_id)
        if job["restarts"] == 1 and job["managed"]["state"] == "running" and job["status"] == "running":
            break
        assert alive(pid), (folder / "watch.log").read_text()
        time.sleep(1)
    else:
        raise AssertionError(f"the daemon did not recover {job_id}: {job_of(cli, job_id)}")
    attempt = job["attempts"][0]
    assert attempt["action"] == "start" and attempt["result"] == "ok"
    assert "runs again" in (folder / "watch.log").read_text()

    stopped = cli("watch", "--stop")
    assert stopped.returncode == 0 and f"stopped the background watch (pid {pid})" in stopped.stdout + stopped.stderr
    assert not alive(pid) and in_session(pid) == []
    assert not (folder / "watch.pid").exists()  # it let go of its lock and pid file as it ended
    again = cli("watch", "--stop")
    assert again.returncode == 0 and "no background watch runs" in again.stdout + again.stderr
    once = cli("watch", "--once")  # the lock is free again
    assert once.returncode == 0, once.stderr
    cancelled = cli("cancel", job_id, "--grace", "0")
    assert cancelled.returncode == 0, cancelled.stderr
