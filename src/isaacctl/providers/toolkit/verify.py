"""The check a destroy ends with: list what is still tagged for the deployment and fail, naming
it, when anything is (the service then keeps the state so that destroy can run again)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from isaacctl.errors import ProviderError
from isaacctl.providers.base import CloudResource


def nothing_remains(
    list_remaining: Callable[[], Iterable[CloudResource]],
    provider: str,
    name: str,
    where: str,
) -> None:
    remaining = [r for r in list_remaining() if r.state != "terminated"]
    if not remaining:
        return
    listed = ", ".join(f"{r.kind} {r.resource_id}" + (f" ({r.state})" if r.state else "") for r in remaining)
    raise ProviderError(
        f"{provider}: {len(remaining)} resource(s) tagged {name!r} remain in {where}: {listed}",
        hint=f"run 'isaacctl destroy {name}' again; the state is kept until nothing remains",
    )
