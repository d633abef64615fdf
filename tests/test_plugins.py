"""A third-party provider, installed as a real distribution with an entry point, gets a
deploy command and the whole lifecycle without any change to isaacctl."""

from __future__ import annotations

import json
import textwrap

import pytest


@pytest.fixture
def plugin_path(tmp_path):
    site = tmp_path / "site"
    package = site / "isaacctl_fakecloud"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        textwrap.dedent("""
        from pydantic import Field

        from isaacctl.providers.local import LocalOptions, LocalProvider


        class FakeOptions(LocalOptions):
            region: str = Field(min_length=1, description="where the machines live")
            size: int = Field(1, ge=1, le=8, description="how many GPUs")


        class FakeCloud(LocalProvider):
            name = "fakecloud"
            summary = "a test plugin living on this machine"
            options_model = FakeOptions
    """)
    )
    dist = site / "isaacctl_fakecloud-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: isaacctl-fakecloud\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[isaacctl.providers]\nfakecloud = isaacctl_fakecloud:FakeCloud\n")
    return str(site)


def test_a_plugin_provider_deploys_and_is_destroyed(cli, plugin_path, tmp_path):
    env = {"PYTHONPATH": plugin_path}
    listed = cli("deploy", "--help", env=env)
    assert "fakecloud" in listed.stdout
    helped = cli("deploy", "fakecloud", "--help", env=env)
    assert "--region" in helped.stdout and "how many gpus" in helped.stdout.lower() and "Example" in helped.stdout
    # the same shared flags as a built-in provider's deploy; no --yes: it makes no machines
    for flag in (
        "--nodes",
        "--host-dir",
        "--json",
        "--image",
        "--gpus",
        "--ngc-api-key-file",
        "--registry-user",
        "--allow-unsupported-gpu",
        "--allow-low-disk",
        "--reach-timeout",
        "--skip-bootstrap",
    ):
        assert flag in helped.stdout, flag
    assert "--yes" not in helped.stdout and "--dry-run" not in helped.stdout
    assert "isaacctl deploy fakecloud --name ws1 --region REGION" in helped.stdout
    made = cli(
        "deploy",
        "fakecloud",
        "--name",
        "p1",
        "--region",
        "moon-1",
        "--size",
        "2",
        "--host-dir",
        str(tmp_path / "host"),
        "--skip-bootstrap",
        "--json",
        env=env,
    )
    assert made.returncode == 0, made.stderr
    record = json.loads(made.stdout)["data"]
    assert record["provider"] == "fakecloud" and record["options"]["region"] == "moon-1"
    assert record["options"]["size"] == 2
    assert cli("ssh", "p1", "--", "true", env=env).returncode == 0
    assert cli("destroy", "p1", "--yes", env=env).returncode == 0


def test_a_plugin_provider_validates_its_options(cli, plugin_path, state_dir):
    env = {"PYTHONPATH": plugin_path}
    missing = cli("deploy", "fakecloud", "--name", "p1", "--skip-bootstrap", env=env)
    assert missing.returncode == 2 and "Missing option '--region'" in missing.stderr
    too_big = cli("deploy", "fakecloud", "--name", "p1", "--region", "r", "--size", "99", "--skip-bootstrap", env=env)
    assert too_big.returncode == 2 and "--size:" in too_big.stderr
    assert list(state_dir.iterdir()) == []


def test_without_the_plugin_the_command_does_not_exist(cli):
    result = cli("deploy", "fakecloud", "--name", "p1")
    assert result.returncode == 2 and "No such command" in result.stderr
