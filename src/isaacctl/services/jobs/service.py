"""Jobs: start Isaac Lab training and evaluation detached on the host, watch, cancel. How a
job runs there (a container, a process group) is the deployment's runtime's (isaacctl/runtimes)."""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import stat
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from isaacctl.errors import IsaacctlError, RemoteError, UserError, failure_reason
from isaacctl.isaaclab import Generation, generation_for
from isaacctl.runtimes import JobState, Launch, Runtime, Unknown, runtime_for
from isaacctl.runtimes import runtime as runtime_for_name
from isaacctl.services.jobs import command as commands
from isaacctl.services.jobs.checkpoints import best_checkpoint, newest_checkpoint
from isaacctl.services.jobs.host_files import list_files, summarize_jobs

if TYPE_CHECKING:
    from isaacctl.records import DeploymentRecord, JobRecord
    from isaacctl.remote import Remote
    from isaacctl.services.deployments import DeploymentService
    from isaacctl.services.jobs.spec import JobSpec

CANCEL_GRACE_SECONDS = 30.0
MAX_CANCEL_GRACE_SECONDS = 3600.0


def new_job_id(mode: str) -> str:
    return f"{mode}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


class JobService:
    def __init__(self, deployments: DeploymentService, progress: Callable[[str], None] | None = None) -> None:
        self.deployments = deployments
        self.store = deployments.store
        self.progress = progress or (lambda message: None)

    # -- which deployment --------------------------------------------------------------------
    def resolve_deployment(self, name: str | None) -> DeploymentRecord:
        if name is None:
            names = self.store.names()
            if not names:
                raise UserError("-d/--deployment: there is no deployment yet",
                                hint="isaacctl deploy local --name desk (or ssh, aws)")
            if len(names) > 1:
                raise UserError(f"-d/--deployment: expected one of {', '.join(names)} (there are several)")
            name = names[0]
        return self.store.load(name)

    def ready_deployment(self, name: str | None) -> DeploymentRecord:
        record = self.resolve_deployment(name)
        if record.status != "ready" or not runtime_for(record).ready(record) or not record.host_root:
            raise UserError(
                f"-d/--deployment: {record.name} is {record.status}, not ready for jobs",
                hint=f"isaacctl bootstrap {record.name}",
            )
        return record

    def _remote(self, deployment: str) -> Remote:
        return self.deployments.remote(deployment)

    @staticmethod
    def runtime(record: DeploymentRecord) -> Runtime:
        return runtime_for(record)

    @staticmethod
    def generation(record: DeploymentRecord) -> Generation:
        """The Isaac Lab generation the deployment's image belongs to."""
        return generation_for(record.isaaclab_version, record.image)

    # -- start -------------------------------------------------------------------------------
    def submit(self, deployment: str | None, spec: JobSpec, *, command: list[str] | None = None) -> JobRecord:
        """command: an Isaac Lab command to run in the spec's place (a generation's own
        benchmark); the spec still names the job's task and library."""
        from isaacctl.records import JobRecord

        record = self.ready_deployment(deployment)
        assert record.host_root is not None and spec.rl_library is not None
        generation, runtime = self.generation(record), self.runtime(record)
        job_id = new_job_id(spec.mode)
        staging = Staging(job_dir=f"{record.host_root}/jobs/{job_id}", generation=generation, runtime=runtime)
        with self._remote(record.name) as remote:
            checkpoint = resume = None
            if spec.mode == "evaluate":
                checkpoint = self._evaluation_checkpoint(remote, record, spec, staging)
            elif spec.resume:
                resume = self._resume_from(remote, record, spec, staging)
            if command is None:
                command = commands.isaaclab_argv(spec, checkpoint=checkpoint, resume=resume, generation=generation,
                                                 run_timestamp=generation.run_timestamp(datetime.now()),
                                                 cpu=record.gpus == "none")
            if runtime.name == "pip":
                command = runtime.command(record, command)  # type: ignore[attr-defined]
            job = JobRecord(
                id=job_id, deployment=record.name, mode=spec.mode, task=spec.task,
                rl_library=spec.rl_library, spec=spec.model_dump(mode="json"), command=command,
                container=runtime.handle(record, job_id), host_dir=staging.job_dir,
                checkpoint=checkpoint,
            )
            self.store.save_job(job)
            try:
                self.progress(f"preparing {staging.job_dir}")
                self._stage(remote, record, spec, job, staging)
                self.progress(f"starting {job.container} ({runtime.name} runtime)")
                env = {"ISAACSIM_ASSET_ROOT": record.asset_root} if record.asset_root else {}
                runtime.start(remote, Launch(record=record, job=job, generation=generation, command=command,
                                             video=spec.video, env=env))
            except BaseException as exc:  # a job that never started must not look "starting"
                job.status, job.error = "failed", failure_reason(exc)
                job.finished_at = datetime.now(timezone.utc)
                self.store.save_job(job)
                raise
            job.status, job.started_at = "running", datetime.now(timezone.utc)
            self.store.save_job(job)
        return job

    def _stage(self, remote: Remote, record: DeploymentRecord, spec: JobSpec, job: JobRecord, staging: Staging) -> None:
        """The job's folder on the host in one round trip (run.sh, spec.json, logs/, the
        extension, an uploaded checkpoint), then copies of earlier runs made on the host."""
        with tempfile.TemporaryDirectory(prefix="isaacctl-job-") as scratch:
            folder = Path(scratch) / job.id
            (folder / "logs").mkdir(parents=True)
            (folder / "run.sh").write_bytes(staging.runtime.runner())
            (folder / "run.sh").chmod(0o755)
            (folder / "spec.json").write_text(json.dumps(
                {"job": job.id, "deployment": record.name, "runtime": staging.runtime.name, "image": record.image,
                 "isaaclab_python": record.isaaclab_python,
                 "spec": job.spec, "command": job.command}, indent=2) + "\n")
            if spec.extension:
                source = Path(spec.extension)
                (folder / "extension").mkdir()
                target = folder / "extension" / source.name
                shutil.copytree(source, target) if source.is_dir() else shutil.copy2(source, target)
            for local, relative in staging.uploads:
                target = folder / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(local, target)
            remote.put_tree(folder, f"{record.host_root}/jobs")
        for source, target_folder in staging.host_copies:
            result = remote.run(["sh", "-c", 'mkdir -p "$2" && cp -a "$1" "$2/"', "sh", source, target_folder])
            if not result.ok:
                raise RemoteError(f"cannot copy {source} for {job.id}: {result.tail(3)}")

    # -- checkpoints -------------------------------------------------------------------------
    def _latest_training(self, record: DeploymentRecord, spec: JobSpec) -> JobRecord:
        finished = [job for job in self.refresh(record.name)
                    if job.mode == "train" and job.task == spec.task and job.rl_library == spec.rl_library
                    and job.status in ("succeeded", "cancelled")]
        if not finished:
            raise UserError(f"--checkpoint: no finished {spec.rl_library} training of {spec.task} on "
                            f"{record.name} to take a checkpoint from; give --checkpoint PATH or JOB")
        return max(finished, key=lambda job: job.created_at)

    def _find_checkpoint(self, remote: Remote, source: JobRecord, library: str, wanted: str | None,
                         best: bool = False) -> str:
        files = [f.path for f in list_files(remote, f"{source.host_dir}/logs")]
        chosen = best_checkpoint(library, files) if best else newest_checkpoint(library, files, wanted)
        if chosen is None:
            what = f"a checkpoint named {wanted!r}" if wanted else f"a {library} checkpoint"
            raise UserError(f"--checkpoint: job {source.id} has no {what}")
        return chosen

    def _evaluation_checkpoint(self, remote: Remote, record: DeploymentRecord, spec: JobSpec, staging: Staging) -> str:
        """The checkpoint's path as the evaluation sees it. It is placed in the
        evaluation's own logs, because play.py writes exported/ and videos/ next to it."""
        assert spec.rl_library is not None
        logs = staging.runtime.logs_path(staging.generation, staging.job_dir)
        reference = spec.checkpoint
        local = Path(reference).expanduser() if reference else None
        if local is not None and (local.is_file() or local.is_symlink()):
            self._check_upload(local)
            relative = f"{spec.rl_library}/uploaded/{time.strftime('%Y-%m-%d_%H-%M-%S')}/{local.name}"
            staging.uploads.append((local, f"logs/{relative}"))
            return f"{logs}/{relative}"
        if reference and (":" not in reference and "/" in reference or reference.endswith((".pt", ".pth", ".zip"))):
            raise UserError(f"--checkpoint: {reference!r} is not a local file (nor a JOB[:FILE])")
        # Isaac Lab 3's latest/best would look in this job's own empty logs/: isaacctl resolves
        # them itself, among the finished trainings, and passes the file.
        keyword = reference if reference in staging.generation.checkpoint_keywords else None
        if reference and keyword is None:
            job_ref, _, wanted = reference.partition(":")
            source = self.store.find_job(job_ref, record.name)
        else:
            source, wanted = self._latest_training(record, spec), ""
        relative = self._find_checkpoint(remote, source, spec.rl_library, wanted or None, best=keyword == "best")
        parent = relative.rsplit("/", 1)[0]
        staging.host_copies.append((f"{source.host_dir}/logs/{relative}", f"{staging.job_dir}/logs/{parent}"))
        return f"{logs}/{relative}"

    def _check_upload(self, local: Path) -> None:
        """Only a regular file goes to the host. A symbolic link is refused even when the user
        names it: one planted in a job's folder (model_200.pt -> ~/.ssh/id_ed25519) must not
        carry a private file off this machine; naming the file it points to is the way."""
        if local.is_symlink():
            raise UserError(f"--checkpoint: {str(local)!r} is a symbolic link; give the file itself "
                            f"({os.path.realpath(local)}) if that is what you mean to upload")
        if not stat.S_ISREG(local.stat().st_mode):
            raise UserError(f"--checkpoint: {str(local)!r} is not a regular file")
        # Inside isaacctl's state (fetched artifacts), a linked folder on the way must not lead
        # out of it either.
        state_root = os.path.realpath(self.store.root)
        given, real = os.path.abspath(local), os.path.realpath(local)
        inside_state = any(given.startswith(root + os.sep) for root in (state_root, os.path.abspath(self.store.root)))
        if inside_state and not real.startswith(state_root + os.sep):
            raise UserError(f"--checkpoint: {str(local)!r} leads out of isaacctl's state folder "
                            f"(to {real}); give that file itself if you mean it")

    def _resume_from(self, remote: Remote, record: DeploymentRecord, spec: JobSpec, staging: Staging) -> commands.Resume:
        assert spec.resume is not None and spec.rl_library is not None
        job_ref, _, wanted = spec.resume.partition(":")
        source = self.store.find_job(job_ref, record.name)
        if source.mode != "train" or source.rl_library != spec.rl_library:
            raise UserError(f"--resume: {source.id} is not a {spec.rl_library} training job")
        relative = self._find_checkpoint(remote, source, spec.rl_library, wanted or None)
        library, experiment, run_folder = relative.split("/")[:3]
        # The whole run folder: rsl_rl finds --load_run under logs/rsl_rl/<experiment>/.
        staging.host_copies.append((f"{source.host_dir}/logs/{library}/{experiment}/{run_folder}",
                                    f"{staging.job_dir}/logs/{library}/{experiment}"))
        return commands.Resume(run_folder=run_folder, checkpoint_file=relative.rsplit("/", 1)[-1],
                               container_path=f"{staging.runtime.logs_path(staging.generation, staging.job_dir)}/{relative}")

    # -- watch -------------------------------------------------------------------------------
    def refresh(self, deployment: str) -> list[JobRecord]:
        """Every job of a deployment, unfinished ones brought up to date from the host."""
        jobs = self.store.jobs(deployment)
        open_jobs = [job for job in jobs if not job.finished]
        if not open_jobs:
            return jobs
        try:
            self._refresh_open(deployment, open_jobs)
        except RemoteError as exc:
            self.progress(f"{deployment}: {exc.message}; showing what was last known")
        return jobs

    def _refresh_open(self, deployment: str, open_jobs: list[JobRecord]) -> None:
        runtime = self.runtime(self.store.load(deployment))
        with self._remote(deployment) as remote:
            states = runtime.states(remote, open_jobs)
            ended = []
            for job in open_jobs:
                if self._apply_state(job, states.of(job.id)):
                    ended.append(job)
            summaries = summarize_jobs(remote, str(Path(open_jobs[0].host_dir).parent),
                                       [job.id for job in open_jobs])
            for job in open_jobs:
                summary = summaries.get(job.id) or {}
                job.last_iteration = summary.get("last_step", job.last_iteration)
                job.mean_reward = summary.get("mean_reward", job.mean_reward)
                if job in ended and job.status == "failed":
                    job.error = self._output_tail(remote, job)
                self.store.save_job(job)

    @staticmethod
    def _apply_state(job: JobRecord, state: JobState | Unknown | None) -> bool:
        """Update a job from what its runtime says (None: the host says it is gone);
        True when it has just ended."""
        if isinstance(state, Unknown):
            # Left open, so the next look asks again; never taken for an ending.
            job.status, job.error = "unknown", state.reason
            return False
        if state is None:
            if job.cancel_requested:  # killed after its grace period, before it said so
                job.status, job.error = "cancelled", None
            else:
                job.status, job.error = "failed", "it is gone from the host without an exit status"
            job.finished_at = job.finished_at or datetime.now(timezone.utc)
            return True
        job.started_at = state.started_at or job.started_at
        if state.running:
            job.status, job.error = "running", None
            return False
        job.exit_code = state.exit_code
        code = state.exit_code
        job.finished_at = state.finished_at or datetime.now(timezone.utc)
        job.status = "cancelled" if job.cancel_requested else ("succeeded" if code == 0 else "failed")
        if job.status != "failed":
            job.error = None
        return True

    @staticmethod
    def _output_tail(remote: Remote, job: JobRecord, lines: int = 15) -> str:
        result = remote.run(["tail", "-n", str(lines), f"{job.host_dir}/output.txt"])
        return result.stdout.rstrip() if result.ok else ""

    def get(self, job_ref: str, deployment: str | None = None) -> JobRecord:
        job = self.store.find_job(job_ref, deployment)
        if not job.finished:
            job = next(j for j in self.refresh(job.deployment) if j.id == job.id)
        return job

    def follow(self, job: JobRecord, emit: Callable[[str], None], *, follow: bool, tail: int | None,
               on_reconnect: Callable[[str], None] = lambda message: None) -> JobRecord:
        """Stream the job's output (to its end with follow); returns the job as it is then."""
        runtime = self.runtime(self.store.load(job.deployment))
        runtime.stream_logs(lambda: self._remote(job.deployment), job, emit,
                            follow=follow, tail=tail, on_reconnect=on_reconnect)
        return self.get(job.id, job.deployment)

    # -- cancel ------------------------------------------------------------------------------
    def cancel(self, job_ref: str, deployment: str | None = None,
               grace: float = CANCEL_GRACE_SECONDS) -> JobRecord:
        """SIGINT first, so the run can save; SIGKILL after the grace period. Files are kept.
        The cancellation is recorded only once the host took the signal: a job whose host
        could not be reached runs on, and must not read "cancelled" when it ends."""
        check_grace(grace)
        job = self.get(job_ref, deployment)
        if job.finished:
            raise UserError(f"job: {job.id} has already {job.status}")
        runtime = self.runtime(self.store.load(job.deployment))
        with self._remote(job.deployment) as remote:
            if not runtime.interrupt(remote, job):
                # It ended on its own meanwhile: what it ended as is the answer.
                return self.get(job.id, job.deployment)
            job.cancel_requested = True
            self.store.save_job(job)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                state = runtime.states(remote, [job]).of(job.id)
                if state is None or (isinstance(state, JobState) and not state.running):
                    break
                time.sleep(0.5)
            else:
                self.progress(f"{job.id} still running after {grace:g} s: killing it")
                runtime.kill(remote, job)
        return self.get(job.id, job.deployment)


def check_grace(grace: float) -> None:
    if not (math.isfinite(grace) and 0 <= grace <= MAX_CANCEL_GRACE_SECONDS):
        raise UserError(f"--grace: expected seconds from 0 to {MAX_CANCEL_GRACE_SECONDS:g}, got {grace}")


@dataclass
class Staging:
    """What goes into a new job's folder besides its own files."""

    job_dir: str
    generation: Generation = field(default_factory=lambda: generation_for(None))
    runtime: Runtime = field(default_factory=lambda: runtime_for_name("container"))
    uploads: list[tuple[Path, str]] = field(default_factory=list)  # local file -> relative path
    host_copies: list[tuple[str, str]] = field(default_factory=list)  # host path -> host folder
