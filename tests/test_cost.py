"""`isaacctl cost` against a hand-computed event log: an on-demand instance started, stopped,
started again, replaced by a spot one, stopped by the autostop watchdog (at the host's own
time), then destroyed; two jobs sharing the machine. Prices from templates/aws/prices.yaml:
g6e.2xlarge $2.242/h on demand, $0.95/h spot; gp3 $0.08 per GiB-month, 256 GiB."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from isaacctl.records import DeploymentRecord, JobRecord
from isaacctl.services import cost
from isaacctl.state import StateStore

H = 3600.0
T0 = 1_790_000_000.0  # 2026-09-21
ON_DEMAND, SPOT = 2.242, 0.95
DISK_HOURLY = 256 * 0.08 / 730


def hours(h: float) -> float:
    return T0 + h * H


EVENTS = [
    {"ts": hours(0) - 30, "event": "deploy.start", "provider": "aws"},
    {
        "ts": hours(0) - 10,
        "event": "resource.creating",
        "kind": "instance",
        "id": "ws1-tok-a",
        "instance_type": "g6e.2xlarge",
        "market": "on-demand",
    },
    {
        "ts": hours(0),
        "event": "resource.created",
        "kind": "instance",
        "id": "i-a",
        "client_token": "ws1-tok-a",
        "market": "on-demand",
        "zone": "us-east-1a",
    },
    {"ts": hours(0) + 5, "event": "resource.created", "kind": "security-group", "id": "sg-1"},
    {"ts": hours(2), "event": "stop.done"},  # ran 2 h
    {"ts": hours(5), "event": "start.done"},  # stopped 3 h
    {"ts": hours(6), "event": "resource.deleted", "kind": "instance", "id": "i-a"},  # ran 1 h more
    {
        "ts": hours(6),
        "event": "resource.creating",
        "kind": "instance",
        "id": "ws1-tok-b",
        "instance_type": "g6e.2xlarge",
        "market": "spot",
    },
    {
        "ts": hours(6),
        "event": "resource.created",
        "kind": "instance",
        "id": "i-b",
        "client_token": "ws1-tok-b",
        "market": "spot",
    },
    # the watchdog stopped it at 10 h (host time); isaacctl noticed at 10.5 h and read the
    # host's log after that: the host's time counts
    {"ts": hours(10.5), "event": "autostop.noticed", "action": "stop"},
    {"ts": hours(10.6), "event": "autostop.acted", "at": hours(10), "action": "stop"},
    {"ts": hours(12), "event": "resource.deleted", "kind": "instance", "id": "i-b"},
    {"ts": hours(12), "event": "destroy.done"},
]


def record() -> DeploymentRecord:
    return DeploymentRecord(
        name="ws1",
        id="0a1b2c3d",
        provider="aws",
        region="us-east-1",
        instance_type="g6e.2xlarge",
        market="on-demand",
        options={"region": "us-east-1", "disk_gb": 256},
        created_at=datetime.fromtimestamp(hours(0) - 30, timezone.utc),
    )


def job(job_id: str, start: float, end: float) -> JobRecord:
    return JobRecord(
        id=job_id,
        deployment="ws1",
        mode="train",
        task="Isaac-Cartpole-Direct-v0",
        rl_library="rsl_rl",
        spec={},
        command=[],
        container="c",
        host_dir="/h",
        status="succeeded",
        created_at=datetime.fromtimestamp(hours(start) - 5, timezone.utc),
        started_at=datetime.fromtimestamp(hours(start), timezone.utc),
        finished_at=datetime.fromtimestamp(hours(end), timezone.utc),
    )


JOBS = [job("train-a", 0.5, 1.5), job("train-b", 1.0, 7.0)]


def test_pieces_and_totals_by_hand():
    result = cost.compute(record(), EVENTS, JOBS, now=hours(20))
    shown = [(p.instance, p.market, p.state, round(p.hours, 6)) for p in result.pieces]
    assert shown == [
        ("i-a", "on-demand", "running", 2.0),
        ("i-a", "on-demand", "stopped", 3.0),
        ("i-a", "on-demand", "running", 1.0),
        ("i-b", "spot", "running", 4.0),
        ("i-b", "spot", "stopped", 2.0),
    ]
    assert result.running_hours == pytest.approx(7.0)
    assert result.stopped_hours == pytest.approx(5.0)
    assert result.compute_usd == pytest.approx(3 * ON_DEMAND + 4 * SPOT)  # 10.526
    assert result.disk_usd == pytest.approx(12 * DISK_HOURLY)  # 0.33666
    assert result.disk_stopped_usd == pytest.approx(5 * DISK_HOURLY)
    assert result.total_usd == pytest.approx(10.526 + 12 * 256 * 0.08 / 730)
    assert result.hourly_usd is None  # destroyed: costs nothing now
    # train-a alone 0.5 h, shared 0.5 h; train-b shared 0.5 h, alone 0.5 h, nothing while stopped
    # (2-5 h), 1 h on demand, 1 h spot
    shares = {j.id: j.usd for j in result.jobs}
    assert shares["train-a"] == pytest.approx(0.5 * ON_DEMAND + 0.5 * ON_DEMAND / 2)
    assert shares["train-b"] == pytest.approx(0.5 * ON_DEMAND / 2 + 0.5 * ON_DEMAND + ON_DEMAND + SPOT)


def test_since_cuts_the_pieces():
    result = cost.compute(record(), EVENTS, JOBS, since=hours(5.5), now=hours(20))
    assert result.compute_usd == pytest.approx(0.5 * ON_DEMAND + 4 * SPOT)
    assert result.running_hours == pytest.approx(4.5)
    assert result.stopped_hours == pytest.approx(2.0)
    assert {j.id for j in result.jobs} == {"train-b"}


def test_a_live_deployment_costs_until_now_and_shows_its_hourly_price():
    live = [
        e
        for e in EVENTS
        if e["ts"] < hours(6.5)
        and e["event"] != "resource.deleted"
        or e.get("id") == "i-a"
        and e["event"] == "resource.deleted"
    ]
    result = cost.compute(record(), live, [], now=hours(8))
    assert result.pieces[-1].state == "running" and result.pieces[-1].market == "spot"
    assert result.hourly_usd == pytest.approx(SPOT)
    assert result.compute_usd == pytest.approx(3 * ON_DEMAND + 2 * SPOT)


def _state(tmp_path: Path) -> StateStore:
    store = StateStore(tmp_path / "state")
    rec = record()
    store.create(rec)
    for entry in EVENTS:
        with store.paths("ws1").events.open("a") as handle:
            handle.write(json.dumps(entry) + "\n")
    for each in JOBS:
        store.save_job(each)
    return store


def test_a_destroyed_deployment_is_still_counted(tmp_path):
    store = _state(tmp_path)
    cost.archive(store, store.load("ws1"))
    store.remove("ws1")
    report = cost.report(store)
    [item] = report.deployments
    assert item.destroyed and item.total_usd == pytest.approx(10.526 + 12 * DISK_HOURLY)
    assert report.by_provider == {"aws": pytest.approx(item.total_usd)}
    assert cost.report(store, "ws1").deployments[0].name == "ws1"


def test_cost_command_json_and_text(tmp_path, cli):
    store = _state(tmp_path)
    cli.env["ISAACCTL_STATE_DIR"] = str(store.root)
    result = cli("cost", "ws1", "--json", check=True)
    data = json.loads(result.stdout)["data"]
    [item] = data["deployments"]
    assert item["compute_usd"] == pytest.approx(10.526, abs=1e-4)
    assert item["running_hours"] == pytest.approx(7.0) and item["stopped_hours"] == pytest.approx(5.0)
    assert [p["market"] for p in item["pieces"] if p["state"] == "running"] == ["on-demand", "on-demand", "spot"]
    assert data["by_provider"]["aws"] == pytest.approx(10.526 + 12 * DISK_HOURLY, abs=1e-4)
    assert "templates/aws/prices.yaml" in item["price_source"]
    text = cli("cost", check=True)
    assert "$10.53" in text.stdout and "train-b" not in text.stdout
    assert "train-b" in cli("cost", "--jobs", check=True).stdout
    # list: the price per hour now (none: it is gone) and the cost so far
    listed = cli("list", check=True).stdout.splitlines()
    assert listed[0].split()[8:10] == ["$/H", "COST"] and listed[1].split()[8:10] == ["-", "10.86"]
    [row] = json.loads(cli("list", "--json", check=True).stdout)["data"]
    assert row["hourly_usd"] is None and row["cost_usd"] == pytest.approx(10.526 + 12 * DISK_HOURLY, abs=1e-4)


@pytest.mark.parametrize(
    "args, named",
    [
        (["--since", "yesterday"], "--since"),
        (["--since", "-7d"], "--since"),
        (["Bad_Name"], "name"),
        (["nosuch"], "deployment"),
    ],
)
def test_cost_bad_input(tmp_path, cli, args, named):
    cli.env["ISAACCTL_STATE_DIR"] = str(tmp_path / "state")
    result = cli("cost", *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) <= 2 and lines[0].startswith(f"error: {named}"), result.stderr


def test_other_providers_events_are_priced_too():
    """Azure logs its machines as `vm` with a `size`, GCP with a `machine_type` and an instance
    name; both are priced from their own catalogs."""
    azure = DeploymentRecord(
        name="az1",
        id="1a2b3c4d",
        provider="azure",
        region="westus3",
        instance_type="Standard_NC4as_T4_v3",
        market="spot",
        options={"disk_gb": 256},
    )
    events = [
        {
            "ts": hours(0),
            "event": "resource.creating",
            "kind": "vm",
            "id": "isaacctl-az1-0",
            "size": "Standard_NC8as_T4_v3",
            "market": "spot",
        },
        {"ts": hours(0), "event": "resource.created", "kind": "vm", "id": "/subscriptions/s/resourceGroups/g/vm0"},
        {"ts": hours(2), "event": "resource.deleted", "kind": "vm", "id": "/subscriptions/s/resourceGroups/g/vm0"},
    ]
    result = cost.compute(azure, events, [], now=hours(5))
    assert [(p.instance_type, p.market, p.hours) for p in result.pieces] == [("Standard_NC8as_T4_v3", "spot", 2.0)]
    assert result.compute_usd == pytest.approx(2 * 0.23)
    assert result.disk_usd == pytest.approx(2 * 256 * 0.15 / 730)

    gcp = DeploymentRecord(
        name="g1",
        id="2a2b3c4d",
        provider="gcp",
        instance_type="g2-standard-8",
        market="on-demand",
        options={"disk_gb": 200},
    )
    events = [
        {
            "ts": hours(0),
            "event": "resource.creating",
            "kind": "instance",
            "id": "g1-0",
            "machine_type": "g2-standard-8",
            "market": "on-demand",
        },
        {"ts": hours(0), "event": "resource.created", "kind": "instance", "id": "812345", "instance_name": "g1-0"},
        {"ts": hours(1.5), "event": "stop.done"},
    ]
    result = cost.compute(gcp, events, [], now=hours(3))
    assert result.compute_usd == pytest.approx(1.5 * 0.854)
    assert result.stopped_hours == pytest.approx(1.5)
