"""The provider conformance suite (tests/harness/conformance.py) for `azure`, against the fake
Azure Resource Manager on loopback (tests/harness/fake_azure.py) driven by the real azure-mgmt
clients and azure-identity's credential chain. Every VM is routed to its own loopback sshd by
tests/harness/ssh_route.py, so two nodes show two host keys and the fake's addresses are never
dialled."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from harness.azure_fixtures import (  # noqa: F401 - the fixtures this module uses
    azure_fixture,
    fake_azure_server_fixture,
    routed_azure_fixture,
    sshd_twin_fixture,
)
from harness.cli import Cli
from harness.conformance import *  # noqa: F403 - the shared checks become this module's tests
from harness.conformance import Target

# the fake's resource types as the kinds the provider logs in events.jsonl
KINDS = {
    "resourceGroup": "resource-group",
    "Microsoft.Compute/virtualMachines": "vm",
    "Microsoft.Compute/virtualMachines/extensions": "vm-extension",
    "Microsoft.Compute/proximityPlacementGroups": "proximity-placement-group",
    "Microsoft.Network/networkSecurityGroups": "network-security-group",
    "Microsoft.Network/virtualNetworks": "virtual-network",
    "Microsoft.Network/publicIPAddresses": "public-ip",
    "Microsoft.Network/networkInterfaces": "network-interface",
}


class AzureTarget(Target):
    provider = "azure"
    owns_machines = multi_node = stop_start = True
    # in the order a deploy makes them
    kill_kinds = ("resource-group", "network-security-group", "virtual-network", "public-ip", "network-interface", "vm")

    def __init__(self, cli: Cli, make_cli, fake) -> None:
        super().__init__(cli, make_cli)
        self.fake = fake

    def deploy_args(self, name: str, *extra: str) -> list[str]:
        return ["deploy", "azure", "--name", name, "--yes", "--skip-bootstrap", *extra]

    def resources(self, name: str) -> list[tuple[str, str]]:
        return [(KINDS.get(kind, kind), rid) for kind, rid in self.fake.tagged(name)]

    def resource_ids(self, name: str) -> set[str]:
        with self.fake.lock:
            items = [*self.fake.state.groups.values(), *self.fake.state.resources.values()]
            return {
                r["tags"]["isaacctl-deployment-id"]
                for r in items
                if (r.get("tags") or {}).get("isaacctl-deployment") == name and "isaacctl-deployment-id" in r["tags"]
            }

    @contextmanager
    def slowed(self):
        fault = self.fake.inject("*", delay=0.15)
        try:
            yield
        finally:
            self.fake.faults.remove(fault)

    def addresses(self, name: str) -> list[str | None]:
        return [self.fake.public_ip_of(vm) for vm in self.fake.vms(name)]


@pytest.fixture
def conformance(routed_azure, cli, tmp_path):
    def make_cli() -> Cli:
        folder = tmp_path / f"state-{len(list(tmp_path.glob('state-*')))}"
        folder.mkdir(mode=0o700)
        return Cli(state_dir=folder, ssh_config=cli.ssh_config, env=dict(cli.env, ISAACCTL_STATE_DIR=str(folder)))

    return AzureTarget(cli, make_cli, routed_azure)
