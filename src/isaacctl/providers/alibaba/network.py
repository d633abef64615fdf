"""Where the instances live: the region's default VPC (its default vSwitches), or a VPC and a
vSwitch per zone made for the deployment; the security group; the key pair; the deployment set
that spreads several nodes over distinct physical hosts. Everything made is tagged with the
deployment's name and id in the call that makes it (or, for a deployment set, which cannot be
tagged at creation, at once after) and logged before and after."""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from isaacctl.errors import ProviderError
from isaacctl.providers.alibaba.api import Alibaba, name_of, owned, tag_filter, tags_of, unique_name_of, wait_until
from isaacctl.providers.toolkit.sshkeys import ensure_private_key, public_key

if TYPE_CHECKING:
    from isaacctl.providers.alibaba.options import AlibabaOptions
    from isaacctl.providers.base import DeployContext, Identity

VPC_CIDR = "10.77.0.0/16"
SSH_RULE = "isaacctl: SSH"
NODES_RULE = "isaacctl: between the deployment's nodes"
VPC_READY_TIMEOUT = 120.0


def client_token(ctx: DeployContext[AlibabaOptions], what: str) -> str:
    """Stable across retries and resumed deploys of this deployment (its id), so a repeated
    create answers with what the first one made. A deployment made again after everything it
    had was deleted (a managed job's redeploy keeps the id and the old nodes in its record
    until the new ones run) asks anew: the token also names the machines it had, else ECS
    would answer with the deleted resource. ASCII, at most 64 characters; the id is kept."""
    had = ",".join(sorted(node.instance_id or "" for node in ctx.record.nodes))
    generation = f"-{hashlib.sha256(had.encode()).hexdigest()[:8]}" if had else ""
    return f"isaacctl-{ctx.identity.id}{generation}-{what}"[:64]


@dataclass
class Network:
    vpc_id: str
    owned: bool  # made for this deployment (deleted with it)
    vswitches: dict[str, str] = field(default_factory=dict)  # zone -> vSwitch id


def find_vpcs(api: Alibaba, deployment: str | None, owner: Identity | None = None) -> list[dict[str, Any]]:
    return owned(
        list(api.pages("vpc", "DescribeVpcs", "listing VPCs", ("Vpcs", "Vpc"), {"Tag": tag_filter(deployment)})), owner
    )


def find_default_vpc(api: Alibaba) -> str | None:
    found = api.vpc("DescribeVpcs", "finding the default VPC", {"IsDefault": True, "PageSize": 10})
    vpcs = (found.get("Vpcs") or {}).get("Vpc") or []
    return str(vpcs[0]["VpcId"]) if vpcs else None


def find_vswitches(
    api: Alibaba, deployment: str | None, owner: Identity | None = None, vpc_id: str | None = None
) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"Tag": tag_filter(deployment)} if deployment is not None or vpc_id is None else {}
    if vpc_id:
        params["VpcId"] = vpc_id
    found = list(api.pages("vpc", "DescribeVSwitches", "listing vSwitches", ("VSwitches", "VSwitch"), params))
    return owned(found, owner) if deployment is not None or vpc_id is None else found


def ensure_network(
    api: Alibaba, ctx: DeployContext[AlibabaOptions], use_default: bool, planned: dict[str, Any] | None = None
) -> Network:
    """The deployment's own VPC if it has one; else the default VPC when the plan chose it;
    else a new VPC (ready once it is Available). `planned`: the default VPC and vSwitches the
    plan found when no VPC carried the name; they are not looked up again."""
    identity = ctx.identity
    if use_default and planned:
        return Network(planned["vpc_id"], owned=False, vswitches=dict(planned["vswitches"]))
    own = find_vpcs(api, ctx.name, identity)
    if not own and use_default:
        default = find_default_vpc(api)
        if default is not None:
            switches = find_vswitches(api, None, vpc_id=default)
            return Network(
                default, owned=False, vswitches={s["ZoneId"]: s["VSwitchId"] for s in switches if s.get("IsDefault")}
            )
    if own:
        vpc_id = str(own[0]["VpcId"])
    else:
        ctx.creating("vpc", name_of(ctx.name), cidr=VPC_CIDR)
        vpc_id = str(
            api.vpc(
                "CreateVpc",
                "creating a VPC",
                {
                    "CidrBlock": VPC_CIDR,
                    "VpcName": name_of(ctx.name),
                    "ClientToken": client_token(ctx, "vpc"),
                    "Description": f"isaacctl deployment {ctx.name} ({identity.id})",
                    "Tag": tags_of(identity),
                },
            )["VpcId"]
        )
        ctx.created("vpc", vpc_id, cidr=VPC_CIDR)
    wait_until(lambda: _available(api, vpc_id), f"VPC {vpc_id} to be available", VPC_READY_TIMEOUT, ctx.on_progress)
    switches = find_vswitches(api, ctx.name, identity)
    return Network(
        vpc_id, owned=True, vswitches={s["ZoneId"]: s["VSwitchId"] for s in switches if s["VpcId"] == vpc_id}
    )


def _available(api: Alibaba, vpc_id: str) -> bool | None:
    found = api.vpc("DescribeVpcs", "waiting for the VPC", {"VpcId": vpc_id})
    vpcs = (found.get("Vpcs") or {}).get("Vpc") or []
    if not vpcs:
        raise ProviderError(f"alibaba: VPC {vpc_id} disappeared while it was being made")
    return True if vpcs[0].get("Status") == "Available" else None


def vswitch_for(api: Alibaba, ctx: DeployContext[AlibabaOptions], network: Network, zone: str) -> str | None:
    """The vSwitch to launch into in `zone`; made (tagged) in an owned VPC when missing. None
    when the default VPC has no default vSwitch there."""
    if zone in network.vswitches or not network.owned:
        return network.vswitches.get(zone)
    cidr = f"10.77.{(ord(zone[-1]) - ord('a')) % 256}.0/24"
    ctx.creating("vswitch", name_of(ctx.name), zone=zone, cidr=cidr)
    vswitch_id = str(
        api.vpc(
            "CreateVSwitch",
            f"creating a vSwitch in {zone}",
            {
                "VpcId": network.vpc_id,
                "ZoneId": zone,
                "CidrBlock": cidr,
                "VSwitchName": name_of(ctx.name),
                "ClientToken": client_token(ctx, f"vsw-{zone}"),
                "Tag": tags_of(ctx.identity),
            },
        )["VSwitchId"]
    )
    ctx.created("vswitch", vswitch_id, zone=zone, cidr=cidr)
    network.vswitches[zone] = vswitch_id
    return vswitch_id


# -- security group --------------------------------------------------------------------------------
def find_security_groups(
    api: Alibaba, deployment: str | None, owner: Identity | None = None, vpc_id: str | None = None
) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"Tag": tag_filter(deployment)}
    if vpc_id:
        params["VpcId"] = vpc_id
    return owned(
        list(
            api.pages(
                "ecs", "DescribeSecurityGroups", "listing security groups", ("SecurityGroups", "SecurityGroup"), params
            )
        ),
        owner,
    )


def _ssh_rule(cidr: str) -> dict[str, Any]:
    source = "Ipv6SourceCidrIp" if ipaddress.ip_network(cidr).version == 6 else "SourceCidrIp"
    return {"IpProtocol": "TCP", "PortRange": "22/22", source: cidr, "Policy": "accept", "Description": SSH_RULE}


def ensure_security_group(api: Alibaba, ctx: DeployContext[AlibabaOptions], vpc_id: str, cidr: str) -> str:
    """A group opening SSH to `cidr` only and, for several nodes, every port between its
    members (Alibaba's default: all outbound). An SSH rule isaacctl added for another CIDR (an
    earlier `myip`) is revoked: rules are replaced, never accumulated."""
    identity = ctx.identity
    groups = find_security_groups(api, ctx.name, identity, vpc_id)
    if groups:
        group_id = str(groups[0]["SecurityGroupId"])
    else:
        group_name = unique_name_of(identity)
        ctx.creating("security-group", group_name, vpc=vpc_id)
        group_id = str(
            api.ecs(
                "CreateSecurityGroup",
                "creating the security group",
                {
                    "VpcId": vpc_id,
                    "SecurityGroupName": group_name,
                    "SecurityGroupType": "normal",
                    "Description": f"isaacctl deployment {ctx.name} ({identity.id}): SSH from {cidr}",
                    "ClientToken": client_token(ctx, "sg"),
                    "Tag": tags_of(identity),
                },
            )["SecurityGroupId"]
        )
        ctx.created("security-group", group_id, vpc=vpc_id)
    rules = (
        api.ecs(
            "DescribeSecurityGroupAttribute",
            "reading the security group's rules",
            {"SecurityGroupId": group_id, "Direction": "ingress"},
        ).get("Permissions")
        or {}
    ).get("Permission") or []
    ours = {
        r.get("SourceCidrIp") or r.get("Ipv6SourceCidrIp")
        for r in rules
        if r.get("Description") == SSH_RULE and r.get("PortRange") == "22/22"
    }
    if cidr not in ours:
        api.ecs(
            "AuthorizeSecurityGroup",
            "opening SSH in the security group",
            {"SecurityGroupId": group_id, "Permissions": [_ssh_rule(cidr)]},
        )
        ctx.created("security-group-rule", f"{group_id}:22/tcp:{cidr}", cidr=cidr)
    for stale in sorted(c for c in ours - {cidr} if c):
        ctx.on_progress(f"SSH from {stale} replaced by {cidr}")
        api.ecs(
            "RevokeSecurityGroup",
            "revoking the previous SSH rule",
            {"SecurityGroupId": group_id, "Permissions": [_ssh_rule(stale)]},
        )
        ctx.deleted("security-group-rule", f"{group_id}:22/tcp:{stale}", reason=f"replaced by {cidr}")
    if ctx.options.nodes > 1 and not any(
        r.get("SourceGroupId") == group_id and r.get("IpProtocol") == "ALL" for r in rules
    ):
        api.ecs(
            "AuthorizeSecurityGroup",
            "letting the nodes reach each other",
            {
                "SecurityGroupId": group_id,
                "Permissions": [
                    {
                        "IpProtocol": "ALL",
                        "PortRange": "-1/-1",
                        "SourceGroupId": group_id,
                        "Policy": "accept",
                        "Description": NODES_RULE,
                    }
                ],
            },
        )
        ctx.created("security-group-rule", f"{group_id}:all:{group_id}", source=group_id)
    return group_id


# -- key pair --------------------------------------------------------------------------------------
def find_key_pairs(api: Alibaba, deployment: str | None, owner: Identity | None = None) -> list[dict[str, Any]]:
    return owned(
        list(
            api.pages(
                "ecs", "DescribeKeyPairs", "listing key pairs", ("KeyPairs", "KeyPair"), {"Tag": tag_filter(deployment)}
            )
        ),
        owner,
    )


def ensure_key_pair(api: Alibaba, ctx: DeployContext[AlibabaOptions]) -> str:
    """The key pair's name; imported unless it exists and its private half is in state."""
    identity = ctx.identity
    key_name = unique_name_of(identity)
    private = Path(ctx.private_key_file)
    existing = find_key_pairs(api, ctx.name, identity)
    if private.is_file() and any(pair["KeyPairName"] == key_name for pair in existing):
        return key_name
    if existing:  # its private half is lost (or a legacy pair): replace it
        names = [pair["KeyPairName"] for pair in existing]
        api.ecs("DeleteKeyPairs", "deleting a stale key pair", {"KeyPairNames": _json(names)})
        for name in names:
            ctx.deleted("key-pair", name, reason="private key not in state")
    ensure_private_key(private)
    ctx.creating("key-pair", key_name, private_key=str(private))
    made = api.ecs(
        "ImportKeyPair",
        "importing the SSH key pair",
        {"KeyPairName": key_name, "PublicKeyBody": public_key(private).decode(), "Tag": tags_of(identity)},
    )
    ctx.created("key-pair", key_name, fingerprint=made.get("KeyPairFingerPrint"))
    return key_name


def _json(values: list[str]) -> str:
    import json

    return json.dumps(values)


# -- deployment set --------------------------------------------------------------------------------
def find_deployment_sets(api: Alibaba, deployment: str | None, owner: Identity | None = None) -> list[dict[str, Any]]:
    """Deployment sets tagged for the deployment (ListTagResources: DescribeDeploymentSets takes
    no tag filter), as {"DeploymentSetId", "Tags"} items like the other kinds'."""
    listed = api.ecs(
        "ListTagResources", "listing deployment sets", {"ResourceType": "deploymentset", "Tag": tag_filter(deployment)}
    )
    tags: dict[str, dict[str, str]] = {}
    for entry in (listed.get("TagResources") or {}).get("TagResource") or []:
        tags.setdefault(entry["ResourceId"], {})[entry["TagKey"]] = entry.get("TagValue", "")
    items = [
        {"DeploymentSetId": set_id, "Tags": {"Tag": [{"TagKey": k, "TagValue": v} for k, v in pairs.items()]}}
        for set_id, pairs in sorted(tags.items())
    ]
    return owned(items, owner)


def ensure_deployment_set(api: Alibaba, ctx: DeployContext[AlibabaOptions]) -> str:
    """A deployment set with the Availability strategy: each node on its own physical server,
    so one host failing takes one node. Tagged right after it is made (the API takes no tags
    there); the ClientToken makes a create repeated after a kill return the same set."""
    identity = ctx.identity
    existing = find_deployment_sets(api, ctx.name, identity)
    if existing:
        return str(existing[0]["DeploymentSetId"])
    set_name = unique_name_of(identity)
    ctx.creating("deployment-set", set_name, strategy="Availability")
    set_id = str(
        api.ecs(
            "CreateDeploymentSet",
            "creating the deployment set",
            {
                "DeploymentSetName": set_name,
                "Strategy": "Availability",
                "ClientToken": client_token(ctx, "ds"),
                "Description": f"isaacctl deployment {ctx.name} ({identity.id})",
            },
        )["DeploymentSetId"]
    )
    api.ecs(
        "TagResources",
        "tagging the deployment set",
        {"ResourceType": "deploymentset", "ResourceId": [set_id], "Tag": tags_of(identity)},
    )
    ctx.created("deployment-set", set_id, set_name=set_name, strategy="Availability")
    return set_id
