"""AWS deployments of several nodes, and deployments of one name from two state folders,
against moto on loopback. Each instance is routed to its own loopback sshd (different host
keys) by tests/harness/ssh_route.py, an ssh_config ProxyCommand that asks the moto harness
which machine an address is."""

from __future__ import annotations

import json
import time

import pytest

from harness.cli import Cli
from harness.moto_server import MYIP_ADDRESS
from harness.ssh_route import write_ssh_config
from harness.sshd import TwinSshServer


@pytest.fixture(scope="module")
def sshd_twin(sshd):
    server = TwinSshServer(sshd).start()
    yield server
    server.close()


@pytest.fixture
def routed(aws, cli, sshd):
    sshd.write_ssh_config(cli.ssh_config, ["*"])
    return aws


@pytest.fixture
def routed2(aws, cli, sshd, sshd_twin):
    """Instance 0 (first seen) -> sshd, instance 1 -> sshd_twin, whatever its address."""
    write_ssh_config(cli.ssh_config, aws.url, [sshd, sshd_twin])
    return aws


def deploy(cli, name="ws1", *extra, check=True):
    return cli("deploy", "aws", "--name", name, "--yes", "--skip-bootstrap", *extra, check=check)


def status(cli, name="ws1"):
    return json.loads(cli("status", name, "--json", check=True).stdout)["data"]


def events(cli, name="ws1"):
    path = cli.state_dir / name / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def described(aws, instance_id):
    return aws.client().describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def known_hosts(cli, name="ws1"):
    lines = (cli.state_dir / name / "known_hosts").read_text().splitlines()
    return {line.split()[0]: " ".join(line.split()[1:3]) for line in lines if line.strip()}


def key_of(public_line):
    return " ".join(public_line.split()[:2])


def test_two_nodes_one_zone_placement_group_rule_between_them_distinct_pins(routed2, cli, sshd, sshd_twin):
    aws = routed2
    plan = cli("deploy", "aws", "--name", "ws1", "--nodes", "2", "--dry-run", "--json", check=True)
    single = cli("deploy", "aws", "--name", "ws1", "--dry-run", "--json", check=True)
    planned, one = json.loads(plan.stdout)["data"], json.loads(single.stdout)["data"]
    assert planned["hourly_usd"] == pytest.approx(2 * one["hourly_usd"], abs=0.002)
    assert any(r["kind"] == "placement-group" for r in planned["resources"])
    assert any("2x g6e.2xlarge" in r["detail"] for r in planned["resources"] if r["kind"] == "instance")

    deploy(cli, "ws1", "--nodes", "2", "--ingress-cidr", "198.51.100.0/24")
    record = status(cli)
    ident = record["id"]
    nodes = record["nodes"]
    assert [(n["index"], n["role"]) for n in nodes] == [(0, "head"), (1, "worker")]
    ids = [n["instance_id"] for n in nodes]
    assert len(set(ids)) == 2 and len({n["private_ip"] for n in nodes}) == 2
    assert [n["ssh"]["host_key_alias"] for n in nodes] == ids
    launched = [described(aws, i) for i in ids]
    assert [i["AmiLaunchIndex"] for i in launched] == [0, 1]
    assert {i["Placement"]["AvailabilityZone"] for i in launched} == {record["zone"]}

    runs = [c.params for c in aws.faults.calls if c.action == "RunInstances"]
    assert len(runs) == 1 and runs[0]["MinCount"] == runs[0]["MaxCount"] == "2"
    assert runs[0]["Placement.GroupName"] == f"isaacctl-ws1-{ident}"
    assert ident in runs[0]["ClientToken"]
    groups = aws.client().describe_placement_groups(
        Filters=[{"Name": "tag:isaacctl:deployment-id", "Values": [ident]}]
    )["PlacementGroups"]
    assert [(g["GroupName"], g["Strategy"]) for g in groups] == [(f"isaacctl-ws1-{ident}", "cluster")]
    phases = [e["event"] for e in events(cli) if e.get("kind") == "placement-group"]
    assert phases == ["resource.creating", "resource.created"]

    group = aws.client().describe_security_groups(Filters=[{"Name": "tag:isaacctl:deployment-id", "Values": [ident]}])[
        "SecurityGroups"
    ][0]
    between = [p for p in group["IpPermissions"] if p["UserIdGroupPairs"]]
    assert [(p["IpProtocol"], [g["GroupId"] for g in p["UserIdGroupPairs"]]) for p in between] == [
        ("-1", [group["GroupId"]])
    ]
    assert [r["CidrIp"] for p in group["IpPermissions"] for r in p["IpRanges"]] == ["198.51.100.0/24"]

    # both nodes reached, each through its own sshd: two pins, two different keys
    pins = known_hosts(cli)
    assert set(pins) == set(ids)
    assert {pins[ids[0]], pins[ids[1]]} == {key_of(sshd.host_key_public), key_of(sshd_twin.host_key_public)}
    for index in (0, 1):
        assert cli("ssh", "ws1", "--node", str(index), "--", "id", "-un", check=True).stdout.strip() == sshd.user

    # stop and start: both nodes, pins kept, addresses followed
    before = {n["instance_id"]: n["public_ip"] for n in nodes}
    pinned = (cli.state_dir / "ws1" / "known_hosts").read_text()
    cli("stop", "ws1", "--yes", check=True)
    assert {described(aws, i)["State"]["Name"] for i in ids} == {"stopped"}
    assert json.loads(cli("status", "ws1", "--refresh", "--json").stdout)["data"]["live"]["nodes"] == ["stopped"] * 2
    cli("start", "ws1", check=True)
    after = status(cli)["nodes"]
    assert [n["instance_id"] for n in after] == ids
    for node in after:
        assert (
            node["public_ip"] == described(aws, node["instance_id"])["PublicIpAddress"] != before[node["instance_id"]]
        )
    assert (cli.state_dir / "ws1" / "known_hosts").read_text() == pinned
    assert cli("ssh", "ws1", "--node", "1", "--", "true").returncode == 0

    destroyed = cli("destroy", "ws1", "--yes")
    assert destroyed.returncode == 0, destroyed.stderr
    assert aws.tagged("ws1") == []


def test_a_resumed_deploy_launches_only_the_missing_node_in_the_same_zone(routed2, cli):
    aws = routed2
    deploy(cli, "ws1", "--nodes", "2")
    first = status(cli)
    head, worker = (n["instance_id"] for n in first["nodes"])
    aws.client().terminate_instances(InstanceIds=[worker])
    calls = len(aws.faults.calls)
    deploy(cli, "ws1", "--nodes", "2")
    runs = [c.params for c in aws.faults.calls[calls:] if c.action == "RunInstances"]
    assert len(runs) == 1 and runs[0]["MinCount"] == "1"
    assert runs[0]["Placement.AvailabilityZone"] == first["zone"]
    again = status(cli)
    assert again["nodes"][0]["instance_id"] == head and again["nodes"][1]["instance_id"] not in (head, worker)
    assert len(again["nodes"]) == 2
    assert cli("destroy", "ws1", "--yes").returncode == 0
    assert aws.tagged("ws1") == []


def test_capacity_for_all_nodes_moves_them_all_to_the_next_zone(routed2, cli):
    aws = routed2
    aws.faults.inject(
        "RunInstances", "InsufficientInstanceCapacity", status=500, params={"Placement.AvailabilityZone": "us-east-1a"}
    )
    deploy(cli, "ws1", "--nodes", "2")
    runs = [
        (c.params["Placement.AvailabilityZone"], c.params["MinCount"])
        for c in aws.faults.calls
        if c.action == "RunInstances"
    ]
    assert runs == [("us-east-1a", "2"), ("us-east-1b", "2")]
    assert {described(aws, n["instance_id"])["Placement"]["AvailabilityZone"] for n in status(cli)["nodes"]} == {
        "us-east-1b"
    }
    assert cli("destroy", "ws1", "--yes").returncode == 0


def test_a_refused_placement_group_falls_back_with_a_notice(routed2, cli):
    aws = routed2
    aws.faults.inject(
        "RunInstances",
        "InvalidParameterCombination",
        params={"Placement.GroupName": "*"},
        message="Cluster placement groups are not supported for this instance type",
    )
    deploy(cli, "ws1", "--nodes", "2")
    runs = [c.params for c in aws.faults.calls if c.action == "RunInstances"]
    assert len(runs) == 2 and "Placement.GroupName" in runs[0] and "Placement.GroupName" not in runs[1]
    assert runs[0]["ClientToken"] != runs[1]["ClientToken"]
    failed = [e for e in events(cli) if e["event"] == "resource.failed"]
    assert [e["code"] for e in failed] == ["InvalidParameterCombination"]
    assert len(status(cli)["nodes"]) == 2
    assert cli("destroy", "ws1", "--yes").returncode == 0
    assert aws.tagged("ws1") == []


def test_a_changed_myip_replaces_the_ssh_rule(routed, cli):
    aws = routed
    deploy(cli)
    ident = status(cli)["id"]
    ec2 = aws.client()

    def group():
        return ec2.describe_security_groups(Filters=[{"Name": "tag:isaacctl:deployment-id", "Values": [ident]}])[
            "SecurityGroups"
        ][0]

    # a rule the user added by hand is theirs: kept
    ec2.authorize_security_group_ingress(
        GroupId=group()["GroupId"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "192.0.2.0/24"}]}],
    )
    aws.faults.myip = "203.0.113.99"  # the user is somewhere else now
    deploy(cli)
    cidrs = sorted(r["CidrIp"] for p in group()["IpPermissions"] for r in p["IpRanges"])
    assert cidrs == ["192.0.2.0/24", "203.0.113.99/32"]
    assert f"{MYIP_ADDRESS}/32" not in cidrs
    revoked = [e for e in events(cli) if e["event"] == "resource.deleted" and e["kind"] == "security-group-rule"]
    assert len(revoked) == 1 and revoked[0]["id"].endswith(f"{MYIP_ADDRESS}/32")
    assert cli("destroy", "ws1", "--yes").returncode == 0


def _make_behind_the_services_back(aws, state_dir, name, monkeypatch):
    """A deployment of `name` in another state folder, made in this process straight through
    the provider (the deploy command would refuse the name, rightly): how two folders end up
    with one name when both deploy at the same moment."""
    from isaacctl.providers.registry import get_provider
    from isaacctl.records import DeploymentRecord
    from isaacctl.services.deployments import DeploymentService
    from isaacctl.state import StateStore

    for key, value in aws.env().items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    service = DeploymentService(StateStore(str(state_dir)))
    provider = get_provider("aws")
    options = provider.options_model.model_validate({"ingress_cidr": "198.51.100.7/32"})
    record = DeploymentRecord(name=name, provider="aws", options=options.model_dump(mode="json"))
    with service.store.lock(name, create=True):
        service.store.create(record)
        record.nodes = provider.create(service.context(record, options, provider.plan(name, options)))
        record.status = "ready"
        service.store.save(record)
    return record


def test_two_state_folders_one_name_never_touch_each_other(routed, cli, tmp_path, monkeypatch):
    aws = routed
    other_state = tmp_path / "state-b"
    other_state.mkdir(mode=0o700)
    other = Cli(other_state, cli.ssh_config)
    other.env.update({k: v for k, v in cli.env.items() if k != "ISAACCTL_STATE_DIR"})

    deploy(cli, "ws1", "--ingress-cidr", "198.51.100.7/32")
    a = status(cli)
    refused = deploy(other, "ws1", "--ingress-cidr", "198.51.100.7/32", check=False)
    assert refused.returncode == 2, refused.stderr
    assert a["id"] in refused.stderr and a["creator"] in refused.stderr
    assert aws.faults.actions().count("RunInstances") == 1

    b = _make_behind_the_services_back(aws, other_state, "ws1", monkeypatch)
    assert b.id != a["id"]
    a_resources = aws.tagged_for("ws1", a["id"])
    b_resources = aws.tagged_for("ws1", b.id)
    assert (
        {k for k, _ in a_resources}
        == {k for k, _ in b_resources}
        == {"instance", "key-pair", "security-group", "volume"}
    )
    assert not set(a_resources) & set(b_resources)
    a_group = aws.client().describe_security_groups(GroupIds=[g for k, g in a_resources if k == "security-group"])

    # list_tagged (through gc's listing) tells the two apart by id, creator and time
    from isaacctl.providers.aws import AwsProvider
    from isaacctl.providers.aws.options import AwsOptions

    listed = AwsProvider().list_tagged(AwsOptions(), "ws1")
    assert {r.deployment_id for r in listed} == {a["id"], b.id}
    assert {r.creator for r in listed if r.deployment_id == a["id"]} == {a["creator"]}
    assert all(r.created and r.region == "us-east-1" for r in listed)

    # B stops and is destroyed from its own folder: A's instance keeps running, all of A stays
    a_instance = a["nodes"][0]["instance_id"]
    assert other("stop", "ws1", "--yes").returncode == 0
    assert described(aws, b.nodes[0].instance_id)["State"]["Name"] == "stopped"
    assert described(aws, a_instance)["State"]["Name"] == "running"
    destroyed = other("destroy", "ws1", "--yes")
    assert destroyed.returncode == 0, destroyed.stderr
    assert aws.tagged_for("ws1", b.id) == []
    assert aws.tagged_for("ws1", a["id"]) == a_resources
    assert (
        aws.client().describe_security_groups(GroupIds=[g for k, g in a_resources if k == "security-group"])[
            "SecurityGroups"
        ][0]["IpPermissions"]
        == a_group["SecurityGroups"][0]["IpPermissions"]
    )
    assert described(aws, a_instance)["State"]["Name"] == "running"
    assert cli("ssh", "ws1", "--", "true").returncode == 0
    assert cli("destroy", "ws1", "--yes").returncode == 0
    assert aws.tagged("ws1") == []


def test_legacy_resources_without_an_id_are_matched_by_name(routed, cli):
    """A resource made before ids (name tag only) belongs to whichever deployment has the name."""
    aws = routed
    deploy(cli)
    ec2 = aws.client()
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    legacy = ec2.create_security_group(
        GroupName="isaacctl-ws1",
        Description="made by an older isaacctl",
        VpcId=vpc,
        TagSpecifications=[
            {"ResourceType": "security-group", "Tags": [{"Key": "isaacctl:deployment", "Value": "ws1"}]}
        ],
    )["GroupId"]
    time.sleep(0)  # nothing to wait for: moto is synchronous
    assert cli("destroy", "ws1", "--yes").returncode == 0
    assert legacy not in [g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]]
    assert aws.tagged("ws1") == []
