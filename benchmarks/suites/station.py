"""A workstation for the benchmarks: the tests' loopback sshd (Debian's OpenSSH), the Docker
engine and the stand-in image, driven through the real CLI. Loopback only."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

TESTS = Path(__file__).resolve().parents[2] / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from harness import docker_env  # noqa: E402
from harness.cli import Cli  # noqa: E402
from harness.sshd import SshServer  # noqa: E402


class Station:
    def __init__(self, root: Path, sshd: SshServer) -> None:
        self.root = root
        self.sshd = sshd
        state = root / "state"
        state.mkdir(mode=0o700)
        self.ssh_config = sshd.write_ssh_config(root / "ssh_config", ["gpu-box"])
        self.cli = Cli(state_dir=state, ssh_config=self.ssh_config)
        self.host_dir = sshd.home / "isaacctl-bench"

    def isaacctl_argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "isaacctl", *args]

    @property
    def env(self) -> dict[str, str]:
        return self.cli.full_env()

    def ssh_argv(self, *command: str) -> list[str]:
        """Plain OpenSSH to the same host: the reference for round trips."""
        return [
            "ssh",
            "-F",
            str(self.ssh_config),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            f"UserKnownHostsFile={self.root / 'reference_known_hosts'}",
            "gpu-box",
            *command,
        ]


@contextmanager
def station(deploy: bool = True, bootstrap_image: str | None = None) -> Iterator[Station]:
    docker_env.ensure_docker()
    with tempfile.TemporaryDirectory(prefix="isaacctl-bench-") as scratch, SshServer() as sshd:
        place = Station(Path(scratch), sshd)
        if deploy:
            args = ["deploy", "ssh", "--name", "ws1", "--host", "gpu-box", "--host-dir", str(place.host_dir)]
            if bootstrap_image:
                args += ["--gpus", "none", "--image", bootstrap_image]
            else:
                args.append("--skip-bootstrap")
            place.cli(*args, check=True)
        yield place


def run(argv: list[str], env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, env=env or dict(os.environ), capture_output=True, text=True, check=True, **kwargs)
