"""SSH connections opened on a thread of their own while a command does its own work.

Two kinds: one a job command opens once it knows its deployment (Opening: while the spec is
built), and one `train` and `evaluate` start from the process's first moment, before typer,
pydantic and the command's own code are even imported (Ahead). The handshake is mostly waiting
on the host (its sshd forks, authenticates and sets the session up) and on `ssh -G`; started
first, in a process of its own, it overlaps the CLI's ~0.2 s of start-up instead of following it.

Only `threading` is imported here: cli/__init__.py starts an Ahead before anything else."""

from __future__ import annotations

import threading

TYPE_CHECKING = False  # not typing's: see cli/__init__.py
if TYPE_CHECKING:
    from collections.abc import Callable

    from isaacctl.remote import Remote


class Opening:
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

    def take(self, own_remote: Callable[[], Remote]) -> tuple[Remote, BaseException | None]:
        """The connection to use, and what its opening raised (for its first command)."""
        return self.result()

    def abandon(self) -> None:
        with self.lock:
            self.abandoned = True
            remote = self.remote
        if remote is not None:
            remote.close()


class Ahead(Opening):
    """The head node's connection of the deployment a job command will most likely run on
    (-d's, else the state folder's only one), over OpenSSH's own client (remote/openssh.py):
    built the way every SSH provider builds its remote (providers/toolkit/reachable.py's
    node_remote), from the record as read without pydantic.

    A guess, never an answer: the command takes it only for the deployment it resolved itself
    and found ready, and only where its provider's own remote goes to the same place in the
    same way (same_as). Whatever went wrong here (no such deployment, not ready, no ssh client,
    a failed connection) is left to the provider's own remote, whose errors are the familiar
    ones. A guess that is not taken is dropped unused."""

    def __init__(self, state_dir: str | None, deployment: str | None) -> None:
        self.deployment = deployment
        self.named = threading.Event()  # self.deployment is final
        self.state_dir = state_dir
        super().__init__(self._open_head)

    def _open_head(self) -> Remote:
        try:
            from isaacctl.state import StateStore

            store = StateStore(self.state_dir)
            if self.deployment is None:
                names = store.names()
                self.deployment = names[0] if len(names) == 1 else None
        except BaseException:
            self.deployment = None
            raise
        finally:
            self.named.set()
        if self.deployment is None:
            raise LookupError("no deployment named, and not exactly one in the state folder")
        record = store.read(self.deployment)  # a view without pydantic where it can be
        if record.status != "ready" or record.provider == "local":
            raise LookupError(f"{self.deployment}: {record.status}, {record.provider}")
        from isaacctl.providers.toolkit.reachable import node_remote
        from isaacctl.remote.openssh import OpenSshRemote, usable_for

        remote = node_remote(record, str(store.paths(self.deployment).known_hosts), 0)
        if not usable_for(remote):  # paramiko here would only compete with the CLI for the GIL
            raise LookupError(f"{self.deployment}: no OpenSSH client for it")
        return OpenSshRemote(remote)

    def matches(self, deployment: str, node: int) -> bool:
        self.named.wait()  # set right after the state module's import: moments
        return node == 0 and self.deployment == deployment

    def take(self, own_remote: Callable[[], Remote]) -> tuple[Remote, BaseException | None]:
        """This connection where it goes where the provider's own remote would, the same way;
        else (and when it failed: a changed host key, a refused login, whose usual words are
        the provider's remote's) that own remote, which connects on its first command."""
        own = own_remote()
        self.thread.join()
        same = getattr(self.remote, "same_as", None)
        if self.error is None and self.failed is None and same is not None and same(own):
            assert self.remote is not None
            return self.remote, None
        self.abandon()
        return own, None


_ahead: Ahead | None = None


def open_ahead(state_dir: str | None, deployment: str | None) -> None:
    global _ahead
    discard_ahead()
    _ahead = Ahead(state_dir, deployment)


def claim_ahead(deployment: str, node: int = 0) -> Ahead | None:
    """The connection opened ahead, when it is this one's; the guess is spent either way."""
    global _ahead
    ahead, _ahead = _ahead, None
    if ahead is None:
        return None
    if ahead.matches(deployment, node):
        return ahead
    ahead.abandon()
    return None


def discard_ahead() -> None:
    """At the command's end: an unclaimed guess is closed (not waited for)."""
    global _ahead
    ahead, _ahead = _ahead, None
    if ahead is not None:
        ahead.abandon()
