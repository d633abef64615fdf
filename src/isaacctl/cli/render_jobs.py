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
    return job.model_dump(mode="json")


def render_started(terminal: Terminal, job: JobRecord, as_json: bool) -> None:
    if as_json:
        terminal.json("Job", job_json(job))
        return
    terminal.success(f"started {job.id} ({job.mode} {job.task}, {job.rl_library}) on {job.deployment}")
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
    rows = [[job.id, job.deployment, job.mode, job.task, job.rl_library, job.status,
             f"{job.started_at:%Y-%m-%d %H:%M}" if job.started_at else "-", _duration(job),
             "-" if job.last_iteration is None else str(job.last_iteration),
             "-" if job.mean_reward is None else f"{job.mean_reward:.2f}"] for job in jobs]
    terminal.table(["JOB", "DEPLOYMENT", "MODE", "TASK", "LIBRARY", "STATUS", "STARTED (UTC)", "DURATION",
                    "STEP", "REWARD"], rows)


def render_job(terminal: Terminal, job: JobRecord, as_json: bool) -> None:
    if as_json:
        terminal.json("Job", job_json(job))
        return
    terminal.info(f"{job.id}: {job.status}" + (f" (exit {job.exit_code})" if job.exit_code is not None else "")
                  + (f": {job.error}" if job.status == "unknown" and job.error else ""))
