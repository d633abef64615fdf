"""Where the instance lives on the network: the caller's address for the SSH rule, the default
VPC (or a VPC, subnets, internet gateway and route made for the deployment), the security group."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from isaacctl.errors import ProviderError
from isaacctl.providers.aws.api import Aws, name_of, owned, tag_filter, tag_spec, unique_name_of
from isaacctl.providers.aws.errors import code_of, message_of
from isaacctl.providers.toolkit.ingress import resolve_ingress as toolkit_resolve_ingress

if TYPE_CHECKING:
    from isaacctl.providers.aws.options import AwsOptions
    from isaacctl.providers.base import DeployContext, Identity

VPC_CIDR = "10.77.0.0/16"
SSH_RULE = "isaacctl: SSH"
NODES_RULE = "isaacctl: between the deployment's nodes"
# Asked for a cluster placement group that this type or zone cannot have: launch without one.
PLACEMENT_REFUSED = frozenset(
    {
        "InvalidParameterCombination",
        "InvalidPlacementGroup.Unknown",
        "InvalidPlacementGroup.InUse",
        "PlacementGroupLimitExceeded",
    }
)


def resolve_ingress(value: str, myip_url: str) -> str:
    return toolkit_resolve_ingress(value, myip_url)


@dataclass
class Network:
    vpc_id: str
    owned: bool  # made for this deployment (deleted with it)
    subnets: dict[str, str] = field(default_factory=dict)  # zone -> subnet id
    igw_id: str | None = None


def find_owned_vpc(aws: Aws, deployment: str, owner: Identity | None = None) -> str | None:
    vpcs = owned(aws.call("listing VPCs", aws.ec2.describe_vpcs, Filters=tag_filter(deployment))["Vpcs"], owner)
    return str(vpcs[0]["VpcId"]) if vpcs else None


def find_default_vpc(aws: Aws) -> str | None:
    vpcs = aws.call(
        "finding the default VPC", aws.ec2.describe_vpcs, Filters=[{"Name": "isDefault", "Values": ["true"]}]
    )["Vpcs"]
    return str(vpcs[0]["VpcId"]) if vpcs else None


def ensure_network(aws: Aws, ctx: DeployContext[AwsOptions], planned_default: str | None = None) -> Network:
    """The deployment's own VPC if it has one, else the default VPC, else a new VPC.
    `planned_default`: the default VPC the plan found when no VPC carried the name; the two
    lookups are not made again."""
    identity = ctx.identity
    own_vpc = None if planned_default else find_owned_vpc(aws, ctx.name, identity)
    if own_vpc is None:
        default = planned_default or find_default_vpc(aws)
        if default is not None:
            subnets = aws.call(
                "listing default subnets",
                aws.ec2.describe_subnets,
                Filters=[
                    {"Name": "vpc-id", "Values": [default]},
                    {"Name": "default-for-az", "Values": ["true"]},
                ],
            )["Subnets"]
            return Network(default, owned=False, subnets={s["AvailabilityZone"]: s["SubnetId"] for s in subnets})
        ctx.creating("vpc", name_of(ctx.name), cidr=VPC_CIDR)
        own_vpc = aws.call(
            "creating a VPC", aws.ec2.create_vpc, CidrBlock=VPC_CIDR, TagSpecifications=[tag_spec("vpc", identity)]
        )["Vpc"]["VpcId"]
        ctx.created("vpc", own_vpc, cidr=VPC_CIDR)
    network = Network(own_vpc, owned=True)
    subnets = aws.call("listing subnets", aws.ec2.describe_subnets, Filters=tag_filter(ctx.name))["Subnets"]
    network.subnets = {s["AvailabilityZone"]: s["SubnetId"] for s in owned(subnets, identity) if s["VpcId"] == own_vpc}
    network.igw_id = _ensure_gateway(aws, ctx, own_vpc)
    _ensure_default_route(aws, ctx, own_vpc, network.igw_id)
    return network


def _ensure_gateway(aws: Aws, ctx: DeployContext[AwsOptions], vpc_id: str) -> str:
    gateways = owned(
        aws.call("listing internet gateways", aws.ec2.describe_internet_gateways, Filters=tag_filter(ctx.name))[
            "InternetGateways"
        ],
        ctx.identity,
    )
    if gateways:
        gateway = gateways[0]
        igw_id = gateway["InternetGatewayId"]
    else:
        ctx.creating("internet-gateway", name_of(ctx.name), vpc=vpc_id)
        igw_id = aws.call(
            "creating an internet gateway",
            aws.ec2.create_internet_gateway,
            TagSpecifications=[tag_spec("internet-gateway", ctx.identity)],
        )["InternetGateway"]["InternetGatewayId"]
        ctx.created("internet-gateway", igw_id, vpc=vpc_id)
        gateway = {"Attachments": []}
    if not any(a.get("VpcId") == vpc_id for a in gateway.get("Attachments", [])):
        aws.call(
            "attaching the internet gateway", aws.ec2.attach_internet_gateway, InternetGatewayId=igw_id, VpcId=vpc_id
        )
    return str(igw_id)


def _ensure_default_route(aws: Aws, ctx: DeployContext[AwsOptions], vpc_id: str, igw_id: str) -> None:
    """0.0.0.0/0 through the gateway in the VPC's main route table (deleted with the VPC)."""
    tables = aws.call(
        "listing route tables",
        aws.ec2.describe_route_tables,
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "association.main", "Values": ["true"]},
        ],
    )["RouteTables"]
    if not tables:
        raise ProviderError(f"aws: VPC {vpc_id} has no main route table")
    table = tables[0]
    if any(r.get("DestinationCidrBlock") == "0.0.0.0/0" for r in table.get("Routes", [])):
        return
    ctx.creating("route", f"{table['RouteTableId']}:0.0.0.0/0", gateway=igw_id)
    aws.call(
        "adding the default route",
        aws.ec2.create_route,
        RouteTableId=table["RouteTableId"],
        DestinationCidrBlock="0.0.0.0/0",
        GatewayId=igw_id,
    )
    ctx.created("route", f"{table['RouteTableId']}:0.0.0.0/0", gateway=igw_id)


def subnet_for(aws: Aws, ctx: DeployContext[AwsOptions], network: Network, zone: str) -> str | None:
    """The subnet to launch into in `zone`; made (tagged) in an owned VPC when missing. None
    when the default VPC has no default subnet there."""
    if zone in network.subnets or not network.owned:
        return network.subnets.get(zone)
    cidr = f"10.77.{ord(zone[-1]) % 256}.0/24"
    ctx.creating("subnet", name_of(ctx.name), zone=zone, cidr=cidr)
    subnet_id = aws.call(
        "creating a subnet",
        aws.ec2.create_subnet,
        VpcId=network.vpc_id,
        CidrBlock=cidr,
        AvailabilityZone=zone,
        TagSpecifications=[tag_spec("subnet", ctx.identity)],
    )["Subnet"]["SubnetId"]
    ctx.created("subnet", subnet_id, zone=zone, cidr=cidr)
    aws.call(
        "giving the subnet public addresses",
        aws.ec2.modify_subnet_attribute,
        SubnetId=subnet_id,
        MapPublicIpOnLaunch={"Value": True},
    )
    network.subnets[zone] = subnet_id
    return str(subnet_id)


def _ssh_rule(cidr: str, description: bool = True) -> dict[str, Any]:
    network = ipaddress.ip_network(cidr)
    rule: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22}
    entry_key, ranges_key = ("CidrIpv6", "Ipv6Ranges") if network.version == 6 else ("CidrIp", "IpRanges")
    entry = {entry_key: cidr}
    if description:
        entry["Description"] = SSH_RULE
    rule[ranges_key] = [entry]
    return rule


def _ssh_cidrs(group: dict[str, Any]) -> tuple[set[str], set[str]]:
    """CIDRs allowed to reach port 22: all of them, and those isaacctl's SSH rule added."""
    allowed, ours = set(), set()
    for permission in group.get("IpPermissions", []):
        if permission.get("IpProtocol") not in ("tcp", "-1"):
            continue
        if permission.get("IpProtocol") == "tcp" and not (
            permission.get("FromPort", 22) <= 22 <= permission.get("ToPort", 22)
        ):
            continue
        ranges = [(r.get("CidrIp"), r.get("Description")) for r in permission.get("IpRanges", [])]
        ranges += [(r.get("CidrIpv6"), r.get("Description")) for r in permission.get("Ipv6Ranges", [])]
        for cidr, description in ranges:
            allowed.add(cidr)
            if description == SSH_RULE and permission.get("IpProtocol") == "tcp":
                ours.add(cidr)
    return allowed, ours


def _allows_itself(group: dict[str, Any], group_id: str) -> bool:
    return any(
        permission.get("IpProtocol") == "-1"
        and any(pair.get("GroupId") == group_id for pair in permission.get("UserIdGroupPairs", []))
        for permission in group.get("IpPermissions", [])
    )


def find_security_groups(
    aws: Aws, deployment: str, owner: Identity | None = None, vpc_id: str | None = None
) -> list[dict[str, Any]]:
    filters = [*tag_filter(deployment), *([{"Name": "vpc-id", "Values": [vpc_id]}] if vpc_id else [])]
    return owned(
        aws.call("listing security groups", aws.ec2.describe_security_groups, Filters=filters)["SecurityGroups"], owner
    )


def ensure_security_group(aws: Aws, ctx: DeployContext[AwsOptions], vpc_id: str, cidr: str) -> str:
    """A group opening SSH to `cidr` only (plus AWS's default: all outbound) and, for several
    nodes, every port between its members. An SSH rule isaacctl added for another CIDR (an
    earlier `myip`) is revoked: rules are replaced, never accumulated."""
    identity = ctx.identity
    groups = find_security_groups(aws, ctx.name, identity, vpc_id)
    group: dict[str, Any] = {}
    if groups:
        group = groups[0]
        group_id = str(group["GroupId"])
    else:
        group_name = unique_name_of(identity)
        ctx.creating("security-group", group_name, vpc=vpc_id)
        group_id = aws.call(
            "creating the security group",
            aws.ec2.create_security_group,
            GroupName=group_name,
            Description=f"isaacctl deployment {ctx.name} ({identity.id}): SSH from {cidr}",
            VpcId=vpc_id,
            TagSpecifications=[tag_spec("security-group", identity)],
        )["GroupId"]
        ctx.created("security-group", group_id, vpc=vpc_id)
    allowed, ours = _ssh_cidrs(group)
    if cidr not in allowed:
        aws.call(
            "opening SSH in the security group",
            aws.ec2.authorize_security_group_ingress,
            GroupId=group_id,
            IpPermissions=[_ssh_rule(cidr)],
            TagSpecifications=[tag_spec("security-group-rule", identity)],
        )
        ctx.created("security-group-rule", f"{group_id}:22/tcp:{cidr}", cidr=cidr)
    for stale in sorted(ours - {cidr}):
        ctx.on_progress(f"SSH from {stale} replaced by {cidr}")
        aws.call(
            "revoking the previous SSH rule",
            aws.ec2.revoke_security_group_ingress,
            GroupId=group_id,
            IpPermissions=[_ssh_rule(stale, description=False)],
        )
        ctx.deleted("security-group-rule", f"{group_id}:22/tcp:{stale}", reason=f"replaced by {cidr}")
    if ctx.options.nodes > 1 and not _allows_itself(group, group_id):
        aws.call(
            "letting the nodes reach each other",
            aws.ec2.authorize_security_group_ingress,
            GroupId=group_id,
            IpPermissions=[
                {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group_id, "Description": NODES_RULE}]}
            ],
            TagSpecifications=[tag_spec("security-group-rule", identity)],
        )
        ctx.created("security-group-rule", f"{group_id}:all:{group_id}", source=group_id)
    return group_id


def find_placement_groups(aws: Aws, deployment: str | None, owner: Identity | None = None) -> list[dict[str, Any]]:
    found = aws.call("listing placement groups", aws.ec2.describe_placement_groups, Filters=tag_filter(deployment))[
        "PlacementGroups"
    ]
    return owned([g for g in found if g.get("State") not in ("deleted", "deleting")], owner)


def ensure_placement_group(aws: Aws, ctx: DeployContext[AwsOptions]) -> str | None:
    """A cluster placement group for several nodes (low-latency network between them), or None
    with a notice when EC2 refuses one (the nodes are then launched without it)."""
    from botocore.exceptions import ClientError

    identity = ctx.identity
    existing = find_placement_groups(aws, ctx.name, identity)
    if existing:
        return str(existing[0]["GroupName"])
    group_name = unique_name_of(identity)
    ctx.creating("placement-group", group_name, strategy="cluster")
    try:
        made = aws.ec2.create_placement_group(
            GroupName=group_name, Strategy="cluster", TagSpecifications=[tag_spec("placement-group", identity)]
        )
    except ClientError as exc:
        if code_of(exc) not in PLACEMENT_REFUSED:
            from isaacctl.providers.aws.errors import aws_error

            raise aws_error(exc, "creating the placement group") from None
        ctx.failed("placement-group", group_name, code=code_of(exc))
        ctx.on_progress(
            f"no cluster placement group ({code_of(exc)}: {message_of(exc)}): launching the nodes without one"
        )
        return None
    group_id = made.get("PlacementGroup", {}).get("GroupId", group_name)
    ctx.created("placement-group", group_id, group_name=group_name, strategy="cluster")
    return group_name
