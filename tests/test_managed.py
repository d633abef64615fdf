"""Managed training on spot (issue 15): preemptions injected on moto while a long stand-in run
goes on; the run resumes from its last checkpoint on the same or a new instance, every
iteration is in the final run once (repeats only within one save interval), and nothing tagged
leaks when a redeploy replaces the instance.

How a preemption is simulated: see tests/harness/managed.py. The test stops or terminates the
instance in moto first, then kills the job's container, and for a terminated instance deletes the
job's folders on the host (the disk is gone). tests/test_managed_clouds.py does the same on the
GCP, Azure and Alibaba fakes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from harness.managed import (
    NAME,
    SAVE,
    TOTAL,
    check_every_iteration_once,
    home_checkpoints,
    iterations,
    job_of,
    outputs_of,
    slow_image_fixture,  # noqa: F401 - the fixtures this module's tests use
    start_managed,
    status,
    take_machine,
    until_finished,
    until_synced,
    watch_once,
    workstation_fixture,  # noqa: F401
)

pytestmark = pytest.mark.docker


def preempt(aws, record, job, how):
    """What the cloud does to the machine (see tests/harness/managed.py)."""
    ec2 = aws.client()
    instance = record["nodes"][0]["instance_id"]
    if how == "stop":
        ec2.stop_instances(InstanceIds=[instance])
    else:
        ec2.terminate_instances(InstanceIds=[instance])
    take_machine(job, record["host_root"], disk_gone=how == "terminate")


def test_a_stopped_spot_instance_is_started_again_and_the_run_resumes_on_its_disk(workstation, cli):
    aws, record = workstation
    job_id = start_managed(cli)
    until_synced(cli, job_id, 2 * SAVE)
    job = job_of(cli, job_id)
    preempt(aws, record, job, "stop")

    finished = until_finished(cli, job_id)
    assert finished["status"] == "succeeded" and finished["managed"]["state"] == "succeeded"
    assert finished["restarts"] == 1
    attempt = finished["attempts"][0]
    assert attempt["action"] == "start" and attempt["result"] == "ok"
    assert attempt["from_iteration"] >= 2 * SAVE and attempt["checkpoint"].endswith(
        f"model_{attempt['from_iteration']}.pt"
    )
    assert record["nodes"][0]["instance_id"] in finished["runs_on"]  # the same instance
    assert finished["lost_seconds"] > 0
    host = status(cli)
    seen = iterations(outputs_of(host["host_root"], finished))
    check_every_iteration_once(seen, [attempt["from_iteration"]])
    assert TOTAL - 1 in home_checkpoints(cli, job_id)  # the last checkpoint came home too


def test_a_terminated_instance_is_replaced_elsewhere_from_the_checkpoint_synced_home(workstation, cli):
    aws, record = workstation
    old = record["nodes"][0]["instance_id"]
    job_id = start_managed(cli)
    until_synced(cli, job_id, 2 * SAVE)
    job = job_of(cli, job_id)
    preempt(aws, record, job, "terminate")
    newest = max(home_checkpoints(cli, job_id))
    # preempted during a checkpoint upload: rsync's temporary file of a newer one is all that came
    # home of it; it must not be taken for a checkpoint
    torn = next((cli.state_dir / NAME / "artifacts" / job_id / "logs").rglob(f"model_{newest}.pt")).parent
    (torn / f".model_{newest + SAVE}.pt.Ab12Cd").write_bytes(b"PK\x03\x04 torn")

    finished = until_finished(cli, job_id)
    assert finished["status"] == "succeeded", finished
    attempt = finished["attempts"][0]
    assert attempt["action"] == "redeploy" and attempt["from_iteration"] == newest
    now = status(cli)
    new = now["nodes"][0]["instance_id"]
    assert new != old and new in finished["runs_on"]
    assert now["zone"] != record["zone"]  # the next zone first
    # nothing of the old instance is left, and one of each kind is there now
    assert sorted(kind for kind, _ in aws.tagged(NAME)) == ["instance", "key-pair", "security-group", "volume"]
    assert old not in [rid for _, rid in aws.tagged(NAME)]
    seen = iterations(outputs_of(now["host_root"], finished))
    # the first run's output went with its disk: what is left starts at the checkpoint
    assert min(seen) == newest and set(seen) == set(range(newest, TOTAL))

    destroyed = cli("destroy", NAME, "--yes", timeout=600)
    assert destroyed.returncode == 0, destroyed.stderr
    assert aws.tagged(NAME) == []


def test_the_controller_killed_mid_recovery_carries_on_when_started_again(workstation, cli):
    aws, record = workstation
    job_id = start_managed(cli)
    until_synced(cli, job_id, SAVE)
    preempt(aws, record, job_of(cli, job_id), "terminate")
    events = cli.state_dir / NAME / "events.jsonl"
    before = len(events.read_text().splitlines())
    controller = subprocess.Popen(
        [sys.executable, "-m", "isaacctl", "watch", "--interval", "1"],
        env=cli.full_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            new = [json.loads(line) for line in events.read_text().splitlines()[before:] if line.strip()]
            if any(e.get("event") == "resource.created" and e.get("kind") == "instance" for e in new):
                break
            assert controller.poll() is None
            time.sleep(0.05)
        os.kill(controller.pid, signal.SIGKILL)  # the new instance exists, nothing runs on it yet
        controller.wait(10)
    finally:
        if controller.poll() is None:
            controller.kill()
            controller.wait(10)
    assert job_of(cli, job_id)["managed"]["state"] == "recovering"

    finished = until_finished(cli, job_id)
    assert finished["status"] == "succeeded" and finished["restarts"] == 1
    assert len(finished["attempts"]) == 1 and finished["attempts"][0]["result"] == "ok"
    assert sorted(kind for kind, _ in aws.tagged(NAME)) == ["instance", "key-pair", "security-group", "volume"]
    seen = iterations(outputs_of(status(cli)["host_root"], finished))
    assert set(seen) == set(range(finished["attempts"][0]["from_iteration"], TOTAL))


def test_preempted_again_during_the_bootstrap_of_its_replacement(workstation, cli):
    aws, record = workstation
    job_id = start_managed(cli)
    until_synced(cli, job_id, SAVE)
    preempt(aws, record, job_of(cli, job_id), "terminate")
    events = cli.state_dir / NAME / "events.jsonl"
    before = len(events.read_text().splitlines())
    controller = subprocess.Popen(
        [sys.executable, "-m", "isaacctl", "watch", "--once"],
        env=cli.full_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            new = [json.loads(line) for line in events.read_text().splitlines()[before:] if line.strip()]
            if any(e.get("event") == "bootstrap.start" for e in new):
                break
            time.sleep(0.02)
        # The controller is frozen while the cloud takes the replacement back, so the stop
        # lands inside its bootstrap and not, on a fast machine, after the job started.
        os.killpg(controller.pid, signal.SIGSTOP)
        try:
            replacement = status(cli)["nodes"][0]["instance_id"]
            assert replacement != record["nodes"][0]["instance_id"]
            aws.client().stop_instances(InstanceIds=[replacement])
        finally:
            os.killpg(controller.pid, signal.SIGCONT)
        controller.wait(600)
    finally:
        if controller.poll() is None:
            controller.kill()
            controller.wait(10)
        controller.stderr.close()
    running = subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label=isaacctl.deployment-id={record['id']}"],
        capture_output=True,
        text=True,
    )
    assert running.returncode == 0 and not running.stdout.strip()  # no run started on a machine being taken back
    failed = [json.loads(line) for line in events.read_text().splitlines()[before:] if line.strip()]
    assert any(e.get("event") == "managed.attempt-failed" and "preempted again" in e.get("reason", "") for e in failed)

    finished = until_finished(cli, job_id)
    assert finished["status"] == "succeeded" and finished["restarts"] == 1
    assert len(finished["attempts"]) == 1 and finished["attempts"][0]["result"] == "ok"
    assert sorted(kind for kind, _ in aws.tagged(NAME)) == ["instance", "key-pair", "security-group", "volume"]


def test_cancel_stops_recovery_and_destroy_asks_for_yes_while_a_managed_job_runs(workstation, cli):
    aws, record = workstation
    job_id = start_managed(cli)
    refused = cli("destroy", NAME)
    assert refused.returncode == 2 and refused.stderr.count("error:") == 1 and "--yes" in refused.stderr
    assert job_id in refused.stderr
    preempt(aws, record, job_of(cli, job_id), "stop")
    cancelled = cli("cancel", job_id, "--grace", "0", "--json")
    assert cancelled.returncode == 0, cancelled.stderr
    job = job_of(cli, job_id)
    assert job["status"] == "cancelled" and job["managed"]["state"] == "cancelled"
    watch_once(cli)  # recovery leaves it alone: the instance stays stopped
    state = aws.client().describe_instances(InstanceIds=[record["nodes"][0]["instance_id"]])
    assert state["Reservations"][0]["Instances"][0]["State"]["Name"] == "stopped"


@pytest.mark.parametrize(
    "args, flag",
    [
        (["--max-restarts", "-1"], "--max-restarts"),
        (["--max-restarts", "101"], "--max-restarts"),
        (["--checkpoint-bucket", "ftp://x"], "--checkpoint-bucket"),
        (["--checkpoint-bucket", "s3://bucket/runs"], "--checkpoint-bucket"),
        (["--resume", "train-x"], "--resume"),
        (["--rl-library", "skrl"], "--managed"),
        (["--no-max"], "--max-iterations"),
        (["--nodes", "2"], "--nodes"),
    ],
)
def test_bad_managed_flags_exit_2_naming_the_flag(cli, sshd, standin_image_local, args, flag):
    sshd.write_ssh_config(cli.ssh_config, ["gpu-box"])
    made = cli.deploy_ssh(NAME, "gpu-box", sshd.home / "isaacctl", "--image", standin_image_local, timeout=600)
    assert made.returncode == 0, made.stderr
    base = ["train", "--task", "Isaac-Cartpole-Direct-v0", "--managed"]
    if args != ["--no-max"]:
        base += ["--max-iterations", "10"]
    result = cli(*base, *[a for a in args if a != "--no-max"])
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and flag in lines[0], result.stderr
    assert not (cli.state_dir / NAME / "jobs").exists() or not list((cli.state_dir / NAME / "jobs").iterdir())
    loose = cli("train", "--task", "Isaac-Cartpole-Direct-v0", "--max-restarts", "3")
    assert loose.returncode == 2 and "--max-restarts" in loose.stderr
    bad = cli("watch", "--interval", "0")
    assert bad.returncode == 2 and "--interval" in bad.stderr
