"""Finding what isaacctl made by label (instances, disks) or by name and description (firewall
rules, networks, resource policies: they take no labels), removing it in dependency order, and
checking that nothing remains. Works from the cloud alone, so a deploy killed half-way or a
deployment whose state is gone (`gc`) is cleaned up just the same. Only resources carrying the
deployment's id (or none: made before ids) are touched."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from isaacctl.errors import ProviderError
from isaacctl.providers.base import CloudResource
from isaacctl.providers.gcp.api import Gcp, identity_in_labels, name_filter
from isaacctl.providers.gcp.errors import IN_USE, NOT_FOUND, from_http, gcp_error
from isaacctl.providers.gcp.instances import STATES, find_instances, zone_of
from isaacctl.providers.gcp.network import find_described
from isaacctl.providers.toolkit.retry import retry_while
from isaacctl.providers.toolkit.verify import nothing_remains

if TYPE_CHECKING:
    from isaacctl.providers.base import DeployContext, Identity
    from isaacctl.providers.gcp.options import GcpOptions

DEPENDENCY_TIMEOUT = 300.0  # a network stays in use a little after its firewall rules go


def _region(zone: str) -> str:
    return zone.rsplit("-", 1)[0]


def _disks(gcp: Gcp, deployment: str | None, owner: Identity | None) -> list[Any]:
    found = []
    for _, disk in gcp.aggregated("listing disks", "DisksClient", filter=name_filter(deployment)):
        identity = identity_in_labels(disk.labels)
        if owner is not None and (identity is None or not owner.owns(identity.id)):
            continue
        found.append(disk)
    return found


def list_tagged(gcp: Gcp, deployment: str | None, owner: Identity | None = None) -> list[CloudResource]:
    """Every live resource isaacctl made for `deployment` (any when None) in the project, only
    `owner`'s when given: aggregated lists, so every zone and region is looked in."""
    found: list[CloudResource] = []

    def add(kind: str, resource_id: str, identity: Identity | None, region: str | None, state: str | None) -> None:
        if identity is not None:
            found.append(
                CloudResource(
                    kind,
                    resource_id,
                    identity.name,
                    region,
                    state,
                    deployment_id=identity.id or None,
                    creator=identity.creator or None,
                    created=identity.created or None,
                )
            )

    for instance in find_instances(gcp, deployment, owner):
        add(
            "instance",
            f"{zone_of(instance)}/{instance.name}",
            identity_in_labels(instance.labels),
            _region(zone_of(instance)),
            STATES.get(instance.status, "unknown"),
        )
    for disk in _disks(gcp, deployment, owner):
        zone = str(disk.zone).rsplit("/", 1)[-1]
        add("disk", f"{zone}/{disk.name}", identity_in_labels(disk.labels), _region(zone), disk.status.lower())
    for item in find_described(gcp, deployment, owner):
        add(item.kind, item.name, item.identity, item.region, None)
    return found


def _delete(gcp: Gcp, what: str, kind: str, **kwargs: Any) -> Any | None:
    """Start a deletion; None when the resource is gone already."""
    from google.api_core.exceptions import GoogleAPICallError, NotFound

    def once() -> Any:
        return gcp.raw(kind, "delete_unary", project=gcp.project, **kwargs)

    def in_use(exc: BaseException) -> bool:
        return isinstance(exc, GoogleAPICallError) and from_http(exc).code in IN_USE

    try:
        return retry_while(once, in_use, DEPENDENCY_TIMEOUT)
    except NotFound:
        return None
    except GoogleAPICallError as exc:
        if from_http(exc).code in NOT_FOUND:
            return None
        raise gcp_error(exc, f"deleting {what}") from exc


def _finish(gcp: Gcp, operation: Any | None, what: str) -> None:
    if operation is None:
        return
    failure = gcp.wait(operation, f"deleting {what}")
    if failure is not None and failure.code not in NOT_FOUND:
        raise ProviderError(f"gcp: cannot delete {what}: {failure.code}: {failure.message}")


def destroy(gcp: Gcp, ctx: DeployContext[GcpOptions]) -> None:
    name, identity = ctx.name, ctx.identity

    # 1. instances (their boot disks go with them): all deletions started, then waited on
    instances = find_instances(gcp, name, identity)
    if instances:
        ctx.on_progress("deleting " + ", ".join(i.name for i in instances))
    started = [(i, _delete(gcp, i.name, "InstancesClient", zone=zone_of(i), instance=i.name)) for i in instances]
    for instance, operation in started:
        _finish(gcp, operation, instance.name)
        ctx.deleted("instance", str(instance.id), instance_name=instance.name, zone=zone_of(instance))

    # 2. disks left behind (a boot disk made while its instance was refused, say)
    for disk in _disks(gcp, name, identity):
        zone = str(disk.zone).rsplit("/", 1)[-1]
        _finish(gcp, _delete(gcp, disk.name, "DisksClient", zone=zone, disk=disk.name), disk.name)
        ctx.deleted("disk", disk.name, zone=zone)

    # 3. firewall rules, then the placement policy and the network made for the deployment
    described = find_described(gcp, name, identity)
    order = {"firewall": 0, "resource-policy": 1, "network": 2}
    for item in sorted(described, key=lambda d: order.get(d.kind, 3)):
        if item.kind == "firewall":
            _finish(gcp, _delete(gcp, item.name, "FirewallsClient", firewall=item.name), item.name)
        elif item.kind == "resource-policy":
            _finish(
                gcp,
                _delete(gcp, item.name, "ResourcePoliciesClient", region=item.region, resource_policy=item.name),
                item.name,
            )
        elif item.kind == "network":
            _finish(gcp, _delete(gcp, item.name, "NetworksClient", network=item.name), item.name)
        ctx.deleted(item.kind, item.name)

    nothing_remains(lambda: list_tagged(gcp, name, identity), "gcp", name, f"project {gcp.project}")
