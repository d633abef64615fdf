"""The YAML tables under templates/isaaclab/, read once."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def table(name: str) -> Any:
    from isaacctl.resources import template_yaml

    return template_yaml(f"isaaclab/{name}.yaml")
