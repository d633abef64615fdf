"""The provider conformance suite (tests/harness/conformance.py) for the providers that adopt a
machine: `local` (this machine) and `ssh` (the loopback sshd). The checks that apply run; the
others check that the missing capability is refused (exit 2, nothing made)."""

from __future__ import annotations

import pytest

from harness.cli import Cli
from harness.conformance import *  # noqa: F403 - the shared checks become this module's tests
from harness.conformance import Target


class LocalTarget(Target):
    provider = "local"

    def __init__(self, cli: Cli, make_cli, host_dir) -> None:
        super().__init__(cli, make_cli)
        self.host_dir = host_dir

    def deploy_args(self, name: str, *extra: str) -> list[str]:
        return ["deploy", "local", "--name", name, "--skip-bootstrap", "--host-dir", str(self.host_dir), *extra]


class SshTarget(Target):
    provider = "ssh"

    def __init__(self, cli: Cli, make_cli, sshd) -> None:
        super().__init__(cli, make_cli)
        self.sshd = sshd

    def deploy_args(self, name: str, *extra: str) -> list[str]:
        sshd = self.sshd
        return [
            "deploy",
            "ssh",
            "--name",
            name,
            "--skip-bootstrap",
            "--host",
            sshd.host,
            "--port",
            str(sshd.port),
            "--user",
            sshd.user,
            "-i",
            str(sshd.client_key),
            "--host-dir",
            str(sshd.home / "isaacctl"),
            *extra,
        ]


@pytest.fixture(params=["local", "ssh"])
def conformance(request, cli, tmp_path):
    def make_cli() -> Cli:
        folder = tmp_path / f"state-{len(list(tmp_path.glob('state-*')))}"
        folder.mkdir(mode=0o700)
        return Cli(state_dir=folder, ssh_config=cli.ssh_config, env=dict(cli.env, ISAACCTL_STATE_DIR=str(folder)))

    if request.param == "local":
        return LocalTarget(cli, make_cli, tmp_path / "host")
    return SshTarget(cli, make_cli, request.getfixturevalue("sshd"))
