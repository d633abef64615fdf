"""Capacity and quota on GCP: a zone without room sends the nodes to the region's next zone
(nothing left behind in the zone that refused), every zone full ends with the table of
attempts, a quota error names the quota and how to raise it, rate limits are waited out."""

from __future__ import annotations

import json

from harness.fake_gcp import Fault, capacity, quota

pytest_plugins = ["harness.gcp_fixtures"]  # fake_gce, gcp, gcp_routed, sshd_twin


def deploy(cli, name="ws1", *extra):
    return cli("deploy", "gcp", "--name", name, "--yes", "--skip-bootstrap", *extra, timeout=300)


def status(cli, name="ws1"):
    return json.loads(cli("status", name, "--json").stdout)["data"]


def test_a_full_zone_fails_over_to_the_next(gcp_routed, cli):
    fake = gcp_routed
    fake.inject(capacity("us-central1-a"))
    result = deploy(cli)
    assert result.returncode == 0, result.stderr
    assert status(cli)["zone"] == "us-central1-b"
    assert [i["zone"].rsplit("/", 1)[-1] for i in fake.instances()] == ["us-central1-b"]
    events = (cli.state_dir / "ws1" / "events.jsonl").read_text()
    assert '"resource.failed"' in events and "ZONE_RESOURCE_POOL_EXHAUSTED" in events


def test_every_zone_full_ends_with_the_attempts_and_nothing_left(gcp_routed, cli):
    fake = gcp_routed
    for zone in ("us-central1-a", "us-central1-b", "us-central1-c"):
        fake.inject(capacity(zone))
    result = deploy(cli, "ws1", "--zone", "us-central1-f")
    assert result.returncode == 1
    assert "capacity: no zone of us-central1" in result.stderr
    for zone in ("us-central1-a", "us-central1-b", "us-central1-c"):
        assert zone in result.stderr
    assert "us-central1-f  skipped" in result.stderr  # the zone asked for does not sell g2
    assert [k for k, _ in fake.labelled("ws1")] == ["firewall"]
    assert cli("destroy", "ws1", "--yes").returncode == 0
    assert fake.labelled("ws1") == []


def test_two_nodes_move_together_when_the_second_has_no_room(gcp_routed, cli):
    fake = gcp_routed
    # the first insert in zone a succeeds, the second is refused: the first must go
    fault = fake.inject(capacity("us-central1-a"))
    fault.hits = -1  # let one through
    fault.times = 0
    result = deploy(cli, "pair", "--nodes", "2")
    assert result.returncode == 0, result.stderr
    zones = {i["zone"].rsplit("/", 1)[-1] for i in fake.instances()}
    assert zones == {"us-central1-b"} and len(fake.instances()) == 2
    assert all(i["resourcePolicies"] for i in fake.instances())
    events = (cli.state_dir / "pair" / "events.jsonl").read_text()
    assert '"resource.deleted"' in events  # the node made in zone a was removed before moving on
    assert cli("destroy", "pair", "--yes").returncode == 0
    assert fake.labelled("pair") == []


def test_a_quota_error_names_the_quota_and_how_to_raise_it(gcp_routed, cli):
    fake = gcp_routed
    fake.inject(quota("GPUS_ALL_REGIONS"))
    result = deploy(cli)
    assert result.returncode == 1
    assert "GPUS_ALL_REGIONS" in result.stderr and "iam-admin/quotas" in result.stderr
    assert "Traceback" not in result.stderr
    assert not [k for k, _ in fake.labelled("ws1") if k == "instance"]
    assert cli("destroy", "ws1", "--yes").returncode == 0


def test_rate_limits_are_waited_out(gcp_routed, cli):
    fake = gcp_routed
    fake.inject(
        Fault(
            "compute.firewalls.insert",
            kind="http",
            status=403,
            reason="rateLimitExceeded",
            message="Rate Limit Exceeded",
            times=2,
        )
    )
    result = deploy(cli)
    assert result.returncode == 0, result.stderr
    assert fake.actions().count("compute.firewalls.insert") == 3
