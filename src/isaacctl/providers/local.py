"""`local`: this machine is the workstation (a user at an RTX desktop)."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    from isaacctl.remote import Remote


class LocalOptions(HostOptions):
    pass


class LocalProvider(Provider[LocalOptions]):
    """Use this machine as the workstation (an RTX desktop)."""

    name = "local"
    summary = "this machine is the workstation"
    capabilities = Capabilities()
    options_model = LocalOptions
    examples = ("isaacctl deploy local --name desk",)

    def plan(self, name: str, options: LocalOptions) -> Plan:
        return Plan(
            resources=[PlannedResource("host", "localhost", "this machine, adopted as it is")],
            hourly_usd=None,
        )

    def create(self, ctx: DeployContext[LocalOptions]) -> list[Node]:
        from isaacctl.records import Node

        ctx.created("host", "localhost")
        return [Node(index=0)]

    def wait_reachable(self, ctx: DeployContext[LocalOptions], timeout: float) -> list[Node]:
        return ctx.record.nodes

    def query(self, record: DeploymentRecord) -> list[NodeStatus]:
        return [NodeStatus(index=0, instance_id=None, state=InstanceState.RUNNING)]

    def destroy(self, ctx: DeployContext[LocalOptions]) -> None:
        ctx.deleted("host", "localhost", note="forgotten; the machine is untouched")

    def remote(self, record: DeploymentRecord, known_hosts_file: str, node: int = 0) -> Remote:
        from isaacctl.remote.local import LocalRemote

        return LocalRemote()
