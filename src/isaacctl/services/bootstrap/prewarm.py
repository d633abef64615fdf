"""The `prewarm` bootstrap step: one short training of the generation's pre-warm task
(isaaclab/generations.yaml), started in the background on every node, so that Warp's kernels
and CUDA's compute cache are on the host's disk before the user's first job.

Why: on an H200 a 3.x job on a fresh machine waits ~112 s for its first iteration, ~19 s once
those caches exist (docs/real-runs.md). Both runtimes keep them in the deployment's cache/
folder (the pip runtime through WARP_CACHE_PATH/CUDA_CACHE_PATH, containers through mounts), so
what the pre-warm compiles serves every later job, in either runtime.

The run goes through the deployment's own runtime exactly as a job would (same command, caches,
asset root), but it is not a job: it lives in cache/prewarm/, is never listed by `jobs`, and
`evaluate --checkpoint latest` never finds its checkpoint. Bootstrap does not wait for it; the
step's check treats a pre-warm that runs or has succeeded as done, so a re-run starts none.

A job started while it runs does not wait for it: Warp looks up each module in the cache when it
loads it, so such a job reuses what the pre-warm has finished and compiles the rest beside it.
Measured on the H200 (docs/real-runs.md), waiting cost more than it saved: 126.6 s to the first
iteration against 93.5 s for a cold start; a job after the pre-warm ended took 23.5 s."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from isaacctl.remote.batch import Command
from isaacctl.services.bootstrap.context import StepContext, StepFailed

if TYPE_CHECKING:
    from isaacctl.isaaclab import Generation
    from isaacctl.records import JobRecord
    from isaacctl.remote import CommandResult
    from isaacctl.runtimes import Runtime

PREWARM_FOLDER = "cache/prewarm"

# A fresh folder with the runtime's runner in it (one round trip). A finished container of an
# earlier pre-warm holds the name the new one needs: it goes first (a running one never gets
# here, the check said "running").
_STAGE = r"""
folder=$1; container=$2
[ -n "$container" ] && docker rm "$container" >/dev/null 2>&1
rm -rf "$folder" && mkdir -p "$folder/logs" && cat >"$folder/run.sh" && chmod 755 "$folder/run.sh"
"""


def wanted(ctx: StepContext) -> bool:
    """--prewarm/--no-prewarm, else what the deployment was given before, else: on GPU hosts
    whose generation has a pre-warm run (a CPU host compiles little worth keeping)."""
    chosen = ctx.settings.prewarm if ctx.settings.prewarm is not None else ctx.record.prewarm
    if chosen is not None:
        return bool(chosen) and _generation(ctx).prewarm is not None
    return ctx.settings.gpus == "all" and _generation(ctx).prewarm is not None


def skip_reason(ctx: StepContext) -> str | None:
    if wanted(ctx):
        return None
    if _generation(ctx).prewarm is None:
        return f"Isaac Lab {_generation(ctx).label} has no pre-warm run"
    return "--no-prewarm" if ctx.settings.prewarm is False or ctx.record.prewarm is False else "no GPU (--prewarm)"


def inputs(ctx: StepContext) -> dict[str, Any]:
    run = _generation(ctx).prewarm
    return {
        "runtime": ctx.settings.runtime,
        "image_id": ctx.record.image_id,
        "python": ctx.record.isaaclab_python,
        "isaaclab": ctx.memo.get("isaaclab_package_version") or ctx.record.isaaclab_version,
        "gpus": ctx.settings.gpus,
        "run": [run.task, run.num_envs, run.max_iterations] if run else None,
    }


def probe(ctx: StepContext) -> Sequence[Command]:
    """The runtime's state question about the pre-warm: a re-run asks it with the other checks."""
    if not wanted(ctx):
        return ()
    runtime = _runtime(ctx)
    return (Command.of(runtime.states_argv([_run_record(ctx, runtime)])),)


def is_running_or_done(ctx: StepContext) -> bool:
    if not wanted(ctx):
        return True
    runtime = _runtime(ctx)
    return _state(ctx, runtime, _run_record(ctx, runtime)) in ("running", "succeeded")


class _AskedRemote:
    """What `Runtime.states` runs, through the step's context: answered from the re-run's one
    round trip when the probe asked it already, and written to bootstrap.log either way."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    def run(self, argv: Sequence[str], *, timeout: float | None = 600, **_: Any) -> CommandResult:
        return self.ctx.run(argv, timeout=timeout, shown=f"{argv[0]} ... (the pre-warm's state)")


def _state(ctx: StepContext, runtime: Runtime, job: JobRecord) -> str:
    """running, succeeded, failed, or none (never ran here, or its folder is gone)."""
    from isaacctl.runtimes import JobState

    said = runtime.states(_AskedRemote(ctx), [job]).of(job.id)  # type: ignore[arg-type]
    if not isinstance(said, JobState):
        return "none"
    if said.running:
        return "running"
    return "succeeded" if said.exit_code == 0 else "failed"


def start(ctx: StepContext) -> None:
    from isaacctl.runtimes import Launch
    from isaacctl.services.jobs.command import isaaclab_argv

    generation, runtime = _generation(ctx), _runtime(ctx)
    job = _run_record(ctx, runtime)
    if _state(ctx, runtime, job) == "running":  # --force while one runs: it goes on
        ctx.write_log("pre-warm already running")
        return
    spec = _spec(ctx, generation)
    argv = isaaclab_argv(spec, generation=generation, cpu=ctx.settings.gpus == "none")
    if runtime.name == "pip":
        argv = runtime.command(ctx.record, argv)  # type: ignore[attr-defined]
    container = job.container if runtime.name == "container" else ""
    staged = ctx.run(
        ["sh", "-c", _STAGE, "sh", job.host_dir, container],
        stdin=runtime.runner(),
        timeout=120,
        shown=f"stage {job.host_dir}",
    )
    ctx.need(staged, f"cannot make {job.host_dir}")
    env = {"ISAACSIM_ASSET_ROOT": ctx.record.asset_root} if ctx.record.asset_root else {}
    ctx.write_log(f"pre-warm: {' '.join(argv)}")
    try:
        runtime.start(
            ctx.remote,
            Launch(record=ctx.record, job=job, generation=generation, command=argv, video=False, env=env),
        )
    except StepFailed:
        raise
    except Exception as exc:  # the runtime's own errors, told as this step's
        from isaacctl.errors import failure_reason

        raise StepFailed(f"the pre-warm run did not start: {failure_reason(exc)}") from exc
    ctx.write_log(f"pre-warm started in the background; its output: {job.host_dir}/output.txt")


def _generation(ctx: StepContext) -> Generation:
    from isaacctl.isaaclab import generation_for

    return generation_for(ctx.record.isaaclab_version, ctx.record.image)


def _runtime(ctx: StepContext) -> Runtime:
    from isaacctl.runtimes import runtime

    return runtime(ctx.settings.runtime)


def _spec(ctx: StepContext, generation: Generation) -> Any:
    from isaacctl.services.jobs.spec import build_spec

    run = generation.prewarm
    assert run is not None
    flags = {"mode": "train", "task": run.task, "num_envs": run.num_envs, "max_iterations": run.max_iterations}
    spec = build_spec(flags, generation=generation)
    return spec.model_copy(update={"gpus": 1})  # one GPU compiles what every GPU of its kind uses


def _run_record(ctx: StepContext, runtime: Runtime) -> JobRecord:
    """What the runtime needs to start, watch and name the run; never saved (it is no job)."""
    from isaacctl.records import JobRecord

    run = _generation(ctx).prewarm
    # the deployment's id in the name: two state folders may share a name on one Docker host
    run_id = f"prewarm-{ctx.record.id}" if ctx.record.id else "prewarm"
    return JobRecord(
        id=run_id,
        deployment=ctx.record.name,
        mode="train",
        task=run.task if run else "",
        rl_library="",
        spec={},
        command=[],
        container=runtime.handle(ctx.record, run_id),
        host_dir=f"{ctx.host_root}/{PREWARM_FOLDER}",
    )
