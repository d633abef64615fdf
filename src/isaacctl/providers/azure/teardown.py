"""Finding what isaacctl made in a subscription by tag alone, and removing it: the VMs first,
then the deployment's resource group (which takes everything it holds, the untagged OS disks
included), then a check that nothing tagged for the deployment remains anywhere in the
subscription. Only resources carrying the deployment's id (or no id) are touched."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from isaacctl.providers.azure.api import Azure, group_name, identity_in, owned_by, plain, tag_filter
from isaacctl.providers.base import CloudResource
from isaacctl.providers.toolkit.verify import nothing_remains

if TYPE_CHECKING:
    from isaacctl.providers.azure.options import AzureOptions
    from isaacctl.providers.base import DeployContext, Identity

KINDS = {
    "microsoft.resources/resourcegroups": "resource-group",
    "microsoft.compute/virtualmachines": "vm",
    "microsoft.compute/virtualmachines/extensions": "vm-extension",
    "microsoft.compute/disks": "disk",
    "microsoft.compute/proximityplacementgroups": "proximity-placement-group",
    "microsoft.network/virtualnetworks": "virtual-network",
    "microsoft.network/networksecuritygroups": "network-security-group",
    "microsoft.network/publicipaddresses": "public-ip",
    "microsoft.network/networkinterfaces": "network-interface",
}


def kind_of(resource_type: str) -> str:
    return KINDS.get(resource_type.lower(), resource_type)


def list_tagged(azure: Azure, deployment: str | None, owner: Identity | None = None) -> list[CloudResource]:
    """Every resource group and resource in the subscription tagged for `deployment` (any
    deployment when None), only `owner`'s when given. Two list calls, subscription-wide: a
    deployment's resources are found whichever location they were made in."""
    found: list[CloudResource] = []
    where = tag_filter(deployment)
    groups = azure.call(
        "listing resource groups", lambda: [plain(g) for g in azure.resources.resource_groups.list(filter=where)]
    )
    resources = azure.call(
        "listing resources", lambda: [plain(r) for r in azure.resources.resources.list(filter=where)]
    )
    for item in [*groups, *resources]:
        tags = item.get("tags") or {}
        if not owned_by(tags, owner):
            continue
        who = identity_in(tags)
        if who is None or (deployment is not None and who.name != deployment):
            continue
        state = (item.get("properties") or {}).get("provisioningState")
        found.append(
            CloudResource(
                kind_of(item.get("type", "Microsoft.Resources/resourceGroups")),
                item["id"],
                who.name,
                item.get("location"),
                state.lower() if isinstance(state, str) and state == "Deleting" else None,
                deployment_id=who.id or None,
                creator=who.creator or None,
                created=who.created or None,
            )
        )
    return found


def destroy(azure: Azure, ctx: DeployContext[AzureOptions]) -> None:
    identity = ctx.identity
    tagged = list_tagged(azure, ctx.name, identity)
    groups = {r.resource_id.rsplit("/", 1)[1] for r in tagged if r.kind == "resource-group"}
    # resources tagged for the deployment outside its group would be left by the group's
    # delete: their groups are named, and the verification at the end lists them
    # the deployment's own group even if its tags were lost: its name carries the id
    own = group_name(identity)
    groups.add(own)
    for group in sorted(groups):
        found = azure.get_or_none("reading the resource group", azure.resources.resource_groups.get, group)
        if found is None or (group != own and not owned_by(plain(found).get("tags"), identity)):
            continue
        _delete_vms(azure, ctx, group)
        ctx.on_progress(f"deleting resource group {group} and all it holds")
        poller = azure.call("deleting the resource group", azure.resources.resource_groups.begin_delete, group)
        azure.wait("deleting the resource group", poller)
        ctx.deleted("resource-group", plain(found)["id"])
    nothing_remains(
        lambda: list_tagged(azure, ctx.name, identity), "azure", ctx.name, f"subscription {azure.subscription}"
    )


def _delete_vms(azure: Azure, ctx: DeployContext[AzureOptions], group: str) -> None:
    """The VMs first (all at once): a resource group's delete would get to them too, but in an
    order of its own; deleting them first stops the billing soonest, and a VM still running
    never loses its network under it."""
    vms: list[dict[str, Any]] = [
        plain(v) for v in azure.call("listing VMs", lambda: list(azure.compute.virtual_machines.list(group)))
    ]
    pollers = []
    for vm in vms:
        if owned_by(vm.get("tags"), ctx.identity):
            ctx.on_progress(f"deleting {vm['name']}")
            pollers.append(
                (
                    vm["id"],
                    azure.call(
                        f"deleting {vm['name']}", azure.compute.virtual_machines.begin_delete, group, vm["name"]
                    ),
                )
            )
    for resource_id, poller in pollers:
        azure.wait("deleting a VM", poller)
        ctx.deleted("vm", resource_id)
