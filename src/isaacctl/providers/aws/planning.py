"""What `deploy aws` will make, found out with read-only calls, priced from the catalog."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from isaacctl.errors import UserError
from isaacctl.providers.aws import instances, network
from isaacctl.providers.aws.api import name_of
from isaacctl.providers.aws.keys import find_key_pairs
from isaacctl.providers.aws.pricing import catalog
from isaacctl.providers.base import Plan, PlannedResource
from isaacctl.providers.toolkit.failover import Attempt
from isaacctl.providers.toolkit.ingress import WHOLE_INTERNET

if TYPE_CHECKING:
    from isaacctl.providers.aws.api import Aws


def _zones(aws: Aws) -> tuple[list[str], list[Attempt], list[str]]:
    """Zones to try in order (--zone first), the ones skipped and why, and notes."""
    options = aws.options
    offered = instances.offering_zones(aws, options.instance_type)
    if not offered:
        raise UserError(
            f"--instance-type: expected a type offered in {options.region}, no zone there sells {options.instance_type}"
        )
    notes: list[str] = []
    skipped: list[Attempt] = []
    if options.zone is None:
        return offered, skipped, notes
    if options.zone in offered:
        return [options.zone, *(z for z in offered if z != options.zone)], skipped, notes
    skipped.append(Attempt(options.zone, "skipped", f"the zone does not offer {options.instance_type}"))
    notes.append(f"{options.zone} does not offer {options.instance_type}: trying {', '.join(offered)}")
    return offered, skipped, notes


def make_plan(aws: Aws, name: str) -> Plan:
    options = aws.options
    price = catalog().types.get(options.instance_type)
    kind = instances.describe_type(aws, options.instance_type)
    zones, skipped, notes = _zones(aws)
    image = instances.choose_image(aws, options.ami)
    if image.root_gib and options.disk_gb < image.root_gib:
        raise UserError(
            f"--disk-gb: expected at least {image.root_gib}, the size of {image.image_id}'s snapshot, "
            f"got {options.disk_gb}"
        )
    cidr = network.resolve_ingress(options.ingress_cidr, options.myip_url)
    existing = instances.find_instances(aws, name, states=instances.RESUMABLE_STATES)
    owned_vpc = network.find_owned_vpc(aws, name)
    default_vpc = None if owned_vpc else network.find_default_vpc(aws)
    key_exists = bool(find_key_pairs(aws, name))

    count = options.nodes
    unique = f"{name_of(name)}-<id>"  # the deployment's id is made when the deploy starts
    market = "spot (persistent, stops on interruption)" if options.spot else "on-demand"
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
            + ("all in one zone, " if count > 1 else "")
            + f"zones in order: {', '.join(zones)}",
            "reuse" if len(existing) >= count else "create",
        ),
        PlannedResource(
            "volume",
            f"{machines}{options.disk_gb} GiB gp3",
            "root disk, encrypted, deleted with the instance",
            "reuse" if existing else "create",
        ),
        PlannedResource("image", image.image_id, f"{image.kind}: {image.name}", "use"),
    ]
    placement = count > 1 and kind.cluster_placement is not False
    if placement:
        resources.append(PlannedResource("placement-group", unique, "cluster: the nodes close together on the network"))
        notes.append(
            "if EC2 refuses the cluster placement group for the type or zone, the nodes are launched without one"
        )
    elif count > 1:
        notes.append(f"{options.instance_type} cannot be in a cluster placement group: the nodes share a zone only")
    if owned_vpc:
        resources.append(PlannedResource("vpc", owned_vpc, "made for this deployment earlier", "reuse"))
    elif default_vpc:
        resources.append(PlannedResource("vpc", default_vpc, "the region's default VPC", "use"))
    else:
        resources.append(
            PlannedResource(
                "vpc", network.VPC_CIDR, "no default VPC: a VPC, subnet, internet gateway and route, all tagged"
            )
        )
    if existing:
        listed = ", ".join(f"{i['InstanceId']} ({i['State']['Name']})" for i in existing)
        notes.append(f"resuming: {listed} exist{'s' if len(existing) == 1 else ''}; only what is missing is made")
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
        notes.append(
            f"disk: about ${disk_hourly:.3f}/h (${disk_hourly * 730:.0f}/month) per node, billed while stopped too"
        )
        if count > 1:
            notes.append(f"{count} nodes: about ${price.on_demand + disk_hourly:.3f}/h each on-demand")
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
            "vcpus": kind.vcpus or (price.vcpus if price else None),
            "gpus": kind.gpus,
            "placement": placement,
            # the default VPC when nothing of the name's own exists: create uses it without
            # asking EC2 again (a VPC of the deployment's is made only when there is none)
            "default_vpc": default_vpc,
        },
    )
