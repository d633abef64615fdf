"""Capacity, quota and eviction on Azure, injected into the fake Resource Manager: a size not
available in a zone (refused at once), an allocation that fails when its operation ends (the
VM stays, Failed, and must go), failover zone by zone then location by location with the table
of attempts, a cores quota named, a Spot VM evicted and started again."""

from __future__ import annotations

import json

from harness.azure_fixtures import (  # noqa: F401 - the fixtures this module uses
    azure_fixture,
    fake_azure_server_fixture,
    routed_azure_fixture,
    sshd_twin_fixture,
)

VM = "Microsoft.Compute/virtualMachines"
PIP = "Microsoft.Network/publicIPAddresses"


def deploy(cli, name="ws1", *extra, check=True):
    return cli("deploy", "azure", "--name", name, "--yes", "--skip-bootstrap", *extra, check=check, timeout=600)


def status(cli, name="ws1"):
    return json.loads(cli("status", name, "--json").stdout)["data"]


def events(cli, name="ws1"):
    return [json.loads(line) for line in (cli.state_dir / name / "events.jsonl").read_text().splitlines()]


def test_a_size_not_available_in_a_zone_moves_on_to_the_next_zone(routed_azure, cli):
    azure = routed_azure
    azure.inject(
        "vm.create",
        "SkuNotAvailable",
        location="westus3",
        zone="1",
        message=(
            "The requested VM size Standard_NV36ads_A10_v5 is currently not available in location 'westus3' zone '1'."
        ),
    )
    deploy(cli)
    vms = azure.vms("ws1")
    assert [vm.get("zones") for vm in vms] == [["2"]]
    record = status(cli)
    assert record["zone"] == "2" and record["region"] == "westus3"
    failed = [e for e in events(cli) if e["event"] == "resource.failed"]
    assert [(e["kind"], e.get("code")) for e in failed] == [("vm", "SkuNotAvailable")]


def test_allocation_failing_late_in_every_zone_moves_to_the_next_location(routed_azure, cli):
    azure = routed_azure
    azure.inject(
        "vm.create",
        "ZonalAllocationFailed",
        location="westus3",
        asynchronous=True,
        message=("Allocation failed. We do not have sufficient capacity for the requested VM size in this zone."),
    )
    deploy(cli)
    vms = azure.vms("ws1")
    assert [(vm["location"], vm["properties"]["provisioningState"]) for vm in vms] == [("eastus", "Succeeded")]
    # nothing is left in westus3: the failed VMs were deleted, its addresses and network released
    with azure.lock:
        left = [r for r in azure.state.resources.values() if r["location"] == "westus3"]
    assert left == []
    assert status(cli)["region"] == "eastus"
    assert cli("ssh", "ws1", "--", "true").returncode == 0
    assert cli("destroy", "ws1", "--yes", timeout=600).returncode == 0
    assert azure.tagged("ws1") == []


def test_no_room_anywhere_shows_every_attempt_and_destroy_leaves_nothing(routed_azure, cli):
    azure = routed_azure
    azure.inject("vm.create", "AllocationFailed", asynchronous=True)
    result = deploy(cli, "ws1", "--size", "Standard_NC24ads_A100_v4", check=False)
    assert result.returncode == 1, result.stderr
    assert "capacity:" in result.stderr and "LOCATION/ZONE" in result.stderr
    for place in ("eastus/1", "eastus/3", "southcentralus/2", "westus3/1", "westeurope/3"):
        assert place in result.stderr
    assert result.stderr.count("AllocationFailed") >= 12
    assert not [vm for vm in azure.vms("ws1")]
    destroyed = cli("destroy", "ws1", "--yes", timeout=600)
    assert destroyed.returncode == 0, destroyed.stderr
    assert azure.tagged("ws1") == []


def test_a_cores_quota_is_named_with_how_to_raise_it_and_not_retried(routed_azure, cli):
    azure = routed_azure
    azure.inject(
        "vm.create",
        "OperationNotAllowed",
        message=(
            "Operation could not be completed as it results in exceeding approved standardNVADSA10v5Family Cores "
            "quota. Additional details - Deployment Model: Resource Manager, Location: westus3, Current Limit: 0, "
            "Current Usage: 0, Additional Required: 36, (Minimum) New Limit Required: 36."
        ),
    )
    result = deploy(cli, check=False)
    assert result.returncode == 1
    assert "quota:" in result.stderr and "standardNVADSA10v5Family" in result.stderr
    assert "36 vCPUs" in result.stderr and "Usage + quotas" in result.stderr
    assert azure.ops().count("vm.create") == 1


def test_two_nodes_share_a_zone_and_a_zone_short_of_one_moves_both(routed_azure, cli):
    azure = routed_azure
    azure.inject("vm.create", "ZonalAllocationFailed", location="westus3", zone="1", asynchronous=True, times=1)
    deploy(cli, "pair", "--nodes", "2")
    vms = azure.vms("pair")
    assert [vm.get("zones") for vm in vms] == [["2"], ["2"]]
    placement = {vm["properties"]["proximityPlacementGroup"]["id"] for vm in vms}
    assert len(placement) == 1
    nodes = status(cli, "pair")["nodes"]
    assert [(n["index"], n["role"]) for n in nodes] == [(0, "head"), (1, "worker")]
    assert cli("destroy", "pair", "--yes", timeout=600).returncode == 0
    assert azure.tagged("pair") == []


def test_an_evicted_spot_vm_shows_stopped_and_starts_again(routed_azure, cli):
    azure = routed_azure
    deploy(cli, "ws1", "--spot")
    vm = azure.vms("ws1")[0]
    azure.evict(vm["id"])
    live = json.loads(cli("status", "ws1", "--refresh", "--json").stdout)["data"]
    assert live["live"] == {"nodes": ["stopped"]}
    assert status(cli)["status"] == "stopped"
    assert "taken back by the cloud" in status(cli)["last_error"]  # the eviction is said
    started = cli("start", "ws1", "--json", timeout=600)
    assert started.returncode == 0, started.stderr
    assert status(cli)["status"] == "ready"
    assert azure.vms("ws1")[0]["_power"] == "running"
