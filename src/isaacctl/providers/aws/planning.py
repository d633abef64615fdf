"""What `deploy aws` will make, found out with read-only calls, priced from the catalog."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from isaacctl.errors import UserError
from isaacctl.providers.aws import instances, network
from isaacctl.providers.aws.api import name_of
from isaacctl.providers.aws.keys import find_key_pairs
from isaacctl.providers.aws.options import WHOLE_INTERNET
from isaacctl.providers.aws.pricing import catalog
from isaacctl.providers.base import Plan, PlannedResource

if TYPE_CHECKING:
    from isaacctl.providers.aws.api import Aws


def _zones(aws: Aws) -> tuple[list[str], list[instances.Attempt], list[str]]:
    """Zones to try in order (--zone first), the ones skipped and why, and notes."""
    options = aws.options
    offered = instances.offering_zones(aws, options.instance_type)
    if not offered:
        raise UserError(f"--instance-type: expected a type offered in {options.region}, "
                        f"no zone there sells {options.instance_type}")
    notes, skipped = [], []
    if options.zone is None:
        return offered, skipped, notes
    if options.zone in offered:
        return [options.zone, *(z for z in offered if z != options.zone)], skipped, notes
    skipped.append(instances.Attempt(options.zone, "skipped", f"the zone does not offer {options.instance_type}"))
    notes.append(f"{options.zone} does not offer {options.instance_type}: trying {', '.join(offered)}")
    return offered, skipped, notes


def make_plan(aws: Aws, name: str) -> Plan:
    options = aws.options
    price = catalog().types.get(options.instance_type)
    kind = instances.describe_type(aws, options.instance_type)
    zones, skipped, notes = _zones(aws)
    image = instances.choose_image(aws, options.ami)
    if image.root_gib and options.disk_gb < image.root_gib:
        raise UserError(f"--disk-gb: expected at least {image.root_gib}, the size of {image.image_id}'s snapshot, "
                        f"got {options.disk_gb}")
    cidr = network.resolve_ingress(options.ingress_cidr, options.myip_url)
    existing = instances.find_instances(aws, name, states=instances.RESUMABLE_STATES)
    owned_vpc = network.find_owned_vpc(aws, name)
    default_vpc = None if owned_vpc else network.find_default_vpc(aws)
    key_exists = bool(find_key_pairs(aws, name))

    market = "spot (persistent, stops on interruption)" if options.spot else "on-demand"
    gpu = kind.gpu or (price.gpu if price else "") or "no GPU"
    resources = [
        PlannedResource("key-pair", name_of(name), "ed25519, generated here; private key 0600 in the state folder",
                        "reuse" if key_exists else "create"),
        PlannedResource("security-group", name_of(name), f"SSH (22/tcp) from {cidr} only"),
        PlannedResource("instance", name_of(name),
                        f"{options.instance_type} ({kind.vcpus} vCPUs, {kind.gpus}x {gpu}), {market}, "
                        f"zones in order: {', '.join(zones)}",
                        "reuse" if existing else "create"),
        PlannedResource("volume", f"{options.disk_gb} GiB gp3", "root disk, encrypted, deleted with the instance",
                        "reuse" if existing else "create"),
        PlannedResource("image", image.image_id, f"{image.kind}: {image.name}", "use"),
    ]
    if owned_vpc:
        resources.append(PlannedResource("vpc", owned_vpc, "made for this deployment earlier", "reuse"))
    elif default_vpc:
        resources.append(PlannedResource("vpc", default_vpc, "the region's default VPC", "use"))
    else:
        resources.append(PlannedResource(
            "vpc", network.VPC_CIDR, "no default VPC: a VPC, subnet, internet gateway and route, all tagged"))
    if existing:
        notes.append(f"resuming: {existing[0]['InstanceId']} exists ({existing[0]['State']['Name']}); "
                     "only what is missing is made")
    if cidr in WHOLE_INTERNET:
        notes.append("SSH is open to the whole internet (--ingress-cidr 0.0.0.0/0)")
    if not kind.gpus:
        notes.append(f"{options.instance_type} has no GPU: bootstrap with --gpus none")
    if image.kind.startswith("Canonical"):
        notes.append("no Deep Learning AMI here: bootstrap installs the driver, Docker and the toolkit")
    prices = catalog()
    disk_hourly = prices.disk_hourly(options.disk_gb)
    if price is None:
        notes.append(f"{options.instance_type} is not in the price catalog: see the AWS pricing page")
    else:
        notes.append(f"disk: about ${disk_hourly:.3f}/h (${disk_hourly * 730:.0f}/month), billed while stopped too")
        if options.region != prices.region:
            notes.append(f"prices are {prices.region} list prices; {options.region} differs")
    return Plan(
        resources=resources,
        hourly_usd=round(price.on_demand + disk_hourly, 3) if price else None,
        hourly_spot_usd=round(price.spot + disk_hourly, 3) if price and price.spot else None,
        price_source=prices.label,
        price_date=prices.date,
        notes=notes,
        resolved={
            "image": asdict(image),
            "ingress_cidr": cidr,
            "zones": zones,
            "skipped_zones": [asdict(a) for a in skipped],
            "vcpus": kind.vcpus or (price.vcpus if price else None),
            "gpus": kind.gpus,
        },
    )
