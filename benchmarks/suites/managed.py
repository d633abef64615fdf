"""Managed training on the workstation itself: how long the boot hook takes to resume a run
the machine's stop cut short (its ExecStart over ssh, until the new run's container is
started) beside the controller's own resume of the same cut-short run (`watch --once`: it asks
the host, claims the run, stages and starts the new one), and what the `managed-boot` bootstrap
step's installer costs beside a plain `ssh host true`. One loopback station (sshd, Docker, a
stand-in slowed to 0.04 s an iteration); each sample is a fresh managed run killed once it saved
a checkpoint, the two resumes alternating which goes first."""

from __future__ import annotations

import json
import statistics
import subprocess
import time

from suites.common import median_seconds, row
from suites.station import docker_env, run, station

SLOW_IMAGE = "isaacctl-bench/isaac-lab-slow:2.3.2"


def _slow_image() -> str:
    base = docker_env.standin_image_local()
    run(
        ["docker", "build", "--network", "none", "-t", SLOW_IMAGE, "-"],
        input=f"FROM {base}\nENV STANDIN_ITERATION_SECONDS=0.04\n",
    )
    return SLOW_IMAGE


def _cut_short_run(place) -> str:
    """A managed run with a checkpoint on the host, killed as a machine going down kills it."""
    started = run(
        place.isaacctl_argv(
            "train",
            "-d",
            "ws1",
            "--task",
            "Isaac-Cartpole-Direct-v0",
            "--managed",
            "--max-iterations",
            "100000",
            "--json",
            "--",
            "agent.save_interval=5",
        ),
        place.env,
    )
    job = json.loads(started.stdout)["data"]
    logs = place.host_dir / "jobs" / job["id"] / "logs"
    deadline = time.monotonic() + 120
    while not list(logs.rglob("model_*.pt")):
        assert time.monotonic() < deadline, f"no checkpoint in {logs}"
        time.sleep(0.2)
    run(["docker", "kill", job["container"]])
    return str(job["id"])


def _boot_command(place) -> str:
    unit = next((place.host_dir / "managed").glob("isaacctl-managed-boot-*.service")).read_text()
    return next(line.split("=", 1)[1] for line in unit.splitlines() if line.startswith("ExecStart="))


def _cancel(place, job_id: str) -> None:
    run(place.isaacctl_argv("cancel", job_id, "--grace", "0"), place.env)


def _hook_resume(place) -> float:
    job_id = _cut_short_run(place)
    argv = [*place.sshd.ssh_command(), _boot_command(place)]
    start = time.perf_counter()
    said = run(argv)
    elapsed = time.perf_counter() - start
    assert "resumed as" in said.stdout, said.stdout
    run(place.isaacctl_argv("watch", "--once"), place.env)  # folds the host's run, to cancel it
    _cancel(place, job_id)
    return elapsed


def _controller_resume(place) -> float:
    job_id = _cut_short_run(place)
    start = time.perf_counter()
    run(place.isaacctl_argv("watch", "--once"), place.env)
    elapsed = time.perf_counter() - start
    job = next(
        j for j in json.loads(run(place.isaacctl_argv("jobs", "--json"), place.env).stdout)["data"] if j["id"] == job_id
    )
    assert job["restarts"] == 1 and job["attempts"][-1]["action"] == "resume", job
    _cancel(place, job_id)
    return elapsed


def run_suite(repeat: int | None = None) -> list[dict]:
    repeat = repeat or 3
    image = _slow_image()
    with station(deploy=True, bootstrap_image=image) as place:
        hook, controller = [], []
        for attempt in range(repeat):
            pair = [(hook, _hook_resume), (controller, _controller_resume)]
            for results, measure in pair if attempt % 2 == 0 else reversed(pair):
                results.append(measure(place))
        # the step's installer as the host runs it (its copy there; the step sends it with python3 -c)
        from isaacctl.resources import template_text

        unit = next((place.host_dir / "managed").glob("isaacctl-managed-boot-*.service"))
        spec = json.dumps(
            {"script": template_text("managed/boot_resume.py"), "unit": unit.read_text(), "unit_name": unit.name}
        )
        install = [
            *place.sshd.ssh_command(),
            "python3",
            f"{place.host_dir}/managed/boot_resume.py",
            "install",
            str(place.host_dir),
        ]
        installs = []
        for _ in range(repeat):
            start = time.perf_counter()
            subprocess.run(install, input=spec, capture_output=True, text=True, check=True)
            installs.append(time.perf_counter() - start)
        round_trip = median_seconds([*place.sshd.ssh_command(), "true"], repeat)
    hook_s, controller_s = statistics.median(hook), statistics.median(controller)
    return [
        row(
            "resume a cut-short run: boot hook (ExecStart)",
            hook_s,
            reference=controller_s,
            against="watch --once resuming it",
        ),
        row("resume a cut-short run: watch --once (reference)", controller_s),
        row(
            "managed-boot step's installer",
            statistics.median(installs),
            reference=round_trip,
            against="ssh host true",
        ),
    ]
