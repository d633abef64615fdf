"""The known Isaac Lab tasks and the libraries each supports (templates/tasks.yaml, written
in 2.x ids), as a generation spells and runs them."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from isaacctl.errors import UserError

if TYPE_CHECKING:
    from isaacctl.isaaclab import Generation


@dataclass(frozen=True)
class TaskInfo:
    name: str  # in the generation's form
    libraries: tuple[str, ...]
    experiment: str
    iterations: int
    default_library: str = "rsl_rl"
    catalog_id: str = ""  # the 2.x id in templates/tasks.yaml


@lru_cache(maxsize=1)
def _catalog() -> tuple[str, dict[str, dict[str, Any]]]:
    import yaml

    from isaacctl.resources import template_text

    data = yaml.safe_load(template_text("tasks.yaml"))
    return data["default_library"], data["tasks"]


def catalog_default_library() -> str:
    """The default agent of a task the catalog does not know (run with --force)."""
    return _catalog()[0]


def _default_generation() -> Generation:
    from isaacctl.isaaclab import generation_for

    return generation_for(None)


@lru_cache(maxsize=4)
def _tasks_of(generation: Generation) -> dict[str, TaskInfo]:
    default, entries = _catalog()
    known = generation.library_names
    return {
        generation.task_id(name): TaskInfo(
            name=generation.task_id(name),
            libraries=tuple(lib for lib in entry["libraries"] if lib in known),
            experiment=entry["experiment"], iterations=int(entry["iterations"]),
            default_library=entry.get("default_library", default), catalog_id=name,
        )
        for name, entry in entries.items()
    }


def tasks(generation: Generation | None = None) -> dict[str, TaskInfo]:
    """The catalog keyed by task id as `generation` (default: a new deployment's) spells it."""
    return _tasks_of(generation or _default_generation())


def _other_spellings(generation: Generation) -> dict[str, str]:
    """Ids of the other generations that name one of this generation's tasks: 2.x ids on a 3.x
    deployment (the AWS pipeline's job JSON uses them), 3.x ids on a 2.x one."""
    from isaacctl.isaaclab import generations

    mine = tasks(generation)
    by_catalog = {info.catalog_id: name for name, info in mine.items()}
    spellings: dict[str, str] = {}
    for other in generations().values():
        if other is generation:
            continue
        for name, info in tasks(other).items():
            if name not in mine:
                spellings[name] = by_catalog[info.catalog_id]
    return spellings


def resolve_task(task: str, *, force: bool, flag: str = "--task", generation: Generation | None = None,
                 notice: Callable[[str], None] = lambda message: None) -> tuple[str, TaskInfo | None]:
    """The id to run and its catalog entry (None for an unknown task let through with --force).
    An id of the other generation runs under this one's name, with a one-line notice."""
    generation = generation or _default_generation()
    known = tasks(generation)
    if task in known:
        return task, known[task]
    translated = _other_spellings(generation).get(task)
    if translated is not None:
        notice(f"{flag}: Isaac Lab {generation.label} calls {task} {translated}; running {translated}")
        return translated, known[translated]
    if force:
        return task, None
    close = difflib.get_close_matches(task, known, n=3, cutoff=0.6)
    suggestion = f"; did you mean {', '.join(close)}?" if close else ""
    raise UserError(
        f"{flag}: {task!r} is not a task isaacctl knows{suggestion}",
        hint="a custom task (e.g. from --extension) runs with --force; "
        "'isaacctl tasks' lists the known ones",
    )


def check_library(info: TaskInfo | None, library: str, generation: Generation, *, flag: str = "--rl-library",
                  notice: Callable[[str], None] = lambda message: None) -> None:
    if library not in generation.library_names:
        raise UserError(f"{flag}: expected one of {', '.join(generation.library_names)} on Isaac Lab "
                        f"{generation.label}, got {library!r}")
    if info is None or library in info.libraries:
        return
    if library not in _catalog_libraries():
        # A library newer than the catalog: whether the task has an agent for it, Isaac Lab says.
        notice(f"{flag}: isaacctl does not know whether {info.name} has a {library} agent")
        return
    raise UserError(f"{flag}: {info.name} supports {', '.join(info.libraries)}, not {library}")


@lru_cache(maxsize=1)
def _catalog_libraries() -> frozenset[str]:
    return frozenset(lib for entry in _catalog()[1].values() for lib in entry["libraries"])

