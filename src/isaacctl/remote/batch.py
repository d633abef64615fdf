"""Several commands in one round trip: a script that runs them on the host and sends back
each one's exit status, stdout and stderr (base64, so any bytes survive).

Each command costs a session (an SSH exec request) when run on its own: ~30-60 ms on a fast
link, a whole RTT plus the remote shell's start on a slow one. Read-only questions asked
together (bootstrap's checks) therefore cost one. The first commands can be made to run in
order, so one that waits for the host (cloud-init, apt) comes before those that look at it,
which then run at once."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from isaacctl.remote.base import CommandResult, Remote, render_argv


@dataclass(frozen=True)
class Command:
    """One command as Remote.run takes it."""

    argv: tuple[str, ...]
    stdin: bytes | None = None
    env: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, argv: Sequence[str], stdin: bytes | None = None, env: Mapping[str, str] | None = None) -> Command:
        return cls(tuple(argv), stdin or None, tuple(sorted((env or {}).items())))


def _script(commands: Sequence[Command], marker: str, in_order: int) -> str:
    lines = ["t=$(mktemp -d) || exit 97", "trap 'rm -rf \"$t\"' EXIT"]
    for index, command in enumerate(commands):
        line = render_argv(command.argv, dict(command.env))
        if command.stdin is not None:
            # base64: a heredoc carries any bytes unchanged only when they are text
            encoded = base64.b64encode(command.stdin).decode()
            lines += [f"base64 -d >\"$t/i{index}\" <<'ISAACCTL_STDIN'", encoded, "ISAACCTL_STDIN"]
            source = f'"$t/i{index}"'
        else:
            source = "/dev/null"
        run = f'{line} <{source} >"$t/o{index}" 2>"$t/e{index}"; echo $? >"$t/s{index}"'
        lines.append(run if index < in_order else f"( {run} ) &")
    lines.append("wait")
    for index in range(len(commands)):
        lines += [
            f'printf \'%s %d %s\\n\' {marker} {index} "$(cat "$t/s{index}")"',
            f"base64 <\"$t/o{index}\" | tr -d '\\n'; echo",
            f"base64 <\"$t/e{index}\" | tr -d '\\n'; echo",
        ]
    return "\n".join(lines) + "\n"


def _parse(commands: Sequence[Command], output: str, marker: str) -> list[CommandResult | None]:
    results: list[CommandResult | None] = [None] * len(commands)
    lines = output.splitlines()
    for number, line in enumerate(lines):
        fields = line.split()
        if len(fields) != 3 or fields[0] != marker or number + 2 >= len(lines):
            continue  # a shell start-up file may print things of its own
        try:
            index, status = int(fields[1]), int(fields[2])
            out, err = (base64.b64decode(lines[number + k], validate=True) for k in (1, 2))
        except ValueError:
            continue
        if 0 <= index < len(commands):
            argv = commands[index].argv
            results[index] = CommandResult(argv, status, out.decode(errors="replace"), err.decode(errors="replace"))
    return results


def run_batch(
    remote: Remote, commands: Sequence[Command], timeout: float | None = 600, in_order: int | None = None
) -> list[CommandResult | None]:
    """Run every command in one session: the first `in_order` (default: all) one after the
    other, then the rest all at once (questions that change nothing need not wait for each
    other). Each result in the commands' order, None for one that never ran (the batch was
    cut short). Raises RemoteError as Remote.run does when the host cannot be reached."""
    if not commands:
        return []
    marker = f"isaacctl-batch-{secrets.token_hex(8)}"
    # The script travels on stdin (no argument-length limit); every command gets its own stdin.
    script = _script(commands, marker, len(commands) if in_order is None else in_order)
    result = remote.run(["sh", "-s"], stdin=script.encode(), timeout=timeout)
    return _parse(commands, result.stdout, marker)
