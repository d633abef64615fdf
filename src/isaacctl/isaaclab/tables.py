"""The YAML tables under templates/isaaclab/, read once."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def table(name: str) -> Any:
    import yaml

    from isaacctl.resources import template_text

    # libyaml's loader where PyYAML has it: ~10x faster, and commands that read a table on
    # every run (bootstrap's digests, fetch-logs' checkpoint rules) feel it
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(template_text(f"isaaclab/{name}.yaml"), Loader=loader)  # noqa: S506 - a safe loader
