"""Fake scripts/environments/list_envs.py: a table of the stand-in's catalog."""

from __future__ import annotations

import argparse

from . import catalog, common
from .cli import add_app_launcher_args


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="List Isaac Lab environments.")
    parser.add_argument("--keyword", type=str, default=None, help="Keyword to filter environments.")
    add_app_launcher_args(parser)
    args, _ = parser.parse_known_args(argv)
    headers = ["S. No.", "Task Name", "Entry Point", "Config"]
    rows = []
    for task in catalog.TASKS.values():
        if "Isaac" in task.name and (args.keyword is None or args.keyword in task.name):
            rows.append([str(len(rows) + 1), task.name, task.entry_point, task.config])
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    sep = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    title = "Available Environments in Isaac Lab"
    inner = len(sep) - 2
    common.out("+" + "-" * inner + "+")
    common.out("|" + title.center(inner) + "|")
    common.out(sep)
    common.out("| " + " | ".join(h.center(w) for h, w in zip(headers, widths)) + " |")
    common.out(sep)
    for row in rows:
        common.out("| " + " | ".join([row[0].center(widths[0])] + [c.ljust(w) for c, w in zip(row[1:], widths[1:])])
                   + " |")
    common.out(sep)
    return 0
