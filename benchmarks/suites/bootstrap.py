"""Bootstrap: a first run (pulling the stand-in image from the password-protected loopback
registry) and re-runs on a ready host, container and pip runtime (the real Isaac Lab venv of
the tests, when scripts/test.sh built it), beside a plain `ssh host true`; and how many SSH
exec requests (round trips) a re-run makes, counted in the loopback sshd's log."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from suites.common import median_seconds, row
from suites.station import docker_env, station

# the tests' real Isaac Lab 3.0.0 venv (tests/test_pip_runtime.py)
ISAACLAB_PYTHON = Path(
    os.environ.get("ISAACCTL_TEST_ISAACLAB_PYTHON", "/var/cache/isaacctl-test-isaaclab/venv/bin/python")
)


def _round_trips(place, argv: list[str]) -> int:
    """Exec requests sshd logged (LogLevel VERBOSE: one line each) while argv ran."""

    def sessions() -> int:
        return place.sshd.log_path.read_text(errors="replace").count("Starting session:")

    before = sessions()
    subprocess.run(argv, env=place.env, capture_output=True, check=True)
    return sessions() - before


def run(repeat: int | None = None) -> list[dict]:
    repeat = repeat or 5
    registry = docker_env.Registry.from_env()
    image = os.environ.get("ISAACCTL_TEST_IMAGE")
    if registry is None or not image:
        raise SystemExit("the bootstrap suite needs scripts/bench.sh (the loopback registry and image)")
    rows = []
    pip_rerun = pip_trips = None
    with station(deploy=True) as place:
        subprocess.run(["docker", "rmi", image], capture_output=True)
        args = [
            "bootstrap",
            "ws1",
            "--gpus",
            "none",
            "--image",
            image,
            "--registry",
            registry.address,
            "--registry-user",
            registry.user,
            "--ngc-api-key-file",
            str(registry.password_file),
        ]
        start = time.perf_counter()
        place.cli(*args, check=True)
        first = time.perf_counter() - start
        reference = median_seconds(place.ssh_argv("true"), repeat)
        rerun = median_seconds(place.isaacctl_argv("bootstrap", "ws1"), repeat, place.env)
        trips = _round_trips(place, place.isaacctl_argv("bootstrap", "ws1"))
        subprocess.run(["docker", "rmi", image], capture_output=True)
        if ISAACLAB_PYTHON.is_file():
            place.cli(
                *("deploy", "ssh", "--name", "lab", "--host", "gpu-box", "--gpus", "none", "--runtime", "pip"),
                *("--isaaclab-python", str(ISAACLAB_PYTHON), "--host-dir", str(place.sshd.home / "isaacctl-pip")),
                check=True,
            )
            pip_rerun = median_seconds(place.isaacctl_argv("bootstrap", "lab"), repeat, place.env)
            pip_trips = _round_trips(place, place.isaacctl_argv("bootstrap", "lab"))
    rows.append(row("ssh host true (reference)", reference))
    rows.append(row("bootstrap, first run (117 MB image pulled)", first))
    rows.append(row("bootstrap, re-run on a ready host", rerun, reference=reference, against="ssh true", goal="<= 1 s"))
    rows.append(row("bootstrap re-run: SSH round trips", trips, unit="exec", goal="1"))
    if pip_rerun is not None:
        rows.append(
            row(
                "bootstrap --runtime pip, re-run (real Isaac Lab venv)",
                pip_rerun,
                reference=reference,
                against="ssh true",
                goal="<= 1 s",
            )
        )
        rows.append(row("bootstrap --runtime pip re-run: SSH round trips", pip_trips or 0, unit="exec", goal="1"))
    return rows
