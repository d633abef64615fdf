"""The Alibaba workstation's whole life against the fake ECS/VPC server: the full path with
bootstrap and a job, stop in StopCharging mode and start (a new address, the same pin), a spot
instance reclaimed and started again, two nodes in a deployment set, gc of orphans."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from harness.own_containers import deployment_ids, remove_containers

pytest_plugins = ["harness.alibaba_fixtures"]  # the fake ECS/VPC server and SSH routing fixtures


def deploy(cli, name="ws1", *extra, check=True):
    return cli("deploy", "alibaba", "--name", name, "--yes", "--skip-bootstrap", *extra, check=check, timeout=600)


def status(cli, name="ws1"):
    return json.loads(cli("status", name, "--json", check=True).stdout)["data"]


@pytest.mark.docker
def test_full_path_deploy_bootstrap_job_stop_start_destroy(routed, cli, sshd, registry, standin_image):
    fake = routed
    result = cli(
        "deploy",
        "alibaba",
        "--name",
        "ws1",
        "--yes",
        "--instance-type",
        "ecs.g7.xlarge",
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

    stopped = cli("stop", "ws1", "--yes", timeout=600)
    assert stopped.returncode == 0, stopped.stderr
    started = cli("start", "ws1", timeout=600)
    assert started.returncode == 0, started.stderr
    assert status(cli)["status"] == "ready"

    ours = deployment_ids(cli.state_dir, ["ws1"])  # destroy deletes the record
    destroyed = cli("destroy", "ws1", "--yes", timeout=600)
    assert destroyed.returncode == 0, destroyed.stderr
    assert fake.live("ws1") == []
    assert not (cli.state_dir / "ws1").exists()
    # The "instance" is the loopback sshd on this machine's Docker: a terminated cloud machine
    # would take its containers with it, here the test removes them, only this deployment's (by id).
    remove_containers(ours)


def test_stop_charging_releases_the_address_start_gives_a_new_one_and_keeps_the_pin(routed, cli):
    fake = routed
    deploy(cli)
    before = status(cli)["nodes"][0]
    known_hosts = (cli.state_dir / "ws1" / "known_hosts").read_text()

    stopped = cli("stop", "ws1", "--yes", "--json", timeout=600)
    assert stopped.returncode == 0, stopped.stderr
    stop_call = next(c for c in fake.calls if c.action == "StopInstances")
    assert stop_call.params["StoppedMode"] == "StopCharging"
    assert "StopCharging" in stopped.stderr or "billed" in stopped.stderr
    (instance,) = fake.instances_of("ws1")
    assert instance["Status"] == "Stopped" and instance["PublicIpAddress"]["IpAddress"] == []
    live = json.loads(cli("status", "ws1", "--refresh", "--json").stdout)["data"]["live"]
    assert live == {"nodes": ["stopped"]}

    started = cli("start", "ws1", "--json", timeout=600)
    assert started.returncode == 0, started.stderr
    after = status(cli)["nodes"][0]
    (instance,) = fake.instances_of("ws1")
    assert after["instance_id"] == before["instance_id"]
    assert after["public_ip"] == instance["PublicIpAddress"]["IpAddress"][0] != before["public_ip"]
    assert after["ssh"]["host_key_alias"] == before["instance_id"]
    assert (cli.state_dir / "ws1" / "known_hosts").read_text() == known_hosts
    assert cli("ssh", "ws1", "--", "true").returncode == 0


def test_a_reclaimed_spot_instance_shows_stopped_and_starts_again(routed, cli):
    fake = routed
    deploy(cli, "ws1", "--spot")
    (instance,) = fake.instances_of("ws1")
    fake.reclaim(instance["InstanceId"])
    live = json.loads(cli("status", "ws1", "--refresh", "--json").stdout)["data"]["live"]
    assert live == {"nodes": ["stopped"]}
    started = cli("start", "ws1", timeout=600)
    assert started.returncode == 0, started.stderr
    assert status(cli)["status"] == "ready"
    # a redeploy finds the same instance: nothing new is made
    deploy(cli, "ws1", "--spot")
    assert [i["InstanceId"] for i in fake.instances_of("ws1")] == [instance["InstanceId"]]


def test_two_nodes_share_a_zone_a_deployment_set_and_a_rule_between_them(routed, cli):
    fake = routed
    deploy(cli, "ws1", "--nodes", "2")
    nodes = status(cli)["nodes"]
    instances = fake.instances_of("ws1")
    assert len(instances) == 2 and len({i["ZoneId"] for i in instances}) == 1
    (set_id,) = {i["DeploymentSetId"] for i in instances}
    assert set_id and fake.tags[set_id]["isaacctl-deployment"] == "ws1"
    group = fake.groups[instances[0]["SecurityGroupIds"]["SecurityGroupId"][0]]
    assert any(
        p["IpProtocol"] == "ALL" and p["SourceGroupId"] == group["SecurityGroupId"] for p in group["Permissions"]
    )
    assert fake.actions().count("RunInstances") == 1
    assert [n["instance_id"] for n in nodes] == [i["InstanceId"] for i in instances]
    destroyed = cli("destroy", "ws1", "--yes", timeout=600)
    assert destroyed.returncode == 0, destroyed.stderr
    assert fake.live("ws1") == [] and set_id not in fake.deployment_sets


def test_destroy_with_a_dependency_still_in_use_keeps_the_state_and_says_so(routed, cli):
    fake = routed
    deploy(cli)
    fake.inject("DeleteSecurityGroup", "InvalidSecurityGroupId.Malformed", status=400)
    failed = cli("destroy", "ws1", "--yes", timeout=600)
    assert failed.returncode == 1 and "security group" in failed.stderr
    assert (cli.state_dir / "ws1").exists()
    fake.faults.clear()
    again = cli("destroy", "ws1", "--yes", timeout=600)
    assert again.returncode == 0, again.stderr
    assert fake.live("ws1") == []


def test_gc_lists_and_deletes_only_orphans(routed, cli):
    fake = routed
    deploy(cli, "lost")
    deploy(cli, "kept")
    shutil.rmtree(cli.state_dir / "lost")
    listed = cli("gc", "--provider", "alibaba", "--region", "ap-southeast-1", "--json")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)["data"]
    assert [c["name"] for c in data["candidates"]] == ["lost"]
    assert {r["kind"] for r in data["candidates"][0]["resources"]} >= {"instance", "security-group", "key-pair"}
    assert fake.live("lost")
    swept = cli("gc", "--provider", "alibaba", "lost", "--yes", timeout=600)
    assert swept.returncode == 0, swept.stderr
    assert fake.live("lost") == []
    assert sorted(k for k, _ in fake.live("kept")) == ["instance", "key-pair", "security-group"]
