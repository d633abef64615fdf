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
    common.out("| " + " | ".join(h.center(w) for h, w in zip(headers, widths, strict=True)) + " |")
    common.out(sep)
    for row in rows:
        common.out(
            "| "
            + " | ".join([row[0].center(widths[0])] + [c.ljust(w) for c, w in zip(row[1:], widths[1:], strict=True)])
            + " |"
        )
    common.out(sep)
    return 0


def main_v3(argv=None) -> int:
    """Isaac Lab 3's `isaaclab list_envs [--keyword K | --all] [--show_presets]`: a PrettyTable
    with an "RL Libraries" column; it starts no simulator."""
    parser = argparse.ArgumentParser(prog="isaaclab list_envs", description="List registered Isaac Lab environments.")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--keyword")
    group.add_argument("--all", action="store_true")
    parser.add_argument("--show_presets", action="store_true")
    args = parser.parse_args(argv)
    headers = ["S. No.", "Task Name", "Entry Point", "Config", "RL Libraries"]
    order = ("rl_games", "rlinf", "rsl_rl", "sb3", "skrl", "torchrl")
    rows = []
    for task in catalog.TASKS3.values():
        if args.keyword is None or args.keyword in task.name:
            libraries = ", ".join(lib for lib in order if lib in task.libraries) or "(none)"
            rows.append([str(len(rows) + 1), task.name, task.entry_point, task.config, libraries])
    _table(headers, rows)
    return 0


def _table(headers, rows) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    sep = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    inner = len(sep) - 2
    common.out("+" + "-" * inner + "+")
    common.out("|" + "Available Environments in Isaac Lab".center(inner) + "|")
    common.out(sep)
    common.out("| " + " | ".join(h.center(w) for h, w in zip(headers, widths, strict=True)) + " |")
    common.out(sep)
    for row in rows:
        common.out(
            "| "
            + " | ".join([row[0].center(widths[0])] + [c.ljust(w) for c, w in zip(row[1:], widths[1:], strict=True)])
            + " |"
        )
    common.out(sep)
