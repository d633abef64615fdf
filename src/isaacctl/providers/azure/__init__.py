"""`azure`: GPU VMs on Azure, made and removed by isaacctl, one resource group per deployment.

Modules: options (flags, validated offline), pricing (the shipped catalog), api (credentials,
clients, tags, endpoints), errors, network (resource group, security group, network, public
IPs, NICs, placement group), instances (sizes and zones, VMs with zone and location failover,
the GRID driver extension, power states), planning, teardown (tag sweeps, destroy,
verification). The azure-* libraries are imported only inside functions, so `isaacctl --help`
never loads them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from isaacctl.errors import ProviderError
from isaacctl.providers.azure.options import AzureOptions
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
    from collections.abc import Iterator

    from isaacctl.providers.azure.api import Azure
    from isaacctl.records import DeploymentRecord, Node
    from isaacctl.remote.ssh import SshRemote

SETTLE_TIMEOUT = 900.0


class AzureProvider(Provider[AzureOptions]):
    """GPU VMs on Azure (Standard_NV36ads_A10_v5 in westus3 unless told otherwise), one resource
    group per deployment holding the network, a security group that lets SSH in from your
    address only, a static public IP per node and the VMs. `stop` deallocates them, which is
    what stops the bill on Azure (a shutdown from inside does not); `destroy` deletes the VMs,
    then the resource group, and checks that nothing tagged for the deployment remains.
    Credentials come from `az login`, a service principal in AZURE_CLIENT_ID/AZURE_TENANT_ID/
    AZURE_CLIENT_SECRET, or the managed identity on an Azure VM."""

    name = "azure"
    summary = "Azure GPU VMs in a resource group of their own (one, or several in one zone)"
    capabilities = Capabilities(stop_start=True, spot=True, multi_node=True, owns_machines=True)
    options_model = AzureOptions
    scope_fields = ("subscription",)
    examples = (
        "isaacctl deploy azure --name ws1",
        "isaacctl deploy azure --name ws1 --location eastus --size Standard_NC8as_T4_v3 --spot",
        "isaacctl deploy azure --name pair --nodes 2 --subscription 00000000-0000-0000-0000-000000000000 --dry-run",
    )

    # -- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _azure(options: AzureOptions) -> Azure:
        from isaacctl.providers.azure.api import Azure

        return Azure(options)

    @staticmethod
    def _options(record: DeploymentRecord) -> AzureOptions:
        return AzureOptions.model_validate(record.options)

    def _nodes(self, azure: Azure, ctx: DeployContext[AzureOptions], rg: str, vms: list[dict[str, Any]]) -> list[Node]:
        from isaacctl.providers.azure import instances

        previous = {n.instance_id: n for n in ctx.record.nodes if n.instance_id}
        return [
            instances.node_of(
                azure, rg, vm, ctx.private_key_file, instances.power_of(azure, rg, vm), previous.get(vm["name"])
            )
            for vm in vms
        ]

    # -- contract ----------------------------------------------------------------------------
    def check_credentials(self, options: AzureOptions) -> CredentialCheck:
        from isaacctl.errors import IsaacctlError
        from isaacctl.providers.azure.api import scope
        from isaacctl.providers.azure.errors import CREDENTIALS_HINT

        if not options.subscription:
            return CredentialCheck(
                ok=False,
                identity="no subscription: none given, none in AZURE_SUBSCRIPTION_ID, no Azure CLI default",
                hint="pass --subscription ID, or 'az login' then 'az account set --subscription ID'",
            )
        azure = self._azure(options)
        try:
            token = azure.call("getting a token", azure.credential.get_token, scope())
            subscription = azure.subscription_info()
        except IsaacctlError as error:
            return CredentialCheck(ok=False, identity=error.message, hint=error.hint or CREDENTIALS_HINT)
        who = _who(token.token)
        return CredentialCheck(
            ok=True, identity=f"{who}, subscription {subscription.get('displayName', '?')} ({options.subscription})"
        )

    def plan(self, name: str, options: AzureOptions) -> Plan:
        from isaacctl.providers.azure.planning import make_plan

        return make_plan(self._azure(options), name)

    def create(self, ctx: DeployContext[AzureOptions]) -> list[Node]:
        from pathlib import Path

        from isaacctl.providers.azure import instances, network
        from isaacctl.providers.toolkit.cloudinit import render_user_data
        from isaacctl.providers.toolkit.failover import Attempt
        from isaacctl.providers.toolkit.sshkeys import ensure_private_key, public_key

        options, record = ctx.options, ctx.record
        azure = self._azure(options)
        plan = ctx.plan if ctx.plan is not None else self.plan(ctx.name, options)
        resolved = plan.resolved
        record.region, record.instance_type = options.location, options.size
        record.market = "spot" if options.spot else "on-demand"
        private = Path(ctx.private_key_file)
        ensure_private_key(private)
        rg = network.ensure_group(azure, ctx, options.location)
        found = [] if azure.made_now(rg) else self._settled(azure, ctx, rg)  # a new group holds no VM
        broken = [vm["name"] for vm in found if vm.get("properties", {}).get("provisioningState") == "Failed"]
        if broken:  # a deploy killed during a refused allocation: made again below
            instances._undo(azure, ctx, rg, broken)
            found = [vm for vm in found if vm["name"] not in broken]
        if found:
            ctx.on_progress("found " + ", ".join(vm["name"] for vm in found))
            self._bring_back(azure, ctx, rg, found)
        missing = [i for i in range(options.nodes) if i not in {instances.node_index(vm) for vm in found}]
        driver = resolved.get("driver", "datacenter")
        if missing:
            launch = instances.Launch(
                image=resolved["image"],
                cidr=resolved["ingress_cidr"],
                grid_driver=driver == "grid",
                public_key=public_key(private).decode(),
                user_data=render_user_data(ctx.name, instances.LOGIN_USER, "all" if driver == "datacenter" else "none"),
            )
            offers: dict[str, instances.SizeOffer | None] = {}

            if resolved.get("places"):  # the planned location's offer, as the plan found it
                offers[options.location] = instances.SizeOffer(
                    [z for _, z in resolved["places"] if z],
                    resolved.get("vcpus"),
                    resolved.get("gpus", 0),
                    resolved.get("family"),
                    resolved.get("premium_io", True),
                    None,
                )

            def offer_for(location: str) -> instances.SizeOffer | None:
                if location not in offers:
                    offers[location] = instances.size_offer(azure, options.size, location)
                return offers[location]

            skipped = [Attempt(**a) for a in resolved.get("skipped", [])]
            if found:  # the nodes share one zone: the missing ones join the others
                places: Any = [(found[0]["location"], (found[0].get("zones") or [None])[0])]
            else:
                places = _places(resolved, offer_for, skipped, options.size)
            made = instances.create_nodes(azure, ctx, rg, launch, places, skipped, missing, offer_for)
            found = sorted(found + made, key=instances.node_index)
        else:
            network.ensure_nsg(azure, ctx, rg, found[0]["location"], resolved["ingress_cidr"])
            if driver == "grid":
                instances.install_grid_driver(
                    azure, ctx, rg, [(instances.node_index(v), v["name"], v["location"]) for v in found]
                )
        instances.grant_deallocate(azure, ctx, rg, found)
        record.region = found[0]["location"]
        record.zone = (found[0].get("zones") or [None])[0]
        return self._nodes(azure, ctx, rg, found)

    def _settled(self, azure: Azure, ctx: DeployContext[AzureOptions], rg: str) -> list[dict[str, Any]]:
        """The deployment's VMs once none is between two power states."""
        from isaacctl.providers.azure import instances
        from isaacctl.providers.toolkit.retry import poll_until

        def check() -> list[dict[str, Any]] | None:
            vms = instances.find_vms(azure, ctx.name, rg, ctx.identity)
            moving = [vm["name"] for vm in vms if instances.power_of(azure, rg, vm) in ("deallocating", "stopping")]
            return None if moving else vms

        return poll_until(check, f"the VMs of {ctx.name} to settle", SETTLE_TIMEOUT, ctx.on_progress, provider="azure")

    def _bring_back(self, azure: Azure, ctx: DeployContext[AzureOptions], rg: str, vms: list[dict[str, Any]]) -> None:
        from isaacctl.providers.azure import instances

        stopped = [vm["name"] for vm in vms if instances.power_of(azure, rg, vm) in ("deallocated", "stopped")]
        if stopped:
            ctx.on_progress(f"starting {', '.join(stopped)}")
            instances.start_vms(azure, rg, stopped)

    def wait_reachable(self, ctx: DeployContext[AzureOptions], timeout: float) -> list[Node]:
        from isaacctl.providers.toolkit.reachable import wait_for_nodes

        return wait_for_nodes(ctx, timeout)

    def query(self, record: DeploymentRecord) -> list[NodeStatus]:
        from isaacctl.providers.azure import instances
        from isaacctl.providers.azure.api import group_name
        from isaacctl.providers.base import identity_of

        azure = self._azure(self._options(record))
        identity = identity_of(record)
        rg = group_name(identity)
        vms = {vm["name"]: vm for vm in instances.find_vms(azure, record.name, rg, identity)}
        statuses = []
        for node in record.nodes:
            vm = vms.pop(node.instance_id, None) if node.instance_id else None
            statuses.append(_status(azure, rg, node.index, node.instance_id, vm))
        index = max([n.index + 1 for n in record.nodes], default=0)
        for vm in sorted(vms.values(), key=instances.node_index):  # made but not recorded yet
            statuses.append(_status(azure, rg, index, vm["name"], vm))
            index += 1
        return statuses or [NodeStatus(index=0, instance_id=None, state=InstanceState.TERMINATED)]

    def stop(self, ctx: DeployContext[AzureOptions]) -> None:
        from isaacctl.providers.azure import instances
        from isaacctl.providers.azure.api import group_name

        azure = self._azure(ctx.options)
        rg = group_name(ctx.identity)
        vms = self._settled(azure, ctx, rg)
        if not vms:
            raise ProviderError(f"azure: no VM of {ctx.name!r} ({ctx.identity.id}) in resource group {rg}")
        # "stopped" too: a VM shut down from inside is still allocated and still billed
        allocated = [vm["name"] for vm in vms if instances.power_of(azure, rg, vm) != "deallocated"]
        if allocated:
            ctx.on_progress(f"deallocating {', '.join(allocated)}")
            instances.deallocate_vms(azure, rg, allocated)

    def start(self, ctx: DeployContext[AzureOptions]) -> list[Node]:
        from isaacctl.providers.azure.api import group_name

        azure = self._azure(ctx.options)
        rg = group_name(ctx.identity)
        vms = self._settled(azure, ctx, rg)
        if not vms:
            raise ProviderError(
                f"azure: no VM of {ctx.name!r} ({ctx.identity.id}) in resource group {rg}",
                hint=f"'isaacctl deploy azure --name {ctx.name}' makes what is missing",
            )
        self._bring_back(azure, ctx, rg, vms)
        return self._nodes(azure, ctx, rg, vms)

    def destroy(self, ctx: DeployContext[AzureOptions]) -> None:
        from isaacctl.providers.azure import teardown

        teardown.destroy(self._azure(ctx.options), ctx)

    def list_tagged(self, options: AzureOptions, deployment: str | None = None) -> list[CloudResource]:
        from isaacctl.providers.azure import teardown

        return teardown.list_tagged(self._azure(options), deployment)

    def remote(self, record: DeploymentRecord, known_hosts_file: str, node: int = 0) -> SshRemote:
        return self._remote(record, known_hosts_file, node)

    @staticmethod
    def _remote(
        record: DeploymentRecord, known_hosts_file: str, node: int = 0, connect_timeout: float | None = None
    ) -> SshRemote:
        from isaacctl.providers.toolkit.reachable import node_remote

        return node_remote(record, known_hosts_file, node, connect_timeout)


def _places(
    resolved: dict[str, Any], offer_for: Any, skipped: list[Any], size: str
) -> Iterator[tuple[str, str | None]]:
    """(location, zone) in order: the planned location's zones, then each failover location's
    (asked of Azure only when the failover gets there)."""
    from isaacctl.providers.toolkit.failover import Attempt

    for location, zone in resolved.get("places", []):
        yield location, zone
    for location in resolved.get("failover_locations", []):
        offer = offer_for(location)
        if offer is None or offer.restricted:
            skipped.append(
                Attempt(
                    location,
                    "skipped",
                    f"{size} is not sold there" if offer is None else f"{offer.restricted} for this subscription",
                )
            )
            continue
        for zone in offer.zones or [None]:
            yield location, zone


def _status(azure: Azure, rg: str, index: int, instance_id: str | None, vm: dict[str, Any] | None) -> NodeStatus:
    from isaacctl.providers.azure import instances, network

    if vm is None:
        return NodeStatus(index=index, instance_id=instance_id, state=InstanceState.TERMINATED)
    power = instances.power_of(azure, rg, vm)
    public, private = network.addresses(azure, rg, vm)
    return NodeStatus(
        index=index,
        instance_id=vm["name"],
        state=instances.POWER.get(power, InstanceState.UNKNOWN),
        public_ip=public,
        private_ip=private,
    )


def _who(token: str) -> str:
    """Who a token was issued to, from its claims (read, not verified: for people only)."""
    import base64
    import json

    try:
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    except (IndexError, ValueError):
        return "an identity Azure accepted"
    tenant = claims.get("tid", "?")
    user = claims.get("upn") or claims.get("unique_name") or claims.get("preferred_username")
    if user:
        return f"user {user} (tenant {tenant})"
    if claims.get("xms_mirid"):
        return f"managed identity {claims['xms_mirid'].rsplit('/', 1)[-1]} (tenant {tenant})"
    return f"service principal {claims.get('appid') or claims.get('azp') or claims.get('oid', '?')} (tenant {tenant})"
