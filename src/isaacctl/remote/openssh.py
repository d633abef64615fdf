"""Commands over OpenSSH's own client, through a shared master connection (ControlMaster),
for the path where a user waits on a few commands in a row: `train` and `evaluate`, from the
start of the job to its output.

Why not paramiko there: importing it is ~0.1 s of CPU (cryptography, nacl, importlib's
metadata) and its handshake runs in this interpreter, under the GIL, against the CLI's own
start-up, so it adds to `train`'s wait even when started first. `ssh` is a process of its own
(another core): started at the CLI's first moment, its handshake is done by the time the job
is ready to start, and the master it leaves (ControlPersist) serves the next command too.
The pins are the same known_hosts file under the same alias (SshRemote.openssh_options), with
StrictHostKeyChecking=yes: a changed key is refused here as it is by paramiko. Files (put,
get) still go through paramiko, which a caller rarely needs on this path."""

from __future__ import annotations

import selectors
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from isaacctl.errors import RemoteError
from isaacctl.remote.base import CommandResult, OutputHandler, Remote, render_argv
from isaacctl.remote.ssh import CONTROL_PERSIST_SECONDS, SshRemote, _LineSplitter, control_folder

# ssh's own failures (the connection, the host key, the login) exit with this; a command of
# isaacctl's never does (its statuses stop at FIRST_STEP_STATUS plus a few steps)
SSH_FAILED = 255


def _feed(process: subprocess.Popen[bytes], data: bytes) -> None:
    assert process.stdin is not None
    try:
        process.stdin.write(data)
        process.stdin.close()
    except (BrokenPipeError, ValueError):
        pass  # the command or ssh ended early: its status says why


def usable_for(remote: Remote) -> bool:
    """An SSH remote OpenSSH can reach just as paramiko would: a client here, a private
    folder for the control socket, no ProxyJump (paramiko pins the jump host's key under an
    alias of its own, which ssh -J would not read)."""
    return (
        isinstance(remote, SshRemote)
        and shutil.which("ssh") is not None
        and control_folder() is not None
        and remote.target.proxy_jump is None
    )


class OpenSshRemote(Remote):
    """An SshRemote's host, its commands run by `ssh` over one shared master connection."""

    def __init__(self, inner: SshRemote) -> None:
        self.inner = inner  # the settings, the pins, and files
        folder = control_folder()
        assert folder is not None  # usable_for said so
        self.options = [
            *inner.openssh_options(),
            "-o",
            "BatchMode=yes",
            "-o",
            "LogLevel=ERROR",
            "-o",
            f"ControlPersist={CONTROL_PERSIST_SECONDS}",
        ]
        self.alias = inner.target.alias

    @property
    def description(self) -> str:  # type: ignore[override]
        return self.inner.description

    def same_as(self, other: object) -> bool:
        return self.inner.same_as(other)

    def connect(self) -> None:
        """Start the master connection (or find it up): the handshake, and the host's
        session set-up after it, happen now instead of in the first command."""
        result = self.run(["true"], timeout=self.inner.connect_timeout + 5)
        if not result.ok:
            raise RemoteError(f"ssh: cannot connect to {self.description}: {result.tail(2)}")

    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        on_output: OutputHandler | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> CommandResult:
        command = ["ssh", *self.options, "--", self.alias, render_argv(argv, env)]
        out, err = _LineSplitter("stdout", on_output), _LineSplitter("stderr", on_output)
        deadline = None if timeout is None else time.monotonic() + timeout
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            if stdin:  # on a thread: a command that answers before it has read it all must not stall
                threading.Thread(target=_feed, args=(process, stdin), daemon=True).start()
            self._pump(process, out, err, deadline, argv, timeout)
            status = process.wait()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        if status == SSH_FAILED:
            raise RemoteError(f"ssh: lost {self.description} while running {argv[0]!r}: {err.close().strip()}")
        return CommandResult(tuple(argv), status, out.close(), err.close())

    def _pump(
        self,
        process: subprocess.Popen[bytes],
        out: _LineSplitter,
        err: _LineSplitter,
        deadline: float | None,
        argv: Sequence[str],
        timeout: float | None,
    ) -> None:
        assert process.stdout is not None and process.stderr is not None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ, out)
            selector.register(process.stderr, selectors.EVENT_READ, err)
            while selector.get_map():
                wait = None if deadline is None else max(0.0, deadline - time.monotonic())
                ready = selector.select(wait)
                if not ready and deadline is not None and time.monotonic() >= deadline:
                    raise RemoteError(f"ssh: {argv[0]!r} on {self.description} did not finish within {timeout:.0f} s")
                for key, _ in ready:
                    data = key.fileobj.read1(65536)  # type: ignore[union-attr]
                    if data:
                        key.data.feed(data)
                    else:
                        selector.unregister(key.fileobj)

    # -- files, and what rsync and shells need: the SSH remote's own ---------------------------
    def put(self, local: Path, remote: str) -> None:
        self.inner.put(local, remote)

    def get(self, remote: str, local: Path) -> None:
        self.inner.get(remote, local)

    def rsync_location(self, path: str) -> str:
        return self.inner.rsync_location(path)

    def rsync_shell(self) -> str:
        return self.inner.rsync_shell()

    def close(self) -> None:
        """The master stays (ControlPersist) for the next command; paramiko's connection, if
        files needed one, goes."""
        self.inner.close()
