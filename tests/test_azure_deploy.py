"""`deploy azure` against the fake Azure Resource Manager: bad input refused before anything
is asked, the plan, what is sent to Azure (checked on the fake's side), credentials through
azure-identity's real chain, and `check azure`."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections import Counter

import pytest

from harness.azure_fixtures import (  # noqa: F401 - the fixtures this module uses
    azure_fixture,
    fake_azure_server_fixture,
    routed_azure_fixture,
    sshd_twin_fixture,
)
from harness.fake_azure import CLIENT_ID, SUBSCRIPTION, SUBSCRIPTION_NAME

VM = "Microsoft.Compute/virtualMachines"


def deploy(cli, name="ws1", *extra, check=True):
    return cli("deploy", "azure", "--name", name, "--yes", "--skip-bootstrap", *extra, check=check, timeout=600)


def status(cli, name="ws1"):
    return json.loads(cli("status", name, "--json").stdout)["data"]


def resource(fake, kind, name_part):
    with fake.lock:
        found = [r for r in fake.state.resources.values() if r["type"] == kind and name_part in r["name"]]
    assert found, (kind, name_part)
    return found[0]


@pytest.mark.parametrize(
    "flag, value, words",
    [
        ("--location", "mars-east1", "--location"),
        ("--size", "nv36", "--size"),
        ("--subscription", "not-a-guid", "--subscription"),
        ("--disk-gb", "20", "--disk-gb"),
        ("--ingress-cidr", "0/0", "--ingress-cidr"),
        ("--vm-image", "ubuntu", "--vm-image"),
        ("--nodes", "0", "--nodes"),
    ],
)
def test_bad_input_is_one_error_line_naming_the_flag_and_nothing_is_asked(azure, cli, flag, value, words):
    result = cli("deploy", "azure", "--name", "ws1", "--yes", flag, value)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert azure.calls == []  # not even a token was asked for
    assert not (cli.state_dir / "ws1").exists()


def test_a_size_not_sold_in_the_location_is_refused_naming_the_flag(azure, cli):
    result = cli("deploy", "azure", "--name", "ws1", "--yes", "--size", "Standard_NC96ads_A100_v4")
    assert result.returncode == 2 and "--size" in result.stderr, result.stderr
    assert azure.tagged("ws1") == []


def test_dry_run_plans_and_makes_nothing(azure, cli):
    result = cli("deploy", "azure", "--name", "ws1", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "Standard_NV36ads_A10_v5" in result.stdout and "203.0.113.20/32" in result.stdout
    assert "GRID" in result.stdout and "deallocates" in result.stdout
    assert "then eastus" in result.stdout  # the failover order is shown
    assert azure.tagged("ws1") == [] and not (cli.state_dir / "ws1").exists()
    assert {"vm.create", "group.create", "nsg.create"}.isdisjoint(azure.ops())


def test_check_names_the_identity_and_the_subscription(azure, cli):
    result = cli("check", "azure")
    assert result.returncode == 0, result.stderr
    out = result.stdout + result.stderr
    assert CLIENT_ID in out and SUBSCRIPTION in out and SUBSCRIPTION_NAME in out


def test_check_without_credentials_says_how_to_log_in(azure, cli):
    result = cli("check", "azure", env={"AZURE_CLIENT_SECRET": None, "AZURE_CLIENT_ID": None, "PATH": "/nonexistent"})
    assert result.returncode != 0
    assert "az login" in (result.stdout + result.stderr)
    assert "Traceback" not in result.stderr


def test_a_wrong_secret_is_refused_by_the_token_endpoint(azure, cli):
    result = cli("check", "azure", env={"AZURE_CLIENT_SECRET": "wrong", "PATH": "/nonexistent"})
    assert result.returncode != 0 and "credentials" in (result.stdout + result.stderr)


def test_no_subscription_anywhere_names_the_flag(azure, cli):
    result = cli("check", "azure", env={"AZURE_SUBSCRIPTION_ID": None})
    assert result.returncode != 0 and "--subscription" in (result.stdout + result.stderr)


def test_the_cli_default_subscription_is_read_from_the_azure_cli_profile(azure, cli, tmp_path):
    folder = tmp_path / "azure-cli"
    folder.mkdir()
    profile = {
        "subscriptions": [
            {"id": "11111111-2222-3333-4444-555555555555", "isDefault": False},
            {"id": SUBSCRIPTION, "isDefault": True, "name": SUBSCRIPTION_NAME},
        ]
    }
    (folder / "azureProfile.json").write_text("\ufeff" + json.dumps(profile), encoding="utf-8")
    result = cli("check", "azure", env={"AZURE_SUBSCRIPTION_ID": None, "AZURE_CONFIG_DIR": str(folder)})
    assert result.returncode == 0, result.stderr
    assert SUBSCRIPTION in result.stdout + result.stderr


def test_deploy_sends_what_azure_needs_and_tags_everything(routed_azure, cli):
    azure = routed_azure
    deploy(cli)
    record = status(cli)
    assert record["status"] == "ready" and record["region"] == "westus3"
    tagged = azure.tagged("ws1")
    kinds = {kind for kind, _ in tagged}
    assert kinds >= {
        "resourceGroup",
        VM,
        "Microsoft.Network/networkSecurityGroups",
        "Microsoft.Network/virtualNetworks",
        "Microsoft.Network/publicIPAddresses",
        "Microsoft.Network/networkInterfaces",
    }
    with azure.lock:
        for item in [*azure.state.groups.values(), *azure.state.resources.values()]:
            if item["type"] == "Microsoft.Compute/disks":
                continue  # Azure makes the OS disk itself, untagged: deleteOption takes care of it
            assert item["tags"]["isaacctl-deployment"] == "ws1", item["id"]
            assert item["tags"]["isaacctl-deployment-id"] == record["id"], item["id"]
            assert item["tags"]["isaacctl-creator"] and item["tags"]["isaacctl-created"]
    group = next(g for g in azure.state.groups.values() if g["tags"].get("isaacctl-deployment") == "ws1")
    assert group["name"] == f"isaacctl-ws1-{record['id']}"

    vm = resource(azure, VM, "ws1-0")["properties"]
    os_disk = vm["storageProfile"]["osDisk"]
    assert os_disk["deleteOption"] == "Delete" and os_disk["diskSizeGB"] == 256
    linux = vm["osProfile"]["linuxConfiguration"]
    assert linux["disablePasswordAuthentication"] is True and "adminPassword" not in vm["osProfile"]
    assert linux["ssh"]["publicKeys"][0]["keyData"].startswith("ssh-ed25519 ")
    user_data = base64.b64decode(vm["osProfile"]["customData"]).decode()
    assert "isaacctl user-data done" in user_data
    assert "priority" not in vm
    assert vm["networkProfile"]["networkInterfaces"][0]["properties"]["deleteOption"] == "Delete"

    rules = {
        r["name"]: r["properties"]
        for r in resource(azure, "Microsoft.Network/networkSecurityGroups", "nsg")["properties"]["securityRules"]
    }
    assert rules["isaacctl-ssh"]["sourceAddressPrefix"] == "203.0.113.20/32"
    assert rules["isaacctl-ssh"]["destinationPortRange"] == "22" and rules["isaacctl-ssh"]["access"] == "Allow"
    assert rules["isaacctl-between-nodes"]["sourceAddressPrefix"] == "10.20.0.0/24"
    ip = resource(azure, "Microsoft.Network/publicIPAddresses", "ws1-0")
    assert ip["sku"]["name"] == "Standard" and ip["properties"]["publicIPAllocationMethod"] == "Static"
    # A10 v5: the GRID driver comes from the NVIDIA GPU Driver extension, not from cloud-init
    extension = resource(azure, "Microsoft.Compute/virtualMachines/extensions", "Nvidia")
    assert extension["properties"]["type"] == "NvidiaGpuDriverLinux"
    assert "bash install_container_toolkit.sh" in user_data and "gpus='none'" in user_data
    node = record["nodes"][0]
    assert node["ssh"]["host_key_alias"] == resource(azure, VM, "ws1-0")["properties"]["vmId"]
    assert cli("ssh", "ws1", "--", "true").returncode == 0


def test_spot_asks_for_deallocation_on_eviction_and_no_price_cap(routed_azure, cli):
    azure = routed_azure
    deploy(cli, "ws1", "--spot", "--size", "Standard_NC8as_T4_v3")
    vm = resource(azure, VM, "ws1-0")["properties"]
    assert vm["priority"] == "Spot" and vm["evictionPolicy"] == "Deallocate"
    assert vm["billingProfile"]["maxPrice"] == -1
    user_data = base64.b64decode(vm["osProfile"]["customData"]).decode()
    assert "gpus='all'" in user_data  # the datacenter driver: cloud-init installs it
    assert not [r for r in azure.tagged("ws1") if r[0].endswith("/extensions")]
    assert status(cli)["market"] == "spot"


def test_a_changed_myip_replaces_the_ssh_rule(routed_azure, cli):
    azure = routed_azure
    deploy(cli)
    azure.myip = "198.51.100.7"
    deploy(cli)
    rules = {
        r["name"]: r["properties"]
        for r in resource(azure, "Microsoft.Network/networkSecurityGroups", "nsg")["properties"]["securityRules"]
    }
    assert rules["isaacctl-ssh"]["sourceAddressPrefix"] == "198.51.100.7/32"
    assert len([r for r in rules.values() if r.get("destinationPortRange") == "22"]) == 1


def test_help_does_not_import_the_azure_libraries():
    code = (
        "import sys; from isaacctl.cli import main\n"
        "sys.argv = ['isaacctl', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('azure')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr


def test_the_managed_identity_is_tried_only_on_azure(monkeypatch, tmp_path):
    from azure.identity import ManagedIdentityCredential

    from isaacctl.providers.azure import api

    monkeypatch.delenv("IDENTITY_ENDPOINT", raising=False)
    monkeypatch.delenv("MSI_ENDPOINT", raising=False)
    tag = tmp_path / "chassis_asset_tag"
    tag.write_text("Default string\n")
    monkeypatch.setattr(api, "ASSET_TAG_FILE", tag)
    kinds = [type(c) for c in api.make_credential().credentials]
    assert ManagedIdentityCredential not in kinds  # off Azure: the metadata address is never asked
    tag.write_text(api.AZURE_ASSET_TAG + "\n")
    assert ManagedIdentityCredential in [type(c) for c in api.make_credential().credentials]


def test_the_fake_refuses_what_azure_refuses_through_the_real_clients(azure, monkeypatch):
    """The fake is strict where Azure is: a Basic dynamic address made Standard, a VM without a
    key or password, a Spot VM without an eviction policy; the product reports Azure's code."""
    from isaacctl.errors import ProviderError
    from isaacctl.providers.azure.api import Azure
    from isaacctl.providers.azure.options import AzureOptions

    for key, value in azure.env().items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    client = Azure(AzureOptions())
    client.resources.resource_groups.create_or_update("g", {"location": "westus3"})
    with pytest.raises(ProviderError, match="StandardSkuPublicIPAddressesMustBeStatic"):
        client.wait(
            "making an address",
            client.call(
                "making an address",
                client.network.public_ip_addresses.begin_create_or_update,
                "g",
                "ip",
                {
                    "location": "westus3",
                    "sku": {"name": "Standard"},
                    "properties": {"publicIPAllocationMethod": "Dynamic"},
                },
            ),
        )
    vm = {
        "location": "westus3",
        "properties": {
            "hardwareProfile": {"vmSize": "Standard_NC8as_T4_v3"},
            "storageProfile": {
                "imageReference": {
                    "publisher": "Canonical",
                    "offer": "0001-com-ubuntu-server-jammy",
                    "sku": "22_04-lts-gen2",
                    "version": "latest",
                },
                "osDisk": {"createOption": "FromImage"},
            },
            "osProfile": {"computerName": "x", "adminUsername": "azureuser", "linuxConfiguration": {}},
            "networkProfile": {"networkInterfaces": []},
        },
    }
    with pytest.raises(ProviderError, match="InvalidParameter.*SSH key"):
        client.call("making a VM", client.compute.virtual_machines.begin_create_or_update, "g", "vm", vm)
    assert [c.op for c in azure.calls if c.op == "vm.create"] == ["vm.create"]
    assert "token" in azure.ops() and azure.tokens  # the bearer token came from the fake's endpoint


# Resource Manager requests of `deploy azure` for one node (operation polls included, token
# requests are Entra ID's), as the fake's request log has them (benchmarks/suites/
# deploy_calls.py shows every cloud's). A new request must be deliberate: change this pin
# with it, and say why in the commit.
DEPLOY_CALLS_1_NODE = {
    "extension.create": 1,
    "extension.get": 1,
    "group.create": 1,
    "group.get": 1,
    "groups.list": 1,
    "nic.create": 1,
    "nic.get": 1,
    "nsg.create": 1,
    "nsg.get": 1,
    "pip.create": 1,
    "pip.get": 1,
    "poll": 12,
    "resources.list": 1,
    "roleassignments.create": 1,
    "skus.list": 1,
    "subscription.get": 1,
    "vm.create": 1,
    "vm.get": 2,
    "vnet.create": 1,
    "vnet.get": 1,
}  # 32


def test_deploy_makes_exactly_the_pinned_resource_manager_requests(routed_azure, cli):
    fake = routed_azure
    fake.calls.clear()
    deploy(cli)
    calls = Counter(op for op in fake.ops() if op != "token")
    assert dict(sorted(calls.items())) == DEPLOY_CALLS_1_NODE, f"{sum(calls.values())} requests: {dict(calls)}"
