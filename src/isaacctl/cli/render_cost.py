"""How `autostop` and `cost` results look, as text or a versioned JSON envelope."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from isaacctl.cli.views import autostop_view

if TYPE_CHECKING:
    from isaacctl.console import Terminal
    from isaacctl.records import AutostopDecision
    from isaacctl.services.autostop import AutostopResult
    from isaacctl.services.cost import CostReport, DeploymentCost


def decision_text(decision: AutostopDecision | None) -> str:
    if decision is None:
        return "none read yet ('isaacctl autostop NAME' reads it)"
    ago = int((datetime.now(timezone.utc) - decision.at).total_seconds())
    return f"{decision.decision}: {decision.reason} ({decision.at:%Y-%m-%d %H:%M:%S} UTC, {max(ago, 0)}s ago)"


def render_autostop(terminal: Terminal, result: AutostopResult, as_json: bool) -> None:
    from isaacctl.services.autostop import describe

    if as_json:
        terminal.json(
            "Autostop",
            {
                "name": result.name,
                "autostop": autostop_view(result.settings, result.decision),
                "installed": {str(k): v for k, v in result.modes.items()},
            },
        )
        return
    if result.modes:
        if result.settings is None:
            terminal.success(f"{result.name}: autostop is off (watchdog removed)")
            return

        how = ", ".join(sorted(set(result.modes.values())))
        terminal.success(f"{result.name}: {describe(result.settings)}; the watchdog runs on the machine ({how})")
        if "loop" in result.modes.values():
            terminal.warning(
                "no systemd there: the watchdog is a detached process that a reboot ends "
                "(run 'isaacctl autostop' again after one)"
            )
        return
    if result.settings is None:
        terminal.text(f"{result.name}: autostop is off")
        return

    terminal.table(
        ["FIELD", "VALUE"],
        [["autostop", describe(result.settings, result.decision)], ["last decision", decision_text(result.decision)]],
    )


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:,.2f}"


def cost_view(item: DeploymentCost) -> dict[str, Any]:
    return {
        "name": item.name,
        "id": item.id,
        "provider": item.provider,
        "region": item.region,
        "destroyed": item.destroyed,
        "running_hours": round(item.running_hours, 4),
        "stopped_hours": round(item.stopped_hours, 4),
        "compute_usd": round(item.compute_usd, 4),
        "disk_usd": round(item.disk_usd, 4),
        "disk_stopped_usd": round(item.disk_stopped_usd, 4),
        "total_usd": round(item.total_usd, 4),
        "hourly_usd": item.hourly_usd,
        "price_source": item.price_source,
        "pieces": [
            {
                "instance": p.instance,
                "instance_type": p.instance_type,
                "market": p.market,
                "state": p.state,
                "start": datetime.fromtimestamp(p.start, timezone.utc).isoformat(),
                "end": datetime.fromtimestamp(p.end, timezone.utc).isoformat(),
                "hours": round(p.hours, 4),
                "compute_usd": round(p.compute_usd, 4),
                "disk_usd": round(p.disk_usd, 4),
                "priced": p.priced,
            }
            for p in item.pieces
        ],
        "jobs": [{"id": j.id, "hours": round(j.hours, 4), "usd": round(j.usd, 4)} for j in item.jobs],
        "notes": item.notes,
    }


def render_cost(terminal: Terminal, report: CostReport, as_json: bool, jobs: bool = False) -> None:
    if as_json:
        terminal.json(
            "CostReport",
            {
                "since": None
                if report.since is None
                else datetime.fromtimestamp(report.since, timezone.utc).isoformat(),
                "deployments": [cost_view(item) for item in report.deployments],
                "by_provider": {k: round(v, 4) for k, v in report.by_provider.items()},
                "total_usd": round(report.total_usd, 4),
            },
        )
        return
    if not report.deployments:
        terminal.info("No deployments to count.")
        return
    rows = [
        [
            item.name + (" (destroyed)" if item.destroyed else ""),
            item.provider,
            f"{item.running_hours:.2f}",
            f"{item.stopped_hours:.2f}",
            _usd(item.compute_usd),
            _usd(item.disk_usd),
            _usd(item.total_usd),
            "-" if item.hourly_usd is None else f"{_usd(item.hourly_usd)}/h",
        ]
        for item in report.deployments
    ]
    terminal.table(["DEPLOYMENT", "PROVIDER", "RAN (H)", "STOPPED (H)", "COMPUTE", "DISK", "TOTAL", "NOW"], rows)
    if jobs:
        job_rows = [
            [item.name, job.id, f"{job.hours:.2f}", _usd(job.usd)] for item in report.deployments for job in item.jobs
        ]
        if job_rows:
            terminal.text("")
            terminal.table(["DEPLOYMENT", "JOB", "HOURS", "SHARE"], job_rows)
    terminal.text("")
    terminal.table(
        ["PROVIDER", "TOTAL"],
        [[name, _usd(total)] for name, total in report.by_provider.items()] + [["all", _usd(report.total_usd)]],
    )
    sources = sorted({item.price_source for item in report.deployments if item.price_source})
    notes = sorted({note for item in report.deployments for note in item.notes})
    for line in [*(f"prices: {source}" for source in sources), *notes]:
        terminal.info(line)
