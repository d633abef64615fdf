"""How plans, stop/start, credential checks and leak sweeps look (text or a JSON envelope)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from isaacctl.console import Terminal
    from isaacctl.providers.base import Plan
    from isaacctl.services.lifecycle import CheckResult, GcResult, PowerResult


def plan_json(plan: Plan) -> dict:
    payload = asdict(plan)
    payload.pop("resolved", None)  # provider internals, not part of the promise
    return payload


def plan_lines(provider: str, name: str, plan: Plan) -> list[str]:
    lines = [f"Plan for {provider} deployment {name}:"]
    width = max((len(r.action) for r in plan.resources), default=6)
    kind_width = max((len(r.kind) for r in plan.resources), default=8)
    for resource in plan.resources:
        detail = f"  {resource.detail}" if resource.detail else ""
        lines.append(f"  {resource.action.ljust(width)}  {resource.kind.ljust(kind_width)}  {resource.name}{detail}")
    if plan.hourly_usd is not None:
        spot = f", spot about ${plan.hourly_spot_usd:.2f}/h" if plan.hourly_spot_usd else ""
        lines.append(f"Price: on-demand about ${plan.hourly_usd:.2f}/h{spot} (instance and disk)")
    if plan.price_source:
        lines.append(f"  from {plan.price_source}")
    lines += [f"Note: {note}" for note in plan.notes]
    return lines


def render_plan(terminal: Terminal, provider: str, name: str, plan: Plan, as_json: bool, to_stdout: bool) -> None:
    if as_json and to_stdout:
        terminal.json("Plan", {"provider": provider, "name": name, **plan_json(plan)})
        return
    for line in plan_lines(provider, name, plan):
        terminal.text(line) if to_stdout else terminal.info(line)


def render_power(terminal: Terminal, result: PowerResult, as_json: bool) -> None:
    if as_json:
        terminal.json("PowerResult", asdict(result))
        return
    if result.status == "stopped":
        terminal.success(f"{result.name} is stopped (disk kept and billed; 'isaacctl start {result.name}' brings it back)")
        return
    moved = ""
    if result.previous_address and result.previous_address != result.address:
        moved = f", new address {result.address} (was {result.previous_address}); host key kept"
    terminal.success(f"{result.name} is running and reachable at {result.address}{moved}")


def render_check(terminal: Terminal, results: list[CheckResult], as_json: bool) -> None:
    if as_json:
        terminal.json("CredentialChecks", [
            {"provider": r.provider, "ok": r.check.ok, "identity": r.check.identity, "hint": r.check.hint}
            for r in results
        ])
        return
    for result in results:
        if result.check.ok:
            terminal.success(f"{result.provider}: {result.check.identity}")
        else:
            terminal.error(f"{result.provider}: {result.check.identity}", result.check.hint)


def render_gc(terminal: Terminal, results: list[GcResult], deleting: bool, as_json: bool) -> None:
    if as_json:
        terminal.json("GcResult", [{
            "provider": r.provider, "scope": r.scope, "kept": r.kept, "errors": r.errors,
            "orphans": {name: [asdict(res) for res in found] for name, found in r.orphans.items()},
            "deleted": r.deleted,
        } for r in results])
        return
    rows = []
    for result in results:
        for deployment, found in sorted(result.orphans.items()):
            for resource in found:
                rows.append([result.provider, deployment, resource.kind, resource.resource_id,
                             resource.region or "-", resource.state or "-"])
    if not rows:
        terminal.info("No orphaned resources: everything isaacctl tagged has a deployment here.")
        return
    terminal.table(["PROVIDER", "DEPLOYMENT", "KIND", "ID", "REGION", "STATE"], rows)
    for result in results:
        for deployment, error in result.errors.items():
            terminal.warning(f"{deployment}: {error}")
    if deleting:
        count = sum(len(items) for r in results for items in r.deleted.values())
        terminal.success(f"deleted {count} resource(s) of {sum(len(r.deleted) for r in results)} orphaned deployment(s)")
    else:
        terminal.info("These have no deployment in this state folder. Delete them with: isaacctl gc --yes")
