"""What `deploy gcp` will make, found out with read-only calls, priced from the catalog."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from isaacctl.errors import UserError
from isaacctl.providers.base import Plan, PlannedResource
from isaacctl.providers.gcp import instances, network
from isaacctl.providers.gcp.pricing import accelerator, catalog, has_rt_cores
from isaacctl.providers.toolkit.failover import Attempt
from isaacctl.providers.toolkit.ingress import WHOLE_INTERNET, resolve_ingress

if TYPE_CHECKING:
    from isaacctl.providers.gcp.api import Gcp


def _zones(gcp: Gcp) -> tuple[list[str], list[Attempt], instances.TypeInfo, list[str]]:
    options = gcp.options
    offered, info = instances.zones_offering(gcp, options)
    if not offered or info is None:
        what = options.machine_type + (f" with {options.accelerator}" if options.accelerator else "")
        flag = "--accelerator" if options.accelerator and offered == [] and info is None else "--machine-type"
        raise UserError(f"{flag}: expected what a zone of {options.region} offers, none offers {what}")
    notes: list[str] = []
    skipped: list[Attempt] = []
    if options.zone in offered:
        return [options.zone, *(z for z in offered if z != options.zone)], skipped, info, notes
    skipped.append(Attempt(options.zone, "skipped", f"the zone does not offer {options.machine_type}"))
    notes.append(f"{options.zone} does not offer {options.machine_type}: trying {', '.join(offered)}")
    return offered, skipped, info, notes


def make_plan(gcp: Gcp, name: str) -> Plan:
    options = gcp.options
    project = gcp.project
    zones, skipped, info, notes = _zones(gcp)
    image = instances.choose_image(gcp, options.image_family)
    if image.disk_gb and options.disk_gb < image.disk_gb:
        raise UserError(
            f"--disk-gb: expected at least {image.disk_gb}, the size of the image {image.name}, got {options.disk_gb}"
        )
    cidr = resolve_ingress(options.ingress_cidr, options.myip_url)
    existing = instances.find_instances(gcp, name)
    use_default = network.default_network_exists(gcp)
    disk_type = instances.boot_disk_type(options.machine_type)

    count = options.nodes
    unique = f"isaacctl-{name}-<id>"  # the deployment's id is made when the deploy starts
    market = "spot (stopped when preempted)" if options.spot else "on-demand"
    machines = f"{count}x " if count > 1 else ""
    between = ", every port between the nodes" if count > 1 else ""
    known = catalog().types.get(options.machine_type)
    named = accelerator(info.gpu) if not info.built_in and info.gpu else None
    gpu_name = (named.gpu if named else known.gpu if known and known.gpu and info.built_in else "") or info.gpu
    gpu = f"{info.gpus}x {gpu_name}" if info.gpus else "no GPU"
    attach = "" if info.built_in or not info.gpus else " attached"
    resources = [
        PlannedResource(
            "firewall", f"{unique}-ssh", f"SSH (22/tcp) from {cidr} only, to the deployment's network tag" + between
        ),
        PlannedResource(
            "instance",
            f"{unique}-<node>",
            f"{machines}{options.machine_type} ({info.vcpus} vCPUs, {gpu}{attach}), {market}, "
            + ("all in one zone, " if count > 1 else "")
            + f"zones in order: {', '.join(zones)}",
            "reuse" if len(existing) >= count else "create",
        ),
        PlannedResource(
            "disk",
            f"{machines}{options.disk_gb} GiB {disk_type}",
            "boot disk, deleted with the instance",
            "reuse" if existing else "create",
        ),
        PlannedResource("image", image.name, f"{image.kind}: {image.self_link.split('/projects/', 1)[-1]}", "use"),
    ]
    if count > 1:
        resources.append(PlannedResource("firewall", f"{unique}-nodes", "every port between the deployment's nodes"))
        resources.append(PlannedResource("resource-policy", unique, "compact placement: the nodes close together"))
        notes.append("if Compute Engine refuses the compact placement policy, the nodes share a zone only")
    if use_default:
        resources.append(PlannedResource("network", "default", f"project {project}'s default network", "use"))
    else:
        resources.append(PlannedResource("network", unique, "no default network: an auto-mode network for it"))
    if existing:
        listed = ", ".join(f"{i.name} ({i.status.lower()})" for i in existing)
        notes.append(f"resuming: {listed} exist{'s' if len(existing) == 1 else ''}; only what is missing is made")
    if cidr in WHOLE_INTERNET:
        notes.append("SSH is open to the whole internet (--ingress-cidr 0.0.0.0/0)")
    rt_cores = has_rt_cores(options.machine_type, info.gpu if not info.built_in else None)
    if not info.gpus:
        notes.append(f"{options.machine_type} has no GPU: pass --accelerator, or bootstrap with --gpus none")
    elif not rt_cores:
        notes.append(
            f"{info.gpu} has no RT cores: Isaac Sim cannot run there; this type is for kit-less "
            "Isaac Lab 3.x training only"
        )
    if image.kind.startswith("Canonical"):
        notes.append("no Deep Learning VM image: cloud-init installs the driver, Docker and the toolkit")
    prices = catalog()
    price = prices.types.get(options.machine_type)
    gpu_price = accelerator(options.accelerator) if options.accelerator else None
    disk_hourly = prices.disk_hourly(options.disk_gb)
    hourly = spot = None
    if price is None or (options.accelerator and gpu_price is None):
        notes.append(
            f"{options.machine_type}{' + ' + options.accelerator if options.accelerator else ''} "
            "is not in the price catalog: see the Compute Engine pricing page"
        )
    else:
        extra = gpu_price.on_demand * options.accelerator_count if gpu_price else 0.0
        extra_spot = (gpu_price.spot or gpu_price.on_demand) * options.accelerator_count if gpu_price else 0.0
        hourly = round(count * (price.on_demand + extra + disk_hourly), 3)
        spot = round(count * (price.spot + extra_spot + disk_hourly), 3) if price.spot else None
        notes.append(
            f"disk: about ${disk_hourly:.3f}/h (${disk_hourly * 730:.0f}/month) per node, billed while stopped too"
        )
        if options.region != prices.region:
            notes.append(f"prices are {prices.region} list prices; {options.region} differs")
    return Plan(
        resources=resources,
        hourly_usd=hourly,
        hourly_spot_usd=spot,
        price_source=prices.label,
        price_date=prices.date,
        notes=notes,
        resolved={
            "project": project,
            "image": asdict(image),
            "ingress_cidr": cidr,
            "zones": zones,
            "skipped_zones": [asdict(a) for a in skipped],
            "disk_type": disk_type,
            "gpus": info.gpus,
            "gpu": info.gpu,
            "gpu_built_in": info.built_in,
            "rt_cores": rt_cores,
            "default_network": use_default,
        },
    )
