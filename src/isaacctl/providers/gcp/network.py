"""Where the instances live on the network: the default network (or an auto-mode network made
for the deployment when the project has none), the firewall rules (SSH from the ingress CIDR to
the deployment's network tag; every port between its nodes), and the compact placement policy
of several nodes.

Firewall rules, networks and resource policies take no labels: their names are
`isaacctl-<name>-<id>[-suffix]` and their descriptions carry the same identity the labels of
instances do (api.described), which is how they are found again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from isaacctl.errors import ProviderError
from isaacctl.providers.gcp.api import Gcp, described, identity_in_description, resource_name
from isaacctl.providers.gcp.errors import NOT_FOUND, from_http

if TYPE_CHECKING:
    from isaacctl.providers.base import DeployContext, Identity
    from isaacctl.providers.gcp.options import GcpOptions

DEFAULT_NETWORK = "default"
PREFIX_FILTER = 'name eq "isaacctl-.*"'


@dataclass(frozen=True)
class Described:
    """A resource found by its name prefix and description."""

    kind: str
    name: str
    identity: Identity
    region: str | None
    item: Any


def network_tag(identity: Identity) -> str:
    return resource_name(identity)


def _get(gcp: Gcp, doing: str, kind: str, **kwargs: Any) -> Any | None:
    """The resource, or None when it does not exist."""
    from google.api_core.exceptions import GoogleAPICallError, NotFound

    try:
        return gcp.raw(kind, "get", project=gcp.project, **kwargs)
    except NotFound:
        return None
    except GoogleAPICallError as exc:
        if from_http(exc).code in NOT_FOUND:
            return None
        from isaacctl.providers.gcp.errors import gcp_error

        raise gcp_error(exc, doing) from exc


def find_described(
    gcp: Gcp, deployment: str | None, owner: Identity | None = None, region: str | None = None
) -> list[Described]:
    """Firewall rules, networks and resource policies isaacctl made (for `deployment`, or any),
    only `owner`'s (its id, or none) when given. Resource policies are looked for in `region`
    (every region when None)."""
    found: list[Described] = []

    def add(kind: str, items: list[Any], where: str | None = None) -> None:
        for item in items:
            identity, described_region = identity_in_description(item.description)
            if identity is None or (deployment is not None and identity.name != deployment):
                continue
            if owner is not None and not (identity.name == owner.name and owner.owns(identity.id)):
                continue
            found.append(Described(kind, item.name, identity, described_region or where, item))

    add("firewall", gcp.listed("listing firewall rules", "FirewallsClient", project=gcp.project, filter=PREFIX_FILTER))
    add("network", gcp.listed("listing networks", "NetworksClient", project=gcp.project, filter=PREFIX_FILTER))
    if region is not None:
        add(
            "resource-policy",
            gcp.listed(
                "listing resource policies",
                "ResourcePoliciesClient",
                project=gcp.project,
                region=region,
                filter=PREFIX_FILTER,
            ),
            region,
        )
    else:
        for scope, policy in gcp.aggregated(
            "listing resource policies", "ResourcePoliciesClient", filter=PREFIX_FILTER
        ):
            identity, described_region = identity_in_description(policy.description)
            if identity is None or (deployment is not None and identity.name != deployment):
                continue
            if owner is not None and not (identity.name == owner.name and owner.owns(identity.id)):
                continue
            found.append(
                Described(
                    "resource-policy", policy.name, identity, described_region or scope.rsplit("/", 1)[-1], policy
                )
            )
    return found


def default_network_exists(gcp: Gcp) -> bool:
    return _get(gcp, "looking for the default network", "NetworksClient", network=DEFAULT_NETWORK) is not None


def ensure_network(gcp: Gcp, ctx: DeployContext[GcpOptions], use_default: bool) -> str:
    """The network's self link: `default` when the plan found it (not asked again), else the
    deployment's own auto-mode network."""
    from google.cloud import compute_v1

    if use_default:
        return f"projects/{gcp.project}/global/networks/{DEFAULT_NETWORK}"
    identity = ctx.identity
    name = resource_name(identity)
    if _get(gcp, "looking for the deployment's network", "NetworksClient", network=name) is None:
        ctx.creating("network", name, mode="auto")
        gcp.run(
            "creating a network",
            "NetworksClient",
            "insert_unary",
            network_resource=compute_v1.Network(
                name=name,
                auto_create_subnetworks=True,
                description=described(
                    f"isaacctl deployment {ctx.name}: no default network", identity, ctx.options.region
                ),
            ),
        )
        ctx.created("network", name, mode="auto")
    return f"projects/{gcp.project}/global/networks/{name}"


def ensure_firewall(gcp: Gcp, ctx: DeployContext[GcpOptions], network: str, cidr: str) -> None:
    """SSH (22/tcp) from `cidr` only to the deployment's network tag; an earlier CIDR (a
    changed `myip`) is replaced in the same rule, never accumulated. With several nodes, a
    second rule lets them reach each other on every port."""
    from google.cloud import compute_v1

    identity, region = ctx.identity, ctx.options.region
    tag = network_tag(identity)
    name = resource_name(identity, "ssh")
    rule = _get(gcp, "looking for the SSH firewall rule", "FirewallsClient", firewall=name)
    if rule is None:
        ctx.creating("firewall", name, cidr=cidr, network=network)
        gcp.run(
            "creating the SSH firewall rule",
            "FirewallsClient",
            "insert_unary",
            firewall_resource=compute_v1.Firewall(
                name=name,
                network=network,
                direction="INGRESS",
                priority=1000,
                source_ranges=[cidr],
                target_tags=[tag],
                allowed=[compute_v1.Allowed(I_p_protocol="tcp", ports=["22"])],
                description=described(f"isaacctl deployment {ctx.name}: SSH", identity, region),
            ),
        )
        ctx.created("firewall", name, cidr=cidr)
    elif list(rule.source_ranges) != [cidr]:
        stale = ", ".join(rule.source_ranges)
        ctx.on_progress(f"SSH from {stale} replaced by {cidr}")
        gcp.run(
            "replacing the SSH firewall rule's source",
            "FirewallsClient",
            "patch_unary",
            firewall=name,
            firewall_resource=compute_v1.Firewall(source_ranges=[cidr]),
        )
        ctx.deleted("firewall-source", f"{name}:{stale}", reason=f"replaced by {cidr}")
        ctx.created("firewall-source", f"{name}:{cidr}", cidr=cidr)
    if ctx.options.nodes > 1:
        between = resource_name(identity, "nodes")
        if _get(gcp, "looking for the firewall rule between nodes", "FirewallsClient", firewall=between) is None:
            ctx.creating("firewall", between, source_tag=tag)
            gcp.run(
                "letting the nodes reach each other",
                "FirewallsClient",
                "insert_unary",
                firewall_resource=compute_v1.Firewall(
                    name=between,
                    network=network,
                    direction="INGRESS",
                    priority=1000,
                    source_tags=[tag],
                    target_tags=[tag],
                    allowed=[compute_v1.Allowed(I_p_protocol="all")],
                    description=described(f"isaacctl deployment {ctx.name}: between its nodes", identity, region),
                ),
            )
            ctx.created("firewall", between, source_tag=tag)


def ensure_placement_policy(gcp: Gcp, ctx: DeployContext[GcpOptions]) -> str | None:
    """A compact placement policy for several nodes (close together on the network), or None
    with a notice when Compute Engine refuses one (the nodes then share a zone only)."""
    from google.api_core.exceptions import GoogleAPICallError
    from google.cloud import compute_v1

    identity, region = ctx.identity, ctx.options.region
    name = resource_name(identity)
    link = f"projects/{gcp.project}/regions/{region}/resourcePolicies/{name}"
    if (
        _get(gcp, "looking for the placement policy", "ResourcePoliciesClient", region=region, resource_policy=name)
        is not None
    ):
        return link
    ctx.creating("resource-policy", name, collocation="COLLOCATED", region=region)
    policy = compute_v1.ResourcePolicy(
        name=name,
        description=described(f"isaacctl deployment {ctx.name}: compact placement", identity, region),
        group_placement_policy=compute_v1.ResourcePolicyGroupPlacementPolicy(collocation="COLLOCATED"),
    )
    try:
        operation = gcp.raw(
            "ResourcePoliciesClient",
            "insert_unary",
            project=gcp.project,
            region=region,
            resource_policy_resource=policy,
        )
    except GoogleAPICallError as exc:
        failure = from_http(exc)
        ctx.failed("resource-policy", name, code=failure.code)
        ctx.on_progress(f"no compact placement policy ({failure.code}: {failure.message}): the nodes share a zone only")
        return None
    refused = gcp.wait(operation, "creating the placement policy")
    if refused is not None:
        raise ProviderError(f"gcp: creating the placement policy failed: {refused.code}: {refused.message}")
    ctx.created("resource-policy", name, region=region)
    return link
