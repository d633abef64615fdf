"""`ssh`: a machine that already exists (an on-prem box, a Lambda Cloud instance).
isaacctl only adopts it: destroy forgets it and never touches the machine otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from isaacctl.errors import RemoteError
from isaacctl.providers.base import (
    Capabilities,
    DeployContext,
    InstanceState,
    NodeStatus,
    Plan,
    PlannedResource,
    Provider,
)
from isaacctl.providers.options import HostOptions

if TYPE_CHECKING:
    from isaacctl.records import DeploymentRecord, Node
    from isaacctl.remote.ssh import SshRemote


class SshOptions(HostOptions):
    host: str = Field(
        min_length=1, pattern=r"^[A-Za-z0-9_.:\[\]%-]+$", description="address or ssh_config Host alias of the machine"
    )
    port: int | None = Field(
        None, ge=1, le=65535, description="SSH port", json_schema_extra={"default_help": "ssh_config, else 22"}
    )
    user: str | None = Field(
        None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$",
        description="login",
        json_schema_extra={"default_help": "ssh_config, else yours"},
    )
    identity_file: str | None = Field(
        None,
        description="private key",
        json_schema_extra={"short": "-i", "default_help": "ssh_config, else ~/.ssh/id_*"},
    )

    @field_validator("host")
    @classmethod
    def _not_an_option(cls, value: str) -> str:
        # ssh and rsync would read a leading '-' as one of their own options
        if value.startswith("-"):
            raise ValueError("expected an address or Host alias, not something that starts with '-'")
        return value

    @field_validator("identity_file")
    @classmethod
    def _identity_exists(cls, value: str | None) -> str | None:
        if value is None:
            return None
        path = Path(value).expanduser()
        if not path.is_file():
            raise ValueError(f"a readable private key file, {value!r} does not exist")
        return str(path.absolute())


class SshProvider(Provider[SshOptions]):
    """Adopt a machine that already exists, over SSH. Its host key is pinned on first contact."""

    name = "ssh"
    summary = "a machine that already exists, reached over SSH"
    capabilities = Capabilities()
    options_model = SshOptions
    examples = ("isaacctl deploy ssh --name lab --host gpu1.example.org --user ubuntu -i ~/.ssh/lab",)

    def plan(self, name: str, options: SshOptions) -> Plan:
        return Plan(resources=[PlannedResource("host", options.host, "adopted over SSH as it is")])

    def create(self, ctx: DeployContext[SshOptions]) -> list[Node]:
        from isaacctl.records import Node, SshEndpoint

        options = ctx.options
        endpoint = SshEndpoint(
            host=options.host,
            port=options.port,
            user=options.user,
            identity_file=options.identity_file,
            host_key_alias=ctx.name,
        )
        ctx.created("host", options.host)
        return [Node(index=0, public_ip=options.host, ssh=endpoint)]

    def wait_reachable(self, ctx: DeployContext[SshOptions], timeout: float) -> list[Node]:
        ctx.on_progress(f"connecting to {ctx.options.host}")
        with self._remote(ctx.record, ctx.known_hosts_file) as remote:
            result = remote.run(["true"], timeout=timeout)
            if not result.ok:
                raise RemoteError(f"ssh: a test command on {remote.description} failed: {result.tail(3)}")
        return ctx.record.nodes

    def query(self, record: DeploymentRecord) -> list[NodeStatus]:
        # Adopted machines are not ours to inspect beyond "does it answer": status --refresh
        # uses the remote for that, so the provider reports what it knows.
        return [NodeStatus(index=0, instance_id=None, state=InstanceState.UNKNOWN, public_ip=record.address)]

    def destroy(self, ctx: DeployContext[SshOptions]) -> None:
        ctx.deleted("host", ctx.record.address, note="forgotten; the machine is untouched")

    def remote(self, record: DeploymentRecord, known_hosts_file: str, node: int = 0) -> SshRemote:
        return self._remote(record, known_hosts_file)

    @staticmethod
    def _remote(record: DeploymentRecord, known_hosts_file: str) -> SshRemote:
        from isaacctl.remote.ssh import SshRemote
        from isaacctl.remote.sshconfig import ssh_config_path

        node = record.head
        assert node is not None and node.ssh is not None
        return SshRemote(node.ssh, Path(known_hosts_file), ssh_config=ssh_config_path())
