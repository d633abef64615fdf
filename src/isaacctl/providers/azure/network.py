"""The deployment's resource group and what its VMs stand on: a network security group (SSH
from the ingress CIDR only, everything inside the subnet), a virtual network with one subnet
behind it, a Standard static public IP and a NIC per node, and a proximity placement group for
several nodes. Each is found first (GET), made only when missing, tagged with the deployment's
name and id, and logged before and after."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from isaacctl.providers.azure.api import Azure, group_name, plain, resource_name, tags_of

if TYPE_CHECKING:
    from isaacctl.providers.azure.options import AzureOptions
    from isaacctl.providers.base import DeployContext

VNET_CIDR = "10.20.0.0/16"
SUBNET_CIDR = "10.20.0.0/24"
SUBNET = "nodes"
SSH_RULE = "isaacctl-ssh"
NODES_RULE = "isaacctl-between-nodes"


def ensure_group(azure: Azure, ctx: DeployContext[AzureOptions], location: str) -> str:
    """The resource group (its location is only where its metadata lives)."""
    name = group_name(ctx.identity)
    found = azure.get_or_none("reading the resource group", azure.resources.resource_groups.get, name)
    if found is not None:
        return name
    ctx.creating("resource-group", name, location=location)
    made = azure.call(
        "creating the resource group",
        azure.resources.resource_groups.create_or_update,
        name,
        {"location": location, "tags": tags_of(ctx.identity)},
    )
    ctx.created("resource-group", plain(made)["id"], location=location)
    azure.made_group(name)
    return name


def _ssh_rules(cidr: str) -> list[dict[str, Any]]:
    rules = [
        {
            "name": SSH_RULE,
            "properties": {
                "description": "isaacctl: SSH from --ingress-cidr only",
                "protocol": "Tcp",
                "access": "Allow",
                "direction": "Inbound",
                "priority": 100,
                "sourceAddressPrefix": cidr,
                "sourcePortRange": "*",
                "destinationAddressPrefix": "*",
                "destinationPortRange": "22",
            },
        }
    ]
    # Azure's default AllowVnetInBound (priority 65000) already lets the nodes talk; the rule is
    # explicit so that what the plan says is what the group holds, whatever the defaults become.
    rules.append(
        {
            "name": NODES_RULE,
            "properties": {
                "description": "isaacctl: every port between the deployment's nodes",
                "protocol": "*",
                "access": "Allow",
                "direction": "Inbound",
                "priority": 110,
                "sourceAddressPrefix": SUBNET_CIDR,
                "sourcePortRange": "*",
                "destinationAddressPrefix": SUBNET_CIDR,
                "destinationPortRange": "*",
            },
        }
    )
    return rules


def _rules_of(group: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {
        rule["name"]: tuple(
            rule.get("properties", {}).get(k)
            for k in ("protocol", "access", "direction", "priority", "sourceAddressPrefix", "destinationPortRange")
        )
        for rule in group.get("properties", {}).get("securityRules") or []
    }


def ensure_nsg(azure: Azure, ctx: DeployContext[AzureOptions], rg: str, location: str, cidr: str) -> str:
    """The security group; a rule for an earlier CIDR (a changed `myip`) is replaced by a PUT of
    the whole rule set, never accumulated."""
    name = resource_name(ctx.identity, "nsg")
    nsgs = azure.network.network_security_groups
    found = azure.lookup("reading the security group", nsgs.get, rg, name)
    wanted = _ssh_rules(cidr)
    body = {"location": location, "tags": tags_of(ctx.identity), "properties": {"securityRules": wanted}}
    if found is not None:
        current = plain(found)
        if _rules_of(current) == _rules_of(body):
            return str(current["id"])
        ctx.on_progress(f"SSH now allowed from {cidr} only")
        made = plain(azure.wait("updating the security group", nsgs.begin_create_or_update(rg, name, body)))
        ctx.created("security-rule", f"{made['id']}/securityRules/{SSH_RULE}", cidr=cidr)
        return str(made["id"])
    ctx.creating("network-security-group", name, location=location, ssh_from=cidr)
    made = plain(
        azure.wait(
            "creating the security group",
            azure.call("creating the security group", nsgs.begin_create_or_update, rg, name, body),
        )
    )
    ctx.created("network-security-group", made["id"], ssh_from=cidr)
    return str(made["id"])


def ensure_vnet(azure: Azure, ctx: DeployContext[AzureOptions], rg: str, location: str, nsg_id: str) -> str:
    """The virtual network; returns the subnet's id."""
    name = resource_name(ctx.identity, "vnet")
    vnets = azure.network.virtual_networks
    found = azure.lookup("reading the virtual network", vnets.get, rg, name)
    if found is not None:
        return f"{plain(found)['id']}/subnets/{SUBNET}"
    body = {
        "location": location,
        "tags": tags_of(ctx.identity),
        "properties": {
            "addressSpace": {"addressPrefixes": [VNET_CIDR]},
            "subnets": [
                {"name": SUBNET, "properties": {"addressPrefix": SUBNET_CIDR, "networkSecurityGroup": {"id": nsg_id}}}
            ],
        },
    }
    ctx.creating("virtual-network", name, location=location, cidr=VNET_CIDR)
    made = plain(
        azure.wait(
            "creating the virtual network",
            azure.call("creating the virtual network", vnets.begin_create_or_update, rg, name, body),
        )
    )
    ctx.created("virtual-network", made["id"], cidr=VNET_CIDR)
    return f"{made['id']}/subnets/{SUBNET}"


def ensure_placement_group(
    azure: Azure, ctx: DeployContext[AzureOptions], rg: str, location: str, zone: str | None
) -> str:
    name = resource_name(ctx.identity, "ppg")
    groups = azure.compute.proximity_placement_groups
    found = azure.lookup("reading the proximity placement group", groups.get, rg, name)
    if found is not None:
        return str(plain(found)["id"])
    body: dict[str, Any] = {
        "location": location,
        "tags": tags_of(ctx.identity),
        "properties": {"proximityPlacementGroupType": "Standard"},
    }
    if zone:
        body["zones"] = [zone]
    ctx.creating("proximity-placement-group", name, location=location, zone=zone)
    made = plain(azure.call("creating the proximity placement group", groups.create_or_update, rg, name, body))
    ctx.created("proximity-placement-group", made["id"], zone=zone)
    return str(made["id"])


def ensure_public_ip(azure: Azure, ctx: DeployContext[AzureOptions], rg: str, location: str, index: int) -> str:
    name = resource_name(ctx.identity, f"{index}-ip")
    ips = azure.network.public_ip_addresses
    found = azure.lookup("reading a public IP", ips.get, rg, name)
    if found is not None:
        return str(azure.remember(plain(found))["id"])
    # Standard and Static: the address survives deallocation, so `start` finds the node where it
    # was (Basic SKU addresses are being retired by Azure).
    body = {
        "location": location,
        "tags": tags_of(ctx.identity),
        "sku": {"name": "Standard", "tier": "Regional"},
        "properties": {"publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4"},
    }
    ctx.creating("public-ip", name, location=location, node=index)
    made = plain(
        azure.wait(
            "creating a public IP", azure.call("creating a public IP", ips.begin_create_or_update, rg, name, body)
        )
    )
    ctx.created("public-ip", made["id"], address=made.get("properties", {}).get("ipAddress"), node=index)
    return str(azure.remember(made)["id"])


def ensure_nic(
    azure: Azure, ctx: DeployContext[AzureOptions], rg: str, location: str, index: int, subnet_id: str, ip_id: str
) -> str:
    name = resource_name(ctx.identity, f"{index}-nic")
    nics = azure.network.network_interfaces
    found = azure.lookup("reading a network interface", nics.get, rg, name)
    if found is not None:
        return str(azure.remember(plain(found))["id"])
    body = {
        "location": location,
        "tags": tags_of(ctx.identity),
        "properties": {
            # accelerated networking is left to Azure's default: not every GPU size offers it
            "ipConfigurations": [
                {
                    "name": "primary",
                    "properties": {
                        "subnet": {"id": subnet_id},
                        "publicIPAddress": {"id": ip_id},
                        "privateIPAllocationMethod": "Dynamic",
                        "primary": True,
                    },
                }
            ]
        },
    }
    ctx.creating("network-interface", name, location=location, node=index)
    made = plain(
        azure.wait(
            "creating a network interface",
            azure.call("creating a network interface", nics.begin_create_or_update, rg, name, body),
        )
    )
    ctx.created("network-interface", made["id"], node=index)
    return str(azure.remember(made)["id"])


def addresses(azure: Azure, rg: str, vm: dict[str, Any]) -> tuple[str | None, str | None]:
    """(public, private) address of a VM's primary NIC."""
    public = private = None
    for ref in vm.get("properties", {}).get("networkProfile", {}).get("networkInterfaces") or []:
        nic_name = ref["id"].rsplit("/", 1)[1]
        nic = azure.known(ref["id"]) or azure.get_or_none(
            "reading a network interface", azure.network.network_interfaces.get, rg, nic_name
        )
        if nic is None:
            continue
        for config in plain(nic).get("properties", {}).get("ipConfigurations") or []:
            props = config.get("properties", {})
            private = private or props.get("privateIPAddress")
            pip_ref = props.get("publicIPAddress")
            if pip_ref and public is None:
                pip = azure.known(pip_ref["id"]) or azure.get_or_none(
                    "reading a public IP", azure.network.public_ip_addresses.get, rg, pip_ref["id"].rsplit("/", 1)[1]
                )
                public = plain(pip).get("properties", {}).get("ipAddress") if pip is not None else None
    return public, private


def release_location(azure: Azure, ctx: DeployContext[AzureOptions], rg: str) -> None:
    """What a location whose zones all refused the VMs holds (NICs, public IPs, placement group,
    network, security group), deleted before the next location is tried: public IPs bill by the
    hour, and the names are reused there."""
    from isaacctl.providers.azure.api import owned_by

    identity = ctx.identity
    order = [
        ("network-interface", azure.network.network_interfaces, "nic"),
        ("public-ip", azure.network.public_ip_addresses, "ip"),
    ]
    for kind, operations, _ in order:
        items = [plain(i) for i in azure.call(f"listing {kind}s", lambda ops=operations: list(ops.list(rg)))]
        pollers = [
            (i["id"], azure.call(f"deleting {i['name']}", operations.begin_delete, rg, i["name"]))
            for i in items
            if owned_by(i.get("tags"), identity)
        ]
        for resource_id, poller in pollers:
            azure.wait(f"deleting {resource_id}", poller)
            ctx.deleted(kind, resource_id, reason="no capacity in its location")
    singles = [("proximity-placement-group", "ppg"), ("virtual-network", "vnet"), ("network-security-group", "nsg")]
    for kind, suffix in singles:
        name = resource_name(identity, suffix)
        if kind == "proximity-placement-group":
            found = azure.get_or_none(
                "reading the proximity placement group", azure.compute.proximity_placement_groups.get, rg, name
            )
            if found is not None:
                azure.call(
                    "deleting the proximity placement group", azure.compute.proximity_placement_groups.delete, rg, name
                )
                ctx.deleted(kind, plain(found)["id"], reason="no capacity in its location")
            continue
        operations = azure.network.virtual_networks if suffix == "vnet" else azure.network.network_security_groups
        found = azure.get_or_none(f"reading the {kind}", operations.get, rg, name)
        if found is not None:
            azure.wait(f"deleting the {kind}", azure.call(f"deleting the {kind}", operations.begin_delete, rg, name))
            ctx.deleted(kind, plain(found)["id"], reason="no capacity in its location")
