"""The price catalog shipped in templates/aws/prices.yaml (approximate us-east-1 list prices,
with their date), read by the toolkit's catalog loader."""

from __future__ import annotations

from isaacctl.providers.toolkit.pricing import HOURS_PER_MONTH, Catalog, TypePrice, load_catalog

__all__ = ["HOURS_PER_MONTH", "Catalog", "TypePrice", "catalog"]


def catalog() -> Catalog:
    return load_catalog("aws")
