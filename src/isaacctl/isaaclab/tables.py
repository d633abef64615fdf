"""The YAML tables under templates/isaaclab/, read once."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def table(name: str) -> Any:
    from isaacctl import startup_cache
    from isaacctl.resources import template_text

    text = template_text(f"isaaclab/{name}.yaml")
    # as JSON in the start-up cache, keyed by the YAML itself: importing PyYAML alone is ~15 ms
    # of `train`'s start, and the tables change only with a release
    entry_key = startup_cache.key(name, text)
    cached = startup_cache.read(f"table-{name}", entry_key)
    if cached is not None:
        return cached
    import json

    import yaml

    # libyaml's loader where PyYAML has it: ~10x faster, and commands that read a table on
    # every run (bootstrap's digests, fetch-logs' checkpoint rules) feel it
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    value = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    if json.loads(json.dumps(value)) == value:  # only what JSON gives back unchanged
        startup_cache.write(f"table-{name}", entry_key, value)
    return value
