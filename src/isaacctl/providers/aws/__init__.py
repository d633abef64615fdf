"""`aws`: a GPU workstation on EC2, made and removed by isaacctl.

Modules: options (flags, validated offline), pricing (the shipped catalog), api (sessions,
retries, tags, waiting), keys, network (VPC, security group, placement group), instances
(image, zones, launch of all nodes with zone failover), teardown (tag sweeps, destroy,
verification); what every cloud shares is in providers/toolkit. boto3 is imported only inside
functions, so `isaacctl --help` never loads it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from isaacctl.errors import ProviderError
from isaacctl.providers.aws.options import AwsOptions
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

if TYPE_CHECKING:
    from isaacctl.providers.aws.api import Aws
    from isaacctl.records import DeploymentRecord, Node
    from isaacctl.remote.ssh import SshRemote

_STATES = {
    "pending": InstanceState.PENDING,
    "running": InstanceState.RUNNING,
    "stopping": InstanceState.STOPPING,
    "stopped": InstanceState.STOPPED,
    "shutting-down": InstanceState.STOPPING,
    "terminated": InstanceState.TERMINATED,
}


class AwsProvider(Provider[AwsOptions]):
    name = "aws"
    summary = "EC2 GPU instances made for the deployment (one, or several in one zone)"
    capabilities = Capabilities(stop_start=True, spot=True, multi_node=True, owns_machines=True)
    options_model = AwsOptions
    scope_fields = ("region", "profile")

    # -- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _aws(options: AwsOptions) -> Aws:
        from isaacctl.providers.aws.api import Aws

        return Aws(options)

    @staticmethod
    def _options(record: DeploymentRecord) -> AwsOptions:
        return AwsOptions.model_validate(record.options)

    @staticmethod
    def _nodes(instances: list[dict[str, Any]], ctx: DeployContext[AwsOptions]) -> list[Node]:
        """The record's nodes for the instances (head first), keeping what bootstrap learnt."""
        from isaacctl.providers.aws.instances import in_node_order, node_of

        previous = {n.instance_id: n for n in ctx.record.nodes if n.instance_id}
        ordered = in_node_order(instances, [n.instance_id for n in ctx.record.nodes if n.instance_id])
        return [
            node_of(instance, ctx.private_key_file, index, previous.get(instance["InstanceId"]))
            for index, instance in enumerate(ordered)
        ]

    # -- contract ----------------------------------------------------------------------------
    def check_credentials(self, options: AwsOptions) -> CredentialCheck:
        from botocore.exceptions import BotoCoreError, ClientError

        from isaacctl.providers.aws.errors import CREDENTIALS_HINT, aws_error

        aws = self._aws(options)
        try:
            identity = aws.sts.get_caller_identity()
        except (ClientError, BotoCoreError) as exc:
            error = aws_error(exc, "asking STS who the credentials belong to")
            return CredentialCheck(ok=False, identity=error.message, hint=error.hint or CREDENTIALS_HINT)
        profile = f" (profile {options.profile})" if options.profile else ""
        return CredentialCheck(ok=True, identity=f"{identity['Arn']}, account {identity['Account']}{profile}")

    def plan(self, name: str, options: AwsOptions) -> Plan:
        from isaacctl.providers.aws.planning import make_plan

        return make_plan(self._aws(options), name)

    def create(self, ctx: DeployContext[AwsOptions]) -> list[Node]:
        from isaacctl.providers.aws import instances, keys, network
        from isaacctl.providers.toolkit.cloudinit import render_user_data

        options = ctx.options
        aws = self._aws(options)
        plan = ctx.plan if ctx.plan is not None else self.plan(ctx.name, options)
        resolved = plan.resolved
        record = ctx.record
        record.region, record.instance_type = options.region, options.instance_type
        record.market = "spot" if options.spot else "on-demand"

        key_name = keys.ensure_key_pair(aws, ctx)
        net = network.ensure_network(aws, ctx, resolved.get("default_vpc"))
        group_id = network.ensure_security_group(aws, ctx, net.vpc_id, resolved["ingress_cidr"])
        found = instances.find_instances(aws, ctx.name, states=instances.RESUMABLE_STATES, owner=ctx.identity)
        if found:
            ctx.on_progress("found " + ", ".join(f"{i['InstanceId']} ({i['State']['Name']})" for i in found))
            found = self._bring_back(aws, ctx, found)
        missing = options.nodes - len(found)
        if missing > 0:
            placement = None
            if options.nodes > 1 and resolved.get("placement", True):
                placement = network.ensure_placement_group(aws, ctx)
            zones, skipped = resolved["zones"], [instances.Attempt(**a) for a in resolved["skipped_zones"]]
            if found:  # the nodes share one zone: the missing ones join the others
                zones, skipped = [found[0]["Placement"]["AvailabilityZone"]], []
            user_data = render_user_data(ctx.name, instances.LOGIN_USER, "all" if resolved["gpus"] else "none")
            made = instances.launch(
                aws,
                ctx,
                zones=zones,
                skipped=skipped,
                subnet_for=lambda zone: network.subnet_for(aws, ctx, net, zone),
                image=instances.Image(**resolved["image"]),
                key_name=key_name,
                group_id=group_id,
                user_data=user_data,
                vcpus=resolved.get("vcpus"),
                count=missing,
                have=len(found),
                placement_group=placement,
            )
            found += [
                instances.wait_for_state(aws, i["InstanceId"], "running", instances.RUNNING_TIMEOUT, ctx.on_progress)
                for i in made
            ]
        nodes = self._nodes(found, ctx)
        head = next(i for i in found if i["InstanceId"] == nodes[0].instance_id)
        record.zone = head.get("Placement", {}).get("AvailabilityZone")
        return nodes

    def _bring_back(
        self, aws: Aws, ctx: DeployContext[AwsOptions], found: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Instances of a resumed deploy or a start: wait out transitions, start the stopped
        ones (one call), and return them running."""
        from isaacctl.providers.aws import instances

        for instance in found:
            if instance["State"]["Name"] == "stopping":
                instances.wait_for_state(
                    aws, instance["InstanceId"], "stopped", instances.STOPPED_TIMEOUT, ctx.on_progress
                )
                instance["State"]["Name"] = "stopped"
        stopped = [i["InstanceId"] for i in found if i["State"]["Name"] == "stopped"]
        if stopped:
            self._start_instances(aws, stopped)
        return [
            instances.wait_for_state(aws, i["InstanceId"], "running", instances.RUNNING_TIMEOUT, ctx.on_progress)
            for i in found
        ]

    @staticmethod
    def _start_instances(aws: Aws, instance_ids: list[str]) -> None:
        from botocore.exceptions import ClientError

        from isaacctl.providers.aws.errors import CAPACITY, aws_error, code_of, message_of

        listed = ", ".join(instance_ids)
        try:
            aws.launch_call(aws.ec2_launch.start_instances, InstanceIds=instance_ids)
        except ClientError as exc:
            if code_of(exc) in CAPACITY:
                raise ProviderError(
                    f"capacity: {listed} cannot start in its zone now ({code_of(exc)}: {message_of(exc)})",
                    hint="its disk lives in that zone: try again in a few minutes",
                ) from None
            raise aws_error(exc, f"starting {listed}") from None

    def wait_reachable(self, ctx: DeployContext[AwsOptions], timeout: float) -> list[Node]:
        from isaacctl.providers.toolkit.reachable import wait_for_nodes

        return wait_for_nodes(ctx, timeout)

    def query(self, record: DeploymentRecord) -> list[NodeStatus]:
        from isaacctl.providers.aws import instances
        from isaacctl.providers.base import identity_of

        found = {
            i["InstanceId"]: i
            for i in instances.find_instances(self._aws(self._options(record)), record.name, owner=identity_of(record))
        }
        statuses, index = [], 0
        for node in record.nodes:
            instance = found.pop(node.instance_id, None) if node.instance_id else None
            statuses.append(_status(node.index, node.instance_id, instance))
            index = max(index, node.index + 1)
        for instance in instances.in_node_order(list(found.values())):  # made but not recorded yet
            statuses.append(_status(index, instance["InstanceId"], instance))
            index += 1
        return statuses or [NodeStatus(index=0, instance_id=None, state=InstanceState.TERMINATED)]

    def stop(self, ctx: DeployContext[AwsOptions]) -> None:
        from isaacctl.providers.aws import instances

        aws = self._aws(ctx.options)
        found = instances.find_instances(aws, ctx.name, owner=ctx.identity)
        if not found:
            raise ProviderError(f"aws: no instance of {ctx.name!r} ({ctx.identity.id}) in {aws.options.region}")
        running = [i["InstanceId"] for i in found if i["State"]["Name"] in ("running", "pending")]
        if running:
            aws.call(f"stopping {', '.join(running)}", aws.ec2.stop_instances, InstanceIds=running)
        for instance in found:
            instances.wait_for_state(aws, instance["InstanceId"], "stopped", instances.STOPPED_TIMEOUT, ctx.on_progress)

    def start(self, ctx: DeployContext[AwsOptions]) -> list[Node]:
        from isaacctl.providers.aws import instances

        aws = self._aws(ctx.options)
        found = instances.find_instances(aws, ctx.name, states=instances.RESUMABLE_STATES, owner=ctx.identity)
        if not found:
            raise ProviderError(
                f"aws: no instance of {ctx.name!r} ({ctx.identity.id}) in {aws.options.region}",
                hint=f"'isaacctl deploy aws --name {ctx.name}' makes what is missing",
            )
        return self._nodes(self._bring_back(aws, ctx, found), ctx)

    def destroy(self, ctx: DeployContext[AwsOptions]) -> None:
        from isaacctl.providers.aws import teardown

        teardown.destroy(self._aws(ctx.options), ctx)

    def list_tagged(self, options: AwsOptions, deployment: str | None = None) -> list[CloudResource]:
        from isaacctl.providers.aws import teardown

        aws = self._aws(options)
        if deployment is not None and not teardown.anything_tagged(aws, deployment):
            return []
        return [
            r for r in teardown.list_tagged(aws, deployment) if not (r.kind == "instance" and r.state == "terminated")
        ]

    def remote(self, record: DeploymentRecord, known_hosts_file: str, node: int = 0) -> SshRemote:
        return self._remote(record, known_hosts_file, node)

    @staticmethod
    def _remote(
        record: DeploymentRecord, known_hosts_file: str, node: int = 0, connect_timeout: float | None = None
    ) -> SshRemote:
        from isaacctl.providers.toolkit.reachable import node_remote

        return node_remote(record, known_hosts_file, node, connect_timeout)


def _status(index: int, instance_id: str | None, instance: dict[str, Any] | None) -> NodeStatus:
    if instance is None:
        return NodeStatus(index=index, instance_id=instance_id, state=InstanceState.TERMINATED)
    return NodeStatus(
        index=index,
        instance_id=instance["InstanceId"],
        state=_STATES.get(instance["State"]["Name"], InstanceState.UNKNOWN),
        public_ip=instance.get("PublicIpAddress"),
        private_ip=instance.get("PrivateIpAddress"),
    )
