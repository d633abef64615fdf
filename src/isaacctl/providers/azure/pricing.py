"""The price catalog shipped in templates/azure/prices.yaml (approximate East US list prices,
with their date), read by the toolkit's loader; and what the Azure provider keeps there per
size beside the prices: quota family, NVIDIA driver kind, failover locations."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from isaacctl.providers.toolkit.pricing import Catalog, load_catalog

__all__ = ["Catalog", "SizeInfo", "catalog", "size_info"]


@dataclass(frozen=True)
class SizeInfo:
    family: str | None
    driver: str  # "grid", "datacenter", "none", or "unknown" for a size not in the catalog
    locations: tuple[str, ...]


def catalog() -> Catalog:
    return load_catalog("azure")


@lru_cache(maxsize=1)
def _extras() -> dict[str, SizeInfo]:
    import yaml

    from isaacctl.resources import template_text

    data = yaml.safe_load(template_text("azure/prices.yaml"))
    return {
        name: SizeInfo(entry.get("family"), str(entry.get("driver", "unknown")), tuple(entry.get("locations") or ()))
        for name, entry in data["instance_types"].items()
    }


def size_info(size: str) -> SizeInfo:
    return _extras().get(size, SizeInfo(None, "unknown", ()))


def public_ip_hourly() -> float:
    import yaml

    from isaacctl.resources import template_text

    return float(yaml.safe_load(template_text("azure/prices.yaml")).get("public_ip_hourly", 0.005))
