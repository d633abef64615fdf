"""`alibaba`: a GPU workstation on Alibaba Cloud ECS, made and removed by isaacctl.

Modules: options (flags, validated offline), errors (codes by what isaacctl does about them),
api (clients, calls, tags, the endpoint), network (VPC, vSwitch, security group, key pair,
deployment set), instances (image, zones, GPU families, launch with zone failover), planning,
teardown (tag sweeps, destroy, verification); what every cloud shares is in providers/toolkit.
The alibabacloud SDK is imported only inside functions, so `isaacctl --help` never loads it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from isaacctl.errors import ProviderError
from isaacctl.providers.alibaba.options import AlibabaOptions
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
    from isaacctl.providers.alibaba.api import Alibaba
    from isaacctl.records import DeploymentRecord, Node
    from isaacctl.remote.ssh import SshRemote

_STATES = {
    "Pending": InstanceState.PENDING,
    "Starting": InstanceState.PENDING,
    "Running": InstanceState.RUNNING,
    "Stopping": InstanceState.STOPPING,
    "Stopped": InstanceState.STOPPED,
}


class AlibabaProvider(Provider[AlibabaOptions]):
    """ECS GPU instances on Alibaba Cloud made for the deployment: Ubuntu 22.04, the driver
    installed at first boot, SSH from your address only; one node, or several in one zone spread
    over distinct hosts. Credentials come from Alibaba Cloud's chain
    (ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET, the aliyun CLI profile, ~/.alibabacloud/credentials.ini).
    Known to run Isaac Sim: gn7i (A10), gn6i (T4), gn8is (L20); gn7e (A100) and gn8v only for
    kit-less Isaac Lab 3.x."""

    name = "alibaba"
    summary = "Alibaba Cloud ECS GPU instances made for the deployment (one, or several in one zone)"
    capabilities = Capabilities(stop_start=True, spot=True, multi_node=True, owns_machines=True)
    options_model = AlibabaOptions
    scope_fields = ("region",)
    examples = (
        "isaacctl deploy alibaba --name ws1",
        "isaacctl deploy alibaba --name ws1 --region cn-hangzhou --instance-type ecs.gn8is.2xlarge --spot",
        "isaacctl deploy alibaba --name team --nodes 2 --ingress-cidr 203.0.113.0/24 --dry-run",
    )

    # -- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _api(options: AlibabaOptions) -> Alibaba:
        from isaacctl.providers.alibaba.api import Alibaba

        return Alibaba(options.region)

    @staticmethod
    def _options(record: DeploymentRecord) -> AlibabaOptions:
        return AlibabaOptions.model_validate(record.options)

    @staticmethod
    def _nodes(found: list[dict[str, Any]], ctx: DeployContext[AlibabaOptions]) -> list[Node]:
        from isaacctl.providers.alibaba.instances import in_node_order, node_of

        previous = {n.instance_id: n for n in ctx.record.nodes if n.instance_id}
        ordered = in_node_order(found, [n.instance_id for n in ctx.record.nodes if n.instance_id])
        return [
            node_of(instance, ctx.private_key_file, index, previous.get(instance["InstanceId"]))
            for index, instance in enumerate(ordered)
        ]

    # -- contract ----------------------------------------------------------------------------
    def check_credentials(self, options: AlibabaOptions) -> CredentialCheck:
        from isaacctl.errors import IsaacctlError
        from isaacctl.providers.alibaba.errors import CREDENTIALS_HINT

        try:
            who = self._api(options).call("sts", "GetCallerIdentity", "asking STS who the credentials belong to")
        except IsaacctlError as exc:
            return CredentialCheck(ok=False, identity=exc.message, hint=exc.hint or CREDENTIALS_HINT)
        return CredentialCheck(
            ok=True,
            identity=f"{who.get('Arn')}, account {who.get('AccountId')} "
            f"({who.get('IdentityType')}), region {options.region}",
        )

    def plan(self, name: str, options: AlibabaOptions) -> Plan:
        from isaacctl.providers.alibaba.planning import make_plan

        return make_plan(self._api(options), options, name)

    def create(self, ctx: DeployContext[AlibabaOptions]) -> list[Node]:
        from isaacctl.providers.alibaba import instances, network
        from isaacctl.providers.toolkit.cloudinit import render_user_data
        from isaacctl.providers.toolkit.failover import Attempt

        options = ctx.options
        api = self._api(options)
        plan = ctx.plan if ctx.plan is not None else self.plan(ctx.name, options)
        resolved = plan.resolved
        record = ctx.record
        record.region, record.instance_type = options.region, options.instance_type
        record.market = "spot" if options.spot else "on-demand"

        key_name = network.ensure_key_pair(api, ctx)
        net = network.ensure_network(api, ctx, resolved.get("use_default_vpc", True), resolved.get("default_network"))
        group_id = network.ensure_security_group(api, ctx, net.vpc_id, resolved["ingress_cidr"])
        found = instances.find_instances(api, ctx.name, ctx.identity)
        if found:
            ctx.on_progress("found " + ", ".join(f"{i['InstanceId']} ({i['Status']})" for i in found))
            found = self._bring_back(api, ctx, found)
        missing = options.nodes - len(found)
        if missing > 0:
            deployment_set = network.ensure_deployment_set(api, ctx) if options.nodes > 1 else None
            zones, skipped = resolved["zones"], [Attempt(**a) for a in resolved["skipped_zones"]]
            if found:  # the nodes share one zone: the missing ones join the others
                zones, skipped = [found[0]["ZoneId"]], []
            user_data = render_user_data(ctx.name, instances.LOGIN_USER, "all" if resolved["gpus"] else "none")
            made = instances.launch(
                api,
                ctx,
                zones=zones,
                skipped=skipped,
                vswitch_for=lambda zone: network.vswitch_for(api, ctx, net, zone),
                image=instances.Image(**resolved["image"]),
                key_name=key_name,
                group_id=group_id,
                user_data=instances.user_data_of(user_data),
                vcpus=resolved.get("vcpus"),
                count=missing,
                have=len(found),
                deployment_set=deployment_set,
            )
            found += [
                instances.wait_for_state(api, i, "Running", instances.RUNNING_TIMEOUT, ctx.on_progress) for i in made
            ]
        nodes = self._nodes(found, ctx)
        head = next(i for i in found if i["InstanceId"] == nodes[0].instance_id)
        record.zone = head.get("ZoneId")
        return nodes

    def _bring_back(
        self, api: Alibaba, ctx: DeployContext[AlibabaOptions], found: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Instances of a resumed deploy or a start: wait out transitions, start the stopped
        ones (one call), and return them running."""
        from isaacctl.providers.alibaba import instances
        from isaacctl.providers.alibaba.errors import CAPACITY

        for instance in found:
            if instance["Status"] == "Stopping":
                instance.update(
                    instances.wait_for_state(
                        api, instance["InstanceId"], "Stopped", instances.STOPPED_TIMEOUT, ctx.on_progress
                    )
                )
        stopped = [i["InstanceId"] for i in found if i["Status"] == "Stopped"]
        if stopped:
            listed = ", ".join(stopped)
            answer = api.ecs("StartInstances", f"starting {listed}", {"InstanceId": stopped})
            refused = [
                r
                for r in (answer.get("InstanceResponses") or {}).get("InstanceResponse") or []
                if str(r.get("Code")) != "200"
            ]
            if refused:
                first = refused[0]
                code = str(first.get("Code"))
                if code in CAPACITY:
                    raise ProviderError(
                        f"capacity: {first.get('InstanceId')} cannot start in its zone now "
                        f"({code}: {first.get('Message')})",
                        hint="its disk lives in that zone: try again in a few minutes",
                    )
                raise ProviderError(
                    f"alibaba: starting {first.get('InstanceId')} failed: {code}: {first.get('Message')}"
                )
        return [
            instances.wait_for_state(api, i["InstanceId"], "Running", instances.RUNNING_TIMEOUT, ctx.on_progress)
            for i in found
        ]

    def wait_reachable(self, ctx: DeployContext[AlibabaOptions], timeout: float) -> list[Node]:
        from isaacctl.providers.toolkit.reachable import wait_for_nodes

        return wait_for_nodes(ctx, timeout)

    def query(self, record: DeploymentRecord) -> list[NodeStatus]:
        from isaacctl.providers.alibaba import instances
        from isaacctl.providers.base import identity_of

        found = {
            i["InstanceId"]: i
            for i in instances.find_instances(self._api(self._options(record)), record.name, identity_of(record))
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

    def stop(self, ctx: DeployContext[AlibabaOptions]) -> None:
        """StoppedMode=StopCharging: the vCPUs, memory, GPU and public address are released, so
        only the disk is billed while stopped (the address changes on start)."""
        from isaacctl.providers.alibaba import instances

        api = self._api(ctx.options)
        found = instances.find_instances(api, ctx.name, ctx.identity)
        if not found:
            raise ProviderError(f"alibaba: no instance of {ctx.name!r} ({ctx.identity.id}) in {api.region}")
        running = [i["InstanceId"] for i in found if i["Status"] in ("Running", "Pending", "Starting")]
        if running:
            ctx.on_progress("stopping in StopCharging mode: compute is no longer billed, the disk is")
            api.ecs(
                "StopInstances",
                f"stopping {', '.join(running)}",
                {"InstanceId": running, "StoppedMode": "StopCharging", "ForceStop": False},
            )
        for instance in found:
            instances.wait_for_state(api, instance["InstanceId"], "Stopped", instances.STOPPED_TIMEOUT, ctx.on_progress)

    def start(self, ctx: DeployContext[AlibabaOptions]) -> list[Node]:
        from isaacctl.providers.alibaba import instances

        api = self._api(ctx.options)
        found = instances.find_instances(api, ctx.name, ctx.identity)
        if not found:
            raise ProviderError(
                f"alibaba: no instance of {ctx.name!r} ({ctx.identity.id}) in {api.region}",
                hint=f"'isaacctl deploy alibaba --name {ctx.name}' makes what is missing",
            )
        return self._nodes(self._bring_back(api, ctx, found), ctx)

    def destroy(self, ctx: DeployContext[AlibabaOptions]) -> None:
        from isaacctl.providers.alibaba import teardown

        teardown.destroy(self._api(ctx.options), ctx)

    def list_tagged(self, options: AlibabaOptions, deployment: str | None = None) -> list[CloudResource]:
        from isaacctl.providers.alibaba import teardown

        return teardown.list_tagged(self._api(options), deployment)

    def remote(self, record: DeploymentRecord, known_hosts_file: str, node: int = 0) -> SshRemote:
        return self._remote(record, known_hosts_file, node)

    @staticmethod
    def _remote(
        record: DeploymentRecord, known_hosts_file: str, node: int = 0, connect_timeout: float | None = None
    ) -> SshRemote:
        from isaacctl.providers.toolkit.reachable import node_remote

        return node_remote(record, known_hosts_file, node, connect_timeout)


def _status(index: int, instance_id: str | None, instance: dict[str, Any] | None) -> NodeStatus:
    from isaacctl.providers.alibaba.instances import private_ip, public_ip

    if instance is None:
        return NodeStatus(index=index, instance_id=instance_id, state=InstanceState.TERMINATED)
    return NodeStatus(
        index=index,
        instance_id=instance["InstanceId"],
        state=_STATES.get(instance["Status"], InstanceState.UNKNOWN),
        public_ip=public_ip(instance),
        private_ip=private_ip(instance),
    )
