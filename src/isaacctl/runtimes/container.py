"""The container runtime: a job is a detached container of the deployment's Isaac Lab image,
named `isaacctl-<deployment>-<job>` and labelled with the deployment (name and id), job, mode
and task. templates/jobs/run.sh is its PID 1. Everything isaacctl says to Docker about jobs is
here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from isaacctl.errors import IsaacctlError, RemoteError
from isaacctl.isaaclab import Generation, generation_for
from isaacctl.providers.base import CONTAINER_ID_LABEL, CONTAINER_LABEL
from isaacctl.runtimes.base import EarlyOutput, JobState, JobStates, Launch, Runtime, Unknown, run_prepared

if TYPE_CHECKING:
    from isaacctl.records import DeploymentRecord, JobRecord
    from isaacctl.remote import Remote
    from isaacctl.services.jobs.spec import JobSpec

CONTAINER_JOB = "/isaacctl/job"
CONTAINER_JOBS = "/isaacctl/jobs"
JOB_LABEL = "isaacctl.job"

# A new deployment's layout (2.x): the logs folder and cache mounts jobs had before generations.
CONTAINER_LOGS = generation_for(None).container.logs
CACHE_MOUNTS = generation_for(None).container.mounts


def container_name(deployment: str, job_id: str) -> str:
    return f"isaacctl-{deployment}-{job_id}"


def tensorboard_container(record: DeploymentRecord) -> str:
    # the deployment's id in the name: two state folders may share a name on one Docker host,
    # and starting one's TensorBoard removes the container of that name first
    return f"isaacctl-{record.name}-tensorboard" + (f"-{record.id}" if record.id else "")


def docker_run_argv(
    *,
    deployment: str,
    job_id: str,
    spec: JobSpec | None = None,
    image: str,
    host_root: str,
    host_job_dir: str,
    use_gpus: bool,
    command: list[str],
    deployment_id: str = "",
    generation: Generation | None = None,
    mode: str | None = None,
    task: str | None = None,
    video: bool | None = None,
    env: dict[str, str] | None = None,
) -> list[str]:
    layout = (generation or generation_for(None)).container
    mode = mode or (spec.mode if spec else "train")
    task = task or (spec.task if spec else "")
    video = video if video is not None else bool(spec and spec.video)
    argv = [
        "docker",
        "run",
        "--pull",  # never an implicit pull: images come from image-pull (with the key)
        "never",
        "--detach",
        "--name",
        container_name(deployment, job_id),
        "--label",
        f"{CONTAINER_LABEL}={deployment}",
        *(["--label", f"{CONTAINER_ID_LABEL}={deployment_id}"] if deployment_id else []),
        "--label",
        f"{JOB_LABEL}={job_id}",
        "--label",
        f"isaacctl.mode={mode}",
        "--label",
        f"isaacctl.task={task}",
        "--network=host",
        *(["--user", layout.user] if layout.user else []),
    ]
    for setting in layout.env:
        argv += ["--env", setting]
    if use_gpus:
        argv += ["--gpus", "all"]
    for setting in layout.video_env if video else ():
        argv += ["--env", setting]
    for key, value in (env or {}).items():
        argv += ["--env", f"{key}={value}"]
    for host_folder, container_path in layout.mounts:
        argv += ["--volume", f"{host_root}/{host_folder}:{container_path}"]
    asset_root = (env or {}).get("ISAACSIM_ASSET_ROOT")
    if asset_root:  # the host's mirror, read-only at the same path
        argv += ["--volume", f"{asset_root}:{asset_root}:ro"]
    argv += [
        "--volume",
        f"{host_job_dir}/logs:{layout.logs}",
        "--volume",
        f"{host_job_dir}:{CONTAINER_JOB}",
        "--entrypoint",
        "bash",
        image,
        f"{CONTAINER_JOB}/run.sh",
        *command,
    ]
    return argv


def _docker_time(value: str) -> datetime | None:
    """Docker's RFC 3339 time, to the microsecond: which node of a job ended first decides
    which one failed it, and the others' ends follow within a second."""
    if not value or value.startswith("0001-"):
        return None
    base, _, fraction = value.rstrip("Z").partition(".")
    micro = int((fraction.split("+")[0].split("-")[0] + "000000")[:6]) if fraction else 0
    return datetime.fromisoformat(base.rstrip("Z")).replace(tzinfo=timezone.utc, microsecond=micro)


class ContainerRuntime(Runtime):
    name = "container"

    def ready(self, record: DeploymentRecord) -> bool:
        return bool(record.image)

    def handle(self, record: DeploymentRecord, job_id: str) -> str:
        return container_name(record.name, job_id)

    def logs_path(self, generation: Generation, job_dir: str) -> str:
        return generation.container.logs

    def runner(self) -> bytes:
        from isaacctl.resources import template_bytes

        return template_bytes("jobs/run.sh")

    def start(self, remote: Remote, launch: Launch) -> None:
        record, job = launch.record, launch.job
        assert record.image is not None and record.host_root is not None
        steps = []
        hand_over = launch.generation.container.hand_over_argv(
            record.image, job.host_dir, (f"{CONTAINER_LABEL}={record.name}", f"{CONTAINER_ID_LABEL}={record.id}")
        )
        if hand_over is not None:
            uid = launch.generation.container.host_uid
            # a login user that is already the image's user (Ubuntu's first user: uid 1000)
            # made the folder its own: no root container needed to give it
            given = ["sh", "-c", '[ "$(id -u)" = "$0" ] || exec "$@"', str(uid), *hand_over]
            steps.append((given, f"cannot give {job.host_dir} to the image's user"))
        argv = docker_run_argv(
            deployment=record.name,
            job_id=job.id,
            image=record.image,
            host_root=record.host_root,
            host_job_dir=job.host_dir,
            use_gpus=record.gpus == "all",
            command=launch.command,
            generation=launch.generation,
            deployment_id=record.id,
            mode=job.mode,
            task=job.task,
            video=launch.video,
            env=launch.env,
        )
        result = run_prepared(remote, launch.preparation, steps, argv, timeout=600)
        if not result.ok:
            raise IsaacctlError(f"the job's container did not start on {record.name}", details=result.tail(10))

    def states_argv(self, jobs: list[JobRecord]) -> list[str]:
        return [
            "docker",
            "inspect",
            "--format",
            "{{.Name}}|{{.State.Status}}|{{.State.ExitCode}}|{{.State.StartedAt}}|{{.State.FinishedAt}}",
            *[job.container for job in jobs],
        ]

    def states(self, remote: Remote, jobs: list[JobRecord]) -> JobStates:
        """What Docker says of each container. A name Docker did not answer for is neither
        running nor gone: a daemon that is restarting says nothing about the job."""
        result = remote.run(self.states_argv(jobs))
        said = result.stderr.strip().splitlines()
        states = JobStates(
            Unknown(
                f"Docker on the host did not answer: "
                f"{said[-1] if said else f'docker inspect exited {result.exit_status}'}"
            )
        )
        by_container = {job.container: job.id for job in jobs}
        for line in result.stdout.splitlines():
            parts = line.split("|")
            if len(parts) != 5 or not parts[2].lstrip("-").isdigit():
                continue
            name, status, code, started, finished = parts
            job_id = by_container.get(name.lstrip("/"))
            if job_id is None:
                continue
            running = status in ("created", "running", "restarting", "paused")
            states[job_id] = JobState(
                running=running,
                exit_code=None if running else int(code),
                started_at=_docker_time(started),
                finished_at=_docker_time(finished),
            )
        for line in result.stderr.splitlines():
            # Docker's words for a name it does not know: "Error: No such object: NAME"
            # (and "No such container: NAME" from other versions).
            for marker in ("No such object: ", "No such container: "):
                if marker in line:
                    job_id = by_container.get(line.split(marker, 1)[1].strip())
                    if job_id is not None:
                        states[job_id] = None
        return states

    def interrupt(self, remote: Remote, job: JobRecord) -> bool:
        result = remote.run(["docker", "kill", "--signal", "INT", job.container])
        if result.ok:
            return True
        if "is not running" in result.stderr:
            return False
        raise RemoteError(f"could not interrupt {job.id} on {job.deployment} ({result.tail(2)}); it was not cancelled")

    def kill(self, remote: Remote, job: JobRecord) -> None:
        killed = remote.run(["docker", "kill", job.container])
        if not killed.ok and "is not running" not in killed.stderr:
            raise RemoteError(
                f"{job.id} was interrupted but could not be killed on {job.deployment} ({killed.tail(2)})"
            )

    def stream_logs(
        self,
        remote_factory: Callable[[], Remote],
        job: JobRecord,
        emit: Callable[[str], None],
        *,
        follow: bool,
        tail: int | None,
        on_reconnect: Callable[[str], None],
        initial: EarlyOutput | None = None,  # never: its start tells nothing of the output
    ) -> None:
        from isaacctl.runtimes.container_logs import stream_logs

        stream_logs(remote_factory, job.container, emit, follow=follow, tail=tail, on_reconnect=on_reconnect)

    def start_tensorboard(self, remote: Remote, record: DeploymentRecord, host_port: int) -> str:
        name = tensorboard_container(record)
        layout = generation_for(record.isaaclab_version, record.image).container
        remote.run(["docker", "rm", "--force", name])  # a stale one from an earlier session
        result = remote.run(
            [
                "docker",
                "run",
                "--pull",  # never an implicit pull: images come from image-pull (with the key)
                "never",
                "--detach",
                "--name",
                name,
                "--label",
                f"{CONTAINER_LABEL}={record.name}",
                "--label",
                f"{CONTAINER_ID_LABEL}={record.id}",
                "--network=host",
                *(["--user", layout.user] if layout.user else []),
                "--volume",
                f"{record.host_root}/jobs:{CONTAINER_JOBS}:ro",
                "--entrypoint",
                "bash",
                str(record.image),
                # the generation's Python: ./isaaclab.sh -p on 2.x, python on 3.x (no isaaclab.sh)
                "-c",
                f"cd {layout.workdir} && exec {' '.join(layout.python)} -m tensorboard.main "
                f'--logdir {CONTAINER_JOBS} --host 127.0.0.1 --port "$0"',
                str(host_port),
            ]
        )
        if not result.ok:
            raise RemoteError(f"TensorBoard did not start on {record.name}", details=result.tail(5))
        return name

    def stop_tensorboard(self, remote: Remote, record: DeploymentRecord) -> None:
        remote.run(["docker", "rm", "--force", tensorboard_container(record)])
