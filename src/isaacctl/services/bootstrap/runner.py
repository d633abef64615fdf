"""Runs the steps in order on every node at once: skips what is done, records each result on
its node, stops at the first failure (a later run resumes there) and keeps a redacted
transcript in bootstrap.log."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, TextIO

from isaacctl.errors import HostKeyChanged, IsaacctlError, RemoteError, UserError
from isaacctl.services.bootstrap.context import BootstrapSettings, StepContext, StepFailed
from isaacctl.services.bootstrap.requirements import isaaclab_version
from isaacctl.services.bootstrap.steps import STEP_NAMES, Step, steps_for
from isaacctl.services.secrets import SecretSource

if TYPE_CHECKING:
    from isaacctl.records import DeploymentRecord, StepRecord, StepStatus
    from isaacctl.remote import Remote
    from isaacctl.remote.batch import Command
    from isaacctl.services.bootstrap.pull_progress import PullProgress
    from isaacctl.services.secrets import Secret
    from isaacctl.state import StateStore


@dataclass(frozen=True)
class StepEvent:
    step: str
    state: str  # "running", "ok", "skipped", "failed"
    summary: str = ""
    duration_s: float = 0.0
    message: str = ""
    node: int = 0  # the node's index in the deployment


@dataclass
class NodeOutcome:
    """How one node's run ended: what the per-node table of a failure shows."""

    node: int
    last: StepEvent | None = None
    failure: StepFailed | None = None
    error: BaseException | None = None  # anything else (a changed host key, Ctrl-C...)
    stopped: bool = False  # another node failed: this one stopped after its current step

    @property
    def state(self) -> str:
        if self.failure is not None or self.error is not None:
            return "failed"
        return "stopped" if self.stopped else "done"

    @property
    def message(self) -> str:
        if self.failure is not None:
            return self.failure.message
        if self.error is not None:
            from isaacctl.errors import failure_reason

            return failure_reason(self.error)
        return "stopped: another node failed" if self.stopped else ""


@dataclass
class BootstrapResult:
    name: str
    steps: list[StepEvent] = field(default_factory=list)
    nodes: list[NodeOutcome] = field(default_factory=list)

    @property
    def ran(self) -> list[str]:
        return [event.step for event in self.steps if event.state == "ok"]

    @property
    def up_to_date(self) -> list[str]:
        return [event.step for event in self.steps if event.message == "up to date"]


class BootstrapFailed(StepFailed):
    def __init__(self, step: str, cause: StepFailed, result: BootstrapResult, node: int | None = None) -> None:
        where = "" if node is None else f" on node {node}"
        details = cause.output_tail
        if node is not None:
            details = node_table(result.nodes) + (f"\n\nnode {node}:\n{cause.output_tail}" if cause.output_tail else "")
        super().__init__(
            f"bootstrap step {step!r} failed{where}: {cause.message}", hint=cause.hint, output_tail=details
        )
        self.step = step
        self.node = node
        self.result = result


def node_table(outcomes: list[NodeOutcome]) -> str:
    """NODE STEP STATE MESSAGE, one row per node, as plain aligned text (error details)."""
    rows = [("NODE", "STEP", "STATE", "MESSAGE")] + [
        (str(o.node), o.last.step if o.last else "-", o.state, o.message) for o in outcomes
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3]
        for row in rows
    ).rstrip()


def validate_steps(only: Sequence[str]) -> None:
    unknown = [name for name in only if name not in STEP_NAMES]
    if unknown:
        raise UserError(f"--only: expected one of {', '.join(STEP_NAMES)}, got {unknown[0]!r}")


def step_digest(step: Step, ctx: StepContext) -> str:
    payload = json.dumps({"step": step.name, "version": step.version, **step.inputs(ctx)}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


class _NodeLog:
    """One node's view of bootstrap.log: lines prefixed with the node when there are several,
    written whole under a lock (threads share the file)."""

    def __init__(self, handle: TextIO, lock: threading.Lock, prefix: str) -> None:
        self.handle, self.lock, self.prefix = handle, lock, prefix

    def write(self, text: str) -> int:
        with self.lock:
            return self.handle.write(self.prefix + text)

    def flush(self) -> None:
        with self.lock:
            self.handle.flush()


def _once(source: SecretSource) -> SecretSource:
    """The registry key asked once for all nodes (it may be a prompt), whichever asks first."""
    lock = threading.Lock()

    def read() -> Secret | None:
        with lock:
            return source()

    return read


def run_bootstrap(
    store: StateStore,
    record: DeploymentRecord,
    remote_factory: Callable[[int], Remote],
    settings: BootstrapSettings,
    registry_key: SecretSource,
    on_event: Callable[[StepEvent], None] = lambda event: None,
    on_pull: Callable[[PullProgress], None] = lambda progress: None,
) -> BootstrapResult:
    """Bootstrap every node of the deployment at once (one thread per node; one node runs on
    the calling thread). Call with the deployment's lock held. Each step's result goes on its
    node and the record is saved after every step. When a node fails, the others finish the
    step they are in and stop; the error carries a table of where each node got to."""
    validate_steps(settings.only)
    result = BootstrapResult(record.name)
    paths = store.paths(record.name)
    record.gpus = settings.gpus  # type: ignore[assignment]
    record.runtime = settings.runtime  # type: ignore[assignment]
    record.asset_root = settings.asset_root
    if settings.prewarm is not None:
        record.prewarm = settings.prewarm
    if settings.runtime == "pip":  # isaaclab-import records the Python once it imported Isaac Lab
        record.image = record.image_id = None
        if record.isaaclab_python != (settings.isaaclab_python or record.isaaclab_python):
            record.isaaclab_python = None
    record.registry_user = settings.registry_user
    # A first guess from --isaaclab-version or the tag, kept for the same image (what it said of
    # itself) when image-pull is not among the steps run; image-pull's check reads the image's own.
    # The pip runtime's comes from its installed isaaclab (isaaclab-import), never from a tag.
    if settings.runtime != "pip" and (
        settings.isaaclab_version or record.image != settings.image or not record.isaaclab_version
    ):
        record.isaaclab_version = settings.isaaclab_version or isaaclab_version(settings.image)
    indexes = [node.index for node in record.nodes] or [0]
    several = len(indexes) > 1
    save_lock, notify_lock, log_lock = threading.RLock(), threading.RLock(), threading.Lock()
    stop = threading.Event()
    closed = [False]  # set when the caller gave up (Ctrl-C): threads then leave the record alone
    registry_key = _once(registry_key)

    remembered: set[int] = set()  # nodes with a step result not saved yet

    def remember_on(index: int) -> Callable[[str, StepRecord], None]:
        def remember(name: str, step_record: StepRecord) -> None:
            with save_lock:
                if not closed[0]:
                    record.node(index).bootstrap[name] = step_record
                    remembered.add(index)

        return remember

    def notify(event: StepEvent) -> None:
        with notify_lock:
            on_event(event)

    def run_node(index: int, log: TextIO, outcome: NodeOutcome) -> None:
        def pulled(progress: PullProgress) -> None:
            progress.node = index
            with notify_lock:
                on_pull(progress)

        ctx = StepContext(
            record=record,
            settings=settings,
            remote_factory=lambda: remote_factory(index),
            registry_key=registry_key,
            log=_NodeLog(log, log_lock, f"[node {index}] " if several else ""),
            on_pull=pulled,
            node_index=index,
            remember=remember_on(index),
            store=store,
        )
        ctx.write_log(f"== bootstrap {record.name}: image {settings.image}, gpus {settings.gpus}")
        try:
            steps = steps_for(settings.runtime)
            _ask_checks_at_once(ctx, steps, settings)
            for step in steps:
                if stop.is_set():
                    outcome.stopped = True
                    return
                event, failure = _run_step(step, ctx, record, settings, lambda e: notify(replace(e, node=index)))
                event = replace(event, node=index)
                outcome.last = event
                with save_lock:
                    result.steps.append(event)
                notify(event)
                with save_lock:
                    # a step found up to date changed nothing worth an fsync now (the caller
                    # saves the record at the end); one that ran or was remembered is saved
                    if not closed[0] and (event.state != "skipped" or index in remembered):
                        remembered.discard(index)
                        store.save(record)
                if failure is not None:
                    outcome.failure = failure
                    stop.set()
                    return
        except BaseException as exc:
            outcome.error = exc
            stop.set()
        finally:
            ctx.reconnect()

    result.nodes = [NodeOutcome(index) for index in indexes]
    with open(paths.bootstrap_log, "a", encoding="utf-8") as log:
        paths.bootstrap_log.chmod(0o600)
        if not several:
            run_node(indexes[0], log, result.nodes[0])
        else:
            threads = [
                threading.Thread(
                    target=run_node,
                    args=(outcome.node, log, outcome),
                    daemon=True,
                    name=f"bootstrap-node-{outcome.node}",
                )
                for outcome in result.nodes
            ]
            for thread in threads:
                thread.start()
            try:
                for thread in threads:
                    while thread.is_alive():
                        thread.join(0.2)  # a bare join() would not let Ctrl-C through
            except BaseException:
                stop.set()
                with save_lock:
                    closed[0] = True
                raise
    for outcome in result.nodes:
        if outcome.error is not None:
            error = outcome.error
            if several and isinstance(error, IsaacctlError):
                error.message = f"node {outcome.node}: {error.message}"
                error.args = (error.message,)
            raise error
    failed = [outcome for outcome in result.nodes if outcome.failure is not None]
    if failed:
        first = failed[0]
        assert first.failure is not None and first.last is not None
        raise BootstrapFailed(first.last.step, first.failure, result, node=first.node if several else None)
    return result


def _asked(step: Step, settings: BootstrapSettings) -> bool:
    """Whether a run will ask this step's check (or, for reach and facts, run its action)."""
    selected = not settings.only or step.name in settings.only
    return (selected or step.always_run) and not (step.gpu_only and settings.gpus == "none")


def _home_last_time(record: DeploymentRecord) -> str | None:
    """The login's home as the last run found it (record.host_root is host_dir with ~
    expanded), so the checks' paths can be asked before facts read it again."""
    host_dir = str(record.options.get("host_dir", "~/isaacctl")).rstrip("/")
    if not host_dir.startswith("~") or not record.host_root or not record.host_root.endswith(host_dir[1:]):
        return None
    return record.host_root[: len(record.host_root) - len(host_dir) + 1]


def _ask_checks_at_once(ctx: StepContext, steps: Sequence[Step], settings: BootstrapSettings) -> None:
    """One round trip for reach, facts and every step's check. What it could not answer
    (a host not up yet, a path that changed with the facts) is asked one by one later."""
    first: list[Command] = []  # what waits for the host (cloud-init, apt): before the others
    commands: list[Command] = []
    ctx.assumed_home = _home_last_time(ctx.record)
    try:
        for step in steps:
            if _asked(step, settings):
                try:
                    (first if step.waits_for_host else commands).extend(step.probe(ctx))
                except IsaacctlError:
                    continue  # its check will say what is wrong, when it runs
    finally:
        ctx.assumed_home = None
    try:
        ctx.ask_at_once([*first, *commands], timeout=settings.reach_timeout + 600, in_order=len(first))
    except HostKeyChanged:
        raise
    except RemoteError as exc:
        ctx.write_log(f"not reachable yet ({exc.message}): reach waits for it")
        ctx.reconnect()
        return
    waited = [command for step in steps if step.always_run for command in step.probe(ctx)]
    if not all((answer := ctx.answers.get(command)) is not None and answer.ok for command in waited):
        ctx.forget_answers()  # the host was not ready: what the checks saw may not last


def _up_to_date(step: Step, ctx: StepContext, prior: StepRecord | None, digest: str) -> bool:
    """Done, and nothing it depends on changed. A step with a check trusts it on a host it has
    never recorded (Docker installed by hand is fine); one without needs its last success."""
    changed = prior is not None and prior.status == "ok" and prior.digest != digest
    if step.check is not None:
        return not changed and step.check(ctx)
    return prior is not None and prior.status == "ok" and not changed


def _run_step(
    step: Step,
    ctx: StepContext,
    record: DeploymentRecord,
    settings: BootstrapSettings,
    on_event: Callable[[StepEvent], None],
) -> tuple[StepEvent, StepFailed | None]:
    from isaacctl.records import StepRecord, utc_now

    def remember(status: StepStatus, digest: str, duration: float, message: str = "") -> None:
        ctx.record_step(
            step.name,
            StepRecord(
                status=status, digest=digest, finished_at=utc_now(), duration_s=round(duration, 2), message=message
            ),
        )

    selected = not settings.only or step.name in settings.only
    if not selected and not step.always_run:  # reach and facts feed every later step
        return StepEvent(step.name, "skipped", step.summary, message="not selected (--only)"), None
    if step.gpu_only and settings.gpus == "none":
        remember("skipped", "", 0.0, "--gpus none")
        return StepEvent(step.name, "skipped", step.summary, message="--gpus none"), None
    not_here = step.skip(ctx) if step.skip is not None else None
    if not_here:
        remember("skipped", "", 0.0, not_here)
        return StepEvent(step.name, "skipped", step.summary, message=not_here), None
    started = time.monotonic()
    try:
        digest = step_digest(step, ctx)
        prior = ctx.node.bootstrap.get(step.name)
        forced = settings.force and selected
        if not step.always_run and not forced and _up_to_date(step, ctx, prior, digest):
            if prior is None:  # found done (installed by hand, or by cloud-init): remember it
                remember("ok", digest, 0.0, "found in place")
            return StepEvent(step.name, "skipped", step.summary, time.monotonic() - started, "up to date"), None
        on_event(StepEvent(step.name, "running", step.summary))
        ctx.write_log(f"-- step {step.name}")
        if not step.always_run:  # reach and facts only look; any other action changes the host
            ctx.forget_answers()
        step.act(ctx)
        if step.check is not None and step.verify_after and not step.always_run and not step.check(ctx):
            raise StepFailed(f"{step.summary}: still not in place after the action")
        digest = step_digest(step, ctx)  # an action can learn inputs (the image id)
    except StepFailed as failure:
        duration = time.monotonic() - started
        ctx.write_log(f"FAILED {step.name}: {failure.message}")
        remember("failed", "", duration, failure.message)
        return StepEvent(step.name, "failed", step.summary, duration, failure.message), failure
    duration = time.monotonic() - started
    remember("ok", digest, duration)
    return StepEvent(step.name, "ok", step.summary, duration), None
