"""The containers isaacctl starts on a host, found by their Docker label."""

from __future__ import annotations

from isaacctl.errors import RemoteError
from isaacctl.providers.base import CONTAINER_LABEL
from isaacctl.remote import Remote

DOCKER_MISSING = 127


def labelled_containers(remote: Remote, deployment: str) -> list[str] | None:
    """IDs of every container (running or not) labelled with the deployment; None without
    Docker on the host."""
    result = remote.run(
        ["docker", "ps", "--all", "--quiet", "--filter", f"label={CONTAINER_LABEL}={deployment}"]
    )
    if result.exit_status == DOCKER_MISSING:
        return None
    if not result.ok:
        raise RemoteError(f"docker on {remote.description} cannot list containers: {result.tail(3)}")
    return result.stdout.split()


def remove_containers(remote: Remote, deployment: str) -> list[str]:
    """Remove the deployment's containers and verify none is left. Returns the removed IDs."""
    found = labelled_containers(remote, deployment)
    if not found:
        return []
    result = remote.run(["docker", "rm", "--force", *found])
    remaining = labelled_containers(remote, deployment) or []
    if remaining:
        raise RemoteError(
            f"docker on {remote.description} kept containers {', '.join(remaining)}: {result.tail(3)}"
        )
    return found
