"""Files shipped in templates/ (inside the wheel as isaacctl/templates/)."""

from __future__ import annotations

from importlib.resources import files
from string import Template
from typing import Any


def template_text(relative: str) -> str:
    return (files("isaacctl") / "templates" / relative).read_text()


def template_bytes(relative: str) -> bytes:
    return (files("isaacctl") / "templates" / relative).read_bytes()


def render(relative: str, **values: str) -> str:
    """Fill ${name} placeholders; a missing value is an error, not an empty string."""
    return Template(template_text(relative)).substitute(values)


def template_yaml(relative: str) -> Any:
    """A YAML file of templates/, parsed. Kept as JSON in the start-up cache, keyed by the YAML
    text itself: importing PyYAML is ~15 ms of every `train` (the task catalog, the Isaac Lab
    tables), and these files change only with a release. What JSON would not give back
    unchanged (a date) is parsed each time."""
    import json

    from isaacctl import startup_cache

    text = template_text(relative)
    entry_key = startup_cache.key(relative, text)
    kind = "yaml-" + relative.replace("/", "-").removesuffix(".yaml")
    cached = startup_cache.read(kind, entry_key)
    if cached is not None:
        return cached
    import yaml

    # libyaml's loader where PyYAML has it: ~10x faster than the pure-Python one
    value = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader
    try:
        kept = json.loads(json.dumps(value)) == value
    except (TypeError, ValueError):  # a date, a set: not JSON at all
        kept = False
    if kept:
        startup_cache.write(kind, entry_key, value)
    return value
