"""The YAML tables under templates/isaaclab/, read once."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def table(name: str) -> Any:
    import yaml

    from isaacctl.resources import template_text

    return yaml.safe_load(template_text(f"isaaclab/{name}.yaml"))
