"""How plans, stop/start, credential checks and leak sweeps look (text or a JSON envelope)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from isaacctl.console import Terminal
    from isaacctl.providers.base import Plan
    from isaacctl.services.lifecycle import CheckResult, GcCandidate, GcReport, PowerResult


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
        terminal.success(
            f"{result.name} is stopped (disk kept and billed; 'isaacctl start {result.name}' brings it back)"
        )
        return
    moved = ""
    if result.previous_address and result.previous_address != result.address:
        moved = f", new address {result.address} (was {result.previous_address}); host key kept"
    terminal.success(f"{result.name} is running and reachable at {result.address}{moved}")


def render_check(terminal: Terminal, results: list[CheckResult], as_json: bool) -> None:
    if as_json:
        terminal.json(
            "CredentialChecks",
            [
                {"provider": r.provider, "ok": r.check.ok, "identity": r.check.identity, "hint": r.check.hint}
                for r in results
            ],
        )
        return
    for result in results:
        if result.check.ok:
            terminal.success(f"{result.provider}: {result.check.identity}")
        else:
            terminal.error(f"{result.provider}: {result.check.identity}", result.check.hint)


def age_text(seconds: int | None) -> str:
    if seconds is None:
        return "age unknown"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} old"
    return f"{seconds}s old"


def candidate_json(candidate: GcCandidate, selected: bool = False) -> dict:
    return {
        "provider": candidate.provider,
        "region": candidate.region,
        "name": candidate.name,
        "id": candidate.id,
        "creator": candidate.creator,
        "created": candidate.created,
        "age_seconds": candidate.age_seconds,
        "name_used_here": candidate.name_used_here,
        "resources": [{"kind": r.kind, "id": r.resource_id, "state": r.state} for r in candidate.resources],
        "selected": selected,
        "deleted": candidate.deleted,
        "error": candidate.error,
    }


def report_json(report: GcReport, chosen: list[GcCandidate]) -> dict:
    return {
        "looked_in": report.looked_in,
        "candidates": [candidate_json(c, any(c is s for s in chosen)) for c in report.candidates],
        "kept": report.kept,
        "errors": report.errors,
        "skipped": report.skipped,
    }


def candidate_lines(candidate: GcCandidate) -> list[str]:
    where = f"{candidate.provider} {candidate.region}" if candidate.region else candidate.provider
    made = f"{age_text(candidate.age_seconds)}, made by {candidate.creator or 'an unknown creator'}"
    ident = f"id {candidate.id}" if candidate.id else "no id (made before deployment ids)"
    note = "  (name also used here, other id)" if candidate.name_used_here else ""
    lines = [f"{candidate.name}  {ident}  {where}  {made}{note}"]
    width = max((len(r.kind) for r in candidate.resources), default=0)
    for resource in candidate.resources:
        state = f"  {resource.state}" if resource.state else ""
        lines.append(f"    {resource.kind.ljust(width)}  {resource.resource_id}{state}")
    return lines


def _looked_in(report: GcReport) -> str:
    places = []
    for place in report.looked_in:
        values = ", ".join(str(v) for v in place["scope"].values())
        places.append(f"{place['provider']} {values}".strip())
    return "; ".join(places) or "no cloud provider"


def render_gc_list(terminal: Terminal, report: GcReport, as_json: bool) -> None:
    """The candidates on stdout; what to do next on stderr. Deletes nothing."""
    if as_json:
        terminal.json("GcReport", report_json(report, []))
        return
    for error in report.errors:
        terminal.warning(error)
    for skipped in report.skipped:
        terminal.info(f"not asked: {skipped}")
    if not report.candidates:
        terminal.info(
            f"No orphaned resources in {_looked_in(report)}: everything isaacctl tagged there "
            "is a deployment of this state folder."
        )
        return
    for candidate in report.candidates:
        for line in candidate_lines(candidate):
            terminal.text(line)
    terminal.info(
        f"Looked in {_looked_in(report)}. These belong to no deployment of this state folder; "
        "one made from another machine or state folder is listed too."
    )
    terminal.info(
        "Nothing deleted. Delete by name or id: isaacctl gc NAME|ID ... (or --all); you are asked first unless --yes."
    )


def render_gc_selected(terminal: Terminal, chosen: list[GcCandidate]) -> None:
    """What is about to be deleted, before the question (stderr: stdout stays for --json)."""
    terminal.info(f"Will delete the resources of {len(chosen)} deployment(s):")
    for candidate in chosen:
        for line in candidate_lines(candidate):
            terminal.info("  " + line)


def render_gc_deleted(terminal: Terminal, report: GcReport, chosen: list[GcCandidate], as_json: bool) -> None:
    if as_json:
        terminal.json("GcReport", report_json(report, chosen))
        return
    for error in report.errors:
        terminal.warning(error)
    for candidate in chosen:
        label = f"{candidate.name} ({candidate.id or 'no id'}"
        label += f", {candidate.region})" if candidate.region else ")"
        if candidate.error:
            terminal.error(f"{label}: {candidate.error}")
        else:
            terminal.success(f"{label}: deleted {len(candidate.deleted or [])} resource(s)")
