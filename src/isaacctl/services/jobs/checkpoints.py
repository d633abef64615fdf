"""Choosing a checkpoint by number, per library. Upstream sorts names as text, which picks
`model_999.pt` over `model_1000.pt` and the wrong rl_games/sb3 file; isaacctl does not. The
patterns are the library table's (templates/isaaclab/generations.yaml)."""

from __future__ import annotations

from collections.abc import Iterable

from isaacctl.isaaclab import library as library_info


def _run_folder(path: str) -> str:
    """The run folder a checkpoint belongs to: <lib>/<experiment>/<timestamp...>."""
    parts = path.split("/")
    return "/".join(parts[:3])


def checkpoint_rank(library: str, path: str) -> tuple[int, ...] | None:
    info = library_info(library)
    return info.checkpoint_rank(path) if info is not None else None


def _rank(library: str, path: str) -> tuple[int, ...]:
    """For sorting paths already known to be checkpoints."""
    return checkpoint_rank(library, path) or ()


def is_checkpoint(library: str, path: str) -> bool:
    return checkpoint_rank(library, path) is not None


def newest_checkpoint(library: str, paths: Iterable[str], wanted: str | None = None) -> str | None:
    """The newest checkpoint of the newest run folder (run folders are timestamps, so they do
    sort as text). `wanted` picks a file by name (or glob-free suffix) instead."""
    candidates = [p for p in paths if is_checkpoint(library, p)]
    if wanted:
        named = [p for p in candidates if p == wanted or p.endswith("/" + wanted)]
        return max(named, key=lambda p: (_run_folder(p), _rank(library, p))) if named else None
    if not candidates:
        return None
    newest_run = max(_run_folder(p) for p in candidates)
    in_run = [p for p in candidates if _run_folder(p) == newest_run]
    return max(in_run, key=lambda p: _rank(library, p))


def best_checkpoint(library: str, paths: Iterable[str]) -> str | None:
    """Isaac Lab 3's `--checkpoint best`: of the newest run, the library's best or final file
    (rl_games nn/<name>.pth, sb3 model.zip, skrl best_agent.pt), else its newest checkpoint."""
    info = library_info(library)
    candidates = [p for p in paths if is_checkpoint(library, p)]
    if info is None or not candidates:
        return None
    newest_run = max(_run_folder(p) for p in candidates)
    best = [p for p in candidates if _run_folder(p) == newest_run and info.is_best(p)]
    return max(best, key=lambda p: _rank(library, p)) if best else newest_checkpoint(library, candidates)


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
        keep.add(max(in_run, key=lambda p: _rank(library, p)))
    return keep
