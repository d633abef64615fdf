"""The provider conformance suite (tests/harness/conformance.py) for `gcp`, against the fake
Compute Engine on loopback (tests/harness/fake_gcp.py) driven by the real google-cloud-compute
client. Every instance is routed to its own loopback sshd by tests/harness/ssh_route.py."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from harness.cli import Cli
from harness.conformance import *  # noqa: F403 - the shared checks become this module's tests
from harness.conformance import Target
from harness.fake_gcp import Fault

pytest_plugins = ["harness.gcp_fixtures"]  # fake_gce, gcp, gcp_routed, sshd_twin


class GcpTarget(Target):
    provider = "gcp"
    owns_machines = multi_node = stop_start = True
    # in the order a deploy makes them in a project with a default network
    kill_kinds = ("firewall", "instance")

    def __init__(self, cli: Cli, make_cli, fake) -> None:
        super().__init__(cli, make_cli)
        self.fake = fake

    def deploy_args(self, name: str, *extra: str) -> list[str]:
        return ["deploy", "gcp", "--name", name, "--yes", "--skip-bootstrap", *extra]

    def resources(self, name: str) -> list[tuple[str, str]]:
        return self.fake.labelled(name)

    def resource_ids(self, name: str) -> set[str]:
        return self.fake.deployment_ids(name)

    @contextmanager
    def slowed(self):
        fault = self.fake.inject(Fault("*", delay=0.3))
        try:
            yield
        finally:
            self.fake.remove(fault)

    def addresses(self, name: str) -> list[str | None]:
        instances = [
            i
            for i in self.fake.instances()
            if i.get("labels", {}).get("isaacctl-deployment") == name and i["status"] == "RUNNING"
        ]
        instances.sort(key=lambda i: (int(i["labels"].get("isaacctl-node", 0)), i["name"]))
        return [next((c.get("natIP") for c in i["networkInterfaces"][0]["accessConfigs"]), None) for i in instances]


@pytest.fixture
def conformance(gcp_routed, cli, tmp_path):
    def make_cli() -> Cli:
        folder = tmp_path / f"state-{len(list(tmp_path.glob('state-*')))}"
        folder.mkdir(mode=0o700)
        return Cli(state_dir=folder, ssh_config=cli.ssh_config, env=dict(cli.env, ISAACCTL_STATE_DIR=str(folder)))

    return GcpTarget(cli, make_cli, gcp_routed)
