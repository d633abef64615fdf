"""SSH connections a job command keeps open from one step to the next (`train --follow`: the
start, the output stream, the final look at the job), instead of a new handshake for each."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from isaacctl.remote import Remote
from isaacctl.remote.base import CommandResult, OutputHandler


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
        self.opening: dict[tuple[str, int], _Opening] = {}

    def remote(self, deployment: str, node: int = 0) -> Remote:
        if self.kept is None:
            return self.open_remote(deployment, node)
        key = (deployment, node)
        opening = self.opening.pop(key, None)
        if opening is not None:
            self.kept[key], failed = opening.result()
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
            self.opening[key] = _Opening(lambda: self.open_remote(deployment, node))

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


class _Opening:
    """A connection being opened on a thread of its own."""

    def __init__(self, open_remote: Callable[[], Remote]) -> None:
        self.remote: Remote | None = None
        self.error: BaseException | None = None  # from open_remote: raised by result()
        self.failed: BaseException | None = None  # from connecting: raised by the first command
        self.abandoned = False
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._open, args=(open_remote,), daemon=True)
        self.thread.start()

    def _open(self, open_remote: Callable[[], Remote]) -> None:
        try:
            remote = open_remote()
        except BaseException as exc:  # raised again by result(), in the command's own thread
            self.error = exc
            return
        try:
            connect = getattr(remote, "connect", None)  # SSH remotes connect; a local one has nothing to open
            if connect is not None:
                connect()
        except BaseException as exc:
            self.failed = exc
        with self.lock:
            self.remote = remote
            if not self.abandoned:
                return
        remote.close()

    def result(self) -> tuple[Remote, BaseException | None]:
        self.thread.join()
        if self.error is not None:
            raise self.error
        assert self.remote is not None
        return self.remote, self.failed

    def abandon(self) -> None:
        with self.lock:
            self.abandoned = True
            remote = self.remote
        if remote is not None:
            remote.close()
