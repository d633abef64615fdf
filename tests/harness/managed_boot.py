"""What tests/test_managed_boot.py and tests/test_watch_daemon.py share: an AWS (moto)
workstation whose instance is the loopback sshd (sharing this machine's Docker), a managed run
on the slow stand-in, a stop-style preemption, and the host's boot hook run as boot runs it.

A stop-style preemption here: the instance is stopped in moto, then the job's container is
killed (`docker kill`: what a machine going down does to it), the disk (the job folders) stays.
"Boot" is the instance started again in moto, as the cloud or the user would, and the command
the installed systemd unit's ExecStart names, run on the host as the unit's user."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from harness.cli import Cli

# the spot tests' workstation, constants and helpers (re-exported for the boot-hook tests)
from harness.managed import (  # noqa: F401
    NAME,
    SAVE,
    TOTAL,
    check_every_iteration_once,
    iterations,
    job_of,
    outputs_of,
    slow_image_fixture,
    status,
    train,
    watch_once,
    workstation_fixture,
)


def running_jobs(deployment_id: str) -> list[str]:
    """The names of the deployment's job containers that run now."""
    found = subprocess.run(
        [
            "docker",
            "ps",
            "--filter",
            f"label=isaacctl.deployment-id={deployment_id}",
            "--filter",
            "label=isaacctl.job",
            "--format",
            "{{.Names}}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted(found.stdout.split())


def until_saved_on_host(host_root: str, run: str, at_least: int, timeout: float = 120) -> None:
    """A checkpoint of at least that iteration is on the host's disk."""
    deadline = time.monotonic() + timeout
    logs = Path(host_root) / "jobs" / run / "logs"
    while time.monotonic() < deadline:
        if [p for p in logs.rglob("model_*.pt") if int(p.stem.split("_")[1]) >= at_least]:
            return
        time.sleep(0.2)
    raise AssertionError(f"no checkpoint >= {at_least} in {logs}")


def stop_preempt(aws, record: dict, job: dict) -> None:
    """The cloud stops the instance; the machine going down kills the job's container."""
    aws.client().stop_instances(InstanceIds=[record["nodes"][0]["instance_id"]])
    subprocess.run(["docker", "kill", job["container"]], capture_output=True)


def start_instance(aws, record: dict) -> None:
    """The instance comes back with its disk, started by the cloud or the user, not isaacctl."""
    aws.client().start_instances(InstanceIds=[record["nodes"][0]["instance_id"]])


def boot_command(record: dict) -> str:
    """The ExecStart of the unit the bootstrap step installed."""
    # named by the deployment's id: the sshd's home (the host folder) outlives one test
    text = (Path(record["host_root"]) / "managed" / f"isaacctl-managed-boot-{record['id']}.service").read_text()
    assert "WantedBy=multi-user.target" in text
    return next(line.split("=", 1)[1] for line in text.splitlines() if line.startswith("ExecStart="))


def boot_hook(sshd, record: dict) -> subprocess.Popen:
    """The hook as boot runs it: its ExecStart on the host, as the unit's user (over ssh)."""
    return subprocess.Popen(
        [*sshd.ssh_command(), boot_command(record)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def run_boot_hook(sshd, record: dict) -> str:
    hook = boot_hook(sshd, record)
    out, err = hook.communicate(timeout=300)
    assert hook.returncode == 0, err
    return out


def until_finished(cli: Cli, job_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        watch_once(cli)
        job = job_of(cli, job_id)
        if job["managed"]["state"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(1)
    raise AssertionError(f"{job_id} did not finish: {job_of(cli, job_id)}")
