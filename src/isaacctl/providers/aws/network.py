"""Where the instance lives on the network: the caller's address for the SSH rule, the default
VPC (or a VPC, subnets, internet gateway and route made for the deployment), the security group."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from isaacctl.errors import ProviderError, UserError
from isaacctl.providers.aws.api import Aws, name_of, tag_filter, tag_spec
from isaacctl.providers.aws.options import MYIP

if TYPE_CHECKING:
    from isaacctl.providers.base import DeployContext

VPC_CIDR = "10.77.0.0/16"
MYIP_TIMEOUT_SECONDS = 5.0


def my_public_cidr(url: str) -> str:
    """The caller's public address as /32 (/128), asked of `url` (--myip-url, ISAACCTL_MYIP_URL)."""
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=MYIP_TIMEOUT_SECONDS) as response:  # noqa: S310
            text = response.read(200).decode("ascii", errors="replace").strip()
        address = ipaddress.ip_address(text)
    except (OSError, ValueError) as exc:
        raise UserError(
            f"--ingress-cidr: could not find your public address at {url} ({exc})",
            hint="pass the network allowed to SSH in, e.g. --ingress-cidr 203.0.113.7/32",
        ) from None
    return f"{address}/{address.max_prefixlen}"


def resolve_ingress(value: str, myip_url: str) -> str:
    return my_public_cidr(myip_url) if value == MYIP else value


@dataclass
class Network:
    vpc_id: str
    owned: bool  # made for this deployment (deleted with it)
    subnets: dict[str, str] = field(default_factory=dict)  # zone -> subnet id
    igw_id: str | None = None


def find_owned_vpc(aws: Aws, deployment: str) -> str | None:
    vpcs = aws.call("listing VPCs", aws.ec2.describe_vpcs, Filters=tag_filter(deployment))["Vpcs"]
    return vpcs[0]["VpcId"] if vpcs else None


def find_default_vpc(aws: Aws) -> str | None:
    vpcs = aws.call("finding the default VPC", aws.ec2.describe_vpcs,
                    Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    return vpcs[0]["VpcId"] if vpcs else None


def ensure_network(aws: Aws, ctx: DeployContext) -> Network:
    """The deployment's own VPC if it has one, else the default VPC, else a new VPC."""
    owned = find_owned_vpc(aws, ctx.name)
    if owned is None:
        default = find_default_vpc(aws)
        if default is not None:
            subnets = aws.call("listing default subnets", aws.ec2.describe_subnets, Filters=[
                {"Name": "vpc-id", "Values": [default]}, {"Name": "default-for-az", "Values": ["true"]},
            ])["Subnets"]
            return Network(default, owned=False, subnets={s["AvailabilityZone"]: s["SubnetId"] for s in subnets})
        ctx.creating("vpc", name_of(ctx.name), cidr=VPC_CIDR)
        owned = aws.call("creating a VPC", aws.ec2.create_vpc, CidrBlock=VPC_CIDR,
                         TagSpecifications=[tag_spec("vpc", ctx.name)])["Vpc"]["VpcId"]
        ctx.created("vpc", owned, cidr=VPC_CIDR)
    network = Network(owned, owned=True)
    subnets = aws.call("listing subnets", aws.ec2.describe_subnets, Filters=tag_filter(ctx.name))["Subnets"]
    network.subnets = {s["AvailabilityZone"]: s["SubnetId"] for s in subnets if s["VpcId"] == owned}
    network.igw_id = _ensure_gateway(aws, ctx, owned)
    _ensure_default_route(aws, ctx, owned, network.igw_id)
    return network


def _ensure_gateway(aws: Aws, ctx: DeployContext, vpc_id: str) -> str:
    gateways = aws.call("listing internet gateways", aws.ec2.describe_internet_gateways,
                        Filters=tag_filter(ctx.name))["InternetGateways"]
    if gateways:
        gateway = gateways[0]
        igw_id = gateway["InternetGatewayId"]
    else:
        ctx.creating("internet-gateway", name_of(ctx.name), vpc=vpc_id)
        igw_id = aws.call("creating an internet gateway", aws.ec2.create_internet_gateway,
                          TagSpecifications=[tag_spec("internet-gateway", ctx.name)])["InternetGateway"]["InternetGatewayId"]
        ctx.created("internet-gateway", igw_id, vpc=vpc_id)
        gateway = {"Attachments": []}
    if not any(a.get("VpcId") == vpc_id for a in gateway.get("Attachments", [])):
        aws.call("attaching the internet gateway", aws.ec2.attach_internet_gateway,
                 InternetGatewayId=igw_id, VpcId=vpc_id)
    return igw_id


def _ensure_default_route(aws: Aws, ctx: DeployContext, vpc_id: str, igw_id: str) -> None:
    """0.0.0.0/0 through the gateway in the VPC's main route table (deleted with the VPC)."""
    tables = aws.call("listing route tables", aws.ec2.describe_route_tables, Filters=[
        {"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["true"]},
    ])["RouteTables"]
    if not tables:
        raise ProviderError(f"aws: VPC {vpc_id} has no main route table")
    table = tables[0]
    if any(r.get("DestinationCidrBlock") == "0.0.0.0/0" for r in table.get("Routes", [])):
        return
    ctx.creating("route", f"{table['RouteTableId']}:0.0.0.0/0", gateway=igw_id)
    aws.call("adding the default route", aws.ec2.create_route, RouteTableId=table["RouteTableId"],
             DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    ctx.created("route", f"{table['RouteTableId']}:0.0.0.0/0", gateway=igw_id)


def subnet_for(aws: Aws, ctx: DeployContext, network: Network, zone: str) -> str | None:
    """The subnet to launch into in `zone`; made (tagged) in an owned VPC when missing. None
    when the default VPC has no default subnet there."""
    if zone in network.subnets or not network.owned:
        return network.subnets.get(zone)
    cidr = f"10.77.{ord(zone[-1]) % 256}.0/24"
    ctx.creating("subnet", name_of(ctx.name), zone=zone, cidr=cidr)
    subnet_id = aws.call("creating a subnet", aws.ec2.create_subnet, VpcId=network.vpc_id, CidrBlock=cidr,
                         AvailabilityZone=zone, TagSpecifications=[tag_spec("subnet", ctx.name)])["Subnet"]["SubnetId"]
    ctx.created("subnet", subnet_id, zone=zone, cidr=cidr)
    aws.call("giving the subnet public addresses", aws.ec2.modify_subnet_attribute,
             SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
    network.subnets[zone] = subnet_id
    return subnet_id


def _ssh_rule(cidr: str) -> dict:
    network = ipaddress.ip_network(cidr)
    rule: dict = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22}
    entry_key, ranges_key = ("CidrIpv6", "Ipv6Ranges") if network.version == 6 else ("CidrIp", "IpRanges")
    rule[ranges_key] = [{entry_key: cidr, "Description": "isaacctl: SSH"}]
    return rule


def _allows(group: dict, cidr: str) -> bool:
    for permission in group.get("IpPermissions", []):
        if permission.get("IpProtocol") not in ("tcp", "-1") or permission.get("FromPort", 22) > 22:
            continue
        if permission.get("ToPort", 22) < 22:
            continue
        ranges = [r.get("CidrIp") for r in permission.get("IpRanges", [])]
        ranges += [r.get("CidrIpv6") for r in permission.get("Ipv6Ranges", [])]
        if cidr in ranges:
            return True
    return False


def ensure_security_group(aws: Aws, ctx: DeployContext, vpc_id: str, cidr: str) -> str:
    """A group opening SSH to `cidr` only (plus AWS's default: all outbound)."""
    groups = aws.call("listing security groups", aws.ec2.describe_security_groups,
                      Filters=[*tag_filter(ctx.name), {"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    if groups:
        group = groups[0]
        group_id = group["GroupId"]
    else:
        ctx.creating("security-group", name_of(ctx.name), vpc=vpc_id)
        group_id = aws.call(
            "creating the security group", aws.ec2.create_security_group, GroupName=name_of(ctx.name),
            Description=f"isaacctl deployment {ctx.name}: SSH from {cidr}", VpcId=vpc_id,
            TagSpecifications=[tag_spec("security-group", ctx.name)],
        )["GroupId"]
        ctx.created("security-group", group_id, vpc=vpc_id)
        group = {}
    if not _allows(group, cidr):
        aws.call("opening SSH in the security group", aws.ec2.authorize_security_group_ingress,
                 GroupId=group_id, IpPermissions=[_ssh_rule(cidr)],
                 TagSpecifications=[tag_spec("security-group-rule", ctx.name)])
    return group_id
