"""The provider conformance suite (tests/harness/conformance.py) for `alibaba`, against the fake
ECS/VPC server on loopback driven by the real alibabacloud SDK. Every instance is routed to its
own loopback sshd by tests/harness/ssh_route.py, so two nodes show two host keys."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from harness.cli import Cli
from harness.conformance import *  # noqa: F403 - the shared checks become this module's tests
from harness.conformance import Target
from harness.fake_alibaba import FakeAlibaba

pytest_plugins = ["harness.alibaba_fixtures"]  # the fake ECS/VPC server and SSH routing fixtures


class AlibabaTarget(Target):
    provider = "alibaba"
    owns_machines = multi_node = stop_start = True
    # in the order a deploy makes them in a region with a default VPC
    kill_kinds = ("key-pair", "security-group", "instance")

    def __init__(self, cli: Cli, make_cli, fake: FakeAlibaba) -> None:
        super().__init__(cli, make_cli)
        self.fake = fake

    def deploy_args(self, name: str, *extra: str) -> list[str]:
        return ["deploy", "alibaba", "--name", name, "--yes", "--skip-bootstrap", *extra]

    def resources(self, name: str) -> list[tuple[str, str]]:
        return self.fake.live(name)

    def resource_ids(self, name: str) -> set[str]:
        return self.fake.ids_of(name)

    @contextmanager
    def slowed(self):
        fault = self.fake.inject("*", delay=0.3)
        try:
            yield
        finally:
            self.fake.faults.remove(fault)

    def addresses(self, name: str) -> list[str | None]:
        found = [i for i in self.fake.instances_of(name) if i["Status"] in ("Running", "Starting")]
        found.sort(key=lambda i: (i["HostName"], i["InstanceId"]))
        return [(i["PublicIpAddress"]["IpAddress"] or [None])[0] for i in found]


@pytest.fixture
def conformance(routed, cli, tmp_path):
    def make_cli() -> Cli:
        folder = tmp_path / f"state-{len(list(tmp_path.glob('state-*')))}"
        folder.mkdir(mode=0o700)
        return Cli(state_dir=folder, ssh_config=cli.ssh_config, env=dict(cli.env, ISAACCTL_STATE_DIR=str(folder)))

    return AlibabaTarget(cli, make_cli, routed)
