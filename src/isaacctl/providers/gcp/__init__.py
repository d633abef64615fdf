"""`gcp`: a GPU workstation on Compute Engine, made and removed by isaacctl.

Modules: options (flags, validated offline; the project resolved from Application Default
Credentials), pricing (the shipped catalog), api (credentials, clients, operations, identity in
labels and descriptions), errors, network (network, firewall rules, placement policy),
instances (image, zones, launch of all nodes with zone failover, stop/start), planning,
teardown (finding by label, destroy, verification); what every cloud shares is in
providers/toolkit. google-cloud-compute is imported only inside functions, so `isaacctl --help`
never loads it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from isaacctl.errors import ProviderError
from isaacctl.providers.base import (
    Capabilities,
    CloudResource,
    CredentialCheck,
    DeployContext,
    InstanceState,
    NodeStatus,
    Plan,
    Provider,
)
from isaacctl.providers.gcp.options import GcpOptions

if TYPE_CHECKING:
    from isaacctl.providers.gcp.api import Gcp
    from isaacctl.records import DeploymentRecord, Node
    from isaacctl.remote.ssh import SshRemote

_STATES = {
    "pending": InstanceState.PENDING,
    "running": InstanceState.RUNNING,
    "stopping": InstanceState.STOPPING,
    "stopped": InstanceState.STOPPED,
}


class GcpProvider(Provider[GcpOptions]):
    """A GPU workstation on Compute Engine (g2 with an NVIDIA L4 by default), or several in one
    zone with a compact placement policy. Credentials are Application Default Credentials
    ('gcloud auth application-default login' or GOOGLE_APPLICATION_CREDENTIALS); the project is
    --project, else GOOGLE_CLOUD_PROJECT, else the credentials'. When the zone has no room, the
    region's other zones that offer the type are tried in turn. Stop keeps the disk (billed);
    start finds the new address and keeps the pinned host key."""

    name = "gcp"
    summary = "Compute Engine GPU instances made for the deployment (one, or several in one zone)"
    capabilities = Capabilities(stop_start=True, spot=True, multi_node=True, owns_machines=True)
    options_model = GcpOptions
    scope_fields = ("project",)
    examples = (
        "isaacctl deploy gcp --name ws1 --dry-run",
        "isaacctl deploy gcp --name ws1 --project my-project --zone us-central1-a --machine-type g2-standard-8",
        "isaacctl deploy gcp --name cheap --machine-type n1-standard-8 --accelerator nvidia-tesla-t4 --spot",
        "isaacctl deploy gcp --name pair --nodes 2 --ingress-cidr 203.0.113.7/32 --yes",
    )

    # -- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _gcp(options: GcpOptions) -> Gcp:
        from isaacctl.providers.gcp.api import Gcp

        return Gcp(options)

    @staticmethod
    def _options(record: DeploymentRecord) -> GcpOptions:
        return GcpOptions.model_validate(record.options)

    @staticmethod
    def _nodes(instances: list[Any], ctx: DeployContext[GcpOptions]) -> list[Node]:
        """The record's nodes for the instances (head first), keeping what bootstrap learnt."""
        from isaacctl.providers.gcp.instances import in_node_order, node_of

        previous = {n.instance_id: n for n in ctx.record.nodes if n.instance_id}
        ordered = in_node_order(instances, [n.instance_id for n in ctx.record.nodes if n.instance_id])
        return [
            node_of(instance, ctx.private_key_file, index, previous.get(str(instance.id)))
            for index, instance in enumerate(ordered)
        ]

    # -- contract ----------------------------------------------------------------------------
    def check_credentials(self, options: GcpOptions) -> CredentialCheck:
        from isaacctl.errors import IsaacctlError
        from isaacctl.providers.gcp.api import account_of, credentials
        from isaacctl.providers.gcp.errors import CREDENTIALS_HINT

        try:
            creds, _ = credentials()
        except IsaacctlError as exc:
            return CredentialCheck(ok=False, identity=exc.message, hint=CREDENTIALS_HINT)
        gcp = self._gcp(options)
        try:
            project = gcp.call("asking for the project", "ProjectsClient", "get", project=gcp.project)
        except IsaacctlError as exc:
            return CredentialCheck(ok=False, identity=exc.message, hint=exc.hint or CREDENTIALS_HINT)
        return CredentialCheck(ok=True, identity=f"{account_of(creds)}, project {project.name}")

    def plan(self, name: str, options: GcpOptions) -> Plan:
        from isaacctl.providers.gcp.planning import make_plan

        return make_plan(self._gcp(options), name)

    def create(self, ctx: DeployContext[GcpOptions]) -> list[Node]:
        from pathlib import Path

        from isaacctl.providers.gcp import instances, network
        from isaacctl.providers.toolkit.cloudinit import render_user_data
        from isaacctl.providers.toolkit.failover import Attempt
        from isaacctl.providers.toolkit.sshkeys import ensure_private_key, public_key

        options = ctx.options
        gcp = self._gcp(options)
        plan = ctx.plan if ctx.plan is not None else self.plan(ctx.name, options)
        resolved = plan.resolved
        record = ctx.record
        record.region, record.instance_type = options.region, options.machine_type
        record.market = "spot" if options.spot else "on-demand"

        # the key first: an instance is never made with a key whose private half is not kept
        private = Path(ctx.private_key_file)
        if ensure_private_key(private):
            ctx.created("ssh-key", str(private), key_type="ed25519")
        key = public_key(private).decode()
        net = network.ensure_network(gcp, ctx, use_default=resolved["default_network"])
        network.ensure_firewall(gcp, ctx, net, resolved["ingress_cidr"])
        found = instances.find_instances(gcp, ctx.name, ctx.identity)
        if found:
            ctx.on_progress("found " + ", ".join(f"{i.name} ({i.status.lower()})" for i in found))
            found = instances.start(gcp, found, ctx.on_progress)
        have = {instances.node_index(i) for i in found}
        missing = [index for index in range(options.nodes + len(found)) if index not in have][
            : options.nodes - len(found)
        ]
        if missing:
            policy = network.ensure_placement_policy(gcp, ctx) if options.nodes > 1 else None
            zones, skipped = resolved["zones"], [Attempt(**a) for a in resolved["skipped_zones"]]
            if found:  # the nodes share one zone: the missing ones join the others
                zones, skipped = [instances.zone_of(found[0])], []
            user_data = render_user_data(ctx.name, instances.LOGIN_USER, "all" if resolved["gpus"] else "none")
            found += instances.launch(
                gcp,
                ctx,
                resolved=resolved,
                zones=zones,
                skipped=skipped,
                indexes=missing,
                network=net,
                user_data=user_data,
                public_key=key,
                policy=policy,
            )
        nodes = self._nodes(found, ctx)
        head = next(i for i in found if str(i.id) == nodes[0].instance_id)
        record.zone = instances.zone_of(head)
        return nodes

    def wait_reachable(self, ctx: DeployContext[GcpOptions], timeout: float) -> list[Node]:
        from isaacctl.providers.toolkit.reachable import wait_for_nodes

        return wait_for_nodes(ctx, timeout)

    def query(self, record: DeploymentRecord) -> list[NodeStatus]:
        from isaacctl.providers.base import identity_of
        from isaacctl.providers.gcp import instances

        found = {
            str(i.id): i
            for i in instances.find_instances(self._gcp(self._options(record)), record.name, identity_of(record))
        }
        statuses, index = [], 0
        for node in record.nodes:
            instance = found.pop(node.instance_id, None) if node.instance_id else None
            statuses.append(_status(node.index, node.instance_id, instance))
            index = max(index, node.index + 1)
        for instance in instances.in_node_order(list(found.values())):  # made but not recorded yet
            statuses.append(_status(index, str(instance.id), instance))
            index += 1
        return statuses or [NodeStatus(index=0, instance_id=None, state=InstanceState.TERMINATED)]

    def stop(self, ctx: DeployContext[GcpOptions]) -> None:
        from isaacctl.providers.gcp import instances

        gcp = self._gcp(ctx.options)
        found = instances.find_instances(gcp, ctx.name, ctx.identity)
        if not found:
            raise ProviderError(f"gcp: no instance of {ctx.name!r} ({ctx.identity.id}) in project {gcp.project}")
        instances.stop(gcp, found, ctx.on_progress)

    def start(self, ctx: DeployContext[GcpOptions]) -> list[Node]:
        from isaacctl.providers.gcp import instances

        gcp = self._gcp(ctx.options)
        found = instances.find_instances(gcp, ctx.name, ctx.identity)
        if not found:
            raise ProviderError(
                f"gcp: no instance of {ctx.name!r} ({ctx.identity.id}) in project {gcp.project}",
                hint=f"'isaacctl deploy gcp --name {ctx.name}' makes what is missing",
            )
        return self._nodes(instances.start(gcp, found, ctx.on_progress), ctx)

    def destroy(self, ctx: DeployContext[GcpOptions]) -> None:
        from isaacctl.providers.gcp import teardown

        teardown.destroy(self._gcp(ctx.options), ctx)

    def list_tagged(self, options: GcpOptions, deployment: str | None = None) -> list[CloudResource]:
        from isaacctl.providers.gcp import teardown

        return teardown.list_tagged(self._gcp(options), deployment)

    def remote(self, record: DeploymentRecord, known_hosts_file: str, node: int = 0) -> SshRemote:
        return self._remote(record, known_hosts_file, node)

    @staticmethod
    def _remote(
        record: DeploymentRecord, known_hosts_file: str, node: int = 0, connect_timeout: float | None = None
    ) -> SshRemote:
        from isaacctl.providers.toolkit.reachable import node_remote

        return node_remote(record, known_hosts_file, node, connect_timeout)


def _status(index: int, instance_id: str | None, instance: Any | None) -> NodeStatus:
    from isaacctl.providers.gcp.instances import STATES, addresses

    if instance is None:
        return NodeStatus(index=index, instance_id=instance_id, state=InstanceState.TERMINATED)
    public, private = addresses(instance)
    return NodeStatus(
        index=index,
        instance_id=str(instance.id),
        state=_STATES.get(STATES.get(instance.status, ""), InstanceState.UNKNOWN),
        public_ip=public,
        private_ip=private,
    )
