"""Runs the steps in order: skips what is done, records each result, stops at the first failure
(a later run resumes there) and keeps a redacted transcript in bootstrap.log."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from isaacctl.errors import UserError
from isaacctl.services.bootstrap.context import BootstrapSettings, StepContext, StepFailed
from isaacctl.services.bootstrap.requirements import isaaclab_version
from isaacctl.services.bootstrap.steps import STEP_NAMES, STEPS, Step
from isaacctl.services.secrets import SecretSource

if TYPE_CHECKING:
    from isaacctl.records import DeploymentRecord
    from isaacctl.remote import Remote
    from isaacctl.services.bootstrap.pull_progress import PullProgress
    from isaacctl.state import StateStore


@dataclass(frozen=True)
class StepEvent:
    step: str
    state: str  # "running", "ok", "skipped", "failed"
    summary: str = ""
    duration_s: float = 0.0
    message: str = ""


@dataclass
class BootstrapResult:
    name: str
    steps: list[StepEvent] = field(default_factory=list)

    @property
    def ran(self) -> list[str]:
        return [event.step for event in self.steps if event.state == "ok"]

    @property
    def up_to_date(self) -> list[str]:
        return [event.step for event in self.steps if event.message == "up to date"]


class BootstrapFailed(StepFailed):
    def __init__(self, step: str, cause: StepFailed, result: BootstrapResult) -> None:
        super().__init__(f"bootstrap step {step!r} failed: {cause.message}", hint=cause.hint,
                         output_tail=cause.output_tail)
        self.step = step
        self.result = result


def validate_steps(only: list[str] | tuple[str, ...]) -> None:
    unknown = [name for name in only if name not in STEP_NAMES]
    if unknown:
        raise UserError(f"--only: expected one of {', '.join(STEP_NAMES)}, got {unknown[0]!r}")


def step_digest(step: Step, ctx: StepContext) -> str:
    payload = json.dumps({"step": step.name, "version": step.version, **step.inputs(ctx)},
                         sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def run_bootstrap(
    store: StateStore,
    record: DeploymentRecord,
    remote_factory: Callable[[], Remote],
    settings: BootstrapSettings,
    registry_key: SecretSource,
    on_event: Callable[[StepEvent], None] = lambda event: None,
    on_pull: Callable[[PullProgress], None] = lambda progress: None,
) -> BootstrapResult:
    """Call with the deployment's lock held. Saves the record after every step."""
    validate_steps(settings.only)
    result = BootstrapResult(record.name)
    paths = store.paths(record.name)
    record.gpus = settings.gpus  # type: ignore[assignment]
    record.registry_user = settings.registry_user
    record.isaaclab_version = isaaclab_version(settings.image)
    with open(paths.bootstrap_log, "a", encoding="utf-8") as log:
        paths.bootstrap_log.chmod(0o600)
        ctx = StepContext(record=record, settings=settings, remote_factory=remote_factory,
                          registry_key=registry_key, log=log, on_pull=on_pull)
        ctx.write_log(f"== bootstrap {record.name}: image {settings.image}, gpus {settings.gpus}")
        try:
            for step in STEPS:
                event, failure = _run_step(step, ctx, record, settings, on_event)
                result.steps.append(event)
                on_event(event)
                store.save(record)
                if failure is not None:
                    raise BootstrapFailed(step.name, failure, result)
        finally:
            ctx.reconnect()
    return result


def _up_to_date(step: Step, ctx: StepContext, prior, digest: str) -> bool:
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

    def remember(status: str, digest: str, duration: float, message: str = "") -> None:
        ctx.node.bootstrap[step.name] = StepRecord(status=status, digest=digest, finished_at=utc_now(),
                                                 duration_s=round(duration, 2), message=message)

    selected = not settings.only or step.name in settings.only
    if not selected and not step.always_run:  # reach and facts feed every later step
        return StepEvent(step.name, "skipped", step.summary, message="not selected (--only)"), None
    if step.gpu_only and settings.gpus == "none":
        remember("skipped", "", 0.0, "--gpus none")
        return StepEvent(step.name, "skipped", step.summary, message="--gpus none"), None
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
