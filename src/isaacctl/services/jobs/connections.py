"""SSH connections a job command keeps open from one step to the next (`train --follow`: the
start, the output stream, the final look at the job), instead of a new handshake for each."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from isaacctl.remote import Remote
from isaacctl.remote.base import CommandResult, OutputHandler
from isaacctl.services.jobs.opening import Opening, claim_ahead


class KeptRemote(Remote):
    """A connection lent for one step: closing it hands it back instead of ending it.
    A connection found lost is still replaced: the SSH remote closes itself on the error it
    raises, and reconnects on the next command."""

    def __init__(self, inner: Remote, failed: BaseException | None = None) -> None:
        self.inner = inner
        self.description = inner.description
        self.failed = failed  # raised by the first command: the connection opened early failed

    def _check(self) -> None:
        failed, self.failed = self.failed, None
        if failed is not None:
            raise failed

    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        on_output: OutputHandler | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> CommandResult:
        self._check()
        return self.inner.run(argv, stdin=stdin, on_output=on_output, env=env, timeout=timeout)

    def put(self, local: Path, remote: str) -> None:
        self._check()
        self.inner.put(local, remote)

    def get(self, remote: str, local: Path) -> None:
        self._check()
        self.inner.get(remote, local)

    def put_tree(self, local: Path, remote_parent: str) -> None:
        self._check()
        self.inner.put_tree(local, remote_parent)

    def rsync_location(self, path: str) -> str:
        return self.inner.rsync_location(path)

    def rsync_shell(self) -> str | None:
        return self.inner.rsync_shell()

    def close(self) -> None:
        """Handed back: the keeper closes it."""


class Connections:
    """One connection per (deployment, node) while kept; a fresh one per call otherwise."""

    def __init__(self, open_remote: Callable[[str, int], Remote]) -> None:
        self.open_remote = open_remote
        self.kept: dict[tuple[str, int], Remote] | None = None
        self.opening: dict[tuple[str, int], Opening] = {}

    def remote(self, deployment: str, node: int = 0) -> Remote:
        if self.kept is None:
            return self.open_remote(deployment, node)
        key = (deployment, node)
        opening = self.opening.pop(key, None)
        if opening is not None:
            self.kept[key], failed = opening.take(lambda: self.open_remote(deployment, node))
            return KeptRemote(self.kept[key], failed)
        if key not in self.kept:
            self.kept[key] = self.open_remote(deployment, node)
        return KeptRemote(self.kept[key])

    def open_early(self, deployment: str, node: int = 0) -> None:
        """Start connecting now, in the background, while the command does its own work (the
        spec, the job's files): the SSH connection is ~0.25 s of `train`'s start (paramiko's
        import, `ssh -G`, the handshake), much of it waiting on the host and on `ssh -G`.
        What goes wrong is raised where it would be without this: a deployment or node that
        is not there by remote(), a connection that failed by the first command on it."""
        key = (deployment, node)
        if self.kept is not None and key not in self.kept and key not in self.opening:
            # `train` may have started this very connection before its own start-up (cli/__init__.py)
            ahead = claim_ahead(deployment, node)
            self.opening[key] = ahead or Opening(lambda: self.open_remote(deployment, node))

    def keep(self) -> None:
        if self.kept is None:
            self.kept = {}

    def close(self) -> None:
        kept, self.kept = self.kept or {}, None
        opening, self.opening = self.opening, {}
        for each in opening.values():
            each.abandon()  # not waited for: a command that ends early (bad input) ends now
        for remote in kept.values():
            remote.close()
