"""`fetch-logs` without typer, click or pydantic, and without the provider registry's entry-point
scan: a re-fetch with nothing new is one rsync, and Python's start-up was most of its time.

Answered here only in the common forms (`fetch-logs`, `fetch-logs JOB`, `-d NAME`, `--dest DIR`,
`--json`, with the global options), and only when nothing needs the full path: every record
involved is in this release's form (records_read), every job chosen has finished (the full path
would ask the host about an open one), the deployment is one of the built-in `local` or `ssh`
providers (their remotes need no SDK), one node, and no progress bar (stderr is not a terminal).
Anything else returns None before anything is touched, and the full path runs; what is the
same on both paths (the transfer and the layout) is services/artifacts.py's fetch_selected."""

from __future__ import annotations

import json
import sys

TYPE_CHECKING = False  # not typing's: see cli/__init__.py
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from isaacctl.records_read import Reader
    from isaacctl.remote import Remote
    from isaacctl.state import StateStore

COMMAND = "fetch-logs"
SDK_FREE_PROVIDERS = ("local", "ssh")


class FullPath(Exception):
    """Something this shortcut does not answer: the full path runs instead."""


def answer(state_dir: Path | None, verbose: bool, rest: list[str]) -> int | None:
    """rest: what follows `fetch-logs`. None: run the full path."""
    parsed = _parse(rest)
    if parsed is None or sys.stderr.isatty():  # a terminal gets rich's progress bar
        return None
    job_refs, deployment, dest, as_json = parsed
    from isaacctl import records_read
    from isaacctl.state import StateStore

    reader = records_read.cached_reader()
    if reader is None:
        # the full path imports pydantic anyway: the shapes cost it little now, and the next
        # fetch-logs needs none
        records_read.remember_shapes()
        return None
    store = StateStore(state_dir)
    try:
        selected = _select(store, reader, deployment, job_refs)
        remote = _sdk_free_remote(store, reader, selected[0].deployment)
    except FullPath:
        return None
    from isaacctl.cli.app import App
    from isaacctl.console import Terminal
    from isaacctl.services.artifacts import fetch_selected

    app = App(state_dir=state_dir, verbose=verbose, terminal=Terminal(verbose=verbose))
    name = selected[0].deployment
    result = fetch_selected(
        selected,  # read views (records_read): they answer every attribute the layout reads
        dest or store.paths(name).artifacts,
        "all",
        lambda deployment, node: remote,
    )
    if as_json:
        payload = {
            "deployment": result.deployment,
            "files_transferred": result.files_transferred,
            "bytes_transferred": result.bytes_transferred,
            "jobs": [vars(job) for job in result.jobs],
        }
        app.terminal.json("FetchResult", payload)
        return 0
    app.terminal.table(
        ["JOB", "CHECKPOINTS", "VIDEOS", "METRIC ROWS", "FOLDER"],
        [[j.job, str(j.checkpoints), str(j.videos), str(j.metric_rows), j.folder] for j in result.jobs],
    )
    app.terminal.info(f"{result.files_transferred} file(s), {result.bytes_transferred / 1e6:.1f} MB transferred")
    return 0


def _parse(rest: list[str]) -> tuple[list[str], str | None, Path | None, bool] | None:
    """[JOB] [-d NAME] [--dest DIR] [--json], each at most once, as click reads them; None for
    anything else (--checkpoints, several jobs, `--`, an option's value that looks like an option)."""
    from pathlib import Path

    jobs: list[str] = []
    values: dict[str, str] = {}
    as_json = False
    index = 0
    while index < len(rest):
        arg = rest[index]
        option, equals, value = arg.partition("=")
        if arg == "--json" and not as_json:
            as_json = True
        elif option in ("-d", "--deployment", "--dest") and not (equals and option == "-d"):
            key = "--dest" if option == "--dest" else "-d"
            if key in values:
                return None
            if not equals:
                index += 1
                if index == len(rest):
                    return None
                value = rest[index]
            if not value or value.startswith("-"):
                return None
            values[key] = value
        elif not arg.startswith("-") and not jobs:
            jobs.append(arg)
        else:
            return None
        index += 1
    dest = values.get("--dest")
    return jobs, values.get("-d"), None if dest is None else Path(dest), as_json


def _read(reader: Reader, path: Path) -> Any:
    try:
        job = reader.job(json.loads(path.read_text()))
    except (OSError, ValueError):
        job = None
    if job is None:
        raise FullPath(str(path))
    return job


def _jobs(store: StateStore, reader: Reader, name: str) -> list[Any]:
    """store.jobs(name), read without pydantic."""
    if not store.exists(name):
        raise FullPath(name)
    folder = store.paths(name).jobs
    if not folder.is_dir():
        return []
    found = [_read(reader, path) for path in folder.glob("*.json")]
    return sorted(found, key=lambda job: (job.created_at, job.id))


def _select(store: StateStore, reader: Reader, deployment: str | None, job_refs: list[str]) -> list[Any]:
    """What ArtifactService._select chooses, when every job chosen has finished (an open one is
    refreshed from the host first: the full path's). Errors are the full path's too."""
    if job_refs:
        # store.find_job's choice, for one plain job id or prefix
        ref = job_refs[0]
        if ref == "last" or not ref.strip() or ref != ref.strip():
            raise FullPath(ref)
        names = [deployment] if deployment is not None else store.names()
        candidates = [job for name in names for job in _jobs(store, reader, name)]
        matches = [job for job in candidates if job.id == ref] or [job for job in candidates if job.id.startswith(ref)]
        if len(matches) != 1:
            raise FullPath(ref)
        jobs = matches
    else:
        names = [deployment] if deployment is not None else store.names()
        if len(names) != 1:
            raise FullPath("deployment")
        jobs = _jobs(store, reader, names[0])
    if not jobs or not all(job.finished and not job.node_runs for job in jobs):
        raise FullPath("open jobs, or jobs on several nodes")
    return jobs


def _sdk_free_remote(store: StateStore, reader: Reader, name: str) -> Remote:
    """DeploymentService.remote(name, 0) for the built-in providers whose remote needs no SDK
    (providers/local.py, providers/ssh.py), without get_provider's entry-point scan."""
    record: Any  # a read view: DeploymentRecord's fields as attributes
    try:
        record = reader.deployment(json.loads(store.paths(name).record.read_text()))
    except (OSError, ValueError):
        record = None
    if record is None or record.provider not in SDK_FREE_PROVIDERS or len(record.nodes) != 1:
        raise FullPath(name)
    if record.nodes[0].index != 0:
        raise FullPath(name)
    if record.provider == "local":
        from isaacctl.remote.local import LocalRemote

        return LocalRemote()
    node = record.head
    if node is None or node.ssh is None:
        raise FullPath(name)
    from isaacctl.remote.ssh import SshRemote
    from isaacctl.remote.sshconfig import ssh_config_path

    known_hosts = store.paths(name).known_hosts
    return SshRemote(node.ssh, known_hosts, ssh_config=ssh_config_path())
