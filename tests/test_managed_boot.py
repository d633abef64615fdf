"""Managed training resumed by the workstation itself at boot (issue 15): after a stop-style
preemption the instance comes back with its disk, the boot hook the bootstrap step installed
resumes the run from the newest checkpoint there with no controller running, and `watch`
then folds the host's run into the managed job. The hook leaves finished, cancelled and
non-managed runs alone, and a hook racing a controller never runs two copies.

How preemption and boot are simulated: tests/harness/managed_boot.py."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from harness.cli import Cli
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


# -- the pip runtime, on the real Isaac Lab 3.0.0 (kit-less, CPU) -------------------------------
PIP_CACHE = Path(os.environ.get("ISAACCTL_TEST_ISAACLAB_CACHE", "/var/cache/isaacctl-test-isaaclab"))
PIP_PYTHON = Path(os.environ.get("ISAACCTL_TEST_ISAACLAB_PYTHON", str(PIP_CACHE / "venv" / "bin" / "python")))
PIP_ASSETS = Path(__file__).resolve().parent / "isaaclab_assets" / "assetroot"
PIP_TOTAL, PIP_SAVE = 40, 10


@pytest.fixture
def pip_station(tmp_path, sshd):
    """An adopted host (ssh) running jobs with the pip runtime in the venv scripts/test.sh
    builds; as a stop cannot be asked of an adopted host, the test ends the runner itself."""
    if not (PIP_PYTHON.is_file() and os.access(PIP_PYTHON, os.X_OK)):
        pytest.skip(f"the real Isaac Lab 3.0.0 venv is absent ({PIP_PYTHON}): scripts/test.sh builds it")
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    ssh_config = tmp_path / "ssh_config"
    ssh_config.touch(mode=0o600)
    station = Cli(state_dir=state, ssh_config=ssh_config)
    sshd.write_ssh_config(ssh_config, ["lab-box"])
    host_dir = sshd.home / f"isaacctl-{uuid.uuid4().hex[:6]}"
    warp = PIP_CACHE / "warp-cache"  # test_pip_runtime's seed of compiled kernels, if there
    if warp.is_dir():
        shutil.copytree(warp, host_dir / "cache" / "warp")
        subprocess.run(["chown", "-R", f"{sshd.user}:", str(host_dir)], check=True)
    deployed = station(
        "deploy",
        "ssh",
        "--name",
        "lab",
        "--host",
        "lab-box",
        "--gpus",
        "none",
        "--runtime",
        "pip",
        "--isaaclab-python",
        str(PIP_PYTHON),
        "--asset-root",
        str(PIP_ASSETS),
        "--host-dir",
        str(host_dir),
        timeout=900,
    )
    assert deployed.returncode == 0, deployed.stderr
    record = json.loads(station("status", "lab", "--json").stdout)["data"]
    yield station, record
    for pid_file in (host_dir / "jobs").glob("*/pid"):
        with contextlib.suppress(ValueError, OSError):
            os.killpg(int(pid_file.read_text().split()[0]), signal.SIGKILL)


def test_the_pip_runtime_resumes_a_run_its_machine_cut_short_at_boot(pip_station, sshd):
    station, record = pip_station
    host = Path(record["host_root"])
    started = station(
        "train",
        "--task",
        "Isaac-Cartpole",
        "--num-envs",
        "16",
        "--rl-library",
        "rsl_rl",
        "--managed",
        "--max-iterations",
        str(PIP_TOTAL),
        "--json",
        "--",
        f"agent.save_interval={PIP_SAVE}",
    )
    assert started.returncode == 0, started.stderr
    job_id = json.loads(started.stdout)["data"]["id"]
    until_saved_on_host(str(host), job_id, PIP_SAVE, timeout=600)
    # the machine goes down: the runner and Isaac Lab die without writing an exit status
    pid = int((host / "jobs" / job_id / "pid").read_text().split()[0])
    os.killpg(pid, signal.SIGKILL)
    assert not (host / "jobs" / job_id / "exit-status").exists()

    said = run_boot_hook(sshd, record)
    resumed = description(str(host), job_id)["superseded_by"]
    origin = description(str(host), resumed)["resumed_from"]
    assert origin["iteration"] >= PIP_SAVE, said
    new_pid = (
        int((host / "jobs" / resumed / "pid").read_text().split()[0])
        if (host / "jobs" / resumed / "pid").exists()
        else None
    )
    assert new_pid is not None and Path(f"/proc/{new_pid}").exists(), said

    deadline = time.monotonic() + 600
    while True:
        watched = station("watch", "--once", "--sync-interval", "1", timeout=900)
        assert watched.returncode == 0, watched.stderr
        job = json.loads(station("jobs", "-d", "lab", "--json").stdout)["data"][0]
        if job["managed"]["state"] in ("succeeded", "failed", "cancelled"):
            break
        assert time.monotonic() < deadline, job
        time.sleep(2)
    assert job["status"] == "succeeded" and job["restarts"] == 1, job
    assert job["attempts"][0]["action"] == "boot" and job["attempts"][0]["job"] == resumed
    seen = iterations(outputs_of(str(host), job))
    assert set(seen) == set(range(PIP_TOTAL)), sorted(set(range(PIP_TOTAL)) - set(seen))
    assert len(seen) - PIP_TOTAL <= PIP_SAVE + 1, seen
