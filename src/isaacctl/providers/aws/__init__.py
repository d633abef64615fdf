"""`aws`: a GPU workstation on EC2, made and removed by isaacctl.

Modules: options (flags, validated offline), pricing (the shipped catalog), api (sessions,
retries, tags, waiting), keys, network, instances (image, zones, launch with failover),
teardown (tag sweeps, destroy, verification). boto3 is imported only inside functions, so
`isaacctl --help` never loads it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from isaacctl.errors import HostKeyChanged, ProviderError, RemoteError
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
    "pending": InstanceState.PENDING, "running": InstanceState.RUNNING,
    "stopping": InstanceState.STOPPING, "stopped": InstanceState.STOPPED,
    "shutting-down": InstanceState.STOPPING, "terminated": InstanceState.TERMINATED,
}


class AwsProvider(Provider):
    """Create a GPU workstation on EC2 (key pair, security group, instance), then bootstrap it.
    Shows the plan and hourly price first. On an existing name, makes only what is missing."""

    name = "aws"
    summary = "an EC2 GPU instance made for the deployment"
    capabilities = Capabilities(stop_start=True, spot=True, owns_machines=True)
    options_model = AwsOptions
    examples = (
        "isaacctl deploy aws --name ws1 --region us-east-1 --instance-type g6e.2xlarge",
        "isaacctl deploy aws --name ws1 --spot --dry-run",
    )

    # -- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _aws(options: AwsOptions) -> Aws:
        from isaacctl.providers.aws.api import Aws

        return Aws(options)

    @staticmethod
    def _options(record: DeploymentRecord) -> AwsOptions:
        return AwsOptions.model_validate(record.options)

    # -- contract ----------------------------------------------------------------------------
    def check_credentials(self, options: AwsOptions) -> CredentialCheck:  # type: ignore[override]
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

    def plan(self, name: str, options: AwsOptions) -> Plan:  # type: ignore[override]
        from isaacctl.providers.aws.planning import make_plan

        return make_plan(self._aws(options), name)

    def create(self, ctx: DeployContext) -> list[Node]:
        from isaacctl.providers.aws import instances, keys, network
        from isaacctl.services.bootstrap.cloudinit import render_user_data

        options: AwsOptions = ctx.options  # type: ignore[assignment]
        aws = self._aws(options)
        plan = ctx.plan if ctx.plan is not None else self.plan(ctx.name, options)
        resolved = plan.resolved
        record = ctx.record
        record.region, record.instance_type = options.region, options.instance_type
        record.market = "spot" if options.spot else "on-demand"

        key_name = keys.ensure_key_pair(aws, ctx)
        net = network.ensure_network(aws, ctx)
        group_id = network.ensure_security_group(aws, ctx, net.vpc_id, resolved["ingress_cidr"])
        found = instances.find_instances(aws, ctx.name, states=instances.RESUMABLE_STATES)
        if found:
            instance = found[0]
            ctx.on_progress(f"found {instance['InstanceId']} ({instance['State']['Name']})")
            instance = self._bring_back(aws, ctx, instance)
        else:
            image = instances.Image(**resolved["image"])
            skipped = [instances.Attempt(**a) for a in resolved["skipped_zones"]]
            user_data = render_user_data(ctx.name, instances.LOGIN_USER, "all" if resolved["gpus"] else "none")
            made = instances.launch(
                aws, ctx, zones=resolved["zones"], skipped=skipped,
                subnet_for=lambda zone: network.subnet_for(aws, ctx, net, zone),
                image=image, key_name=key_name, group_id=group_id, user_data=user_data,
                vcpus=resolved.get("vcpus"),
            )
            instance = instances.wait_for_state(aws, made["InstanceId"], "running",
                                                instances.RUNNING_TIMEOUT, ctx.on_progress)
        record.zone = instance.get("Placement", {}).get("AvailabilityZone")
        return [instances.node_of(instance, ctx.private_key_file)]

    def _bring_back(self, aws: Aws, ctx: DeployContext, instance: dict) -> dict:
        """A resumed deploy found the instance: wait out transitions, start it if stopped."""
        from isaacctl.providers.aws import instances

        instance_id, state = instance["InstanceId"], instance["State"]["Name"]
        if state == "stopping":
            instance = instances.wait_for_state(aws, instance_id, "stopped", instances.STOPPED_TIMEOUT, ctx.on_progress)
            state = "stopped"
        if state == "stopped":
            self._start_instance(aws, instance_id)
        return instances.wait_for_state(aws, instance_id, "running", instances.RUNNING_TIMEOUT, ctx.on_progress)

    @staticmethod
    def _start_instance(aws: Aws, instance_id: str) -> None:
        from botocore.exceptions import ClientError

        from isaacctl.providers.aws.errors import CAPACITY, aws_error, code_of, message_of

        try:
            aws.launch_call(aws.ec2_launch.start_instances, InstanceIds=[instance_id])
        except ClientError as exc:
            if code_of(exc) in CAPACITY:
                raise ProviderError(
                    f"capacity: {instance_id} cannot start in its zone now ({code_of(exc)}: {message_of(exc)})",
                    hint="its disk lives in that zone: try again in a few minutes",
                ) from None
            raise aws_error(exc, f"starting {instance_id}") from None

    def wait_reachable(self, ctx: DeployContext, timeout: float) -> list[Node]:
        """A short retry loop around the same SSH code every command uses."""
        deadline = time.monotonic() + timeout
        delay, last = 1.0, ""
        ctx.on_progress(f"waiting for SSH on {ctx.record.address}")
        while True:
            try:
                with self._remote(ctx.record, ctx.known_hosts_file, connect_timeout=15) as remote:
                    if remote.run(["true"], timeout=30).ok:
                        return ctx.record.nodes
                    last = "a test command failed"
            except HostKeyChanged:
                raise
            except RemoteError as exc:
                last = exc.message
            if time.monotonic() + delay > deadline:
                raise RemoteError(f"ssh: {ctx.record.address} did not accept a login within {timeout:.0f} s: {last}")
            time.sleep(delay)
            delay = min(delay * 2, 10.0)

    def query(self, record: DeploymentRecord) -> list[NodeStatus]:
        from isaacctl.providers.aws import instances

        found = instances.find_instances(self._aws(self._options(record)), record.name)
        if not found:
            return [NodeStatus(index=0, instance_id=record.head.instance_id if record.head else None,
                               state=InstanceState.TERMINATED)]
        return [
            NodeStatus(index=i, instance_id=inst["InstanceId"], state=_STATES.get(inst["State"]["Name"], InstanceState.UNKNOWN),
                       public_ip=inst.get("PublicIpAddress"), private_ip=inst.get("PrivateIpAddress"))
            for i, inst in enumerate(found)
        ]

    def stop(self, ctx: DeployContext) -> None:
        from isaacctl.providers.aws import instances

        aws = self._aws(ctx.options)  # type: ignore[arg-type]
        found = instances.find_instances(aws, ctx.name)
        if not found:
            raise ProviderError(f"aws: no instance tagged {ctx.name!r} in {aws.options.region}")
        for instance in found:
            if instance["State"]["Name"] in ("running", "pending"):
                aws.call(f"stopping {instance['InstanceId']}", aws.ec2.stop_instances,
                         InstanceIds=[instance["InstanceId"]])
        for instance in found:
            instances.wait_for_state(aws, instance["InstanceId"], "stopped", instances.STOPPED_TIMEOUT, ctx.on_progress)

    def start(self, ctx: DeployContext) -> list[Node]:
        from isaacctl.providers.aws import instances

        aws = self._aws(ctx.options)  # type: ignore[arg-type]
        found = instances.find_instances(aws, ctx.name, states=instances.RESUMABLE_STATES)
        if not found:
            raise ProviderError(f"aws: no instance tagged {ctx.name!r} in {aws.options.region}",
                                hint=f"'isaacctl deploy aws --name {ctx.name}' makes what is missing")
        instance = self._bring_back(aws, ctx, found[0])
        return [instances.node_of(instance, ctx.private_key_file)]

    def destroy(self, ctx: DeployContext) -> None:
        from isaacctl.providers.aws import teardown

        teardown.destroy(self._aws(ctx.options), ctx)  # type: ignore[arg-type]

    def list_tagged(self, options: AwsOptions, deployment: str | None = None) -> list[CloudResource]:  # type: ignore[override]
        from isaacctl.providers.aws import teardown

        return [r for r in teardown.list_tagged(self._aws(options), deployment)
                if not (r.kind == "instance" and r.state == "terminated")]

    def remote(self, record: DeploymentRecord, known_hosts_file: str, node: int = 0) -> SshRemote:
        return self._remote(record, known_hosts_file)

    @staticmethod
    def _remote(record: DeploymentRecord, known_hosts_file: str, connect_timeout: float | None = None) -> SshRemote:
        from pathlib import Path

        from isaacctl.remote.ssh import CONNECT_TIMEOUT_SECONDS, SshRemote
        from isaacctl.remote.sshconfig import ssh_config_path

        node = record.head
        if node is None or node.ssh is None:
            raise RemoteError(f"ssh: deployment {record.name!r} has no instance address yet",
                              hint=f"'isaacctl deploy aws --name {record.name}' carries on where it stopped")
        return SshRemote(node.ssh, Path(known_hosts_file), ssh_config=ssh_config_path(),
                         connect_timeout=connect_timeout or CONNECT_TIMEOUT_SECONDS)
