"""Finds providers through the `isaacctl.providers` entry-point group: the built-in ones are
registered exactly like a third party's, so adding a cloud never touches the rest of isaacctl."""

from __future__ import annotations

import re
import sys
from functools import lru_cache
from importlib.metadata import EntryPoint, PackageNotFoundError, distribution, entry_points
from typing import TYPE_CHECKING, Any

from isaacctl.errors import UserError

if TYPE_CHECKING:
    from isaacctl.providers.base import Provider

GROUP = "isaacctl.providers"


@lru_cache(maxsize=1)
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def provider_names() -> list[str]:
    return sorted(_entry_points())


def install_command(dist_name: str, extra: str) -> str:
    """The one line that adds an extra, in the way this isaacctl was installed."""
    target = f"'{dist_name}[{extra}]'"
    if "/pipx/venvs/" in sys.prefix.replace("\\", "/"):
        return f"pipx install --force {target}"
    return f"pip install {target}"


def _missing_sdk(entry: EntryPoint) -> tuple[str, list[str]] | None:
    """(distribution, missing packages) when the provider's distribution declares an extra of
    the provider's name whose packages are not installed. Cloud SDKs are imported only when a
    cloud is called, so without this a missing one surfaces as a ModuleNotFoundError halfway."""
    dist = getattr(entry, "dist", None)
    if dist is None:
        return None
    missing = []
    for requirement in dist.requires or ():
        package, _, marker = requirement.partition(";")
        if not re.search(rf"""extra\s*==\s*["']{re.escape(entry.name)}["']""", marker):
            continue
        found = re.match(r"[A-Za-z0-9._-]+", package.strip())
        if found is None:
            continue
        try:
            distribution(found.group(0))
        except PackageNotFoundError:
            missing.append(found.group(0))
    return (dist.metadata["Name"], missing) if missing else None


def get_provider(name: str, *, sdk: bool = True) -> Provider[Any]:
    """The provider named `name`; with sdk=False its SDK need not be installed (its options
    model and flags are still there: help, scope flags)."""
    entry = _entry_points().get(name)
    if entry is None:
        known = ", ".join(provider_names()) or "none installed"
        raise UserError(f"provider: expected one of {known}, got {name!r}")
    missing = _missing_sdk(entry) if sdk else None
    if missing is not None:
        dist_name, packages = missing
        raise UserError(
            f"{name}: the {name!r} extra is not installed ({', '.join(packages)} missing); "
            f"add it with: {install_command(dist_name, name)}"
        )
    try:
        provider_class = entry.load()
    except ImportError as exc:
        raise UserError(
            f"{name}: the provider cannot be loaded ({exc}); add its extra with: {install_command('isaacctl', name)}"
        ) from exc
    provider: Provider[Any] = provider_class()
    return provider
