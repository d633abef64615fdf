"""The GCP workstation's whole life against the fake Compute Engine: the full path with
bootstrap, a job and its logs, stop/start (new address, same pin), a Spot VM preempted and
started again, and gc of a deployment whose state folder is gone."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytest_plugins = ["harness.gcp_fixtures"]  # fake_gce, gcp, gcp_routed, sshd_twin


def deploy(cli, name="ws1", *extra, check=True):
    return cli("deploy", "gcp", "--name", name, "--yes", "--skip-bootstrap", *extra, check=check)


def status(cli, name="ws1"):
    return json.loads(cli("status", name, "--json").stdout)["data"]


def nat_ip(instance):
    return next((c.get("natIP") for c in instance["networkInterfaces"][0]["accessConfigs"]), None)


@pytest.mark.docker
def test_full_path_deploy_bootstrap_train_fetch_stop_start_destroy(gcp_routed, cli, sshd, registry, standin_image):
    fake = gcp_routed
    result = cli(
        "deploy",
        "gcp",
        "--name",
        "ws1",
        "--yes",
        "--gpus",
        "none",
        "--image",
        standin_image,
        "--registry-user",
        registry.user,
        "--registry",
        registry.address,
        "--ngc-api-key-file",
        str(registry.password_file),
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    record = status(cli)
    assert record["status"] == "ready" and record["image"] == standin_image
    assert record["bootstrap"]["smoke"]["status"] == "ok"
    assert cli("ssh", "ws1", "--", "id", "-un").stdout.strip() == sshd.user

    train = cli("train", "--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", "3", "--follow", timeout=600)
    assert train.returncode == 0, train.stderr
    job = re.search(r"started ((train|evaluate)-\S+)", train.stderr).group(1)
    fetched = cli("fetch-logs", job, "--json")
    assert fetched.returncode == 0, fetched.stderr
    folder = Path(json.loads(fetched.stdout)["data"]["jobs"][0]["folder"])
    assert (folder / "metrics.csv").is_file()

    pins = (cli.state_dir / "ws1" / "known_hosts").read_text()
    before = status(cli)["nodes"][0]
    assert cli("stop", "ws1", "--yes").returncode == 0
    assert [i["status"] for i in fake.instances()] == ["TERMINATED"]
    started = cli("start", "ws1", "--json")
    assert started.returncode == 0, started.stderr
    after = status(cli)["nodes"][0]
    assert after["instance_id"] == before["instance_id"] and after["public_ip"] != before["public_ip"]
    assert after["public_ip"] == nat_ip(fake.instances()[0])
    assert (cli.state_dir / "ws1" / "known_hosts").read_text() == pins
    assert cli("ssh", "ws1", "--", "true").returncode == 0

    destroyed = cli("destroy", "ws1", "--yes", timeout=600)
    assert destroyed.returncode == 0, destroyed.stderr
    assert fake.labelled("ws1") == []
    assert not (cli.state_dir / "ws1").exists()
    leftovers = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=isaacctl.deployment-id={record['id']}"],
        capture_output=True,
        text=True,
    ).stdout.split()
    subprocess.run(["docker", "rm", "-f", *leftovers], capture_output=True)


def test_spot_preempted_shows_stopped_and_start_brings_it_back(gcp_routed, cli):
    fake = gcp_routed
    deploy(cli, "ws1", "--spot")
    instance = fake.instances()[0]
    assert instance["scheduling"]["provisioningModel"] == "SPOT"
    assert instance["scheduling"]["instanceTerminationAction"] == "STOP"
    assert status(cli)["market"] == "spot"
    fake.preempt(instance["name"])
    live = json.loads(cli("status", "ws1", "--refresh", "--json").stdout)["data"]
    assert live["live"]["nodes"] == ["stopped"] and live["status"] == "stopped"
    assert "taken back by the cloud" in live["last_error"]  # status says it was a preemption
    assert "taken back by the cloud" in cli("status", "ws1").stdout
    assert cli("start", "ws1").returncode == 0
    assert fake.instances()[0]["status"] == "RUNNING"
    assert cli("ssh", "ws1", "--", "true").returncode == 0
    assert cli("destroy", "ws1", "--yes").returncode == 0
    assert fake.labelled("ws1") == []


def test_start_without_capacity_says_the_disk_is_in_that_zone(gcp_routed, cli):
    from harness.fake_gcp import capacity

    fake = gcp_routed
    deploy(cli)
    assert cli("stop", "ws1", "--yes").returncode == 0
    zone = fake.instances()[0]["zone"].rsplit("/", 1)[-1]
    fake.inject(capacity(zone, action="compute.instances.start"))
    refused = cli("start", "ws1")
    assert refused.returncode == 1 and "ZONE_RESOURCE_POOL_EXHAUSTED" in refused.stderr
    assert "disk lives in that zone" in refused.stderr and "Traceback" not in refused.stderr
    fake.faults.clear()
    assert cli("start", "ws1").returncode == 0


def test_gc_lists_and_deletes_only_orphans(gcp_routed, cli):
    fake = gcp_routed
    deploy(cli, "lost")
    deploy(cli, "kept")
    shutil.rmtree(cli.state_dir / "lost")
    listed = cli("gc", "--provider", "gcp", "--project", "isaacctl-test", "--json")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)["data"]
    assert [c["name"] for c in data["candidates"]] == ["lost"]
    assert {r["kind"] for r in data["candidates"][0]["resources"]} >= {"instance", "disk", "firewall"}
    assert fake.labelled("lost")
    swept = cli("gc", "--provider", "gcp", "lost", "--yes")
    assert swept.returncode == 0, swept.stderr
    assert fake.labelled("lost") == []
    assert sorted(k for k, _ in fake.labelled("kept")) == ["disk", "firewall", "instance"]
