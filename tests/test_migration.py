"""A record written by the previous release (schema 1, tests/data/v1/) works with this one:
it loads, shows in list and status, and deploy with the same flags resumes it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

V1 = Path(__file__).resolve().parent / "data" / "v1" / "deployment.json"


@pytest.fixture
def old(cli):
    folder = cli.state_dir / "old1"
    folder.mkdir(mode=0o700)
    shutil.copy(V1, folder / "deployment.json")
    return folder


def test_a_v1_record_loads_and_shows(cli, old):
    original = json.loads(V1.read_text())
    assert original["schema_version"] == 1 and "facts" in original  # the fixture is really v1

    listed = cli("list", "--json")
    assert listed.returncode == 0, listed.stderr
    row = json.loads(listed.stdout)["data"][0]
    assert row["name"] == "old1" and row["status"] == "ready" and row["gpu"] == "NVIDIA GeForce RTX 4090"
    assert "old1" in cli("list").stdout

    data = json.loads(cli("status", "old1", "--json").stdout)["data"]
    assert data["creator"] == "unknown (made before deployment ids)"
    assert data["nodes"][0]["role"] == "head"
    assert data["nodes"][0]["facts"]["cpus"] == 16 == data["facts"]["cpus"]
    assert data["bootstrap"]["smoke"]["status"] == "ok" == data["nodes"][0]["bootstrap"]["smoke"]["status"]
    # the id of a migrated record is the same on every load (containers are labelled with it)
    assert json.loads(cli("status", "old1", "--json").stdout)["data"]["id"] == data["id"]
    human = cli("status", "old1").stdout
    assert "NVIDIA GeForce RTX 4090" in human and "BOOTSTRAP STEP" in human
    assert (old / "deployment.json").read_text() == V1.read_text()  # reading writes nothing


def test_deploy_with_the_same_flags_resumes_a_v1_deployment(cli, old):
    before = json.loads(cli("status", "old1", "--json").stdout)["data"]
    result = cli("deploy", "local", "--name", "old1", "--skip-bootstrap", "--json")
    assert result.returncode == 0, result.stderr
    assert "other values" not in result.stderr
    after = json.loads(result.stdout)["data"]
    assert after["id"] == before["id"] and after["creator"] == before["creator"]
    # what bootstrap found on the v1 record stays with the node
    assert after["nodes"][0]["bootstrap"]["image-pull"]["status"] == "ok"
    assert after["nodes"][0]["facts"]["gpus"][0]["model"] == "NVIDIA GeForce RTX 4090"
    saved = json.loads((old / "deployment.json").read_text())
    assert saved["schema_version"] == 2 and "facts" not in saved and saved["nodes"][0]["facts"]["cpus"] == 16

    other = cli("deploy", "local", "--name", "old1", "--host-dir", "/elsewhere", "--skip-bootstrap")
    assert other.returncode == 2 and "--host-dir" in other.stderr
