"""The Azure workstation's whole life against the fake Resource Manager: the full path with
bootstrap, a training job and fetch-logs, stop (a deallocation, never a guest shutdown) and
start, a VM shut down from inside, destroy (VMs, then the group) and its verification."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.azure_fixtures import (  # noqa: F401 - the fixtures this module uses
    azure_fixture,
    fake_azure_server_fixture,
    routed_azure_fixture,
    sshd_twin_fixture,
)
from harness.own_containers import deployment_ids, remove_containers


def deploy(cli, name="ws1", *extra, check=True):
    return cli("deploy", "azure", "--name", name, "--yes", "--skip-bootstrap", *extra, check=check, timeout=600)


def status(cli, name="ws1"):
    return json.loads(cli("status", name, "--json").stdout)["data"]


@pytest.mark.docker
def test_full_path_deploy_bootstrap_train_fetch_stop_start_destroy(routed_azure, cli, sshd, registry, standin_image):
    azure = routed_azure
    result = cli(
        "deploy",
        "azure",
        "--name",
        "ws1",
        "--yes",
        "--size",
        "Standard_NC8as_T4_v3",
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
    assert azure.vms("ws1")[0]["_power"] == "deallocated"
    started = cli("start", "ws1", timeout=600)
    assert started.returncode == 0, started.stderr
    assert status(cli)["status"] == "ready"

    ours = deployment_ids(cli.state_dir, ["ws1"])  # destroy deletes the record
    destroyed = cli("destroy", "ws1", "--yes", timeout=600)
    assert destroyed.returncode == 0, destroyed.stderr
    assert azure.tagged("ws1") == [] and azure.state.resources == {}
    assert not (cli.state_dir / "ws1").exists()
    # The "instance" is the loopback sshd on this machine's Docker: a terminated cloud machine
    # would take its containers with it, here the test removes them, only this deployment's (by id).
    remove_containers(ours)


def test_stop_deallocates_and_start_keeps_the_address_and_the_pin(routed_azure, cli):
    azure = routed_azure
    deploy(cli)
    before = status(cli)["nodes"][0]
    known_hosts = (cli.state_dir / "ws1" / "known_hosts").read_text()
    stopped = cli("stop", "ws1", "--yes", "--json", timeout=600)
    assert stopped.returncode == 0, stopped.stderr
    assert "vm.deallocate" in azure.ops() and "vm.powerOff" not in azure.ops()
    assert azure.vms("ws1")[0]["_power"] == "deallocated"
    live = json.loads(cli("status", "ws1", "--refresh", "--json").stdout)["data"]["live"]
    assert live == {"nodes": ["stopped"]}
    started = cli("start", "ws1", "--json", timeout=600)
    assert started.returncode == 0, started.stderr
    after = status(cli)["nodes"][0]
    assert after["public_ip"] == before["public_ip"]  # a Standard static IP outlives deallocation
    assert after["ssh"]["host_key_alias"] == before["ssh"]["host_key_alias"]
    assert (cli.state_dir / "ws1" / "known_hosts").read_text() == known_hosts
    assert cli("ssh", "ws1", "--", "true").returncode == 0


def test_a_vm_shut_down_from_inside_is_deallocated_by_stop(routed_azure, cli):
    azure = routed_azure
    deploy(cli)
    vm = azure.vms("ws1")[0]
    with azure.lock:
        vm["_power"] = "stopped"  # `sudo poweroff` on the VM: still allocated, still billed
    assert json.loads(cli("status", "ws1", "--refresh", "--json").stdout)["data"]["live"] == {"nodes": ["stopped"]}
    assert cli("stop", "ws1", "--yes", timeout=600).returncode == 0
    assert azure.vms("ws1")[0]["_power"] == "deallocated"


def test_destroy_deletes_the_vms_then_the_group(routed_azure, cli):
    azure = routed_azure
    deploy(cli, "pair", "--nodes", "2")
    azure.calls.clear()
    assert cli("destroy", "pair", "--yes", timeout=600).returncode == 0
    ops = [op for op in azure.ops() if op.endswith(".delete")]
    assert ops == ["vm.delete", "vm.delete", "group.delete"]
    assert azure.tagged("pair") == [] and azure.state.resources == {}


def test_destroy_keeps_the_state_when_something_tagged_remains_elsewhere(routed_azure, cli):
    azure = routed_azure
    deploy(cli)
    record = status(cli)
    tags = {"isaacctl-deployment": "ws1", "isaacctl-deployment-id": record["id"]}
    with azure.lock:  # moved by hand to a group of its own: the group's delete does not take it
        azure.state.groups["elsewhere"] = {
            "id": "/subscriptions/x/resourceGroups/elsewhere",
            "name": "elsewhere",
            "type": "Microsoft.Resources/resourceGroups",
            "location": "westus3",
            "tags": {},
            "properties": {},
        }
        rid = "/subscriptions/x/resourceGroups/elsewhere/providers/Microsoft.Network/publicIPAddresses/moved"
        azure.state.resources[rid.lower()] = {
            "id": rid,
            "name": "moved",
            "type": "Microsoft.Network/publicIPAddresses",
            "location": "westus3",
            "tags": tags,
            "properties": {},
            "_group": "elsewhere",
        }
    result = cli("destroy", "ws1", "--yes", timeout=600)
    assert result.returncode == 1
    assert "moved" in result.stderr and "remain" in result.stderr
    assert (cli.state_dir / "ws1").exists()


def test_gc_lists_a_deployment_whose_state_is_gone_and_deletes_it_by_id(routed_azure, cli, tmp_path):
    azure = routed_azure
    deploy(cli, "lost")
    lost_id = status(cli, "lost")["id"]
    listed = cli(
        "gc",
        "--provider",
        "azure",
        "--subscription",
        azure.env()["AZURE_SUBSCRIPTION_ID"],
        "--json",
        env={"ISAACCTL_STATE_DIR": str(tmp_path / "elsewhere")},
    )
    assert listed.returncode == 0, listed.stderr
    assert lost_id in listed.stdout and "westus3" in listed.stdout
