"""This machine as the workstation: commands are local processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from isaacctl.errors import RemoteError
from isaacctl.remote.base import CommandResult, OutputHandler, Remote


def _pump(stream, name: str, sink: list[str], on_output: OutputHandler | None) -> None:
    for raw in iter(stream.readline, b""):
        line = raw.decode(errors="replace")
        sink.append(line)
        if on_output is not None:
            on_output(line, name)
    stream.close()


class LocalRemote(Remote):
    description = "this machine"

    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        on_output: OutputHandler | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> CommandResult:
        merged_env = {**os.environ, **env} if env else None
        try:
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=merged_env,
            )
        except FileNotFoundError:
            # Same answer a remote shell gives, so callers treat both hosts alike.
            message = f"{argv[0]}: command not found\n"
            return CommandResult(tuple(argv), 127, "", message)
        except OSError as exc:
            raise RemoteError(f"cannot start {argv[0]!r} on this machine: {exc.strerror}") from exc
        out: list[str] = []
        err: list[str] = []
        pumps = [
            threading.Thread(target=_pump, args=(process.stdout, "stdout", out, on_output)),
            threading.Thread(target=_pump, args=(process.stderr, "stderr", err, on_output)),
        ]
        for pump in pumps:
            pump.start()
        if stdin is not None:
            assert process.stdin is not None
            process.stdin.write(stdin)
            process.stdin.close()
        try:
            status = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise RemoteError(f"{argv[0]!r} did not finish within {timeout:.0f} s") from None
        except BaseException:
            process.kill()
            raise
        finally:
            for pump in pumps:
                pump.join()
        return CommandResult(tuple(argv), status, "".join(out), "".join(err))

    def put(self, local: Path, remote: str) -> None:
        shutil.copyfile(local, Path(remote).expanduser())

    def get(self, remote: str, local: Path) -> None:
        shutil.copyfile(Path(remote).expanduser(), local)
