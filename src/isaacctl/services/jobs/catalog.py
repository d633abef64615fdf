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
    from isaacctl.resources import template_yaml

    data = template_yaml("tasks.yaml")
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
            experiment=entry["experiment"],
            iterations=int(entry["iterations"]),
            default_library=entry.get("default_library", default),
            catalog_id=name,
        )
        for name, entry in entries.items()
    }


def tasks(generation: Generation | None = None, listed: list[dict[str, Any]] | None = None) -> dict[str, TaskInfo]:
    """The catalog keyed by task id as `generation` (default: a new deployment's) spells it:
    `listed` (what the deployment's own list_envs said, see parse_list_envs) when given, with
    experiment and iterations from the shipped catalog where it knows the task."""
    generation = generation or _default_generation()
    shipped = _tasks_of(generation)
    if not listed:
        return shipped
    known = generation.library_names
    found: dict[str, TaskInfo] = {}
    for entry in listed:
        name = entry["task"]
        info = shipped.get(name)
        said = entry.get("libraries")
        libraries = tuple(lib for lib in said if lib in known) if said is not None else (info.libraries if info else ())
        default = info.default_library if info else catalog_default_library()
        if libraries and default not in libraries:
            default = libraries[0]
        found[name] = TaskInfo(
            name=name,
            libraries=libraries,
            experiment=info.experiment if info else "-",
            iterations=info.iterations if info else 0,
            default_library=default,
            catalog_id=info.catalog_id if info else name,
        )
    return found


def parse_list_envs(output: str) -> list[dict[str, Any]]:
    """The tasks of list_envs' table ("Available Environments in Isaac Lab": S. No., Task Name,
    Entry Point, Config[, RL Libraries] (3.x)), each {"task", "libraries" (None on 2.x)}."""
    header: list[str] | None = None
    found: list[dict[str, Any]] = []
    for line in output.splitlines():
        line = line.strip()
        if not (line.startswith("|") and line.endswith("|")) or line.count("|") < 3:
            continue
        cells = [cell.strip() for cell in line[1:-1].split("|")]
        if header is None:
            if "Task Name" in cells:
                header = cells
            continue
        if len(cells) != len(header):
            continue  # a continued cell (--show_presets lines)
        row = dict(zip(header, cells, strict=True))
        name = row.get("Task Name", "")
        if not name or not row.get("S. No.", "").isdigit():
            continue
        libraries = row.get("RL Libraries")
        found.append(
            {
                "task": name,
                "libraries": None
                if libraries is None
                else [lib.strip() for lib in libraries.split(",") if lib.strip() and lib.strip() != "(none)"],
            }
        )
    return found


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


def resolve_task(
    task: str,
    *,
    force: bool,
    flag: str = "--task",
    generation: Generation | None = None,
    notice: Callable[[str], None] = lambda message: None,
    listed: list[dict[str, Any]] | None = None,
) -> tuple[str, TaskInfo | None]:
    """The id to run and its catalog entry (None for an unknown task let through with --force).
    An id of the other generation runs under this one's name, with a one-line notice. listed:
    the deployment's own task list, when isaacctl has it."""
    generation = generation or _default_generation()
    known = tasks(generation, listed)
    if task in known:
        return task, known[task]
    translated = _other_spellings(generation).get(task)
    if translated is not None and translated in known:
        notice(f"{flag}: Isaac Lab {generation.label} calls {task} {translated}; running {translated}")
        return translated, known[translated]
    if force:
        return task, None
    close = difflib.get_close_matches(task, known, n=3, cutoff=0.6)
    suggestion = f"; did you mean {', '.join(close)}?" if close else ""
    raise UserError(
        f"{flag}: {task!r} is not a task isaacctl knows{suggestion}",
        hint="a custom task (e.g. from --extension) runs with --force; 'isaacctl tasks' lists the known ones",
    )


def check_library(
    info: TaskInfo | None,
    library: str,
    generation: Generation,
    *,
    flag: str = "--rl-library",
    notice: Callable[[str], None] = lambda message: None,
) -> None:
    if library not in generation.library_names:
        raise UserError(
            f"{flag}: expected one of {', '.join(generation.library_names)} on Isaac Lab "
            f"{generation.label}, got {library!r}"
        )
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


def deployment_tasks(
    store: Any,
    record: Any,
    generation: Generation,
    run: Callable[[list[str]], Any] | None,
    notice: Callable[[str], None] = lambda message: None,
) -> list[dict[str, Any]] | None:
    """The deployment's own task list, as its Isaac Lab's list_envs says: kept in the state
    folder per image id (asked of the host once), asked with `run` (argv -> CommandResult) when
    not kept yet. None when it cannot be had: the shipped catalog stands in, with a notice."""
    key = getattr(record, "image_id", None)
    if key:
        kept: list[dict[str, Any]] | None = store.image_facts(key).get("tasks")
        if kept is not None:
            return kept
    if run is None or not key:
        return None
    try:
        result = run(generation.list_envs_argv())
    except Exception as exc:  # noqa: BLE001 - any failure to ask leaves the shipped catalog
        notice(f"cannot ask {record.name}'s Isaac Lab for its tasks ({exc}); showing isaacctl's own list")
        return None
    listed = parse_list_envs(result.stdout) if result.ok else []
    if not listed:
        notice(
            f"{record.name}'s Isaac Lab did not list its tasks (exit {result.exit_status}); showing isaacctl's own list"
        )
        return None
    store.save_image_facts(key, {"tasks": listed})
    return listed


def list_envs_in_container(remote: Any, record: Any, generation: Generation) -> Callable[[list[str]], Any]:
    """Runs a list_envs argv in a throw-away container of the deployment's image (the container
    runtime's way; it needs no GPU and no network)."""
    from isaacctl.providers.base import CONTAINER_ID_LABEL, CONTAINER_LABEL

    layout = generation.container

    def run(argv: list[str]) -> Any:
        import shlex

        return remote.run(
            [
                "docker",
                "run",
                "--pull",  # never an implicit pull: images come from image-pull (with the key)
                "never",
                "--rm",
                "--network",
                "none",
                *(["--user", layout.user] if layout.user else []),
                "--label",
                f"{CONTAINER_LABEL}={record.name}",
                "--label",
                f"{CONTAINER_ID_LABEL}={record.id}",
                *[part for setting in layout.env for part in ("--env", setting)],
                "--entrypoint",
                "bash",
                str(record.image),
                "-c",
                f"cd {shlex.quote(layout.workdir)} && exec {shlex.join(argv)}",
            ],
            timeout=900,
        )

    return run
