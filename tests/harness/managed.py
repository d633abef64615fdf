"""What the managed-training tests share (tests/test_managed.py on moto, tests/
test_managed_clouds.py on the GCP, Azure and Alibaba fakes): a stand-in slow enough to be
preempted mid-run, `train --managed` on one deployment (NAME), the `watch --once` loop, and the checks
on what every run printed and which checkpoints came home.

How a preemption is simulated: the "instance" is a loopback sshd sharing this machine's Docker,
so the cloud taking it away does not stop anything here. A test does what the cloud would have
done to the machine: after the cloud's own hook it kills the job's container (`docker kill`),
and when the disk goes with the instance it deletes the job's folders on the host too."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from harness.cli import Cli
from harness.own_containers import remove_containers

# Not ws1: other test files remove every container labelled with the deployment name ws1 when
# they end, and test sessions of several engineers share this machine's Docker.
NAME = f"mc-{uuid.uuid4().hex[:8]}"
SLOW_IMAGE = "isaacctl-test/isaac-lab-slow:2.3.2"
TOTAL = 300
SAVE = 20  # agent.save_interval: the most a resume may repeat


# named: a test module imports the fixtures under these names, and takes them by the short ones
@pytest.fixture(scope="module", name="slow_image")
def slow_image_fixture(standin_image_local):
    """The stand-in at 0.04 s an iteration, so a run lasts long enough to be preempted."""
    built = subprocess.run(
        ["docker", "build", "--network", "none", "-t", SLOW_IMAGE, "-"],
        input=f"FROM {standin_image_local}\nENV STANDIN_ITERATION_SECONDS=0.04\n",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    return SLOW_IMAGE


def status(cli: Cli) -> dict:
    return json.loads(cli("status", NAME, "--json").stdout)["data"]


def job_of(cli: Cli, job_id: str) -> dict:
    return next(j for j in json.loads(cli("jobs", "-d", NAME, "--json").stdout)["data"] if j["id"] == job_id)


def train(cli: Cli, *extra: str, iterations: int = TOTAL) -> str:
    """Start a training of the slow stand-in on NAME (saving every SAVE iterations); its id."""
    started = cli(
        "train",
        "-d",
        NAME,
        "--task",
        "Isaac-Cartpole-Direct-v0",
        "--max-iterations",
        str(iterations),
        *extra,
        "--json",
        "--",
        f"agent.save_interval={SAVE}",
    )
    assert started.returncode == 0, started.stderr
    return json.loads(started.stdout)["data"]["id"]


def start_managed(cli: Cli, *extra: str) -> str:
    return train(cli, "--managed", *extra)


def watch_once(cli: Cli):
    done = cli("watch", "--once", "--sync-interval", "1", timeout=900)
    assert done.returncode == 0, done.stderr
    return done


def home_checkpoints(cli: Cli, job_id: str) -> list[int]:
    logs = cli.state_dir / NAME / "artifacts" / job_id / "logs"
    return sorted(int(m.group(1)) for p in logs.rglob("model_*.pt") if (m := re.fullmatch(r"model_(\d+)\.pt", p.name)))


def until_synced(cli: Cli, job_id: str, at_least: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        watch_once(cli)
        if [n for n in home_checkpoints(cli, job_id) if n >= at_least]:
            return
        time.sleep(0.5)
    raise AssertionError(f"no checkpoint >= {at_least} came home: {home_checkpoints(cli, job_id)}")


def take_machine(job: dict, host_root: str, disk_gone: bool) -> None:
    """What the cloud's preemption does to the machine itself (see the module's docstring):
    called after the cloud's hook, as a real machine loses its containers only once it is going."""
    subprocess.run(["docker", "kill", job["container"]], capture_output=True)
    if disk_gone:
        shutil.rmtree(Path(host_root) / "jobs", ignore_errors=True)


def until_finished(cli: Cli, job_id: str, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        watch_once(cli)
        job = job_of(cli, job_id)
        if job["managed"]["state"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(1)
    events = (cli.state_dir / NAME / "events.jsonl").read_text().splitlines()
    raise AssertionError(f"{job_id} did not finish: {job_of(cli, job_id)}\nlast events:\n" + "\n".join(events[-25:]))


def iterations(outputs: list[str]) -> list[int]:
    """Every 'Learning iteration N/T' of every run, in order."""
    seen = []
    for text in outputs:
        seen += [int(n) for n in re.findall(r"Learning iteration (\d+)/\d+", text)]
    return seen


def outputs_of(host_root: str, job: dict) -> list[str]:
    runs = [job["id"]] + [a["job"] for a in job["attempts"] if a.get("job")]
    return [
        (Path(host_root) / "jobs" / run / "output.txt").read_text()
        for run in runs
        if (Path(host_root) / "jobs" / run / "output.txt").exists()
    ]


def check_every_iteration_once(seen: list[int], resumed_from: list[int]) -> None:
    assert set(seen) == set(range(TOTAL)), sorted(set(range(TOTAL)) - set(seen))
    repeated = len(seen) - TOTAL
    assert 0 <= repeated <= (SAVE + 1) * len(resumed_from), (repeated, resumed_from)


def check_resumed_from_home(seen: list[int], newest: int) -> None:
    """A run whose disk went with its instance: what is left starts at the checkpoint synced
    home, and every iteration from there is in it once."""
    assert min(seen) == newest, (min(seen), newest)
    assert sorted(seen) == list(range(newest, TOTAL)), sorted(set(range(newest, TOTAL)) - set(seen))


@pytest.fixture(name="workstation")
def workstation_fixture(aws, cli, sshd, slow_image):
    """A spot workstation on moto, bootstrapped, reached through the loopback sshd."""
    sshd.write_ssh_config(cli.ssh_config, ["*"])
    made = cli(
        "deploy",
        "aws",
        "--name",
        NAME,
        "--yes",
        "--spot",
        "--instance-type",
        "g6e.2xlarge",
        "--gpus",
        "none",
        "--image",
        slow_image,
        timeout=900,
    )
    assert made.returncode == 0, made.stderr
    record = status(cli)
    yield aws, record
    remove_containers([record["id"]])
