"""`gc` across state folders, against moto: it lists what belongs to no deployment of this
folder (with id, creator and age), deletes only what is named, by name and id, and asks first."""

from __future__ import annotations

import json

import pytest

from harness.cli import Cli


@pytest.fixture
def routed(aws, cli, sshd):
    """Every SSH host name goes to the loopback sshd: moto's addresses are never dialled."""
    sshd.write_ssh_config(cli.ssh_config, ["*"])
    return aws


@pytest.fixture
def other(routed, cli, tmp_path):
    """A second state folder (another machine, a colleague) against the same account."""
    state = tmp_path / "state-b"
    state.mkdir(mode=0o700)
    return Cli(state_dir=state, ssh_config=cli.ssh_config, env={**cli.env, "ISAACCTL_STATE_DIR": str(state)})


def deploy(cli, name, *extra):
    cli("deploy", "aws", "--name", name, "--yes", "--skip-bootstrap", *extra, check=True)
    return json.loads(cli("status", name, "--json").stdout)["data"]


def gc_json(cli, *args):
    result = cli("gc", "--provider", "aws", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["data"]


def one_error_line(result, *expected):
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    for text in expected:
        assert text in lines[0], lines[0]


EU = ("--region", "eu-west-1", "--instance-type", "g5.xlarge")


def test_another_folders_deployment_is_listed_with_its_owner_and_nothing_is_deleted(routed, cli, other):
    aws = routed
    theirs = deploy(cli, "ws1")
    before = sorted(aws.tagged("ws1"))

    data = gc_json(other)
    assert [c["name"] for c in data["candidates"]] == ["ws1"]
    found = data["candidates"][0]
    assert found["id"] == theirs["id"] and found["creator"] == theirs["creator"]
    assert found["region"] == "us-east-1" and found["provider"] == "aws"
    assert found["age_seconds"] is not None and 0 <= found["age_seconds"] < 600
    assert found["name_used_here"] is False and found["deleted"] is None
    assert {r["kind"] for r in found["resources"]} >= {"instance", "security-group", "key-pair"}
    assert {"provider": "aws", "scope": {"region": "us-east-1"}} in data["looked_in"]

    human = other("gc")
    assert human.returncode == 0, human.stderr
    assert f"ws1  id {theirs['id']}  aws us-east-1" in human.stdout and theirs["creator"] in human.stdout
    assert "Nothing deleted" in human.stderr
    alone = other("gc", "--yes")  # not a selection: lists, deletes nothing
    assert alone.returncode == 0 and "--yes alone deletes nothing" in alone.stderr
    # named, but neither a terminal to ask on nor --yes: refused, naming --yes
    refused = other("gc", theirs["id"])
    one_error_line(refused, "--yes")
    assert sorted(aws.tagged("ws1")) == before
    # from its own folder it is not a candidate
    assert gc_json(cli)["candidates"] == []


def test_gc_by_id_deletes_only_that_deployment_not_another_of_the_same_name(routed, cli, other):
    aws = routed
    theirs = deploy(cli, "ws1")
    also_theirs = deploy(cli, "ws2")
    mine = deploy(other, "ws1", *EU)  # the same name, from the other folder, in another region

    data = gc_json(other)
    # looked in the default region and in the one this folder's deployment uses
    assert {"provider": "aws", "scope": {"region": "eu-west-1"}} in data["looked_in"]
    listed = {(c["name"], c["id"]): c for c in data["candidates"]}
    assert set(listed) == {("ws1", theirs["id"]), ("ws2", also_theirs["id"])}
    assert listed["ws1", theirs["id"]]["name_used_here"] is True
    assert "name also used here, other id" in other("gc").stdout

    # the name alone is this folder's own deployment: the other one must be named by id
    ambiguous = other("gc", "ws1", "--yes")
    one_error_line(ambiguous, "ws1", theirs["id"])
    assert aws.tagged_for("ws1", theirs["id"])

    swept = other("gc", theirs["id"], "--yes", "--json")
    assert swept.returncode == 0, swept.stderr
    result = {(c["name"], c["id"]): c for c in json.loads(swept.stdout)["data"]["candidates"]}
    deleted = result["ws1", theirs["id"]]
    assert deleted["selected"] and deleted["error"] is None
    assert any(item.startswith("instance ") for item in deleted["deleted"])
    assert result["ws2", also_theirs["id"]]["deleted"] is None
    assert aws.tagged_for("ws1", theirs["id"]) == []
    assert aws.tagged_for("ws2", also_theirs["id"])  # not named: untouched
    assert aws.tagged_for("ws1", mine["id"], region="eu-west-1")  # this folder's ws1: untouched
    assert not (other.state_dir / "ws2").exists() and (cli.state_dir / "ws1").exists()


def test_gc_all_deletes_every_candidate_and_keeps_this_folders_deployments(routed, cli, other):
    aws = routed
    deploy(cli, "ws1")
    deploy(cli, "ws2")
    mine = deploy(other, "mine")

    swept = other("gc", "--all", "--yes")
    assert swept.returncode == 0, swept.stderr
    assert "ws1 (" in swept.stderr and "ws2 (" in swept.stderr and "Will delete" in swept.stderr
    assert aws.tagged("ws1") == [] and aws.tagged("ws2") == []
    assert {k for k, _ in aws.tagged_for("mine", mine["id"])} >= {"instance", "key-pair", "security-group"}
    again = other("gc")
    assert again.returncode == 0 and "No orphaned resources" in again.stderr


def test_a_selector_that_matches_nothing_is_exit_2_and_deletes_nothing(routed, cli, other):
    aws = routed
    deploy(cli, "ws1")
    before = sorted(aws.tagged("ws1"))
    for selector in ("nope", "0badc0de"):
        one_error_line(other("gc", "ws1", selector, "--yes"), selector)
    assert sorted(aws.tagged("ws1")) == before


def test_gc_looks_in_the_regions_given(routed, cli, other):
    aws = routed
    theirs = deploy(cli, "far", *EU)
    assert gc_json(other)["candidates"] == []  # not in the default region, nor in one used here

    data = gc_json(other, "--region", "eu-west-1")
    assert [(c["name"], c["id"], c["region"]) for c in data["candidates"]] == [("far", theirs["id"], "eu-west-1")]
    assert [p["scope"] for p in data["looked_in"]] == [{"region": "eu-west-1"}]
    both = gc_json(other, "--region", "us-east-1", "--region", "eu-west-1")
    assert [p["scope"]["region"] for p in both["looked_in"]] == ["us-east-1", "eu-west-1"]

    swept = other("gc", "--region", "eu-west-1", "far", "--yes")
    assert swept.returncode == 0, swept.stderr
    assert aws.tagged("far", region="eu-west-1") == []


def test_resources_without_an_id_are_kept_when_their_name_is_used_here(routed, cli, other):
    """Made before deployment ids: they can only be told apart by name."""
    aws = routed
    deploy(other, "mine")  # first: deploy refuses a name that resources without an id carry
    ec2 = aws.client()
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    groups = {}
    for name in ("old", "mine"):
        groups[name] = ec2.create_security_group(
            GroupName=f"legacy-{name}",
            Description="made by an old isaacctl",
            VpcId=vpc,
            TagSpecifications=[
                {"ResourceType": "security-group", "Tags": [{"Key": "isaacctl:deployment", "Value": name}]}
            ],
        )["GroupId"]

    data = gc_json(other)
    assert [(c["name"], c["id"]) for c in data["candidates"]] == [("old", None)]
    assert data["candidates"][0]["resources"] == [{"kind": "security-group", "id": groups["old"], "state": None}]
    assert any(kept.startswith("mine (no id") for kept in data["kept"])

    swept = other("gc", "old", "--yes")
    assert swept.returncode == 0, swept.stderr
    assert aws.tagged("old") == []
    assert ("security-group", groups["mine"]) in aws.tagged("mine")


@pytest.mark.parametrize(
    "args, expected",
    [
        (["gc", "--region", "mars-north-1"], "--region:"),
        (["gc", "--provider", "ssh"], "--provider:"),
        (["gc", "--project", "p"], "--project"),
        (["check", "aws", "--region", "mars-north-1"], "--region:"),
    ],
)
def test_bad_scope_flags_are_exit_2(cli, state_dir, args, expected):
    one_error_line(cli(*args), expected)


def _gc_on_a_terminal(cli, answer, *args):
    """gc with a terminal on stdin (a pty), answering its question with `answer`."""
    import os
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "isaacctl", "gc", *args],
            env=cli.full_env(),
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.write(leader, (answer + "\n").encode())
        out, err = process.communicate(timeout=300)
    finally:
        os.close(leader)
        os.close(follower)
    return process.returncode, out, err


def test_gc_asks_before_deleting_and_no_keeps_everything(routed, cli, other):
    aws = routed
    theirs = deploy(cli, "ws1")
    code, _, err = _gc_on_a_terminal(other, "n", theirs["id"])
    assert code == 1 and "Will delete" in err and "[y/N]" in err
    assert aws.tagged_for("ws1", theirs["id"])
    code, _, err = _gc_on_a_terminal(other, "y", theirs["id"])
    assert code == 0, err
    assert aws.tagged_for("ws1", theirs["id"]) == []
