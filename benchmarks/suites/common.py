"""Timing helpers shared by the suites."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence


def median_seconds(argv: Sequence[str], repeat: int, env: dict[str, str] | None = None) -> float:
    """Median wall time of a whole command, after one warm-up run (page cache, .pyc files)."""
    full_env = {**os.environ, **(env or {})}
    subprocess.run(argv, env=full_env, capture_output=True, check=True)
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, env=full_env, capture_output=True, check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def isaacctl_argv(*args: str) -> list[str]:
    """The installed console script beside this interpreter (what a user runs)."""
    script = os.path.join(os.path.dirname(sys.executable), "isaacctl")
    return [script, *args] if os.path.exists(script) else [sys.executable, "-m", "isaacctl", *args]


def row(
    what: str,
    value: float,
    unit: str = "s",
    *,
    reference: float | None = None,
    against: str | None = None,
    goal: str | None = None,
) -> dict:
    entry = {"what": what, "value": value, "unit": unit}
    if reference:
        entry.update(ratio=value / reference, against=against)
    if goal:
        entry["goal"] = goal
    return entry
