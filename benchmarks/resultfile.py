"""Benchmark result files: benchmarks/results/<suite>.json, one per suite and run.

A file holds the run's provenance (commit, date, machine) and the suite's rows. Each row is
{what, value, unit} and optionally ratio + against (the same-run reference), goal, calls (API
calls by operation) and table {row, column} (where the figure sits when the suite's rows are
shown as one table). Files written before the provenance was added are a bare list of rows;
they load with empty provenance.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Result:
    suite: str
    rows: list[dict[str, Any]]
    commit: str = ""
    dirty: bool = False
    date: str = ""
    machine: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "commit": self.commit,
            "dirty": self.dirty,
            "date": self.date,
            "machine": self.machine,
            "rows": self.rows,
        }

    def provenance(self) -> str:
        """One line: which commit, when, on what."""
        if not self.commit:
            return "an earlier run: no commit, date or machine recorded"
        commit = self.commit[:10] + ("+changes" if self.dirty else "")
        cores = self.machine.get("cpus")
        machine = ", ".join(
            part
            for part in (
                self.machine.get("cpu_model", ""),
                f"{cores} cores" if cores else "",
                f"load {self.machine['load_1m']:.1f}" if "load_1m" in self.machine else "",
            )
            if part
        )
        return " · ".join(part for part in (commit, self.date[:16].replace("T", " "), machine) if part)


def load(path: Path) -> Result:
    data = json.loads(path.read_text())
    if isinstance(data, list):  # before provenance
        return Result(suite=path.stem, rows=data)
    return Result(
        suite=data.get("suite", path.stem),
        rows=data["rows"],
        commit=data.get("commit", ""),
        dirty=bool(data.get("dirty", False)),
        date=data.get("date", ""),
        machine=data.get("machine", {}),
    )


def load_all(path: Path) -> dict[str, Result]:
    """A result file, or every result file in a folder, by suite name."""
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    results = [load(each) for each in files]
    return {result.suite: result for result in results}


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def current_provenance() -> dict[str, Any]:
    """Commit (and whether the tree had uncommitted changes), date and machine of this run."""
    machine: dict[str, Any] = {
        "host": platform.node(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "cpu_model": _cpu_model(),
        "cpus": os.cpu_count(),
    }
    if hasattr(os, "getloadavg"):
        machine["load_1m"] = os.getloadavg()[0]  # other work on the machine shows here
    return {
        "commit": _git("rev-parse", "HEAD"),
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine,
    }


def save(path: Path, suite: str, rows: list[dict[str, Any]], provenance: dict[str, Any]) -> Result:
    result = Result(suite=suite, rows=rows, **provenance)
    path.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    return result


def format_value(value: float, unit: str) -> str:
    if unit == "calls":
        return f"{value:g}"
    if unit == "s":
        return f"{value:.3f} s" if value < 1 else f"{value:.2f} s"
    return f"{value:.4g} {unit}"


def format_row(entry: dict[str, Any]) -> tuple[str, str, str]:
    """(value, ratio against its reference, goal) as text."""
    ratio = f"{entry['ratio']:.2f}x {entry['against']}" if entry.get("ratio") else ""
    return format_value(entry["value"], entry["unit"]), ratio, str(entry.get("goal") or "")


def pivot(rows: list[dict[str, Any]]) -> tuple[list[str], list[str], dict[tuple[str, str], str]]:
    """The rows that carry a table place as (column names, row names, cell text), both in
    first-seen order; a time with a ratio shows it beside the seconds."""
    columns: list[str] = []
    names: list[str] = []
    cells: dict[tuple[str, str], str] = {}
    for entry in rows:
        place = entry.get("table")
        if not place:
            continue
        if place["column"] not in columns:
            columns.append(place["column"])
        if place["row"] not in names:
            names.append(place["row"])
        text = format_value(entry["value"], entry["unit"])
        if entry.get("ratio"):
            text += f" ({entry['ratio']:.2f}x)"
        cells[(place["row"], place["column"])] = text
    return columns, names, cells
