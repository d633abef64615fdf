"""The one interface every host is driven through."""

from __future__ import annotations

import shlex
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# Called with each line of output, its "\n" kept (the last one may lack it), and the stream it
# came on ("stdout" or "stderr"), as it arrives.
OutputHandler = Callable[[str, str], None]


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    exit_status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0

    def tail(self, lines: int = 20) -> str:
        text = (self.stdout + ("\n" if self.stdout and self.stderr else "") + self.stderr).rstrip()
        return "\n".join(text.splitlines()[-lines:])


def render_argv(argv: Sequence[str], env: Mapping[str, str] | None = None) -> str:
    """Quote an argument list for a remote shell: commands are lists, never strings built
    from user input."""
    prefix = ["env", *(f"{key}={value}" for key, value in (env or {}).items())] if env else []
    return shlex.join([*prefix, *argv])


class Remote(ABC):
    """A host that runs commands and holds files."""

    #: Shown in messages ("ws1 (isaactest@203.0.113.7)").
    description: str

    @abstractmethod
    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        on_output: OutputHandler | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> CommandResult:
        """Run a command to completion. Never raises for a non-zero exit status; raises
        RemoteError when the command could not be started or the host was lost."""

    @abstractmethod
    def put(self, local: Path, remote: str) -> None:
        """Copy one local file to a path on the host (parent folders must exist)."""

    @abstractmethod
    def get(self, remote: str, local: Path) -> None:
        """Copy one file from the host to a local path."""

    def put_tree(self, local: Path, remote_parent: str) -> None:
        """Copy a local file or folder into a folder on the host (as a tar stream on stdin)."""
        import io
        import tarfile

        from isaacctl.errors import RemoteError

        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            archive.add(str(local), arcname=local.name)
        result = self.run(["tar", "-x", "-f", "-", "-C", remote_parent], stdin=buffer.getvalue())
        if not result.ok:
            raise RemoteError(f"cannot copy {local} to {remote_parent} on {self.description}: {result.tail(3)}")

    def rsync_location(self, path: str) -> str:
        """How rsync names a path on this host."""
        return path

    def rsync_shell(self) -> str | None:
        """rsync's -e (remote shell), None when the host is this machine."""
        return None

    def close(self) -> None:  # noqa: B027 - optional for implementations without connections
        """Release connections."""

    def __enter__(self) -> Remote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
