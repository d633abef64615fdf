"""`train`, `evaluate`, `jobs`, `logs`, `cancel`, `tasks`."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from isaacctl.cli.context import App, app_of, complete_deployment, complete_job

if TYPE_CHECKING:
    from isaacctl.records import JobRecord
    from isaacctl.services.jobs.service import JobService

DEPLOYMENT = typer.Option(
    None, "-d", "--deployment", help="Deployment [default: the only one].", autocompletion=complete_deployment
)
LIBRARY = typer.Option(
    None,
    "--rl-library",
    help="rsl_rl, skrl, rl_games, sb3 (Isaac Lab 3 also torchrl) "
    "[default: rsl_rl; on Isaac Lab 3 the task's own agent].",
)
NUM_ENVS = typer.Option(None, "--num-envs", help="Parallel environments (per GPU).")
SEED = typer.Option(None, "--seed", help="Random seed (-1: random).")
FOLLOW = typer.Option(False, "--follow", "-f", help="Stream the output until the job ends.")
CONFIG = typer.Option(None, "--config", help="Job configuration JSON of the AWS Isaac Lab pipeline (flags win).")
EXTENSION = typer.Option(
    None, "--extension", help="Local package (folder or sdist) with custom tasks, pip-installed first."
)
FORCE = typer.Option(False, "--force", help="Run a task isaacctl does not know (a custom one).")
JSON = typer.Option(False, "--json", help="Print JSON (a versioned envelope).")


def job_service(app: App) -> "JobService":
    from isaacctl.services.jobs.service import JobService

    return JobService(app.deployments(), app.terminal.info)


def _start(
    ctx: typer.Context,
    flags: dict,
    config: Optional[Path],
    deployment: Optional[str],
    follow: bool,
    as_json: bool,
    managed: Optional[dict] = None,
) -> None:
    app = app_of(ctx)
    service = job_service(app)
    # The deployment first: its Isaac Lab generation decides task ids and libraries.
    record = service.ready_deployment(deployment)
    with service.keeping_connections():  # the start, the stream and the last look share one
        service.connections.open_early(record.name)  # while the spec is built and checked
        from isaacctl.cli.render_jobs import render_started
        from isaacctl.services.jobs.catalog import deployment_tasks
        from isaacctl.services.jobs.spec import build_spec

        # the deployment's own task list when isaacctl has it (`tasks -d`, bootstrap); else the shipped one
        listed = deployment_tasks(app.store, record, service.generation(record), None)
        spec = build_spec(
            flags,
            config,
            generation=service.generation(record),
            notice=app.terminal.warning,
            listed=listed,
            deployment=record,
        )
        if managed is not None:  # services/managed: checked before anything starts
            from isaacctl.services.managed import ManagedService

            keeper = ManagedService(app.store, app.terminal.info)
            settings = keeper.settings_for(
                flags,
                library=str(spec.rl_library),
                total_iterations=spec.max_iterations,
                deployment=record.name,
                **managed,
            )
        job = service.submit(record.name, spec)
        if managed is not None:
            job = keeper.enrol(job, settings)
            app.terminal.info("managed: recovery runs while 'isaacctl watch' (or 'watch --daemon') runs")
        render_started(app.terminal, job, as_json)
        if follow:
            _follow(app, service, job, tail=None)


def _follow(app: App, service: "JobService", job: "JobRecord", tail: Optional[int], node: int = 0) -> None:
    def emit(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    try:
        final = service.follow(job, emit, follow=True, tail=tail, on_reconnect=app.terminal.warning, node=node)
    except KeyboardInterrupt:
        from isaacctl.cli import Interrupt

        Interrupt.reported = True
        app.terminal.info(f"stopped following; {job.id} keeps running. Re-attach: isaacctl logs {job.id} --follow")
        raise typer.Exit(130) from None
    _finish(app, final)


def _finish(app: App, job: "JobRecord") -> None:
    if job.status == "succeeded":
        app.terminal.success(f"{job.id} succeeded. Bring it home: isaacctl fetch-logs {job.id}")
        raise typer.Exit(0)
    if job.status == "failed":
        app.terminal.error(f"{job.id} failed with exit code {job.exit_code}", details=job.error or "")
        raise typer.Exit(job.exit_code if job.exit_code and 0 < job.exit_code < 126 else 1)
    if job.status == "cancelled":
        app.terminal.warning(f"{job.id} was cancelled (files kept)")
        raise typer.Exit(130)
    if job.status == "unknown":
        app.terminal.warning(f"{job.id}: its state is unknown ({job.error}); ask again later: isaacctl jobs")
        raise typer.Exit(1)


def train_command(
    ctx: typer.Context,
    task: Optional[str] = typer.Option(None, "--task", help="Isaac Lab task id, e.g. Isaac-Ant-Direct-v0."),
    deployment: Optional[str] = DEPLOYMENT,
    rl_library: Optional[str] = LIBRARY,
    num_envs: Optional[int] = NUM_ENVS,
    max_iterations: Optional[int] = typer.Option(None, "--max-iterations", help="Training iterations."),
    seed: Optional[int] = SEED,
    video: bool = typer.Option(False, "--video", help="Record videos while training."),
    video_length: Optional[int] = typer.Option(None, "--video-length", help="Steps per video [default: 200]."),
    video_interval: Optional[int] = typer.Option(
        None, "--video-interval", help="Steps between videos [default: 2000]."
    ),
    gpus: Optional[int] = typer.Option(
        None,
        "--gpus",
        help="GPUs (ranks) on each node [default: all of them where the library trains on several (rsl_rl, skrl, rl_games), else 1].",
    ),
    nodes: Optional[int] = typer.Option(
        None, "--nodes", help="Nodes of the deployment to train on (torchrun on each) [default: 1]."
    ),
    env: Optional[List[str]] = typer.Option(
        None, "--env", help="KEY=VALUE for the job's processes, repeatable (wins over isaacctl's NCCL settings)."
    ),
    resume: Optional[str] = typer.Option(None, "--resume", help="Continue from JOB[:CHECKPOINT]."),
    run_name: Optional[str] = typer.Option(None, "--run-name", help="Suffix of the run folder (rsl_rl)."),
    extension: Optional[Path] = EXTENSION,
    config: Optional[Path] = CONFIG,
    force: bool = FORCE,
    follow: bool = FOLLOW,
    as_json: bool = JSON,
    managed: bool = typer.Option(False, "--managed", help="Keep the run going across preemptions (docs/managed.md)."),
    max_restarts: int = typer.Option(5, "--max-restarts", help="With --managed: recoveries before giving up."),
    fallback_on_demand: bool = typer.Option(
        False, "--fallback-on-demand", help="With --managed: redeploy on demand when spot has no room."
    ),
    checkpoint_bucket: Optional[str] = typer.Option(
        None,
        "--checkpoint-bucket",
        help="With --managed on AWS: s3://BUCKET[/PREFIX] also keeps every checkpoint in S3 (docs/managed.md).",
    ),
    overrides: Optional[List[str]] = typer.Argument(None, help="Hydra overrides after --, e.g. env.scene.num_envs=64."),
) -> None:
    """Train a policy with Isaac Lab in a detached container on the workstation.

    \b
    Example:  isaacctl train --task Isaac-Ant-Direct-v0 --follow
              isaacctl train -d ws1 --task Isaac-Cartpole-v0 --rl-library skrl --max-iterations 50 -- env.scene.num_envs=512
    """
    flags = dict(
        mode="train",
        task=task,
        rl_library=rl_library,
        num_envs=num_envs,
        max_iterations=max_iterations,
        seed=seed,
        video=video or None,
        video_length=video_length,
        video_interval=video_interval,
        gpus=gpus,
        num_nodes=nodes,
        env=list(env or []),
        resume=resume,
        run_name=run_name,
        extension=str(extension) if extension else None,
        overrides=list(overrides or []),
        force=force or None,
    )
    _require_task(task, config)
    _start(
        ctx,
        flags,
        config,
        deployment,
        follow,
        as_json,
        _managed_flags(managed, max_restarts, fallback_on_demand, checkpoint_bucket),
    )


def _managed_flags(
    managed: bool, max_restarts: int, fallback_on_demand: bool, checkpoint_bucket: Optional[str]
) -> Optional[dict]:
    from isaacctl.errors import UserError

    if not managed:
        given = [
            flag
            for flag, on in (
                ("--max-restarts", max_restarts != 5),
                ("--fallback-on-demand", fallback_on_demand),
                ("--checkpoint-bucket", checkpoint_bucket is not None),
            )
            if on
        ]
        if given:
            raise UserError(f"{given[0]}: only with --managed")
        return None
    from isaacctl.services.managed import check_flags  # ~50 ms of imports only --managed needs

    check_flags(max_restarts=max_restarts, checkpoint_bucket=checkpoint_bucket)
    return {
        "max_restarts": max_restarts,
        "fallback_on_demand": fallback_on_demand,
        "checkpoint_bucket": checkpoint_bucket,
    }


def evaluate_command(
    ctx: typer.Context,
    task: Optional[str] = typer.Option(None, "--task", help="Isaac Lab task id (often the -Play- variant)."),
    deployment: Optional[str] = DEPLOYMENT,
    checkpoint: Optional[str] = typer.Option(
        None,
        "--checkpoint",
        help="A local file, or JOB[:FILE] [default: the newest checkpoint of the newest finished training of this task].",
    ),
    rl_library: Optional[str] = LIBRARY,
    num_envs: Optional[int] = NUM_ENVS,
    seed: Optional[int] = SEED,
    video: bool = typer.Option(
        True,
        "--video/--no-video",
        help="Record a video and stop after --video-length steps (without it, play runs until cancelled).",
    ),
    video_length: Optional[int] = typer.Option(None, "--video-length", help="Steps to play [default: 200]."),
    extension: Optional[Path] = EXTENSION,
    config: Optional[Path] = CONFIG,
    force: bool = FORCE,
    follow: bool = FOLLOW,
    as_json: bool = JSON,
    overrides: Optional[List[str]] = typer.Argument(None, help="Hydra overrides after --."),
) -> None:
    """Play a trained policy (Isaac Lab's play.py) and record a video.

    \b
    Example:  isaacctl evaluate --task Isaac-Ant-Direct-v0 --follow
              isaacctl evaluate --task Isaac-Cartpole-v0 --checkpoint train-20261122-031500-a1b2:model_100.pt
    """
    flags = dict(
        mode="evaluate",
        task=task,
        rl_library=rl_library,
        num_envs=num_envs,
        seed=seed,
        video=video,
        video_length=video_length,
        checkpoint=checkpoint,
        extension=str(extension) if extension else None,
        overrides=list(overrides or []),
        force=force or None,
    )
    _require_task(task, config)
    _start(ctx, flags, config, deployment, follow, as_json)


def _require_task(task: Optional[str], config: Optional[Path]) -> None:
    from isaacctl.errors import UserError

    if task is None and config is None:
        raise UserError(
            "--task: expected an Isaac Lab task id such as Isaac-Cartpole-Direct-v0 (or --config FILE.json)"
        )


def jobs_command(
    ctx: typer.Context,
    deployment: Optional[str] = DEPLOYMENT,
    as_json: bool = JSON,
) -> None:
    """List jobs: status, duration, last logged step and mean reward.

    \b
    Example:  isaacctl jobs -d ws1 --json
    """
    from isaacctl.cli.render_jobs import render_jobs

    app = app_of(ctx)
    service = job_service(app)
    names = [deployment] if deployment is not None else app.store.names()
    jobs = [job for name in names for job in service.refresh(name)]
    render_jobs(app.terminal, jobs, as_json)


def logs_command(
    ctx: typer.Context,
    job: str = typer.Argument("last", help="Job id (or a unique prefix, or 'last').", autocompletion=complete_job),
    deployment: Optional[str] = DEPLOYMENT,
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep streaming until the job ends."),
    tail: Optional[int] = typer.Option(None, "--tail", "-n", help="Only the last N lines."),
    node: int = typer.Option(
        0, "--node", help="Which node's output, for a job on several nodes [default: 0, rank 0's]."
    ),
) -> None:
    """Show a job's output. With --follow, Ctrl-C leaves the job running, a dropped connection
    is re-established, and the exit status is the job's.

    \b
    Example:  isaacctl logs train-20261122-031500-a1b2 --follow
    """
    from isaacctl.errors import UserError

    app = app_of(ctx)
    if tail is not None and not 0 <= tail <= 10_000_000:  # beyond that the host's tail never answers
        raise UserError(f"--tail: expected a number of lines from 0 to 10000000, got {tail}")
    service = job_service(app)
    with service.keeping_connections():
        record = service.get(job, deployment)
        if follow:
            _follow(app, service, record, tail, node)
            return
        service.follow(record, _write_out, follow=False, tail=tail, node=node)


def cancel_command(
    ctx: typer.Context,
    job: str = typer.Argument(..., help="Job id (or a unique prefix, or 'last').", autocompletion=complete_job),
    deployment: Optional[str] = DEPLOYMENT,
    grace: float = typer.Option(30.0, "--grace", help="Seconds between the interrupt and the kill (0 to 3600)."),
    as_json: bool = JSON,
) -> None:
    """Stop a job: interrupt first so the run can save, kill after a grace period. Files are kept.

    \b
    Example:  isaacctl cancel train-20261122-031500-a1b2
    """
    from isaacctl.cli.render_jobs import render_job
    from isaacctl.services.jobs.service import check_grace

    app = app_of(ctx)
    check_grace(grace)
    found = app.store.find_job(job, deployment)
    if found.managed is not None and found.managed.state in ("running", "recovering"):
        from isaacctl.services.managed import ManagedService

        record = ManagedService(app.store, app.terminal.info).cancel(found, grace)  # recovery stops too
    else:
        record = job_service(app).cancel(job, deployment, grace=grace)
    render_job(app.terminal, record, as_json)


def tasks_command(
    ctx: typer.Context,
    keyword: Optional[str] = typer.Option(None, "--keyword", "-k", help="Only tasks containing this."),
    deployment: Optional[str] = typer.Option(
        None,
        "-d",
        "--deployment",
        autocompletion=complete_deployment,
        help="As this deployment's Isaac Lab spells them [default: a new deployment's].",
    ),
    as_json: bool = JSON,
) -> None:
    """List the Isaac Lab tasks isaacctl knows and the RL libraries each supports.

    \b
    Example:  isaacctl tasks -k Anymal
    """
    from isaacctl.services.jobs.catalog import deployment_tasks, list_envs_in_container, tasks

    app = app_of(ctx)
    generation = listed = None
    if deployment is not None:
        # that deployment's own list (its Isaac Lab's list_envs, kept per image id)
        service = job_service(app)
        record = service.resolve_deployment(deployment)
        generation = service.generation(record)
        if record.image and record.image_id:
            with app.deployments().remote(record.name) as remote:
                listed = deployment_tasks(
                    app.store,
                    record,
                    generation,
                    list_envs_in_container(remote, record, generation),
                    notice=app.terminal.warning,
                )
    chosen = [t for t in tasks(generation, listed).values() if not keyword or keyword.lower() in t.name.lower()]
    if as_json:
        app.terminal.json(
            "TaskList",
            [
                {"task": t.name, "libraries": list(t.libraries), "experiment": t.experiment, "iterations": t.iterations}
                for t in chosen
            ],
        )
        return
    app.terminal.table(
        ["TASK", "LIBRARIES", "EXPERIMENT", "ITERATIONS"],
        [[t.name, ", ".join(t.libraries), t.experiment, str(t.iterations)] for t in chosen],
    )


def _write_out(text: str) -> None:
    sys.stdout.write(text)
