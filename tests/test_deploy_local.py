"""`deploy local`: this machine as the workstation, with the real Docker engine."""

from __future__ import annotations

import json
import subprocess

import pytest


def docker(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)


def test_local_deploy_status_ssh_destroy(cli, tmp_path):
    result = cli(
        "deploy", "local", "--name", "desk", "--host-dir", str(tmp_path / "host"), "--json", "--skip-bootstrap"
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)["data"]
    assert record["provider"] == "local" and record["status"] == "ready"
    assert cli("ssh", "desk", "--", "sh", "-c", "exit 4").returncode == 4
    assert cli("ssh", "desk", "--", "echo", "here").stdout == "here\n"
    assert cli("destroy", "desk", "--yes").returncode == 0
    assert cli("list", "--json").stdout.count('"name"') == 0


def test_ten_concurrent_deploys_of_one_name_leave_one_valid_record(cli, tmp_path):
    import sys
    from subprocess import PIPE, Popen

    args = ["deploy", "local", "--name", "desk", "--host-dir", str(tmp_path / "host"), "--skip-bootstrap"]
    env = cli.full_env()
    processes = [Popen([sys.executable, "-m", "isaacctl", *args], env=env, stdout=PIPE, stderr=PIPE) for _ in range(10)]
    codes = [p.wait(timeout=120) for p in processes]
    assert codes == [0] * 10, [p.stderr.read() for p in processes]
    record = json.loads((cli.state_dir / "desk" / "deployment.json").read_text())
    assert record["status"] == "ready"
    events = [json.loads(line)["event"] for line in (cli.state_dir / "desk" / "events.jsonl").read_text().splitlines()]
    # The lock serialises them: every start is followed by its own end.
    assert events.count("deploy.start") == 10
    assert events == ["deploy.start", "resource.created", "deploy.done"] * 10


@pytest.mark.docker
def test_destroy_removes_only_the_deployments_containers(cli, tmp_path, docker_ready, standin_image_local):
    cli("deploy", "local", "--name", "desk", "--host-dir", str(tmp_path / "host"), "--skip-bootstrap", check=True)
    deployment_id = json.loads(cli("status", "desk", "--json").stdout)["data"]["id"]
    ours = docker(
        "run",
        "-d",
        "--label",
        "isaacctl.deployment=desk",
        "--label",
        f"isaacctl.deployment-id={deployment_id}",
        standin_image_local,
        "sleep",
        "300",
    ).stdout.strip()
    other = docker(
        "run", "-d", "--label", "isaacctl.deployment=other", standin_image_local, "sleep", "300"
    ).stdout.strip()
    try:
        result = cli("destroy", "desk", "--yes")
        assert result.returncode == 0, result.stderr
        assert "removed 1 container" in result.stderr
        assert docker("inspect", ours).returncode != 0
        assert docker("inspect", other).returncode == 0
    finally:
        docker("rm", "-f", ours, other)
