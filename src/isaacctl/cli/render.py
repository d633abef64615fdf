"""Turns service results into text or a versioned JSON envelope. The only place that knows
how things look."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from isaacctl.console import Terminal
    from isaacctl.records import DeploymentRecord
    from isaacctl.services.deployments import DeployResult, DestroyResult, StatusResult


def age(moment: datetime, now: datetime | None = None) -> str:
    seconds = int(((now or datetime.now(timezone.utc)) - moment).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def record_json(record: DeploymentRecord) -> dict[str, Any]:
    return record.model_dump(mode="json")


def render_deploy(terminal: Terminal, result: DeployResult, as_json: bool) -> None:
    record = result.record
    if as_json:
        terminal.json("Deployment", record_json(record))
        return
    verb = "is ready again" if result.resumed else "is ready"
    terminal.success(f"{record.name} ({record.provider}, {record.address}) {verb}")
    terminal.text(f"Connect with: isaacctl ssh {record.name}")


def render_list(terminal: Terminal, records: list[DeploymentRecord], as_json: bool) -> None:
    if as_json:
        terminal.json("DeploymentList", [record_json(record) for record in records])
        return
    if not records:
        terminal.info("No deployments yet. Start with: isaacctl deploy local --name desk")
        return
    rows = [
        [r.name, r.provider, r.status, r.address, r.instance_type or "-", r.gpu_summary, age(r.created_at)]
        for r in records
    ]
    terminal.table(["NAME", "PROVIDER", "STATUS", "HOST", "TYPE", "GPU", "AGE"], rows)


def render_status(terminal: Terminal, result: StatusResult, as_json: bool) -> None:
    record = result.record
    if as_json:
        payload = record_json(record)
        if result.live is not None:
            payload["live"] = result.live
        terminal.json("DeploymentStatus", payload)
        return
    facts = record.facts
    rows = [
        ("name", record.name),
        ("provider", record.provider),
        ("status", record.status),
        ("host", record.address),
        ("region", " / ".join(filter(None, [record.region, record.zone])) or "-"),
        ("instance type", record.instance_type or "-"),
        ("market", record.market or "-"),
        ("GPU", record.gpu_summary),
        ("OS", facts.os if facts and facts.os else "-"),
        ("image", record.image or "-"),
        ("created", f"{record.created_at:%Y-%m-%d %H:%M} UTC ({age(record.created_at)} ago)"),
        ("updated", f"{record.updated_at:%Y-%m-%d %H:%M} UTC"),
    ]
    if record.last_error:
        rows.append(("last error", record.last_error))
    if result.live is not None:
        reachable = result.live.get("reachable")
        rows.append(("reachable now", "-" if reachable is None else ("yes" if reachable else "no")))
        if result.live.get("error"):
            rows.append(("why not", result.live["error"]))
    terminal.table(["FIELD", "VALUE"], [list(row) for row in rows])
    if record.bootstrap:
        steps = [[name, step.status, f"{step.duration_s:.1f}s", f"{step.finished_at:%Y-%m-%d %H:%M}",
                  step.message] for name, step in record.bootstrap.items()]
        terminal.text("")
        terminal.table(["BOOTSTRAP STEP", "RESULT", "TIME", "AT (UTC)", "NOTE"], steps)


def render_destroy(terminal: Terminal, result: DestroyResult, as_json: bool) -> None:
    if as_json:
        terminal.json("DestroyResult", {
            "name": result.name,
            "provider": result.provider,
            "removed_containers": result.removed_containers,
            "warnings": result.warnings,
        })
        return
    for warning in result.warnings:
        terminal.warning(warning)
    if result.removed_containers:
        terminal.info(f"removed {len(result.removed_containers)} container(s)")
    terminal.success(f"{result.name} destroyed")
