"""Files shipped in templates/ (inside the wheel as isaacctl/templates/)."""

from __future__ import annotations

from importlib.resources import files
from string import Template


def template_text(relative: str) -> str:
    return (files("isaacctl") / "templates" / relative).read_text()


def template_bytes(relative: str) -> bytes:
    return (files("isaacctl") / "templates" / relative).read_bytes()


def render(relative: str, **values: str) -> str:
    """Fill ${name} placeholders; a missing value is an error, not an empty string."""
    return Template(template_text(relative)).substitute(values)
