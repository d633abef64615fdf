"""The containers a test started, told apart from every other session's on a shared Docker daemon.

Concurrent test sessions use the same daemon and the same deployment names (ws1, duo...), so a
test finds its containers by the random deployment ids in its own state folder
(`<state>/<name>/deployment.json`, field "id"; isaacctl labels every container it starts
`isaacctl.deployment-id=<id>`), never by the name. Without an id nothing is removed: a leftover
costs a little disk, removing someone else's job breaks their run.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable
from pathlib import Path

ID_LABEL = "isaacctl.deployment-id"


def deployment_ids(state_dir: Path, names: Iterable[str] | None = None) -> set[str]:
    """The ids of the deployments recorded in ``state_dir`` (only ``names`` when given).

    Read before ``destroy`` where the test still needs them afterwards: destroy deletes the folder."""
    folders = Path(state_dir).glob("*") if names is None else (Path(state_dir) / name for name in names)
    ids = set()
    for folder in folders:
        try:
            record = json.loads((folder / "deployment.json").read_text())
        except (OSError, ValueError):
            continue  # not a deployment (or half written): nothing of it to claim
        if isinstance(record, dict) and isinstance(record.get("id"), str) and record["id"]:
            ids.add(record["id"])
    return ids


def containers_with(ids: Iterable[str], *filters: str, stopped_too: bool = True) -> list[str]:
    """IDs of the containers labelled with one of ``ids``, narrowed by further ``docker ps
    --filter`` expressions (e.g. "name=isaacctl-ws1-tensorboard"); stopped ones too unless
    ``stopped_too`` is False."""
    wanted = set(ids)
    if not wanted:
        return []
    # Docker ANDs two filters on the same label key, so one `ps` per id or, as here, one `ps`
    # of every id-labelled container, matched by its label value.
    args = [
        "docker",
        "ps",
        "--no-trunc",
        "--filter",
        f"label={ID_LABEL}",
        "--format",
        f'{{{{.ID}}}} {{{{.Label "{ID_LABEL}"}}}}',
    ]
    if stopped_too:
        args.insert(2, "-a")
    for expression in filters:
        args += ["--filter", expression]
    listed = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if listed.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {listed.stderr.strip()}")
    found = []
    for line in listed.stdout.splitlines():
        container, _, owner = line.strip().partition(" ")
        if container and owner.strip() in wanted:
            found.append(container)
    return found


def remove_containers(ids: Iterable[str]) -> list[str]:
    """Remove (running or not) every container labelled with one of ``ids``; returns them."""
    found = containers_with(ids)
    if found:
        subprocess.run(["docker", "rm", "-f", *found], capture_output=True, timeout=300)
    return found


def remove_containers_of(state_dir: Path, names: Iterable[str] | None = None, *, also: Iterable[str] = ()) -> list[str]:
    """Remove the containers of the deployments in ``state_dir`` (only ``names`` when given) and of
    the ids in ``also`` (ids read earlier, of deployments destroyed since); returns them."""
    return remove_containers(deployment_ids(state_dir, names) | set(also))
