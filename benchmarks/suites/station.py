"""A workstation for the benchmarks: the tests' loopback sshd (Debian's OpenSSH), the Docker
engine and the stand-in image, driven through the real CLI. Loopback only."""

from __future__ import annotations

import os
import shutil
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


# The real Isaac Lab 3.0.0 venv scripts/isaaclab_test_venv.sh builds (tests/test_pip_runtime.py
# runs it too), the offline assets, and the Warp kernels those tests keep warm between runs.
ISAACLAB_CACHE = Path(os.environ.get("ISAACCTL_TEST_ISAACLAB_CACHE", "/var/cache/isaacctl-test-isaaclab"))
ISAACLAB_PYTHON = Path(os.environ.get("ISAACCTL_TEST_ISAACLAB_PYTHON", str(ISAACLAB_CACHE / "venv" / "bin" / "python")))
ISAACLAB_ASSETS = TESTS / "isaaclab_assets" / "assetroot"


def isaaclab_missing() -> str | None:
    """Why the real Isaac Lab rows cannot run here, or None."""
    if ISAACLAB_PYTHON.is_file() and os.access(ISAACLAB_PYTHON, os.X_OK):
        return None
    return f"skipped: the real Isaac Lab 3.0.0 venv is absent ({ISAACLAB_PYTHON}; bash scripts/isaaclab_test_venv.sh)"


@contextmanager
def pip_station() -> Iterator[Station]:
    """A pip-runtime deployment `lab` adopting the real venv on the CPU (--gpus none), its
    host folder's Warp cache seeded as a host keeps it between jobs (a cold one is ~60 s of
    kernel compiles on 2 cores, for isaacctl and upstream alike)."""
    with tempfile.TemporaryDirectory(prefix="isaacctl-bench-") as scratch, SshServer() as sshd:
        place = Station(Path(scratch), sshd)
        seed = ISAACLAB_CACHE / "warp-cache"
        if seed.is_dir():
            shutil.copytree(seed, place.host_dir / "cache" / "warp")
            subprocess.run(["chown", "-R", f"{sshd.user}:", str(place.host_dir)], check=True)
        place.cli(
            "deploy",
            "ssh",
            "--name",
            "lab",
            "--host",
            "gpu-box",
            "--gpus",
            "none",
            "--runtime",
            "pip",
            "--isaaclab-python",
            str(ISAACLAB_PYTHON),
            "--asset-root",
            str(ISAACLAB_ASSETS),
            "--host-dir",
            str(place.host_dir),
            check=True,
        )
        yield place


def run(argv: list[str], env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, env=env or dict(os.environ), capture_output=True, text=True, check=True, **kwargs)
