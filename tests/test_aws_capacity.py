"""Capacity and quota errors (injected in front of moto) and throttling."""

from __future__ import annotations

import json

import pytest

CAPACITY_MESSAGE = "We currently do not have sufficient g6e.2xlarge capacity in the Availability Zone you requested."


@pytest.fixture
def routed(aws, cli, sshd):
    sshd.write_ssh_config(cli.ssh_config, ["*"])
    return aws


def deploy(cli, *extra, check=False):
    return cli("deploy", "aws", "--name", "ws1", "--yes", "--skip-bootstrap", *extra, check=check)


def events(cli):
    path = cli.state_dir / "ws1" / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_insufficient_capacity_fails_over_to_the_next_zone(routed, cli):
    aws = routed
    aws.faults.inject(
        "RunInstances",
        "InsufficientInstanceCapacity",
        message=CAPACITY_MESSAGE,
        status=500,
        params={"Placement.AvailabilityZone": "us-east-1a"},
    )
    result = deploy(cli)
    assert result.returncode == 0, result.stderr
    record = json.loads(cli("status", "ws1", "--json").stdout)["data"]
    assert record["zone"] == "us-east-1b"
    runs = [c.params["Placement.AvailabilityZone"] for c in aws.faults.calls if c.action == "RunInstances"]
    assert runs == ["us-east-1a", "us-east-1b"]  # no botocore retries of a capacity error
    failed = [e for e in events(cli) if e["event"] == "resource.failed"]
    assert [(e["kind"], e["zone"], e["code"]) for e in failed] == [
        ("instance", "us-east-1a", "InsufficientInstanceCapacity")
    ]
    assert cli("destroy", "ws1", "--yes").returncode == 0
    assert aws.tagged("ws1") == []


def test_zone_given_that_does_not_offer_the_type_is_skipped(routed, cli):
    result = deploy(cli, "--zone", "us-east-1e")  # moto: g6e.2xlarge is sold in 1a-1d only
    assert result.returncode == 0, result.stderr
    assert "us-east-1e does not offer g6e.2xlarge" in result.stderr
    assert json.loads(cli("status", "ws1", "--json").stdout)["data"]["zone"] == "us-east-1a"


def test_zone_given_is_tried_first(routed, cli):
    assert deploy(cli, "--zone", "us-east-1c").returncode == 0
    assert json.loads(cli("status", "ws1", "--json").stdout)["data"]["zone"] == "us-east-1c"


def test_no_zone_with_capacity_stops_with_a_table_of_attempts(aws, cli):
    aws.faults.inject("RunInstances", "InsufficientInstanceCapacity", message=CAPACITY_MESSAGE, status=500)
    result = deploy(cli, "--zone", "us-east-1e")
    assert result.returncode == 1
    assert "capacity: no zone of us-east-1 could start a on-demand g6e.2xlarge now" in result.stderr
    table = [line for line in result.stderr.splitlines() if line.startswith("  | ")]
    assert table[0].split()[1:4] == ["ZONE", "OUTCOME", "WHY"]
    zones = [line.split()[1] for line in table[1:]]
    assert zones == ["us-east-1e", "us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]
    assert "does not offer" in table[1] and "InsufficientInstanceCapacity" in table[2]
    assert "--spot" in result.stderr  # the hint names the other ways out
    # what was made before the launch stays recorded and tagged; destroy removes it
    assert json.loads(cli("status", "ws1", "--json").stdout)["data"]["status"] == "failed"
    assert cli("destroy", "ws1", "--yes").returncode == 0
    assert aws.tagged("ws1") == []


@pytest.mark.parametrize(
    "spot, code, quota",
    [
        (False, "VcpuLimitExceeded", "L-DB2E81BA"),
        (True, "MaxSpotInstanceCountExceeded", "L-3819A6DF"),
    ],
)
def test_quota_errors_name_the_quota_and_how_to_raise_it(aws, cli, spot, code, quota):
    aws.faults.inject(
        "RunInstances", code, message="You have requested more vCPU capacity than your current vCPU limit of 0 allows"
    )
    result = deploy(cli, *(["--spot"] if spot else []))
    assert result.returncode == 1
    assert f"({quota})" in result.stderr and "needs 8 vCPUs" in result.stderr
    assert f"request-service-quota-increase --service-code ec2 --quota-code {quota}" in result.stderr
    assert len([c for c in aws.faults.calls if c.action == "RunInstances"]) == 1  # not tried elsewhere


def test_throttling_is_retried_with_backoff(routed, cli):
    aws = routed
    aws.faults.inject(
        "DescribeSecurityGroups", "RequestLimitExceeded", message="Request limit exceeded.", status=503, times=2
    )
    aws.faults.inject("RunInstances", "RequestLimitExceeded", message="Request limit exceeded.", status=503, times=1)
    result = deploy(cli)
    assert result.returncode == 0, result.stderr
    runs = [c for c in aws.faults.calls if c.action == "RunInstances"]
    assert len(runs) == 2 and runs[0].params["ClientToken"] == runs[1].params["ClientToken"]
    assert len([k for k, _ in aws.tagged("ws1") if k == "instance"]) == 1
