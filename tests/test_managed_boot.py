"""Managed training resumed by the workstation itself at boot (issue 15): after a stop-style
preemption the instance comes back with its disk, the boot hook the bootstrap step installed
resumes the run from the newest checkpoint there with no controller running, and `watch`
then folds the host's run into the managed job. The hook leaves finished, cancelled and
non-managed runs alone, and a hook racing a controller never runs two copies.

How preemption and boot are simulated: tests/harness/managed_boot.py."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.managed_boot import (
    NAME,
    SAVE,
    TOTAL,
    boot_hook,
    check_every_iteration_once,
    iterations,
    job_of,
    outputs_of,
    run_boot_hook,
    running_jobs,
    slow_image_fixture,  # noqa: F401
    start_instance,
    stop_preempt,
    train,
    until_finished,
    until_saved_on_host,
    workstation_fixture,  # noqa: F401
)

pytestmark = pytest.mark.docker


def description(host_root: str, run: str) -> dict:
    return json.loads((Path(host_root) / "jobs" / run / "managed.json").read_text())


def until_iteration(host_root: str, run: str, beyond: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    output = Path(host_root) / "jobs" / run / "output.txt"
    while time.monotonic() < deadline:
        if output.exists() and [n for n in iterations([output.read_text()]) if n > beyond]:
            return
        time.sleep(0.2)
    raise AssertionError(f"{run} did not train beyond iteration {beyond}")


def test_the_workstation_resumes_a_stopped_run_at_boot_and_watch_folds_it_into_the_job(workstation, cli, sshd):
    aws, record = workstation
    host = record["host_root"]
    job_id = train(cli, "--managed")
    first = job_of(cli, job_id)
    described = description(host, job_id)
    assert described["state"] == "active" and described["job"] == job_id
    assert described["total_iterations"] == TOTAL and described["restarts_left"] == 5
    until_saved_on_host(host, job_id, 2 * SAVE)
    stop_preempt(aws, record, first)
    start_instance(aws, record)

    said = run_boot_hook(sshd, record)
    running = running_jobs(record["id"])
    assert len(running) == 1 and running[0] != first["container"], (running, said)
    run = running[0].removeprefix(f"isaacctl-{NAME}-")
    resumed = description(host, run)
    origin = resumed["resumed_from"]
    assert resumed["started_by"] == "boot" and origin["run"] == job_id and origin["iteration"] >= 2 * SAVE
    assert origin["checkpoint"].endswith(f"model_{origin['iteration']}.pt")
    assert description(host, job_id)["superseded_by"] == run
    until_iteration(host, run, origin["iteration"])  # it trains on, and no controller runs

    run_boot_hook(sshd, record)  # a second look (another boot) starts nothing more
    assert running_jobs(record["id"]) == running

    finished = until_finished(cli, job_id)
    assert finished["status"] == "succeeded" and finished["managed"]["state"] == "succeeded", finished
    assert finished["restarts"] == 1 and len(finished["attempts"]) == 1
    attempt = finished["attempts"][0]
    assert attempt["action"] == "boot" and attempt["result"] == "ok" and attempt["job"] == run
    assert attempt["from_iteration"] == origin["iteration"] and attempt["checkpoint"] == origin["checkpoint"]
    assert record["nodes"][0]["instance_id"] in finished["runs_on"]
    assert finished["lost_seconds"] > 0
    check_every_iteration_once(iterations(outputs_of(host, finished)), [origin["iteration"]])
    events = [json.loads(line) for line in (cli.state_dir / NAME / "events.jsonl").read_text().splitlines()]
    assert [e["action"] for e in events if e["event"] == "managed.resumed"] == ["boot"]

    # `jobs` shows the restart, the time lost and where it runs
    table = cli("jobs", "-d", NAME)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    columns = lines[0].split()
    assert columns[-4:] == ["RESTARTS", "LOST", "RUNS", "ON"], lines[0]
    row = next(line for line in lines if line.startswith(job_id))
    cells = row[lines[0].index("RESTARTS") :].split()
    assert cells[0] == "1" and cells[1] != "0:00:00" and record["nodes"][0]["instance_id"] in cells

    # finished: a later boot leaves it alone
    run_boot_hook(sshd, record)
    assert running_jobs(record["id"]) == []


def test_the_boot_hook_leaves_finished_cancelled_and_unmanaged_runs_alone(workstation, cli, sshd):
    aws, record = workstation
    host = record["host_root"]
    # a managed run that finished while no controller looked: its description still says active
    done = train(cli, "--managed", iterations=5)
    waited = subprocess.run(["docker", "wait", job_of(cli, done)["container"]], capture_output=True, text=True)
    assert waited.stdout.strip() == "0"
    assert description(host, done)["state"] == "active"
    # a job that is not managed, killed as a stop kills it
    plain = train(cli)
    until_saved_on_host(host, plain, SAVE)
    # a managed run cut short by a stop, then cancelled while the machine was down
    cancelled = train(cli, "--managed")
    until_saved_on_host(host, cancelled, SAVE)
    stop_preempt(aws, record, job_of(cli, cancelled))
    subprocess.run(["docker", "kill", job_of(cli, plain)["container"]], capture_output=True)
    gone = cli("cancel", cancelled, "--grace", "0", "--json")
    assert gone.returncode == 0, gone.stderr
    assert description(host, cancelled)["state"] == "cancelled"
    start_instance(aws, record)
    folders = sorted(p.name for p in (Path(host) / "jobs").iterdir())

    said = run_boot_hook(sshd, record)
    assert running_jobs(record["id"]) == []
    assert sorted(p.name for p in (Path(host) / "jobs").iterdir()) == folders
    assert f"{done} (run {done}) ended with exit 0, not cut short; left alone" in said, said
    assert plain not in said and cancelled not in said  # nothing to resume there: not even looked at
    for job_id, status in ((done, "succeeded"), (plain, "failed"), (cancelled, "cancelled")):
        assert job_of(cli, job_id)["status"] == status, job_id


def test_a_boot_hook_racing_the_controller_never_runs_two_copies(workstation, cli, sshd):
    aws, record = workstation
    host = record["host_root"]
    job_id = train(cli, "--managed")
    until_saved_on_host(host, job_id, SAVE)
    stop_preempt(aws, record, job_of(cli, job_id))
    start_instance(aws, record)

    controller = subprocess.Popen(
        [sys.executable, "-m", "isaacctl", "watch", "--once"],
        env=cli.full_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    hook = boot_hook(sshd, record)
    _, hook_err = hook.communicate(timeout=300)
    _, controller_err = controller.communicate(timeout=600)
    assert hook.returncode == 0 and controller.returncode == 0, (hook_err, controller_err)
    running = running_jobs(record["id"])
    assert len(running) == 1, running

    finished = until_finished(cli, job_id)
    assert finished["status"] == "succeeded" and finished["restarts"] == 1, finished
    assert len(finished["attempts"]) == 1 and finished["attempts"][0]["result"] == "ok"
    assert running[0] == f"isaacctl-{NAME}-{finished['attempts'][0]['job']}"
    check_every_iteration_once(iterations(outputs_of(host, finished)), [finished["attempts"][0]["from_iteration"]])
