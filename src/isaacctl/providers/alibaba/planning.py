"""What `deploy alibaba` will make, found out with read-only calls, priced from the catalog."""

from __future__ import annotations

from dataclasses import asdict

from isaacctl.errors import UserError
from isaacctl.providers.alibaba import instances, network
from isaacctl.providers.alibaba.api import Alibaba, name_of
from isaacctl.providers.alibaba.options import AlibabaOptions
from isaacctl.providers.base import Plan, PlannedResource
from isaacctl.providers.toolkit.failover import Attempt
from isaacctl.providers.toolkit.ingress import WHOLE_INTERNET, resolve_ingress
from isaacctl.providers.toolkit.pricing import Catalog, load_catalog


def catalog() -> Catalog:
    return load_catalog("alibaba")


def _zones(
    api: Alibaba, options: AlibabaOptions, vswitches: dict[str, str] | None
) -> tuple[list[str], list[Attempt], list[str]]:
    """Zones to try in order (--zone first), the ones skipped and why, and notes. With the
    default VPC (`vswitches`: its default vSwitch per zone), zones without one are skipped."""
    offered = instances.offering_zones(api, options.instance_type, options.spot)
    market = "as spot" if options.spot else "pay-as-you-go"
    if not offered:
        raise UserError(
            f"--instance-type: expected a type sold in {options.region}, no zone there sells "
            f"{options.instance_type} {market} now"
        )
    notes: list[str] = []
    skipped: list[Attempt] = []
    zones = offered
    if options.zone is not None:
        if options.zone in offered:
            zones = [options.zone, *(z for z in offered if z != options.zone)]
        else:
            skipped.append(Attempt(options.zone, "skipped", f"the zone does not sell {options.instance_type} {market}"))
            notes.append(f"{options.zone} does not sell {options.instance_type}: trying {', '.join(offered)}")
    if vswitches is not None:
        for zone in [z for z in zones if z not in vswitches]:
            skipped.append(Attempt(zone, "skipped", "the default VPC has no vSwitch there"))
        zones = [z for z in zones if z in vswitches]
    return zones, skipped, notes


def make_plan(api: Alibaba, options: AlibabaOptions, name: str) -> Plan:
    prices = catalog()
    price = prices.types.get(options.instance_type)
    kind = instances.describe_type(api, options.instance_type)
    image = instances.choose_image(api, options.system_image)
    if options.disk_gb < image.size_gib:
        raise UserError(
            f"--disk-gb: expected at least {image.size_gib}, the size of {image.image_id}, got {options.disk_gb}"
        )
    cidr = resolve_ingress(options.ingress_cidr, options.myip_url)
    existing = instances.find_instances(api, name)
    own_vpc = network.find_vpcs(api, name)
    default_vpc = None if own_vpc else network.find_default_vpc(api)
    vswitches = None
    if default_vpc is not None:
        vswitches = {
            s["ZoneId"]: s["VSwitchId"]
            for s in network.find_vswitches(api, None, vpc_id=default_vpc)
            if s.get("IsDefault")
        }
    zones, skipped, notes = _zones(api, options, vswitches)
    use_default = default_vpc is not None and bool(zones)
    if default_vpc is not None and not zones:
        # the default VPC has no vSwitch in a zone that sells the type: a VPC of our own instead
        zones, skipped, more = _zones(api, options, None)
        notes += more
    key_exists = bool(network.find_key_pairs(api, name))

    count = options.nodes
    unique = f"{name_of(name)}-<id>"  # the deployment's id is made when the deploy starts
    market = "spot (SpotAsPriceGo; stopped, not released, when reclaimed)" if options.spot else "pay-as-you-go"
    gpu = kind.gpu or (price.gpu if price else "") or "no GPU"
    machines = f"{count}x " if count > 1 else ""
    between = ", every port between the nodes" if count > 1 else ""
    resources = [
        PlannedResource(
            "key-pair",
            unique,
            "ed25519, generated here; private key 0600 in the state folder",
            "reuse" if key_exists else "create",
        ),
        PlannedResource("security-group", unique, f"SSH (22/tcp) from {cidr} only{between}"),
        PlannedResource(
            "instance",
            name_of(name),
            f"{machines}{options.instance_type} ({kind.vcpus} vCPUs, {kind.gpus}x {gpu}), {market}, "
            f"public address ({options.bandwidth_mbps} Mbit/s, pay-by-traffic), "
            + ("all in one zone, " if count > 1 else "")
            + f"zones in order: {', '.join(zones)}",
            "reuse" if len(existing) >= count else "create",
        ),
        PlannedResource(
            "disk",
            f"{machines}{options.disk_gb} GiB ESSD",
            "system disk, released with the instance",
            "reuse" if existing else "create",
        ),
        PlannedResource("image", image.image_id, f"{image.kind}: {image.name}", "use"),
    ]
    if count > 1:
        resources.append(PlannedResource("deployment-set", unique, "Availability: each node on its own physical host"))
    if own_vpc:
        resources.append(PlannedResource("vpc", str(own_vpc[0]["VpcId"]), "made for this deployment earlier", "reuse"))
    elif use_default:
        resources.append(PlannedResource("vpc", str(default_vpc), "the region's default VPC and its vSwitches", "use"))
    else:
        resources.append(PlannedResource("vpc", network.VPC_CIDR, "a VPC and a vSwitch in the zone used, both tagged"))
    family = instances.FAMILIES.get(instances.family_of(options.instance_type))
    if family is not None and not family[1]:
        notes.append(
            f"{options.instance_type} ({family[0]}) has no RT cores: Isaac Sim does not run on it; "
            "use it for kit-less Isaac Lab 3.x only"
        )
    elif family is None and kind.gpus:
        notes.append(
            f"{instances.family_of(options.instance_type)} is not a family isaacctl knows; known to work: "
            "gn7i (A10), gn6i (T4), gn8is (L20)"
        )
    if existing:
        listed = ", ".join(f"{i['InstanceId']} ({i['Status']})" for i in existing)
        notes.append(f"resuming: {listed} exist{'s' if len(existing) == 1 else ''}; only what is missing is made")
    if cidr in WHOLE_INTERNET:
        notes.append("SSH is open to the whole internet (--ingress-cidr 0.0.0.0/0)")
    if not kind.gpus:
        notes.append(f"{options.instance_type} has no GPU: bootstrap with --gpus none")
    notes.append(
        "the NVIDIA driver, Docker and the Container Toolkit are installed at first boot (cloud-init); "
        "bootstrap checks them"
    )
    notes.append(
        "stop releases the compute (StoppedMode=StopCharging): only the disk is billed while stopped, "
        "and the public address changes on start"
    )
    disk_hourly = prices.disk_hourly(options.disk_gb)
    if price is None:
        notes.append(f"{options.instance_type} is not in the price catalog: see the ECS pricing page")
    else:
        notes.append(
            f"disk: about ${disk_hourly:.3f}/h (${disk_hourly * 730:.0f}/month) per node, billed while stopped too"
        )
        if count > 1:
            notes.append(f"{count} nodes: about ${price.on_demand + disk_hourly:.3f}/h each pay-as-you-go")
        if options.region != prices.region:
            notes.append(f"prices are {prices.region} list prices; {options.region} differs")
    return Plan(
        resources=resources,
        hourly_usd=round(count * (price.on_demand + disk_hourly), 3) if price else None,
        hourly_spot_usd=round(count * (price.spot + disk_hourly), 3) if price and price.spot else None,
        price_source=prices.label,
        price_date=prices.date,
        notes=notes,
        resolved={
            "image": asdict(image),
            "ingress_cidr": cidr,
            "zones": zones,
            "skipped_zones": [asdict(a) for a in skipped],
            "use_default_vpc": use_default,
            # what create would look up again: the default VPC and its default vSwitches by zone
            "default_network": {"vpc_id": default_vpc, "vswitches": vswitches} if use_default else None,
            "vcpus": kind.vcpus or (price.vcpus if price else None),
            "gpus": kind.gpus,
        },
    )
