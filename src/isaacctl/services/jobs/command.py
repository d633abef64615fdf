"""The exact command lines of a job: Isaac Lab's script inside the container, and the
`docker run` that starts that container on the host. Argument lists only, never shell strings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from isaacctl.providers.base import CONTAINER_ID_LABEL, CONTAINER_LABEL

if TYPE_CHECKING:
    from isaacctl.services.jobs.spec import JobSpec

CONTAINER_LOGS = "/workspace/isaaclab/logs"
CONTAINER_JOB = "/isaacctl/job"
CONTAINER_JOBS = "/isaacctl/jobs"
JOB_LABEL = "isaacctl.job"

# Host folder (under the deployment's host root) -> container path: the cache mounts of the
# documented headless run, so a second job starts warm (shader and kit caches).
CACHE_MOUNTS = (
    ("cache/kit", "/isaac-sim/kit/cache"),
    ("cache/ov", "/root/.cache/ov"),
    ("cache/pip", "/root/.cache/pip"),
    ("cache/glcache", "/root/.cache/nvidia/GLCache"),
    ("cache/computecache", "/root/.nv/ComputeCache"),
    ("omniverse/logs", "/root/.nvidia-omniverse/logs"),
    ("omniverse/data", "/root/.local/share/ov/data"),
    ("omniverse/documents", "/root/Documents"),
)


@dataclass(frozen=True)
class Resume:
    """Where a resumed run's files are, as the new job's container sees them."""

    run_folder: str  # e.g. 2026-11-22_03-10-00 (rsl_rl --load_run)
    checkpoint_file: str  # e.g. model_149.pt (rsl_rl --checkpoint)
    container_path: str  # full path (the other libraries' --checkpoint)


def script_path(spec: JobSpec) -> str:
    name = "train.py" if spec.mode == "train" else "play.py"
    return f"scripts/reinforcement_learning/{spec.rl_library}/{name}"


def isaaclab_argv(spec: JobSpec, *, checkpoint: str | None = None, resume: Resume | None = None) -> list[str]:
    """`./isaaclab.sh -p ...` as shared/reference/isaaclab.md documents it."""
    args = ["--task", spec.task, "--headless"]
    if spec.num_envs is not None:
        args += ["--num_envs", str(spec.num_envs)]
    if spec.seed is not None:
        args += ["--seed", str(spec.seed)]
    if spec.mode == "train":
        if spec.max_iterations is not None:
            args += ["--max_iterations", str(spec.max_iterations)]
        if spec.video:
            args += ["--video", "--video_length", str(spec.video_length),
                     "--video_interval", str(spec.video_interval)]
        if spec.run_name:
            args += ["--run_name", spec.run_name]
        if resume is not None:
            if spec.rl_library == "rsl_rl":
                args += ["--resume", "--load_run", resume.run_folder, "--checkpoint", resume.checkpoint_file]
            else:
                args += ["--checkpoint", resume.container_path]
        if spec.gpus > 1:
            args.append("--distributed")
    else:
        assert checkpoint is not None
        args += ["--checkpoint", checkpoint]
        if spec.video:
            # play.py simulates until closed; with --video it stops after video_length steps.
            args += ["--video", "--video_length", str(spec.video_length)]
    args += spec.overrides
    if spec.gpus > 1:
        launcher = ["-m", "torch.distributed.run", "--nnodes=1", f"--nproc_per_node={spec.gpus}"]
        return ["./isaaclab.sh", "-p", *launcher, script_path(spec), *args]
    return ["./isaaclab.sh", "-p", script_path(spec), *args]


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
) -> list[str]:
    argv = [
        "docker", "run", "--detach",
        "--name", container_name(deployment, job_id),
        "--label", f"{CONTAINER_LABEL}={deployment}",
        *(["--label", f"{CONTAINER_ID_LABEL}={deployment_id}"] if deployment_id else []),
        "--label", f"{JOB_LABEL}={job_id}",
        "--label", f"isaacctl.mode={spec.mode}",
        "--label", f"isaacctl.task={spec.task}",
        "--network=host",
        "--env", "ACCEPT_EULA=Y",
        "--env", "PRIVACY_CONSENT=Y",
        "--env", "HEADLESS=1",
    ]
    if use_gpus:
        argv += ["--gpus", "all"]
    if spec.video:
        argv += ["--env", "ENABLE_CAMERAS=1"]
    for host_folder, container_path in CACHE_MOUNTS:
        argv += ["--volume", f"{host_root}/{host_folder}:{container_path}"]
    argv += [
        "--volume", f"{host_job_dir}/logs:{CONTAINER_LOGS}",
        "--volume", f"{host_job_dir}:{CONTAINER_JOB}",
        "--entrypoint", "bash",
        image,
        f"{CONTAINER_JOB}/run.sh",
        *command,
    ]
    return argv
