"""The AWS workstation's whole life against moto: the full path with bootstrap and a job,
stop/start, a deploy SIGKILLed after each resource then destroyed from tags, gc of orphans."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.own_containers import deployment_ids, remove_containers


@pytest.fixture
def routed(aws, cli, sshd):
    """Every SSH host name goes to the loopback sshd: moto's 54.x addresses are never dialled."""
    sshd.write_ssh_config(cli.ssh_config, ["*"])
    return aws


def deploy(cli, name="ws1", *extra, check=True):
    return cli("deploy", "aws", "--name", name, "--yes", "--skip-bootstrap", *extra, check=check)


def status(cli, name="ws1"):
    return json.loads(cli("status", name, "--json").stdout)["data"]


@pytest.mark.docker
def test_full_path_deploy_bootstrap_job_destroy(routed, cli, sshd, registry, standin_image):
    aws = routed
    result = cli(
        "deploy",
        "aws",
        "--name",
        "ws1",
        "--yes",
        "--instance-type",
        "g6e.2xlarge",
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

    # -- jobs on the AWS workstation --------------------------------------------------------
    train = cli("train", "--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", "3", "--follow", timeout=600)
    assert train.returncode == 0, train.stderr
    job = re.search(r"started ((train|evaluate)-\S+)", train.stderr).group(1)
    fetched = cli("fetch-logs", job, "--json")
    assert fetched.returncode == 0, fetched.stderr
    folder = Path(json.loads(fetched.stdout)["data"]["jobs"][0]["folder"])
    assert (folder / "metrics.csv").is_file()
    # ----------------------------------------------------------------------------------------

    ours = deployment_ids(cli.state_dir, ["ws1"])  # destroy deletes the record
    destroyed = cli("destroy", "ws1", "--yes", timeout=600)
    assert destroyed.returncode == 0, destroyed.stderr
    assert aws.tagged("ws1") == []
    assert not (cli.state_dir / "ws1").exists()
    # The "instance" is the loopback sshd on this machine's Docker: a terminated cloud machine
    # would take its containers with it, here the test removes them, only this deployment's (by id).
    remove_containers(ours)


def test_stop_then_start_keeps_the_pin_and_follows_the_new_address(routed, cli, sshd):
    aws = routed
    deploy(cli)
    before = status(cli)["nodes"][0]
    known_hosts = (cli.state_dir / "ws1" / "known_hosts").read_text()

    refused = cli("stop", "ws1")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    stopped = cli("stop", "ws1", "--yes", "--json")
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout)["data"]["status"] == "stopped"
    ec2 = aws.client()
    state = ec2.describe_instances(InstanceIds=[before["instance_id"]])["Reservations"][0]["Instances"][0]["State"]
    assert state["Name"] == "stopped"
    assert status(cli)["status"] == "stopped"
    live = json.loads(cli("status", "ws1", "--refresh", "--json").stdout)["data"]["live"]
    assert live == {"nodes": ["stopped"]}  # asked of EC2; no SSH attempt to a stopped machine

    started = cli("start", "ws1", "--json")
    assert started.returncode == 0, started.stderr
    result = json.loads(started.stdout)["data"]
    after = status(cli)["nodes"][0]
    described = ec2.describe_instances(InstanceIds=[before["instance_id"]])["Reservations"][0]["Instances"][0]
    assert after["instance_id"] == before["instance_id"]
    assert after["public_ip"] == described["PublicIpAddress"] == result["address"]
    assert after["public_ip"] != before["public_ip"]  # moto gives a new address, like EC2
    assert result["previous_address"] == before["public_ip"] and result["reachable"] is True
    assert after["ssh"]["host_key_alias"] == before["instance_id"]
    assert (cli.state_dir / "ws1" / "known_hosts").read_text() == known_hosts
    assert status(cli)["status"] == "ready"
    assert after["public_ip"] in (cli.state_dir / "ws1" / "info.txt").read_text()
    assert cli("ssh", "ws1", "--", "true").returncode == 0
    live = json.loads(cli("status", "ws1", "--refresh", "--json").stdout)["data"]["live"]
    assert live == {"nodes": ["running"], "reachable": True}


def test_stop_is_refused_for_providers_that_cannot(cli, sshd):
    sshd.write_ssh_config(cli.ssh_config, ["gpu-box"])
    cli(
        "deploy",
        "ssh",
        "--name",
        "box",
        "--host",
        "gpu-box",
        "--skip-bootstrap",
        "--host-dir",
        str(sshd.home / "isaacctl"),
        check=True,
    )
    result = cli("stop", "box", "--yes")
    assert result.returncode == 2 and "cannot be stopped" in result.stderr


# Resources in the order a deploy makes them; the ones after "instance" need no default VPC.
KILL_POINTS = [
    ("key-pair", True),
    ("security-group", True),
    ("instance", True),
    ("vpc", False),
    ("internet-gateway", False),
    ("subnet", False),
]


@pytest.mark.parametrize("kind, default_vpc", KILL_POINTS, ids=[k for k, _ in KILL_POINTS])
def test_deploy_killed_after_each_resource_then_destroy_leaves_nothing(routed, cli, kind, default_vpc):
    aws = routed
    if not default_vpc:
        aws.delete_default_vpc()
    aws.faults.inject("*", delay=0.3)  # room to kill between two calls
    events = cli.state_dir / "ws1" / "events.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "isaacctl", "deploy", "aws", "--name", "ws1", "--yes", "--skip-bootstrap"],
        env=cli.full_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            lines = events.read_text().splitlines() if events.exists() else []
            if any(
                json.loads(line).get("event") == "resource.created" and json.loads(line).get("kind") == kind
                for line in lines
                if line.strip()
            ):
                break
            time.sleep(0.005)
        assert process.poll() is None, f"deploy ended before making a {kind}: {process.stderr.read().decode()}"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        process.stderr.close()
    aws.faults.clear()
    assert any(k == kind for k, _ in aws.tagged("ws1")), aws.tagged("ws1")
    destroyed = cli("destroy", "ws1", "--yes")
    assert destroyed.returncode == 0, destroyed.stderr
    assert aws.tagged("ws1") == []
    assert not (cli.state_dir / "ws1").exists()


def test_a_killed_deploy_resumes_without_duplicates(routed, cli):
    aws = routed
    aws.faults.inject("*", delay=0.3)
    events = cli.state_dir / "ws1" / "events.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "isaacctl", "deploy", "aws", "--name", "ws1", "--yes", "--skip-bootstrap"],
        env=cli.full_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (
        events.exists()
        and '"security-group"' in events.read_text()
        and "resource.created" in events.read_text().split('"security-group"')[-1]
    ):
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
    aws.faults.clear()
    deploy(cli)
    kinds = sorted(k for k, _ in aws.tagged("ws1"))
    assert kinds == ["instance", "key-pair", "security-group", "volume"]
    assert status(cli)["status"] == "ready"


def test_gc_lists_and_deletes_only_orphans(routed, cli):
    aws = routed
    deploy(cli, "lost")
    deploy(cli, "kept")
    # the state folder of "lost" is gone (another machine, a deleted folder...)
    import shutil

    shutil.rmtree(cli.state_dir / "lost")
    listed = cli("gc", "--provider", "aws", "--region", "us-east-1", "--json")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)["data"]
    assert [c["name"] for c in data["candidates"]] == ["lost"] and [k.split()[0] for k in data["kept"]] == ["kept"]
    assert {r["kind"] for r in data["candidates"][0]["resources"]} >= {"instance", "security-group", "key-pair"}
    assert aws.tagged("lost")  # listing deletes nothing
    human = cli("gc", "--provider", "aws")
    assert "lost" in human.stdout and "isaacctl gc NAME|ID" in human.stderr

    swept = cli("gc", "--provider", "aws", "lost", "--yes")  # only what is named is deleted (tests/test_gc.py)
    assert swept.returncode == 0, swept.stderr
    assert aws.tagged("lost") == []
    assert sorted(k for k, _ in aws.tagged("kept")) == ["instance", "key-pair", "security-group", "volume"]
    assert not (cli.state_dir / "lost").exists()
    again = cli("gc", "--provider", "aws")
    assert "No orphaned resources" in again.stderr
