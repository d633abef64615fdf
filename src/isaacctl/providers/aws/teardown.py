"""Finding what isaacctl made by tag alone, and removing it in dependency order, then checking
that nothing tagged remains. Works from tags only, so a deploy killed half-way (state partial)
or a deployment whose state is gone (`gc`) is cleaned up just the same. Only resources carrying
the deployment's id (or no id: made before ids) are touched: another deployment of the same
name (another state folder) is left exactly as it is."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from isaacctl.errors import ProviderError
from isaacctl.providers.aws.api import Aws, identity_in, owned, tag_filter
from isaacctl.providers.aws.errors import code_of, is_not_found
from isaacctl.providers.aws.instances import TERMINATED_TIMEOUT, find_instances, wait_for_state
from isaacctl.providers.aws.keys import find_key_pairs
from isaacctl.providers.base import DEPLOYMENT_TAG, CloudResource
from isaacctl.providers.toolkit.retry import retry_while
from isaacctl.providers.toolkit.verify import nothing_remains

if TYPE_CHECKING:
    from isaacctl.providers.aws.options import AwsOptions
    from isaacctl.providers.base import DeployContext, Identity

DEPENDENCY_TIMEOUT = 300.0  # a security group stays "in use" a little after its instance goes
GONE_SPOT_STATES = ("cancelled", "closed", "failed")
IN_USE = ("DependencyViolation", "InvalidGroup.InUse", "InvalidPlacementGroup.InUse")


def list_tagged(aws: Aws, deployment: str | None, owner: Identity | None = None) -> list[CloudResource]:
    """Every live resource tagged for `deployment` (any deployment when None), only `owner`'s
    when given, in the options' region, one describe call per kind: describe_tags would also
    list resources deleted moments ago."""
    region = aws.options.region
    found: list[CloudResource] = []

    def add(
        kind: str,
        items: list[dict[str, Any]],
        id_key: str,
        tags_key: str = "Tags",
        state: Callable[[dict[str, Any]], str | None] = lambda item: None,
    ) -> None:
        for item in owned(items, owner, tags_key):
            who = identity_in(item.get(tags_key))
            if who is not None:
                found.append(
                    CloudResource(
                        kind,
                        item[id_key],
                        who.name,
                        region,
                        state(item),
                        deployment_id=who.id or None,
                        creator=who.creator or None,
                        created=who.created or None,
                    )
                )

    ec2, filters = aws.ec2, tag_filter(deployment)
    add("instance", find_instances(aws, deployment), "InstanceId", state=lambda i: i["State"]["Name"])
    spot = aws.call("listing spot requests", ec2.describe_spot_instance_requests, Filters=filters)
    add(
        "spot-request",
        [r for r in spot.get("SpotInstanceRequests", []) if r.get("State") not in GONE_SPOT_STATES],
        "SpotInstanceRequestId",
        state=lambda r: r.get("State"),
    )
    add(
        "volume",
        list(aws.pages("listing volumes", "describe_volumes", "Volumes", Filters=filters)),
        "VolumeId",
        state=lambda v: v.get("State"),
    )
    add(
        "network-interface",
        list(
            aws.pages("listing network interfaces", "describe_network_interfaces", "NetworkInterfaces", Filters=filters)
        ),
        "NetworkInterfaceId",
        tags_key="TagSet",
        state=lambda n: n.get("Status"),
    )
    add(
        "security-group",
        list(aws.pages("listing security groups", "describe_security_groups", "SecurityGroups", Filters=filters)),
        "GroupId",
    )
    add(
        "key-pair",
        aws.call("listing key pairs", ec2.describe_key_pairs, Filters=filters).get("KeyPairs", []),
        "KeyPairId",
    )
    groups = aws.call("listing placement groups", ec2.describe_placement_groups, Filters=filters)
    add(
        "placement-group",
        [g for g in groups.get("PlacementGroups", []) if g.get("State") not in ("deleted",)],
        "GroupName",
        state=lambda g: g.get("State"),
    )
    add("subnet", list(aws.pages("listing subnets", "describe_subnets", "Subnets", Filters=filters)), "SubnetId")
    add(
        "internet-gateway",
        list(aws.pages("listing internet gateways", "describe_internet_gateways", "InternetGateways", Filters=filters)),
        "InternetGatewayId",
    )
    add("vpc", list(aws.pages("listing VPCs", "describe_vpcs", "Vpcs", Filters=filters)), "VpcId")
    return found


def anything_tagged(aws: Aws, deployment: str) -> bool:
    """Whether any EC2 resource carries the deployment's name tag, in one DescribeTags call.
    It covers every kind list_tagged describes one by one, but also answers for resources
    deleted moments ago (a terminated instance keeps its tags for a while): True only means
    "list them to see". A name nothing carries, the usual answer when `deploy` checks that a
    name is not another deployment's, then costs one call instead of ten."""
    found = aws.call(
        "looking for resources tagged with the name",
        aws.ec2.describe_tags,
        Filters=[{"Name": "key", "Values": [DEPLOYMENT_TAG]}, {"Name": "value", "Values": [deployment]}],
        MaxResults=5,  # EC2's smallest page: one tag answers the question
    )
    return bool(found.get("Tags"))


def _retry_dependency(action: Callable[[], Any], what: str) -> None:
    """Delete something that may still be in use for a moment (DependencyViolation); gone
    already counts as deleted."""
    from botocore.exceptions import ClientError

    def in_use(exc: BaseException) -> bool:
        return isinstance(exc, ClientError) and code_of(exc) in IN_USE

    try:
        retry_while(action, in_use, DEPENDENCY_TIMEOUT)
    except ClientError as exc:
        if not is_not_found(exc):
            raise ProviderError(f"aws: cannot delete {what}: {code_of(exc)}: {exc}") from None


def destroy(aws: Aws, ctx: DeployContext[AwsOptions]) -> None:
    ec2, name, identity = aws.ec2, ctx.name, ctx.identity
    tagged = list_tagged(aws, name, identity)
    by_kind: dict[str, list[str]] = {}
    for resource in tagged:
        by_kind.setdefault(resource.kind, []).append(resource.resource_id)
    # Instances the record knows even if their tags were lost; never one tagged for another id.
    known = {n.instance_id for n in ctx.record.nodes if n.instance_id}
    candidates = sorted(known | set(by_kind.get("instance", [])))
    instances = (
        [
            i
            for i in find_instances(aws, None, instance_ids=candidates)
            if i["State"]["Name"] != "terminated" and owned([i], identity)
        ]
        if candidates
        else []
    )
    instance_ids = {i["InstanceId"] for i in instances}

    # 1. persistent spot requests first, or EC2 would launch a replacement
    spot_ids = set(by_kind.get("spot-request", []))
    spot_ids |= {i["SpotInstanceRequestId"] for i in instances if i.get("SpotInstanceRequestId")}
    if spot_ids:
        aws.call("cancelling spot requests", ec2.cancel_spot_instance_requests, SpotInstanceRequestIds=sorted(spot_ids))
        for spot_id in sorted(spot_ids):
            ctx.deleted("spot-request", spot_id)

    # 2. instances (their root volumes and interfaces go with them)
    if instance_ids:
        from botocore.exceptions import ClientError

        ctx.on_progress(f"terminating {', '.join(sorted(instance_ids))}")
        for instance_id in sorted(instance_ids):
            try:
                ec2.terminate_instances(InstanceIds=[instance_id])
            except ClientError as exc:
                if not is_not_found(exc):
                    raise ProviderError(f"aws: cannot terminate {instance_id}: {code_of(exc)}") from None
        for instance_id in sorted(instance_ids):
            wait_for_state(aws, instance_id, "terminated", TERMINATED_TIMEOUT, ctx.on_progress)
            ctx.deleted("instance", instance_id)

    # 3. what the instances leave behind when DeleteOnTermination was off
    for volume_id in _still_there(aws, identity, "volume"):
        _retry_dependency(partial(ec2.delete_volume, VolumeId=volume_id), f"volume {volume_id}")
        ctx.deleted("volume", volume_id)
    for eni in _still_there(aws, identity, "network-interface"):
        _retry_dependency(partial(ec2.delete_network_interface, NetworkInterfaceId=eni), f"interface {eni}")
        ctx.deleted("network-interface", eni)

    # 4. placement group, security group and key pair
    for group_name in by_kind.get("placement-group", []):
        _retry_dependency(partial(ec2.delete_placement_group, GroupName=group_name), f"placement group {group_name}")
        ctx.deleted("placement-group", group_name)
    for group_id in by_kind.get("security-group", []):
        _retry_dependency(partial(ec2.delete_security_group, GroupId=group_id), f"security group {group_id}")
        ctx.deleted("security-group", group_id)
    if by_kind.get("key-pair"):
        # by name: every EC2 implementation deletes by KeyName, not all by KeyPairId
        for pair in find_key_pairs(aws, name, identity):
            aws.call("deleting the key pair", ec2.delete_key_pair, KeyName=pair["KeyName"])
            ctx.deleted("key-pair", pair["KeyPairId"], key_name=pair["KeyName"])

    # 5. network pieces made for the deployment
    _delete_network(aws, ctx, by_kind)

    nothing_remains(lambda: list_tagged(aws, name, identity), "aws", name, aws.options.region)


def _still_there(aws: Aws, owner: Identity, kind: str) -> list[str]:
    if kind == "volume":
        items = owned(
            list(aws.pages("listing volumes", "describe_volumes", "Volumes", Filters=tag_filter(owner.name))), owner
        )
        return [v["VolumeId"] for v in items if v.get("State") != "deleting"]
    items = owned(
        list(
            aws.pages(
                "listing network interfaces",
                "describe_network_interfaces",
                "NetworkInterfaces",
                Filters=tag_filter(owner.name),
            )
        ),
        owner,
        "TagSet",
    )
    return [n["NetworkInterfaceId"] for n in items]


def _delete_network(aws: Aws, ctx: DeployContext[AwsOptions], by_kind: dict[str, list[str]]) -> None:
    ec2 = aws.ec2
    for subnet_id in by_kind.get("subnet", []):
        _retry_dependency(partial(ec2.delete_subnet, SubnetId=subnet_id), f"subnet {subnet_id}")
        ctx.deleted("subnet", subnet_id)
    gateways = by_kind.get("internet-gateway", [])
    if gateways:
        described = aws.call(
            "describing internet gateways", ec2.describe_internet_gateways, InternetGatewayIds=gateways
        )["InternetGateways"]
        for gateway in described:
            igw = gateway["InternetGatewayId"]
            for attachment in gateway.get("Attachments", []):
                _retry_dependency(
                    partial(ec2.detach_internet_gateway, InternetGatewayId=igw, VpcId=attachment["VpcId"]),
                    f"internet gateway {igw}",
                )
            _retry_dependency(partial(ec2.delete_internet_gateway, InternetGatewayId=igw), f"internet gateway {igw}")
            ctx.deleted("internet-gateway", igw)
    for vpc_id in by_kind.get("vpc", []):
        _retry_dependency(partial(ec2.delete_vpc, VpcId=vpc_id), f"VPC {vpc_id}")
        ctx.deleted("vpc", vpc_id)
