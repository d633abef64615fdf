"""Waiting until every node of a deployment accepts SSH, through the same SSH code every
command uses. A changed host key is never retried: it is refused at once."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from isaacctl.errors import HostKeyChanged, RemoteError

if TYPE_CHECKING:
    from isaacctl.providers.base import DeployContext
    from isaacctl.records import DeploymentRecord, Node
    from isaacctl.remote import Remote
    from isaacctl.remote.ssh import SshRemote

CONNECT_TIMEOUT = 15.0
TEST_TIMEOUT = 30.0


class _NotYet(Exception):
    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def _login_once(open_remote: Callable[[], Remote]) -> None:
    try:
        with open_remote() as remote:
            if not remote.run(["true"], timeout=TEST_TIMEOUT).ok:
                raise _NotYet("a test command failed")
    except HostKeyChanged:
        raise
    except RemoteError as exc:
        raise _NotYet(exc.message) from None


def wait_for_ssh(
    nodes: Sequence[tuple[str, Callable[[], Remote]]],
    timeout: float,
    on_progress: Callable[[str], None] = lambda message: None,
) -> None:
    """Each (label, open_remote) in turn until a `true` runs there, all within one `timeout`
    (the nodes boot together, so waiting for the second costs little once the first answers).
    RemoteError naming the node and the last reason otherwise."""
    from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

    deadline = time.monotonic() + timeout
    for label, open_remote in nodes:
        on_progress(f"waiting for SSH on {label}")
        retrying = Retrying(
            retry=retry_if_exception_type(_NotYet),
            wait=wait_exponential(multiplier=1, min=1, max=10),
            stop=stop_after_delay(max(deadline - time.monotonic(), 0.0)),
        )
        try:
            retrying(_login_once, open_remote)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            why = last.why if isinstance(last, _NotYet) else str(last)
            raise RemoteError(f"ssh: {label} did not accept a login within {timeout:.0f} s: {why}") from None


def node_remote(
    record: DeploymentRecord, known_hosts_file: str, node: int = 0, connect_timeout: float | None = None
) -> SshRemote:
    """An SSH remote to one node of a cloud deployment: its pinned host key, the user's
    ssh_config (bastions, and the tests' routing), one way for every provider."""
    from pathlib import Path

    from isaacctl.remote.ssh import CONNECT_TIMEOUT_SECONDS, SshRemote
    from isaacctl.remote.sshconfig import ssh_config_path

    try:
        chosen = record.node(node) if record.nodes else None
    except IndexError as exc:
        raise RemoteError(f"ssh: {exc}") from None
    if chosen is None or chosen.ssh is None:
        raise RemoteError(
            f"ssh: deployment {record.name!r} has no instance address yet",
            hint=f"'isaacctl deploy {record.provider} --name {record.name}' carries on where it stopped",
        )
    return SshRemote(
        chosen.ssh,
        Path(known_hosts_file),
        ssh_config=ssh_config_path(),
        connect_timeout=connect_timeout or CONNECT_TIMEOUT_SECONDS,
    )


def wait_for_nodes(ctx: DeployContext[Any], timeout: float) -> list[Node]:
    """wait_for_ssh over every node of the deployment, each through node_remote: what a cloud
    provider's wait_reachable is."""
    from functools import partial

    record, known_hosts = ctx.record, ctx.known_hosts_file
    several = len(record.nodes) > 1
    wait_for_ssh(
        [
            (
                f"node {n.index} ({n.ssh.host if n.ssh else '-'})" if several else record.address,
                partial(node_remote, record, known_hosts, n.index, connect_timeout=CONNECT_TIMEOUT),
            )
            for n in record.nodes
        ],
        timeout,
        ctx.on_progress,
    )
    return record.nodes
