"""The price catalog shipped in templates/aws/prices.yaml (approximate us-east-1 list prices,
with their date): plans show what a workstation costs per hour before anything is made."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

CATALOG = "aws/prices.yaml"
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
    date: str
    source: str
    region: str
    gp3_gib_month: float
    types: dict[str, TypePrice]

    def disk_hourly(self, gib: int) -> float:
        return gib * self.gp3_gib_month / HOURS_PER_MONTH

    @property
    def label(self) -> str:
        return f"templates/{CATALOG} ({self.source}; {self.region} as of {self.date})"


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    import yaml

    from isaacctl.resources import template_text

    data = yaml.safe_load(template_text(CATALOG))
    types = {
        name: TypePrice(
            vcpus=int(entry["vcpus"]), gpus=int(entry.get("gpus", 0)), gpu=str(entry.get("gpu", "")),
            on_demand=float(entry["on_demand"]),
            spot=float(entry["spot"]) if entry.get("spot") is not None else None,
        )
        for name, entry in data["instance_types"].items()
    }
    return Catalog(date=str(data["date"]), source=str(data["source"]), region=str(data["region"]),
                   gp3_gib_month=float(data["gp3_gib_month"]), types=types)
