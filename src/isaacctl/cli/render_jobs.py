"""How jobs look: tables, the "started" message, JSON."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from isaacctl.console import Terminal
    from isaacctl.records import JobRecord


def _duration(job: JobRecord) -> str:
    if job.started_at is None:
        return "-"
    end = job.finished_at or datetime.now(timezone.utc)
    seconds = int((end - job.started_at).total_seconds())
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def job_json(job: JobRecord) -> dict[str, Any]:
    return job.model_dump(mode="json") | {"ranks": job.ranks}


def _shape(job: JobRecord) -> str:
    """nodes x GPUs (ranks per node)."""
    return f"{job.nodes}\u00d7{job.gpus_per_node}"


def _step(job: JobRecord) -> str:
    """Rank 0's last logged iteration: every iteration ends in an all-reduce over all ranks, so
    no node is further behind. A node whose part has ended while the job runs is said."""
    step = "-" if job.last_iteration is None else str(job.last_iteration)
    if job.finished or not job.node_runs:
        return step
    behind = [f"n{run.index} {run.status}" for run in job.node_runs if run.status not in ("running", "succeeded")]
    return f"{step} ({', '.join(behind)})" if behind else step


def _lost(seconds: float) -> str:
    whole = int(round(seconds))
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _managed_cells(job: JobRecord) -> list[str]:
    """Restarts, time without a running job, and where it runs now (provider, zone, market,
    instance); blank for a job that is not managed."""
    if job.managed is None:
        return ["-", "-", "-"]
    return [str(job.restarts), _lost(job.lost_seconds), job.runs_on or "-"]


def render_started(terminal: Terminal, job: JobRecord, as_json: bool) -> None:
    if as_json:
        terminal.json("Job", job_json(job))
        return
    shape = (
        f", {job.nodes} nodes \u00d7 {job.gpus_per_node} GPUs"
        if job.nodes > 1
        else (f", {job.gpus_per_node} GPUs" if job.gpus_per_node > 1 else "")
    )
    terminal.success(f"started {job.id} ({job.mode} {job.task}, {job.rl_library}{shape}) on {job.deployment}")
    if job.rendezvous:
        terminal.info(f"  nodes meet at {job.rendezvous} (node 0); other nodes: isaacctl logs {job.id} --node 1")
    terminal.info(f"  follow:  isaacctl logs {job.id} --follow")
    terminal.info(f"  fetch:   isaacctl fetch-logs {job.id}")
    terminal.info(f"  cancel:  isaacctl cancel {job.id}")
    terminal.text(job.id)


def render_jobs(terminal: Terminal, jobs: list[JobRecord], as_json: bool) -> None:
    if as_json:
        terminal.json("JobList", [job_json(job) for job in jobs])
        return
    if not jobs:
        terminal.info("No jobs yet. Start one: isaacctl train --task Isaac-Cartpole-Direct-v0 --follow")
        return
    rows = [
        [
            job.id,
            job.deployment,
            job.mode,
            job.task,
            job.rl_library,
            _shape(job),
            job.status,
            f"{job.started_at:%Y-%m-%d %H:%M}" if job.started_at else "-",
            _duration(job),
            _step(job),
            "-" if job.mean_reward is None else f"{job.mean_reward:.2f}",
        ]
        for job in jobs
    ]
    columns = [
        "JOB",
        "DEPLOYMENT",
        "MODE",
        "TASK",
        "LIBRARY",
        "NODES\u00d7GPUS",
        "STATUS",
        "STARTED (UTC)",
        "DURATION",
        "STEP",
        "REWARD",
    ]
    if any(job.managed is not None for job in jobs):  # only then: the table stays narrow otherwise
        columns += ["RESTARTS", "LOST", "RUNS ON"]
        rows = [row + _managed_cells(job) for row, job in zip(rows, jobs, strict=True)]
    terminal.table(columns, rows)


def render_job(terminal: Terminal, job: JobRecord, as_json: bool) -> None:
    if as_json:
        terminal.json("Job", job_json(job))
        return
    terminal.info(
        f"{job.id}: {job.status}"
        + (f" (exit {job.exit_code})" if job.exit_code is not None else "")
        + (f": {job.error}" if job.status == "unknown" and job.error else "")
    )
