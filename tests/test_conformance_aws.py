"""The provider conformance suite (tests/harness/conformance.py) for `aws`, against moto on
loopback. Every instance is routed to its own loopback sshd by tests/harness/ssh_route.py (an
ssh_config ProxyCommand), so two nodes show two different host keys and moto's made-up
addresses are never dialled."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from harness.cli import Cli
from harness.conformance import *  # noqa: F403 - the shared checks become this module's tests
from harness.conformance import Target
from harness.ssh_route import write_ssh_config
from harness.sshd import TwinSshServer

ID_TAG = "isaacctl:deployment-id"


class AwsTarget(Target):
    provider = "aws"
    owns_machines = multi_node = stop_start = True
    # in the order a deploy makes them in an account with a default VPC
    kill_kinds = ("key-pair", "security-group", "instance")

    def __init__(self, cli: Cli, make_cli, moto) -> None:
        super().__init__(cli, make_cli)
        self.moto = moto

    def deploy_args(self, name: str, *extra: str) -> list[str]:
        return ["deploy", "aws", "--name", name, "--yes", "--skip-bootstrap", *extra]

    def resources(self, name: str) -> list[tuple[str, str]]:
        return self.moto.tagged(name)

    def resource_ids(self, name: str) -> set[str]:
        ec2 = self.moto.client()
        flt = [{"Name": "tag:isaacctl:deployment", "Values": [name]}]
        tag_sets = [
            i.get("Tags", [])
            for r in ec2.describe_instances(Filters=flt)["Reservations"]
            for i in r["Instances"]
            if i["State"]["Name"] != "terminated"
        ]
        tag_sets += [g.get("Tags", []) for g in ec2.describe_security_groups(Filters=flt)["SecurityGroups"]]
        tag_sets += [k.get("Tags", []) for k in ec2.describe_key_pairs(Filters=flt)["KeyPairs"]]
        return {t["Value"] for tags in tag_sets for t in tags if t["Key"] == ID_TAG}

    @contextmanager
    def slowed(self):
        fault = self.moto.faults.inject("*", delay=0.3)
        try:
            yield
        finally:
            self.moto.faults.faults.remove(fault)

    def addresses(self, name: str) -> list[str | None]:
        ec2 = self.moto.client()
        flt = [
            {"Name": "tag:isaacctl:deployment", "Values": [name]},
            {"Name": "instance-state-name", "Values": ["running"]},
        ]
        instances = [i for r in ec2.describe_instances(Filters=flt)["Reservations"] for i in r["Instances"]]
        instances.sort(key=lambda i: (i.get("AmiLaunchIndex", 0), i["InstanceId"]))
        return [i.get("PublicIpAddress") for i in instances]


@pytest.fixture(scope="module")
def sshd_twin(sshd):
    server = TwinSshServer(sshd).start()
    yield server
    server.close()


@pytest.fixture
def conformance(aws, cli, sshd, sshd_twin, tmp_path):
    write_ssh_config(cli.ssh_config, aws.url, [sshd, sshd_twin])

    def make_cli() -> Cli:
        folder = tmp_path / f"state-{len(list(tmp_path.glob('state-*')))}"
        folder.mkdir(mode=0o700)
        return Cli(state_dir=folder, ssh_config=cli.ssh_config, env=dict(cli.env, ISAACCTL_STATE_DIR=str(folder)))

    return AwsTarget(cli, make_cli, aws)
