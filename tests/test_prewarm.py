"""Bootstrap's pre-warm (issue 18): a short training in the background fills the host's caches
so the user's first job starts warm. With the REAL Isaac Lab 3.0.0 on the CPU (pip runtime,
cold cache folder): the pre-warm compiles Warp's kernels into cache/warp and the first job then
loads them from there; and with the 3.x stand-in image (container runtime): the run is a
container of the deployment, never a job, and is gone with `destroy`."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

import test_isaaclab3_container as isaaclab3
from harness.cli import Cli
from test_pip_runtime import ASSETS, PYTHON, needs_isaaclab


@pytest.fixture(scope="module")
def image3(docker_ready) -> str:
    """The 3.x stand-in image, as test_isaaclab3_container has it."""
    return isaaclab3._build("3", os.environ.get("ISAACCTL_TEST_IMAGE3_LOCAL") or isaaclab3.LOCAL_REF3)


def _new_cli(root: Path) -> Cli:
    state = root / "state"
    state.mkdir(mode=0o700)
    ssh_config = root / "ssh_config"
    ssh_config.touch(mode=0o600)
    return Cli(state_dir=state, ssh_config=ssh_config)


def _steps(cli: Cli, name: str) -> dict:
    record = json.loads((cli.state_dir / name / "deployment.json").read_text())
    return record["nodes"][0]["bootstrap"]


def _until_ended(folder: Path, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = folder / "exit-status"
        if status.is_file() and status.read_text().strip():
            return int(status.read_text())
        time.sleep(1)
    output = folder / "output.txt"
    raise AssertionError(f"the pre-warm did not end: {output.read_text()[-2000:] if output.exists() else '-'}")


def _until_exited(container: str, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        said = subprocess.run(
            ["docker", "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", container],
            capture_output=True,
            text=True,
        )
        assert said.returncode == 0, said.stderr
        status, code = said.stdout.split()
        if status == "exited":
            return int(code)
        time.sleep(0.5)
    raise AssertionError(f"{container} did not end")


def _kernels(cache: Path) -> set[str]:
    """Warp's cache entries (one folder per compiled module, named by its hash)."""
    return {str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file() and not p.name.startswith(".")}


@needs_isaaclab
def test_the_prewarm_compiles_warps_kernels_and_the_first_job_compiles_nothing(tmp_path, sshd):
    cli = _new_cli(tmp_path)
    sshd.write_ssh_config(cli.ssh_config, ["lab-box"])
    host_dir = sshd.home / f"isaacctl-prewarm-{uuid.uuid4().hex[:6]}"  # a fresh host: no cache
    name = f"pw{uuid.uuid4().hex[:6]}"
    deployed = cli.deploy_ssh(
        name,
        "lab-box",
        host_dir,
        "--runtime",
        "pip",
        "--isaaclab-python",
        str(PYTHON),
        "--asset-root",
        str(ASSETS),
        "--prewarm",
    )
    assert deployed.returncode == 0, deployed.stderr
    assert _steps(cli, name)["prewarm"]["status"] == "ok"
    prewarm, cache = host_dir / "cache" / "prewarm", host_dir / "cache" / "warp"
    assert not (prewarm / "exit-status").exists()  # bootstrap did not wait for it (a cold start is ~60 s here)
    assert _until_ended(prewarm, 900) == 0
    output = (prewarm / "output.txt").read_text()
    assert "--task Isaac-Cartpole --num_envs 64 --max_iterations 1" in output
    warmed = _kernels(cache)
    assert warmed  # the pre-warm compiled Warp's kernels into the deployment's cache
    assert json.loads(cli("jobs", "-d", name, "--json", check=True).stdout)["data"] == []  # it is no job

    # the user's first job (the pre-warm's task and size) compiles nothing; a bootstrap re-run
    # starts no second pre-warm. (Other sizes compile a few size-specialised kernels more.)
    trained = cli(
        "train", "-d", name, "--task", "Isaac-Cartpole", "--num-envs", "64", "--max-iterations", "1", "--follow"
    )
    assert trained.returncode == 0, trained.stderr
    assert "Learning iteration 0/1" in trained.stdout
    assert _kernels(cache) == warmed  # nothing new compiled: the jobs ran on the pre-warm's kernels
    before = (prewarm / "pid").stat().st_mtime_ns
    rerun = cli("bootstrap", name)
    assert rerun.returncode == 0, rerun.stderr
    assert (prewarm / "pid").stat().st_mtime_ns == before
    assert _steps(cli, name)["prewarm"]["status"] == "ok"


@pytest.mark.docker
def test_the_container_prewarm_is_a_container_of_the_deployment_not_a_job(tmp_path, image3):
    cli = _new_cli(tmp_path)
    name = f"pw{uuid.uuid4().hex[:6]}"
    host = tmp_path / "host"
    deployed = cli(
        "deploy", "local", "--name", name, "--host-dir", str(host), "--gpus", "none", "--image", image3, "--prewarm"
    )
    assert deployed.returncode == 0, deployed.stderr
    record = json.loads((cli.state_dir / name / "deployment.json").read_text())
    container = f"isaacctl-{name}-prewarm-{record['id']}"
    try:
        assert _until_exited(container, 240) == 0
        said = subprocess.run(
            ["docker", "inspect", "--format", "{{json .Config.Labels}}|{{json .Args}}", container],
            capture_output=True,
            text=True,
        )
        assert said.returncode == 0, said.stderr
        labels, args = (json.loads(part) for part in said.stdout.strip().split("|", 1))
        assert labels["isaacctl.deployment-id"] == record["id"]
        assert args[1:5] == ["isaaclab", "train", "--rl_library", "rsl_rl"]
        assert "Isaac-Cartpole" in args and "--max_iterations" in args and "--device" in args  # CPU flags too
        assert json.loads(cli("jobs", "-d", name, "--json", check=True).stdout)["data"] == []

        again = cli("bootstrap", name)
        assert again.returncode == 0, again.stderr
        assert _steps(cli, name)["prewarm"]["status"] == "ok"
        destroyed = cli("destroy", name, "--yes")
        assert destroyed.returncode == 0, destroyed.stderr
        gone = subprocess.run(["docker", "inspect", container], capture_output=True)
        assert gone.returncode != 0  # destroy removed it with the deployment's other containers
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)


@pytest.mark.docker
def test_no_prewarm_on_a_cpu_host_by_default_nor_for_2x(tmp_path, image3, standin_image_local):
    cli = _new_cli(tmp_path)
    name = f"pw{uuid.uuid4().hex[:6]}"
    made = cli(
        "deploy", "local", "--name", name, "--host-dir", str(tmp_path / "h3"), "--gpus", "none", "--image", image3
    )
    assert made.returncode == 0, made.stderr
    step = _steps(cli, name)["prewarm"]
    assert step["status"] == "skipped" and step["message"] == "no GPU (--prewarm)"
    assert not (tmp_path / "h3" / "cache" / "prewarm").exists()

    old = f"pw{uuid.uuid4().hex[:6]}"
    made = cli(
        "deploy",
        "local",
        "--name",
        old,
        "--host-dir",
        str(tmp_path / "h2"),
        "--gpus",
        "none",
        "--image",
        standin_image_local,
        "--prewarm",
    )
    assert made.returncode == 0, made.stderr
    step = _steps(cli, old)["prewarm"]
    assert step["status"] == "skipped" and step["message"] == "Isaac Lab 2.x has no pre-warm run"
    for deployment in (name, old):
        assert cli("destroy", deployment, "--yes").returncode == 0
