"""The exact command lines of a job: Isaac Lab's command inside the container (the
generation's, isaaclab/generation.py), and the `docker run` that starts that container on the
host. Argument lists only, never shell strings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from isaacctl.isaaclab import Generation, JobRequest, Resume, generation_for
from isaacctl.providers.base import CONTAINER_ID_LABEL, CONTAINER_LABEL

if TYPE_CHECKING:
    from isaacctl.services.jobs.spec import JobSpec

__all__ = ["CACHE_MOUNTS", "CONTAINER_JOB", "CONTAINER_JOBS", "CONTAINER_LOGS", "JOB_LABEL", "Resume",
           "container_name", "docker_run_argv", "isaaclab_argv"]

CONTAINER_JOB = "/isaacctl/job"
CONTAINER_JOBS = "/isaacctl/jobs"
JOB_LABEL = "isaacctl.job"

# A new deployment's layout (2.x): the logs folder and cache mounts jobs had before generations.
CONTAINER_LOGS = generation_for(None).container.logs
CACHE_MOUNTS = generation_for(None).container.mounts


def isaaclab_argv(spec: JobSpec, *, checkpoint: str | None = None, resume: Resume | None = None,
                  generation: Generation | None = None, run_timestamp: str | None = None) -> list[str]:
    """The job's Isaac Lab command, as shared/reference/isaaclab.md documents it."""
    generation = generation or generation_for(None)
    request = JobRequest.from_spec(spec, checkpoint=checkpoint, resume=resume, run_timestamp=run_timestamp)
    return generation.job_argv(request)


def container_name(deployment: str, job_id: str) -> str:
    return f"isaacctl-{deployment}-{job_id}"


def docker_run_argv(
    *,
    deployment: str,
    job_id: str,
    spec: JobSpec,
    image: str,
    host_root: str,
    host_job_dir: str,
    use_gpus: bool,
    command: list[str],
    deployment_id: str = "",
    generation: Generation | None = None,
) -> list[str]:
    layout = (generation or generation_for(None)).container
    argv = [
        "docker", "run", "--detach",
        "--name", container_name(deployment, job_id),
        "--label", f"{CONTAINER_LABEL}={deployment}",
        *(["--label", f"{CONTAINER_ID_LABEL}={deployment_id}"] if deployment_id else []),
        "--label", f"{JOB_LABEL}={job_id}",
        "--label", f"isaacctl.mode={spec.mode}",
        "--label", f"isaacctl.task={spec.task}",
        "--network=host",
        *(["--user", layout.user] if layout.user else []),
    ]
    for setting in layout.env:
        argv += ["--env", setting]
    if use_gpus:
        argv += ["--gpus", "all"]
    for setting in layout.video_env if spec.video else ():
        argv += ["--env", setting]
    for host_folder, container_path in layout.mounts:
        argv += ["--volume", f"{host_root}/{host_folder}:{container_path}"]
    argv += [
        "--volume", f"{host_job_dir}/logs:{layout.logs}",
        "--volume", f"{host_job_dir}:{CONTAINER_JOB}",
        "--entrypoint", "bash",
        image,
        f"{CONTAINER_JOB}/run.sh",
        *command,
    ]
    return argv
