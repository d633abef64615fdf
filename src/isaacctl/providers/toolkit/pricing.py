"""The price catalogs shipped as templates/<provider>/prices.yaml: one dated file per provider,
so a plan shows what a workstation costs per hour before anything is made.

The file: date, source, region (where the prices hold), currency, disk_gib_month (the default
disk's price per GiB-month, billed while stopped too), instance_types: {type: {vcpus, gpus,
gpu, on_demand, spot}}."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

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


# Where the catalogs are when isaacctl is installed as files (always, but from a zip): read
# directly, as importlib.resources costs `list` ~5 ms of start-up to import.
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
CACHE_KIND = "prices"


def catalog_text(provider: str) -> str | None:
    """The catalog file's text; None when the provider ships none (local, ssh, a plugin)."""
    if TEMPLATES.is_dir():
        path = TEMPLATES / provider / "prices.yaml"
        return path.read_text() if path.is_file() else None
    from isaacctl.resources import template_text

    try:
        return template_text(f"{provider}/prices.yaml")
    except (FileNotFoundError, OSError):
        return None


@lru_cache(maxsize=8)
def load_catalog(provider: str) -> Catalog:
    """The parsed catalog. `list` prices every cloud's catalog on each run, and PyYAML's import
    and parse cost it ~15 ms: so the parsed catalog is also kept in the start-up cache, keyed
    by the file's text and this module's source, and used only when it reads back equal."""
    from isaacctl import startup_cache

    text = catalog_text(provider)
    if text is None:
        raise FileNotFoundError(f"templates/{provider}/prices.yaml")
    try:
        key = startup_cache.key(provider, text, Path(__file__).read_bytes())
    except OSError:  # not installed as files (a zip): parse every time
        return _parse(provider, text)
    kept = startup_cache.read(CACHE_KIND, key)
    if kept is not None:
        try:
            return _decode(provider, kept)
        except (KeyError, TypeError, ValueError):
            pass  # not what this release writes: parse the file
    catalog = _parse(provider, text)
    encoded = asdict(catalog)
    if _decode(provider, json.loads(json.dumps(encoded))) == catalog:
        startup_cache.write(CACHE_KIND, key, encoded)
    return catalog


def _decode(provider: str, data: dict[str, Any]) -> Catalog:
    types = {name: TypePrice(**entry) for name, entry in data["types"].items()}
    return Catalog(**{**data, "provider": provider, "types": types})


def _parse(provider: str, text: str) -> Catalog:
    import yaml

    # libyaml's parser when PyYAML has it (~5x faster than the pure-Python one)
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
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
