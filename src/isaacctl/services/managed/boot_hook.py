"""The workstation's own half of managed training: a hook (templates/managed/boot_resume.py)
that, at boot, resumes the managed runs the machine's stop cut short, from the newest
checkpoint on its disk, so a stop-style preemption loses nothing while no controller runs.

The controller writes each managed run's resume description into the run's host folder
(JOB_DIR/managed.json) when it submits or resumes it: how to start the next run (the launch
argv and the Isaac Lab command, with what only the host knows at boot left as @PLACEHOLDERS@),
the run's length and the restarts left. No secret is in it: it is the argv Docker keeps anyway.

The hook and the controller never both start a run for one job: every change of a description
happens on the host under one lock (ROOT/managed/lock). The hook resumes only an `active` run;
the controller claims a run (`claimed`) before it starts a replacement, and learns from the
same call when the hook was first (the runs it started, which it then folds into the job)."""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from isaacctl.errors import IsaacctlError, RemoteError

if TYPE_CHECKING:
    from isaacctl.isaaclab import Generation
    from isaacctl.records import DeploymentRecord, JobRecord
    from isaacctl.remote import Remote
    from isaacctl.runtimes import Runtime

SCRIPT = "managed/boot_resume.py"
UNIT = "managed/isaacctl-managed-boot.service"
DESCRIPTION = "managed.json"
# What only the host knows when it resumes: the new run's id, the checkpoint it found, and the
# iterations left after it. The hook fills them in.
RUN, RUN_FOLDER, CHECKPOINT_FILE, CHECKPOINT, ITERATIONS = (
    "@RUN@",
    "@RUN_FOLDER@",
    "@CHECKPOINT_FILE@",
    "@CHECKPOINT@",
    "@ITERATIONS@",
)
COMMAND = "@COMMAND@"  # the launch argv's one element that the command replaces


def unit_name(record: DeploymentRecord) -> str:
    return f"isaacctl-managed-boot-{record.id}.service"


def unit_text(record: DeploymentRecord) -> str:
    """@USER@ is left for the host's installer: the login user it runs as."""
    from isaacctl.resources import template_text

    text = template_text(UNIT)
    values = {"NAME": record.name, "ID": record.id, "DIR": str(record.host_root), "PYTHON": "/usr/bin/python3"}
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    return text


def run_of(job: JobRecord) -> str:
    """The run a managed job is now (its folder's name: the submitted or resumed run's id)."""
    return posixpath.basename(job.host_dir.rstrip("/"))


@dataclass
class Settled:
    found: bool  # the run has a description (a run submitted before the hook existed has none)
    state: str | None  # its state before this call
    chain: list[dict[str, Any]] = field(default_factory=list)  # runs the hook started after it


def _call(remote: Remote, record: DeploymentRecord, args: list[str], stdin: dict[str, Any] | None = None) -> str:
    from isaacctl.resources import template_text

    assert record.host_root is not None
    result = remote.run(
        ["python3", "-c", template_text(SCRIPT), args[0], record.host_root, *args[1:]],
        stdin=json.dumps(stdin).encode() if stdin is not None else None,
        timeout=300,
    )
    if not result.ok:
        raise RemoteError(f"managed: the host's resume hook ({args[0]}) failed: {result.tail(3)}")
    lines = result.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def install(remote: Remote, record: DeploymentRecord) -> str:
    """The hook and its systemd unit on the host; returns how it runs there ("systemd", or
    "files": no systemd as PID 1, so nothing runs it at boot)."""
    from isaacctl.resources import template_text

    said = _call(
        remote,
        record,
        ["install"],
        {"script": template_text(SCRIPT), "unit": unit_text(record), "unit_name": unit_name(record)},
    )
    try:
        return str(json.loads(said)["mode"])
    except (ValueError, KeyError):
        raise IsaacctlError(f"managed: the boot hook's installer said {said!r}") from None


def describe(
    record: DeploymentRecord,
    job: JobRecord,
    run: str,
    *,
    runtime: Runtime,
    generation: Generation,
    restarts_left: int,
) -> dict[str, Any]:
    """The resume description of `run`, the managed job's current run: the next run's launch
    as the job service would start it, from the job's own spec."""
    from isaacctl.runtimes.container import docker_run_argv
    from isaacctl.runtimes.pip import PipRuntime
    from isaacctl.services.jobs.command import Resume, isaaclab_argv
    from isaacctl.services.jobs.spec import JobSpec

    assert job.managed is not None and record.host_root is not None
    spec = JobSpec.model_validate(job.spec)
    run_dir = f"{record.host_root}/jobs/{RUN}"
    logs = runtime.logs_path(generation, run_dir)
    # model_copy does not validate: the iterations stay a placeholder through the generation's
    # rendering, which only str()s them
    template = spec.model_copy(update={"max_iterations": ITERATIONS, "resume": None})
    resume = Resume(run_folder=RUN_FOLDER, checkpoint_file=CHECKPOINT_FILE, container_path=f"{logs}/{CHECKPOINT}")
    cpu = record.gpus == "none"
    resume_argv = isaaclab_argv(template, resume=resume, generation=generation, cpu=cpu)
    fresh_argv = isaaclab_argv(template, generation=generation, cpu=cpu)
    env = {"ISAACSIM_ASSET_ROOT": record.asset_root} if record.asset_root else {}
    env |= dict(setting.split("=", 1) for setting in spec.env)
    hand_over = None
    if runtime.name == "pip":
        resume_argv, fresh_argv = PipRuntime.command(record, resume_argv), PipRuntime.command(record, fresh_argv)
        variables = PipRuntime.environment(record, env, generation, spec.video)
        # the pip runtime's start: its runner leads a session of its own, detached from the hook
        launch = ["setsid", "-f", "env", *(f"{k}={v}" for k, v in variables.items())]
        launch += ["bash", f"{run_dir}/run.sh", run_dir, COMMAND]
    else:
        assert record.image is not None
        launch = docker_run_argv(
            deployment=record.name,
            job_id=RUN,
            image=record.image,
            host_root=record.host_root,
            host_job_dir=run_dir,
            use_gpus=record.gpus == "all",
            command=[COMMAND],
            generation=generation,
            deployment_id=record.id,
            mode=job.mode,
            task=job.task,
            video=spec.video,
            env=env,
        )
        from isaacctl.providers.base import CONTAINER_ID_LABEL, CONTAINER_LABEL

        hand_over = generation.container.hand_over_argv(
            record.image, run_dir, (f"{CONTAINER_LABEL}={record.name}", f"{CONTAINER_ID_LABEL}={record.id}")
        )
    return {
        "job": job.id,
        "run": run,
        "deployment": record.name,
        "deployment_id": record.id,
        "runtime": runtime.name,
        "library": job.rl_library,
        "total_iterations": job.managed.total_iterations,
        "restarts_left": restarts_left,
        "state": "active",
        "handle": runtime.handle(record, run),
        "handle_template": runtime.handle(record, RUN),
        "launch": launch,
        "resume_command": resume_argv,
        "fresh_command": fresh_argv,
        "hand_over": hand_over,
    }


def write(remote: Remote, record: DeploymentRecord, description: dict[str, Any], supersedes: str | None) -> None:
    """A run's description, the run it replaces no longer the one to resume."""
    _call(remote, record, ["write"], {"description": description, "supersedes": supersedes})


def settle(remote: Remote, record: DeploymentRecord, run: str, state: str) -> Settled:
    """Under the host's lock: the runs the hook started after `run`; when there are none,
    `run` becomes `state` (claimed: the controller starts its replacement; cancelled, done,
    failed: the hook leaves it alone)."""
    said = _call(remote, record, ["settle", run, state])
    try:
        data = json.loads(said)
        return Settled(found=bool(data["found"]), state=data.get("state"), chain=list(data.get("chain") or []))
    except (ValueError, KeyError, TypeError):
        raise IsaacctlError(f"managed: the host's resume hook said {said!r}") from None
