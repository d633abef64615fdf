"""The known Isaac Lab tasks and the libraries each supports (templates/tasks.yaml)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache

from isaacctl.errors import UserError

LIBRARIES = ("rsl_rl", "skrl", "rl_games", "sb3")
DISTRIBUTED_LIBRARIES = ("rsl_rl", "skrl", "rl_games")


@dataclass(frozen=True)
class TaskInfo:
    name: str
    libraries: tuple[str, ...]
    experiment: str
    iterations: int


@lru_cache(maxsize=1)
def tasks() -> dict[str, TaskInfo]:
    import yaml

    from isaacctl.resources import template_text

    data = yaml.safe_load(template_text("tasks.yaml"))
    return {
        name: TaskInfo(name, tuple(entry["libraries"]), entry["experiment"], int(entry["iterations"]))
        for name, entry in data["tasks"].items()
    }


def check_task(task: str, library: str, *, force: bool, flag: str = "--task") -> TaskInfo | None:
    """The catalog entry, or None for an unknown task let through with --force."""
    known = tasks()
    info = known.get(task)
    if info is None:
        if force:
            return None
        close = difflib.get_close_matches(task, known, n=3, cutoff=0.6)
        suggestion = f"; did you mean {', '.join(close)}?" if close else ""
        raise UserError(
            f"{flag}: {task!r} is not a task isaacctl knows{suggestion}",
            hint="a custom task (e.g. from --extension) runs with --force; "
            "'isaacctl tasks' lists the known ones",
        )
    if library not in info.libraries:
        raise UserError(
            f"--rl-library: {task} supports {', '.join(info.libraries)}, not {library}"
        )
    return info
