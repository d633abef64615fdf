"""The price catalogs shipped as templates/<provider>/prices.yaml: one dated file per provider,
so a plan shows what a workstation costs per hour before anything is made.

The file: date, source, region (where the prices hold), currency, disk_gib_month (the default
disk's price per GiB-month, billed while stopped too), instance_types: {type: {vcpus, gpus,
gpu, on_demand, spot}}."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

HOURS_PER_MONTH = 730


@dataclass(frozen=True)
class TypePrice:
    vcpus: int
    gpus: int
    gpu: str
    on_demand: float
    spot: float | None


@dataclass(frozen=True)
class Catalog:
    provider: str
    date: str
    source: str
    region: str
    currency: str
    disk_gib_month: float
    types: dict[str, TypePrice]

    def disk_hourly(self, gib: int) -> float:
        return gib * self.disk_gib_month / HOURS_PER_MONTH

    @property
    def path(self) -> str:
        return f"{self.provider}/prices.yaml"

    @property
    def label(self) -> str:
        return f"templates/{self.path} ({self.source}; {self.region} as of {self.date})"


@lru_cache(maxsize=8)
def load_catalog(provider: str) -> Catalog:
    import yaml

    from isaacctl.resources import template_text

    data = yaml.safe_load(template_text(f"{provider}/prices.yaml"))
    types = {
        name: TypePrice(
            vcpus=int(entry["vcpus"]),
            gpus=int(entry.get("gpus", 0)),
            gpu=str(entry.get("gpu", "")),
            on_demand=float(entry["on_demand"]),
            spot=float(entry["spot"]) if entry.get("spot") is not None else None,
        )
        for name, entry in data["instance_types"].items()
    }
    return Catalog(
        provider=provider,
        date=str(data["date"]),
        source=str(data["source"]),
        region=str(data["region"]),
        currency=str(data.get("currency", "USD")),
        disk_gib_month=float(data["disk_gib_month"]),
        types=types,
    )
