"""Finds providers through the `isaacctl.providers` entry-point group: the built-in ones are
registered exactly like a third party's, so adding a cloud never touches the rest of isaacctl."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from isaacctl.errors import UserError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from isaacctl.providers.base import Provider

GROUP = "isaacctl.providers"


@dataclass(frozen=True)
class Registered:
    """One provider as its entry point registers it: what to import, the distribution that
    ships it, and the packages of its extra that are not installed."""

    name: str
    value: str  # module:attribute
    dist_name: str | None
    missing: tuple[str, ...] = ()

    def load(self) -> Any:
        from importlib import import_module

        module, _, attribute = self.value.partition(":")
        found: Any = import_module(module.strip())
        for part in filter(None, attribute.strip().split(".")):
            found = getattr(found, part)
        return found


@lru_cache(maxsize=1)
def _registered() -> dict[str, Registered]:
    """Every provider, from the start-up cache when the installed packages are as they were
    (keyed like the help's cache: every sys.path folder and its time): importing
    importlib.metadata and scanning every distribution's entry points is ~30-50 ms of each
    command that reaches a host (`train` among them)."""
    from isaacctl import startup_cache

    entry_key = startup_cache.key(GROUP, startup_cache.installed_folders())
    cached = startup_cache.read("providers", entry_key)
    if isinstance(cached, list):
        try:
            return {
                row["name"]: Registered(row["name"], row["value"], row["dist_name"], tuple(row["missing"]))
                for row in cached
            }
        except (KeyError, TypeError):
            pass  # not this release's shape: scanned again below
    from importlib.metadata import entry_points

    found = {}
    for entry in entry_points(group=GROUP):
        dist = getattr(entry, "dist", None)
        found[entry.name] = Registered(
            entry.name,
            entry.value,
            dist.metadata["Name"] if dist is not None else None,
            tuple(_missing_sdk(entry)),
        )
    startup_cache.write(
        "providers",
        entry_key,
        [
            {"name": r.name, "value": r.value, "dist_name": r.dist_name, "missing": list(r.missing)}
            for r in found.values()
        ],
    )
    return found


def provider_names() -> list[str]:
    return sorted(_registered())


def install_command(dist_name: str, extra: str) -> str:
    """The one line that adds an extra, in the way this isaacctl was installed."""
    target = f"'{dist_name}[{extra}]'"
    if "/pipx/venvs/" in sys.prefix.replace("\\", "/"):
        return f"pipx install --force {target}"
    return f"pip install {target}"


def _missing_sdk(entry: EntryPoint) -> list[str]:
    """The packages of the extra named like the provider that its distribution declares and
    are not installed. Cloud SDKs are imported only when a cloud is called, so without this a
    missing one surfaces as a ModuleNotFoundError halfway."""
    from importlib.metadata import PackageNotFoundError, distribution

    dist = getattr(entry, "dist", None)
    if dist is None:
        return []
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
    return missing


def get_provider(name: str, *, sdk: bool = True) -> Provider[Any]:
    """The provider named `name`; with sdk=False its SDK need not be installed (its options
    model and flags are still there: help, scope flags)."""
    entry = _registered().get(name)
    if entry is None:
        known = ", ".join(provider_names()) or "none installed"
        raise UserError(f"provider: expected one of {known}, got {name!r}")
    if sdk and entry.missing:
        raise UserError(
            f"{name}: the {name!r} extra is not installed ({', '.join(entry.missing)} missing); "
            f"add it with: {install_command(entry.dist_name or 'isaacctl', name)}"
        )
    try:
        provider_class = entry.load()
    except ImportError as exc:
        raise UserError(
            f"{name}: the provider cannot be loaded ({exc}); add its extra with: {install_command('isaacctl', name)}"
        ) from exc
    provider: Provider[Any] = provider_class()
    return provider
