"""Turns service results into text or a versioned JSON envelope. The only place that knows
how things look."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from isaacctl.cli.views import deployment_view, list_entry_view

if TYPE_CHECKING:
    from isaacctl.console import Terminal
    from isaacctl.records import DeploymentRecord, Node
    from isaacctl.services.deployments import DeployResult, DestroyResult, StatusResult


def age(moment: datetime, now: datetime | None = None) -> str:
    seconds = int(((now or datetime.now(timezone.utc)) - moment).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def node_states(record: DeploymentRecord) -> str:
    """ "2 running", "1 running, 1 terminated"; the count alone when no state is known yet."""
    counts: dict[str, int] = {}
    for node in record.nodes:
        if node.state:
            counts[node.state] = counts.get(node.state, 0) + 1
    if not counts:
        return str(len(record.nodes))
    return ", ".join(f"{count} {state}" for state, count in counts.items())


def bootstrap_summary(node: Node) -> str:
    """One node's bootstrap in a few words: where it failed, else how many steps are done."""
    steps = node.bootstrap
    if not steps:
        return "not run"
    failed = [name for name, step in steps.items() if step.status == "failed"]
    if failed:
        return f"failed at {failed[0]}"
    done = sum(step.status == "ok" for step in steps.values())
    return f"{done} ok, {len(steps) - done} skipped"


def render_deploy(terminal: Terminal, result: DeployResult, as_json: bool) -> None:
    record = result.record
    if as_json:
        terminal.json("Deployment", deployment_view(record))
        return
    verb = "is ready again" if result.resumed else "is ready"
    nodes = f", {len(record.nodes)} nodes" if len(record.nodes) > 1 else ""
    terminal.success(f"{record.name} ({record.provider}, {record.address}{nodes}) {verb}")
    terminal.text(f"Connect with: isaacctl ssh {record.name}")


def render_list(
    terminal: Terminal,
    records: list[DeploymentRecord],
    as_json: bool,
    errors: dict[str, str | None] | None = None,
    costs: dict[str, tuple[float | None, float]] | None = None,
) -> None:
    """`errors` is given after a refresh: each deployment's failure, or None. `costs`: each
    deployment's price per hour now and its cost so far (services/cost.py)."""
    refreshed = errors is not None
    errors = errors or {}
    costs = costs or {}
    if as_json:
        views = [list_entry_view(r, errors.get(r.name), refreshed) for r in records]
        for view in views:
            if view["name"] in costs:
                hourly, total = costs[view["name"]]
                view["hourly_usd"], view["cost_usd"] = hourly, round(total, 4)
        terminal.json("DeploymentList", views)
        return
    if not records:
        terminal.info("No deployments yet. Start with: isaacctl deploy local --name desk")
        return
    from isaacctl.services.autostop import describe

    headers = ["NAME", "PROVIDER", "STATUS", "HOST", "NODES", "TYPE", "GPU", "AGE", "$/H", "COST", "AUTOSTOP"]
    rows = []
    for r in records:
        hourly, total = costs.get(r.name, (None, 0.0))
        rows.append(
            [
                r.name,
                r.provider,
                r.status,
                r.address,
                node_states(r),
                r.instance_type or "-",
                r.gpu_summary,
                age(r.created_at),
                "-" if hourly is None else f"{hourly:.2f}",
                f"{total:.2f}" if total else "-",
                describe(r.autostop, r.autostop_decision),
            ]
        )
        if refreshed:
            error = errors.get(r.name)
            rows[-1].append(f"refresh failed: {error}" if error else "")
    terminal.table(headers + (["NOTE"] if refreshed else []), rows)


def render_status(terminal: Terminal, result: StatusResult, as_json: bool) -> None:
    record = result.record
    if as_json:
        payload = deployment_view(record)
        if result.live is not None:
            payload["live"] = result.live
        terminal.json("DeploymentStatus", payload)
        return
    facts = record.facts
    rows = [
        ("name", record.name),
        ("id", f"{record.id} (made by {record.creator})"),
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
    if record.autostop is not None:
        from isaacctl.cli.render_cost import decision_text
        from isaacctl.services.autostop import describe

        rows.append(("autostop", describe(record.autostop, record.autostop_decision)))
        rows.append(("autostop decided", decision_text(record.autostop_decision)))
    if result.live is not None:
        reachable = result.live.get("reachable")
        rows.append(("reachable now", "-" if reachable is None else ("yes" if reachable else "no")))
        if result.live.get("error"):
            rows.append(("why not", result.live["error"]))
    terminal.table(["FIELD", "VALUE"], [list(row) for row in rows])
    if record.nodes:
        nodes = [
            [
                str(n.index),
                n.role,
                n.instance_id or "-",
                n.public_ip or n.address,
                n.private_ip or "-",
                n.state or "-",
                f"{n.state_at:%Y-%m-%d %H:%M}" if n.state_at else "-",
                n.gpu_summary,
                bootstrap_summary(n),
            ]
            for n in record.nodes
        ]
        terminal.text("")
        terminal.table(
            ["NODE", "ROLE", "INSTANCE", "PUBLIC", "PRIVATE", "STATE", "AS OF (UTC)", "GPU", "BOOTSTRAP"], nodes
        )
    several = len(record.nodes) > 1
    steps = [
        ([str(node.index)] if several else [])
        + [name, step.status, f"{step.duration_s:.1f}s", f"{step.finished_at:%Y-%m-%d %H:%M}", step.message]
        for node in record.nodes
        for name, step in node.bootstrap.items()
    ]
    if steps:
        terminal.text("")
        terminal.table((["NODE"] if several else []) + ["BOOTSTRAP STEP", "RESULT", "TIME", "AT (UTC)", "NOTE"], steps)


def render_destroy(terminal: Terminal, result: DestroyResult, as_json: bool) -> None:
    if as_json:
        terminal.json(
            "DestroyResult",
            {
                "name": result.name,
                "provider": result.provider,
                "removed_containers": result.removed_containers,
                "warnings": result.warnings,
            },
        )
        return
    for warning in result.warnings:
        terminal.warning(warning)
    if result.removed_containers:
        terminal.info(f"removed {len(result.removed_containers)} container(s)")
    terminal.success(f"{result.name} destroyed")
