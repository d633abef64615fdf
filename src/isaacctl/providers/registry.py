"""Finds providers through the `isaacctl.providers` entry-point group: the built-in ones are
registered exactly like a third party's, so adding a cloud never touches the rest of isaacctl."""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

from isaacctl.errors import IsaacctlError, UserError

if TYPE_CHECKING:
    from isaacctl.providers.base import Provider

GROUP = "isaacctl.providers"


@lru_cache(maxsize=1)
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def provider_names() -> list[str]:
    return sorted(_entry_points())


def get_provider(name: str) -> Provider[Any]:
    entry = _entry_points().get(name)
    if entry is None:
        known = ", ".join(provider_names()) or "none installed"
        raise UserError(f"provider: expected one of {known}, got {name!r}")
    try:
        provider_class = entry.load()
    except ImportError as exc:
        raise IsaacctlError(
            f"provider {name!r} cannot be loaded: {exc}",
            hint=f"install its extra: pip install 'isaacctl[{name}]'",
        ) from exc
    provider: Provider[Any] = provider_class()
    return provider
