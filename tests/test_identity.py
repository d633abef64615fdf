"""Deployment ids on the shared Docker daemon: two state folders may use one name; each
destroy removes only the containers carrying its own name and id. Names are unique per run
(the daemon is shared with other sessions) and only containers started here are removed."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest

from isaacctl.runtimes import container as job_command

V1 = Path(__file__).resolve().parent / "data" / "v1" / "deployment.json"


def docker(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def started():
    """Starts labelled sleeping containers; removes exactly those at the end."""
    ids: list[str] = []

    def start(image: str, labels: dict[str, str]) -> str:
        flags = [arg for key, value in labels.items() for arg in ("--label", f"{key}={value}")]
        result = docker("run", "--detach", *flags, "--entrypoint", "sleep", image, "600")
        assert result.returncode == 0, result.stderr
        ids.append(result.stdout.strip())
        return ids[-1]

    yield start
    if ids:
        docker("rm", "--force", *ids)


def running(container: str) -> bool:
    result = docker("inspect", "--format", "{{.State.Running}}", container)
    return result.returncode == 0 and result.stdout.strip() == "true"


@pytest.mark.docker
def test_destroy_leaves_another_state_folders_containers_of_the_same_name(cli, tmp_path, standin_image_local, started):
    name = f"id-{uuid.uuid4().hex[:8]}"
    other_state = tmp_path / "other-state"
    other_state.mkdir(mode=0o700)
    other = {"ISAACCTL_STATE_DIR": str(other_state)}
    cli("deploy", "local", "--name", name, "--host-dir", str(tmp_path / "a"), "--skip-bootstrap", check=True)
    cli("deploy", "local", "--name", name, "--host-dir", str(tmp_path / "b"), "--skip-bootstrap", env=other, check=True)
    mine = json.loads(cli("status", name, "--json").stdout)["data"]["id"]
    theirs = json.loads(cli("status", name, "--json", env=other).stdout)["data"]["id"]
    assert mine != theirs

    my_job = started(standin_image_local, {"isaacctl.deployment": name, "isaacctl.deployment-id": mine})
    their_job = started(standin_image_local, {"isaacctl.deployment": name, "isaacctl.deployment-id": theirs})
    legacy = started(standin_image_local, {"isaacctl.deployment": name})  # made before ids

    destroyed = cli("destroy", name, "--yes", "--json")
    assert destroyed.returncode == 0, destroyed.stderr
    removed = json.loads(destroyed.stdout)["data"]["removed_containers"]
    assert removed == [my_job]
    assert not running(my_job) and running(their_job) and running(legacy)
    assert cli("status", name, "--json", env=other).returncode == 0  # the other one is untouched


@pytest.mark.docker
def test_a_record_from_before_ids_also_claims_unlabelled_containers(cli, tmp_path, standin_image_local, started):
    name = f"old-{uuid.uuid4().hex[:8]}"
    folder = cli.state_dir / name
    folder.mkdir(mode=0o700)
    record = json.loads(V1.read_text())
    record["name"] = name
    (folder / "deployment.json").write_text(json.dumps(record))
    migrated_id = json.loads(cli("status", name, "--json").stdout)["data"]["id"]
    legacy = started(standin_image_local, {"isaacctl.deployment": name})
    labelled = started(standin_image_local, {"isaacctl.deployment": name, "isaacctl.deployment-id": migrated_id})
    foreign = started(standin_image_local, {"isaacctl.deployment": name, "isaacctl.deployment-id": "0badf00d"})

    destroyed = cli("destroy", name, "--yes", "--json")
    assert destroyed.returncode == 0, destroyed.stderr
    assert sorted(json.loads(destroyed.stdout)["data"]["removed_containers"]) == sorted([legacy, labelled])
    assert running(foreign) and not running(legacy) and not running(labelled)


def test_job_containers_carry_the_deployment_id():
    from isaacctl.services.jobs.spec import JobSpec

    spec = JobSpec.model_validate({"mode": "train", "task": "Isaac-Cartpole-Direct-v0"})
    argv = job_command.docker_run_argv(
        deployment="ws1",
        job_id="j1",
        spec=spec,
        image="img",
        host_root="/h",
        host_job_dir="/h/jobs/j1",
        use_gpus=False,
        command=["true"],
        deployment_id="3fa2c1d0",
    )
    labels = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--label"]
    assert "isaacctl.deployment=ws1" in labels and "isaacctl.deployment-id=3fa2c1d0" in labels
