"""The containers isaacctl starts on a host, found by their Docker labels.

Every container carries the deployment's name (`isaacctl.deployment`) and id
(`isaacctl.deployment-id`). The name alone is not enough: two state folders (two people on one
shared host) may both call a deployment "ws1", and one's destroy must not remove the other's
jobs. A container without an id label was started before ids existed; it is claimed only by a
record migrated from that time (creator == records.LEGACY_CREATOR)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from isaacctl.errors import RemoteError
from isaacctl.providers.base import CONTAINER_ID_LABEL, CONTAINER_LABEL
from isaacctl.remote import Remote

if TYPE_CHECKING:
    from isaacctl.records import DeploymentRecord

DOCKER_MISSING = 127


def label_args(record: DeploymentRecord) -> list[str]:
    """`docker run` arguments labelling a container as this deployment's."""
    return ["--label", f"{CONTAINER_LABEL}={record.name}", "--label", f"{CONTAINER_ID_LABEL}={record.id}"]


def labelled_containers(remote: Remote, record: DeploymentRecord) -> list[str] | None:
    """IDs of every container (running or not) that is this deployment's; None without
    Docker on the host."""
    from isaacctl.records import LEGACY_CREATOR

    result = remote.run(
        [
            "docker",
            "ps",
            "--all",
            "--no-trunc",
            "--filter",
            f"label={CONTAINER_LABEL}={record.name}",
            "--format",
            f'{{{{.ID}}}} {{{{.Label "{CONTAINER_ID_LABEL}"}}}}',
        ]
    )
    if result.exit_status == DOCKER_MISSING:
        return None
    if not result.ok:
        raise RemoteError(f"docker on {remote.description} cannot list containers: {result.tail(3)}")
    legacy = record.creator == LEGACY_CREATOR
    found = []
    for line in result.stdout.splitlines():
        container, _, owner = line.strip().partition(" ")
        if container and (owner.strip() == record.id or (legacy and not owner.strip())):
            found.append(container)
    return found


def remove_containers(remote: Remote, record: DeploymentRecord) -> list[str]:
    """Remove the deployment's containers and verify none is left. Returns the removed IDs."""
    found = labelled_containers(remote, record)
    if not found:
        return []
    result = remote.run(["docker", "rm", "--force", *found])
    remaining = labelled_containers(remote, record) or []
    if remaining:
        raise RemoteError(f"docker on {remote.description} kept containers {', '.join(remaining)}: {result.tail(3)}")
    return found
