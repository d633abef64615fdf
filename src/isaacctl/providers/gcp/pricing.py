"""The price catalog shipped in templates/gcp/prices.yaml (approximate us-central1 list prices,
with their date), read by the toolkit's loader; GCP adds GPUs priced per accelerator (for
general-purpose types) and which GPUs lack RT cores."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from isaacctl.providers.toolkit.pricing import Catalog, load_catalog


def catalog() -> Catalog:
    return load_catalog("gcp")


@lru_cache(maxsize=1)
def _raw() -> dict[str, Any]:
    import yaml

    from isaacctl.resources import template_text

    data: dict[str, Any] = yaml.safe_load(template_text("gcp/prices.yaml"))
    return data


@dataclass(frozen=True)
class AcceleratorPrice:
    gpu: str
    on_demand: float
    spot: float | None
    rt_cores: bool


def accelerator(name: str) -> AcceleratorPrice | None:
    entry = _raw().get("accelerators", {}).get(name)
    if entry is None:
        return None
    return AcceleratorPrice(
        gpu=str(entry.get("gpu", name)),
        on_demand=float(entry["on_demand"]),
        spot=float(entry["spot"]) if entry.get("spot") is not None else None,
        rt_cores=bool(entry.get("rt_cores", True)),
    )


# GPUs without RT cores by Compute Engine accelerator name, for types not in the catalog.
NO_RT_CORES = ("a100", "h100", "h200", "b200", "gb200", "v100", "p100", "p4", "k80")


def has_rt_cores(machine_type: str, accelerator_name: str | None) -> bool:
    """False for GPUs that cannot run Isaac Sim (only kit-less Isaac Lab 3.x)."""
    if accelerator_name:
        known = accelerator(accelerator_name)
        if known is not None:
            return known.rt_cores
        return not any(part in accelerator_name for part in NO_RT_CORES)
    entry = _raw().get("instance_types", {}).get(machine_type)
    if entry is not None:
        return bool(entry.get("rt_cores", True))
    return not machine_type.startswith(("a2-", "a3-", "a4-"))
