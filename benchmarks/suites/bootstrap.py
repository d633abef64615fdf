"""Bootstrap: a first run (pulling the stand-in image from the password-protected loopback
registry) and a re-run on a ready host, beside a plain `ssh host true`."""

from __future__ import annotations

import os
import subprocess
import time

from suites.common import median_seconds, row
from suites.station import docker_env, station


def run(repeat: int | None = None) -> list[dict]:
    repeat = repeat or 5
    registry = docker_env.Registry.from_env()
    image = os.environ.get("ISAACCTL_TEST_IMAGE")
    if registry is None or not image:
        raise SystemExit("the bootstrap suite needs scripts/bench.sh (the loopback registry and image)")
    rows = []
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
        subprocess.run(["docker", "rmi", image], capture_output=True)
    rows.append(row("ssh host true (reference)", reference))
    rows.append(row("bootstrap, first run (117 MB image pulled)", first))
    rows.append(row("bootstrap, re-run on a ready host", rerun, reference=reference, against="ssh true", goal="< 3 s"))
    return rows
