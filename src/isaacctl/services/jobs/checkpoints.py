"""Choosing a checkpoint by number, per library. Upstream sorts names as text, which picks
`model_999.pt` over `model_1000.pt` and the wrong rl_games/sb3 file; isaacctl does not."""

from __future__ import annotations

import re
from collections.abc import Iterable

# (pattern on the path relative to the job's logs/, how to rank a match: higher is newer)
_RULES: dict[str, list[tuple[re.Pattern[str], int]]] = {
    "rsl_rl": [(re.compile(r"(^|/)model_(\d+)\.pt$"), 2)],
    "skrl": [(re.compile(r"(^|/)checkpoints/agent_(\d+)\.pt$"), 2),
             (re.compile(r"(^|/)checkpoints/best_agent\.pt$"), -1)],
    # rl_games: nn/last_<name>_ep_<E>_rew_<R>.pth by epoch; nn/<name>.pth (best) ranks last
    "rl_games": [(re.compile(r"(^|/)nn/last_.*_ep_(\d+)_rew_.*\.pth$"), 2),
                 (re.compile(r"(^|/)nn/([^/]+)\.pth$"), -1)],
    # sb3: the final model.zip outranks model_<steps>_steps.zip
    "sb3": [(re.compile(r"(^|/)model\.zip$"), -2), (re.compile(r"(^|/)model_(\d+)_steps\.zip$"), 2)],
}


def _run_folder(path: str) -> str:
    """The run folder a checkpoint belongs to: <lib>/<experiment>/<timestamp...>."""
    parts = path.split("/")
    return "/".join(parts[:3])


def checkpoint_rank(library: str, path: str) -> tuple[int, ...] | None:
    for pattern, group in _RULES.get(library, []):
        match = pattern.search(path)
        if match is None:
            continue
        if group == -1:
            return (0, 0)
        if group == -2:
            return (2, 0)
        return (1, int(match.group(group)))
    return None


def is_checkpoint(library: str, path: str) -> bool:
    return checkpoint_rank(library, path) is not None


def newest_checkpoint(library: str, paths: Iterable[str], wanted: str | None = None) -> str | None:
    """The newest checkpoint of the newest run folder (run folders are timestamps, so they do
    sort as text). `wanted` picks a file by name (or glob-free suffix) instead."""
    candidates = [p for p in paths if is_checkpoint(library, p)]
    if wanted:
        named = [p for p in candidates if p == wanted or p.endswith("/" + wanted)]
        return max(named, key=lambda p: (_run_folder(p), checkpoint_rank(library, p))) if named else None
    if not candidates:
        return None
    newest_run = max(_run_folder(p) for p in candidates)
    in_run = [p for p in candidates if _run_folder(p) == newest_run]
    return max(in_run, key=lambda p: checkpoint_rank(library, p))


def checkpoints_to_keep(library: str, paths: Iterable[str], which: str) -> set[str]:
    """For fetch-logs --checkpoints all|last|none: the checkpoint files to bring home."""
    candidates = [p for p in paths if is_checkpoint(library, p)]
    if which == "all":
        return set(candidates)
    if which == "none":
        return set()
    keep = set()
    for run in {_run_folder(p) for p in candidates}:
        in_run = [p for p in candidates if _run_folder(p) == run]
        keep.add(max(in_run, key=lambda p: checkpoint_rank(library, p)))
    return keep
