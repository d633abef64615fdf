"""What `deploy azure` will make, found out with read-only calls, priced from the catalog."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from isaacctl.providers.azure import instances
from isaacctl.providers.azure.api import group_name, resource_name
from isaacctl.providers.azure.pricing import catalog, public_ip_hourly, size_info
from isaacctl.providers.base import Identity, Plan, PlannedResource
from isaacctl.providers.toolkit.failover import Attempt
from isaacctl.providers.toolkit.ingress import WHOLE_INTERNET, resolve_ingress

if TYPE_CHECKING:
    from isaacctl.providers.azure.api import Azure

DRIVERS = {
    "grid": "NVIDIA GRID driver from the NVIDIA GPU Driver extension (the only one these SR-IOV GPUs load)",
    "datacenter": "NVIDIA datacenter driver, installed by cloud-init at first boot",
    "none": "no GPU",
    "unknown": "NVIDIA datacenter driver, installed by cloud-init at first boot (size not in the catalog)",
}


def places_in(offer: instances.SizeOffer, location: str) -> list[tuple[str, str | None]]:
    return [(location, zone) for zone in offer.zones] or [(location, None)]


def make_plan(azure: Azure, name: str) -> Plan:
    options = azure.options
    info = size_info(options.size)
    offer = instances.check_size(azure, options, options.location)
    notes: list[str] = []
    skipped: list[Attempt] = []
    if offer.restricted:
        skipped.append(Attempt(options.location, "skipped", f"{offer.restricted} for this subscription"))
        notes.append(f"{options.size} is restricted in {options.location} for this subscription ({offer.restricted})")
    cidr = resolve_ingress(options.ingress_cidr, options.myip_url)
    image = options.vm_image or instances.DEFAULT_IMAGE
    places = [] if offer.restricted else places_in(offer, options.location)
    if options.zone is not None and places:
        if (options.location, options.zone) in places:
            places = [(options.location, options.zone), *(p for p in places if p[1] != options.zone)]
        else:
            skipped.append(
                Attempt(f"{options.location} zone {options.zone}", "skipped", f"{options.size} is not sold there")
            )
            notes.append(f"zone {options.zone} of {options.location} does not sell {options.size}: trying the others")
    failover = [loc for loc in info.locations if loc != options.location]

    count = options.nodes
    unique = group_name(Identity(name, "<id>"))  # the id is made when the deploy starts
    market = "Spot (evicted: deallocated; max price: on-demand)" if options.spot else "on-demand"
    price = catalog().types.get(options.size)
    gpu = price.gpu if price else f"{offer.gpus} GPU(s)"
    machines = f"{count}x " if count > 1 else ""
    zones = ", ".join(z or "-" for _, z in places) or "none"
    resources = [
        PlannedResource("resource-group", unique, f"in {options.location}; holds everything below, deleted with it"),
        PlannedResource(
            "network-security-group",
            resource_name(Identity(name, ""), "nsg"),
            f"SSH (22/tcp) from {cidr} only; every port inside {'the subnet'}",
        ),
        PlannedResource(
            "virtual-network",
            resource_name(Identity(name, ""), "vnet"),
            "10.20.0.0/16, subnet 10.20.0.0/24 behind the security group",
        ),
        PlannedResource("public-ip", f"{machines}Standard, static", "one per node; kept while deallocated"),
        PlannedResource("network-interface", f"{machines}NIC", "one per node, deleted with its VM"),
        PlannedResource(
            "vm",
            f"{machines}{options.size}",
            f"{offer.vcpus} vCPUs, {gpu}, {market}, login {instances.LOGIN_USER} with an ed25519 key "
            f"(password login off); zones in order: {zones}" + (f", then {', '.join(failover)}" if failover else ""),
        ),
        PlannedResource("os-disk", f"{machines}{options.disk_gb} GiB", "Premium SSD, deleted with the VM"),
        PlannedResource("image", image, DRIVERS.get(info.driver, DRIVERS["unknown"]), "use"),
    ]
    if count > 1:
        resources.append(
            PlannedResource(
                "proximity-placement-group",
                resource_name(Identity(name, ""), "ppg"),
                "the nodes close together, in one zone",
            )
        )
    if cidr in WHOLE_INTERNET:
        notes.append("SSH is open to the whole internet (--ingress-cidr 0.0.0.0/0)")
    if not offer.gpus:
        notes.append(f"{options.size} has no GPU: bootstrap with --gpus none")
    if info.driver == "grid" and "NV36" not in options.size and "NV72" not in options.size:
        notes.append(f"{options.size} is a fraction of an A10: Isaac Sim needs the whole GPU (NV36ads or NV72ads)")
    notes.append("stop deallocates the VMs (a shutdown from inside keeps billing on Azure)")
    prices = catalog()
    disk_hourly = prices.disk_hourly(options.disk_gb) + public_ip_hourly()
    if price is None:
        notes.append(f"{options.size} is not in the price catalog: see the Azure pricing page")
    else:
        notes.append(
            f"disk and public IP: about ${disk_hourly:.3f}/h (${disk_hourly * 730:.0f}/month) per node, "
            "billed while deallocated too"
        )
        if options.location != prices.region:
            notes.append(f"prices are {prices.region} list prices; {options.location} differs")
    return Plan(
        resources=resources,
        hourly_usd=round(count * (price.on_demand + disk_hourly), 3) if price else None,
        hourly_spot_usd=round(count * (price.spot + disk_hourly), 3) if price and price.spot else None,
        price_source=prices.label,
        price_date=prices.date,
        notes=notes,
        resolved={
            "image": image,
            "ingress_cidr": cidr,
            "places": [list(p) for p in places],
            "skipped": [asdict(a) for a in skipped],
            "failover_locations": failover,
            "vcpus": offer.vcpus,
            "premium_io": offer.premium_io,
            "gpus": offer.gpus,
            "family": offer.family or info.family,
            "driver": info.driver if info.driver != "unknown" else ("datacenter" if offer.gpus else "none"),
        },
    )
