"""What every bootstrap step works with."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from isaacctl.errors import IsaacctlError
from isaacctl.remote import CommandResult, Remote
from isaacctl.remote.batch import Command, run_batch
from isaacctl.services.secrets import Redactor, SecretSource

if TYPE_CHECKING:
    from isaacctl.records import DeploymentRecord, Node, StepRecord
    from isaacctl.services.bootstrap.facts import ParsedFacts
    from isaacctl.services.bootstrap.pull_progress import PullProgress
    from isaacctl.state import StateStore

# Folders on the host, under its isaacctl folder: the container's cache mounts of
# shared/reference/isaaclab.md (kept so a second job starts warm), plus jobs and uploads.
HOST_FOLDERS = (
    "cache/kit",
    "cache/ov",
    "cache/pip",
    "cache/glcache",
    "cache/computecache",
    "cache/warp",
    "omniverse/logs",
    "omniverse/data",
    "omniverse/documents",
    "jobs",
    "uploads",
)


class LogSink(Protocol):
    """Where a step's transcript goes: bootstrap.log, or one node's prefixed view of it."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


class StepFailed(IsaacctlError):
    def __init__(self, message: str, *, hint: str | None = None, output_tail: str = "") -> None:
        super().__init__(message, hint=hint, details=output_tail)
        self.output_tail = output_tail


@dataclass
class BootstrapSettings:
    image: str
    gpus: str = "all"  # "all" or "none"
    registry_user: str = "$oauthtoken"
    registry: str | None = None  # --registry: a registry besides nvcr.io the key may be sent to
    isaaclab_version: str | None = None  # --isaaclab-version: wins over what the image says
    allow_unsupported_gpu: bool = False
    allow_low_disk: bool = False
    reach_timeout: float = 600.0
    force: bool = False
    only: Sequence[str] = ()
    runtime: str = "container"  # --runtime: container (the image) or pip (a Python environment)
    isaaclab_python: str | None = None  # --isaaclab-python: adopt this environment (pip runtime)
    asset_root: str | None = None  # --asset-root: ISAACSIM_ASSET_ROOT for jobs
    prewarm: bool | None = None  # --prewarm/--no-prewarm (None: the record's, else on GPU hosts)
    autostop: Any = None  # services.autostop.AutostopFlags given to this run (None: keep the record's)


@dataclass
class StepContext:
    record: DeploymentRecord
    settings: BootstrapSettings
    remote_factory: Callable[[], Remote]
    registry_key: SecretSource
    log: LogSink
    redact: Redactor = field(default_factory=Redactor)
    on_pull: Callable[[PullProgress], None] = lambda progress: None
    facts: ParsedFacts | None = None
    memo: dict[str, Any] = field(default_factory=dict)  # answers worth asking once per run
    node_index: int = 0  # which node of the deployment this run makes ready
    # Stores a step's result on the node; the runner passes one that takes its lock, as other
    # nodes' threads save the same record. None: store it directly.
    remember: Callable[[str, StepRecord], None] | None = None
    store: StateStore | None = None  # for what images say of themselves (read once per image id)
    # Answers to checks asked together in one round trip (ask_at_once), each served once
    answers: dict[Command, CommandResult] = field(default_factory=dict)
    # The home folder expected before facts are read (the last run's), for the checks' paths
    assumed_home: str | None = None
    _remote: Remote | None = None

    @property
    def node(self) -> Node:
        return self.record.node(self.node_index)

    def record_step(self, name: str, result: StepRecord) -> None:
        if self.remember is not None:
            self.remember(name, result)
        else:
            self.node.bootstrap[name] = result

    @property
    def remote(self) -> Remote:
        if self._remote is None:
            self._remote = self.remote_factory()
        return self._remote

    def reconnect(self) -> None:
        """Drop the connection: a new login picks up new group membership, or a reboot."""
        if self._remote is not None:
            self._remote.close()
        self._remote = None

    @property
    def host_root(self) -> str:
        """The deployment's folder on the host, absolute (known once facts ran)."""
        folder = str(self.record.options.get("host_dir", "~/isaacctl"))
        home = self.facts.home if self.facts is not None else self.assumed_home
        if folder.startswith("~") and home is not None:
            folder = home + folder[1:]
        return folder.rstrip("/") or "/"

    def write_log(self, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        for line in self.redact(text).splitlines():
            self.log.write(f"{stamp} {line}\n")
        self.log.flush()

    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        timeout: float | None = 600,
        shown: str | None = None,
        on_line: Callable[[str], None] | None = None,
        env: dict[str, str] | None = None,
    ) -> CommandResult:
        """Run on the host with the transcript in bootstrap.log. `shown` replaces a long
        argv (an inline script) in the log. A command asked already in ask_at_once is
        answered from there, once."""
        answer = self.answers.pop(Command.of(argv, stdin, env), None)
        self.write_log(f"$ {shown or ' '.join(argv)}{' (asked with the others)' if answer else ''}")
        if answer is not None:
            for line in (answer.stdout + answer.stderr).splitlines():
                self.write_log(line)
                if on_line is not None:
                    on_line(line)
            self.write_log(f"[exit {answer.exit_status}]")
            return answer

        def relay(line: str, stream: str) -> None:
            self.write_log(line.rstrip("\n"))
            if on_line is not None:
                on_line(line.rstrip("\n"))

        result = self.remote.run(argv, stdin=stdin, on_output=relay, timeout=timeout, env=env)
        self.write_log(f"[exit {result.exit_status}]")
        return result

    def ask(self, command: Command, *, timeout: float | None = 600, shown: str | None = None) -> CommandResult:
        """ctx.run of a Command (what probes list, so a check and its probe name one command)."""
        return self.run(
            list(command.argv), stdin=command.stdin, timeout=timeout, shown=shown, env=dict(command.env) or None
        )

    def run_script(self, template: str, *args: str, sudo: bool = False, timeout: float | None = 1800) -> CommandResult:
        """A shell script from templates/ fed on stdin (arguments are not secret)."""
        command = script_command(template, *args, sudo=sudo)
        return self.run(
            command.argv,
            stdin=command.stdin,
            timeout=timeout,
            shown=f"{'sudo ' if sudo else ''}bash {template} {' '.join(args)}",
        )

    def ask_at_once(self, commands: Sequence[Command], timeout: float | None = 600, in_order: int = 0) -> None:
        """Run read-only commands in one round trip: the first `in_order` one after the other,
        then the rest at once. ctx.run answers each of them from here, once; a command the
        batch did not answer is simply asked again later."""
        unique = list(dict.fromkeys(commands))
        self.write_log(f"$ {len(unique)} commands in one round trip")
        answers = run_batch(self.remote, unique, timeout=timeout, in_order=in_order)
        for command, result in zip(unique, answers, strict=True):
            if result is not None:
                self.answers[command] = result
        self.write_log(f"[{len(self.answers)} of {len(unique)} answered]")

    def forget_answers(self) -> None:
        """After an action changed the host, what was asked before it no longer holds."""
        self.answers.clear()

    def need(self, result: CommandResult, what: str, hint: str | None = None) -> CommandResult:
        if not result.ok:
            raise StepFailed(f"{what} (exit {result.exit_status})", hint=hint, output_tail=self.redact(result.tail(15)))
        return result


def script_command(template: str, *args: str, sudo: bool = False) -> Command:
    """How run_script runs a template: bash reading it on stdin."""
    from isaacctl.resources import template_bytes

    prefix = ["sudo", "-n"] if sudo else []
    return Command.of([*prefix, "bash", "-s", "--", *args], stdin=template_bytes(template))
