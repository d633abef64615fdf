"""Jobs: start Isaac Lab training and evaluation detached on the host, watch, cancel. How a
job runs there (a container, a process group) is the deployment's runtime's (isaacctl/runtimes)."""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import stat
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from isaacctl.errors import IsaacctlError, RemoteError, UserError, failure_reason
from isaacctl.isaaclab import Generation, Rendezvous, generation_for
from isaacctl.runtimes import JobState, Launch, Runtime, Unknown, runtime_for
from isaacctl.runtimes import runtime as runtime_for_name
from isaacctl.runtimes.base import EarlyOutput, Preparation
from isaacctl.services.jobs import command as commands
from isaacctl.services.jobs.checkpoints import best_checkpoint, newest_checkpoint
from isaacctl.services.jobs.connections import Connections
from isaacctl.services.jobs.host_files import list_files, summarize_jobs
from isaacctl.services.jobs.placement import MULTI_NODE_ENV, place

if TYPE_CHECKING:
    from isaacctl.records import DeploymentRecord, JobRecord, NodeRun
    from isaacctl.remote import Remote
    from isaacctl.services.deployments import DeploymentService
    from isaacctl.services.jobs.spec import JobSpec

CANCEL_GRACE_SECONDS = 30.0
MAX_CANCEL_GRACE_SECONDS = 3600.0
NODES_SETTLE_SECONDS = 120.0


def new_job_id(mode: str) -> str:
    return f"{mode}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{os.urandom(2).hex()}"  # secrets: ~5 ms of imports


def node_job_id(job_id: str, index: int) -> str:
    """What names node K's part on its host: its own container and folder, so that nodes
    sharing a Docker engine or a file system (adopted hosts, the tests) never collide."""
    return job_id if index == 0 else f"{job_id}-node{index}"


def node_view(job: JobRecord, run: NodeRun) -> JobRecord:
    """The job as one node's runtime sees it (its id, container, folder and command)."""
    return job.model_copy(
        update={
            "id": node_job_id(job.id, run.index),
            "container": run.container,
            "host_dir": run.host_dir,
            "command": run.command,
            "node_runs": [],
        }
    )


class JobService:
    def __init__(self, deployments: DeploymentService, progress: Callable[[str], None] | None = None) -> None:
        self.deployments = deployments
        self.store = deployments.store
        self.progress = progress or (lambda message: None)
        self.connections = Connections(lambda name, node: self.deployments.remote(name, node))
        # what each job's start sent back of its output: its stream begins after it
        self.early_output: dict[str, EarlyOutput] = {}

    @contextmanager
    def keeping_connections(self) -> Iterator[None]:
        """Everything done inside reuses one SSH connection per node (each new one costs a
        handshake, ~0.15 s): `train --follow` starts, streams and looks at the end on one."""
        self.connections.keep()
        try:
            yield
        finally:
            self.connections.close()

    # -- which deployment --------------------------------------------------------------------
    def resolve_deployment(self, name: str | None) -> DeploymentRecord:
        if name is None:
            names = self.store.names()
            if not names:
                raise UserError(
                    "-d/--deployment: there is no deployment yet",
                    hint="isaacctl deploy local --name desk (or ssh, aws)",
                )
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

    def _remote(self, deployment: str, node: int = 0) -> Remote:
        return self.connections.remote(deployment, node)

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
        from isaacctl.records import JobRecord, NodeRun

        record = self.ready_deployment(deployment)
        assert record.host_root is not None and spec.rl_library is not None
        generation, runtime = self.generation(record), self.runtime(record)
        spec = place(spec, record, generation)  # nodes and GPUs there are, before anything starts
        job_id = new_job_id(spec.mode)
        staging = Staging(job_dir=f"{record.host_root}/jobs/{job_id}", generation=generation, runtime=runtime)
        with self._remote(record.name) as remote:
            checkpoint = resume = None
            if spec.mode == "evaluate":
                checkpoint = self._evaluation_checkpoint(remote, record, spec, staging)
            elif spec.resume:
                resume = self._resume_from(remote, record, spec, staging)
            rendezvous = self._rendezvous(remote, record, runtime, job_id) if spec.num_nodes > 1 else None
            run_timestamp = generation.run_timestamp(datetime.now())  # one for every node

            def node_command(node_rank: int) -> list[str]:
                argv = command
                if argv is None:
                    argv = commands.isaaclab_argv(
                        spec,
                        checkpoint=checkpoint,
                        resume=resume,
                        generation=generation,
                        run_timestamp=run_timestamp,
                        cpu=record.gpus == "none",
                        rendezvous=replace(rendezvous, node_rank=node_rank) if rendezvous else None,
                    )
                return runtime.command(record, argv) if runtime.name == "pip" else argv  # type: ignore[attr-defined]

            job = JobRecord(
                id=job_id,
                deployment=record.name,
                mode=spec.mode,
                task=spec.task,
                rl_library=spec.rl_library or "",
                spec=spec.model_dump(mode="json"),
                command=node_command(0),
                container=runtime.handle(record, job_id),
                host_dir=staging.job_dir,
                checkpoint=checkpoint,
                nodes=spec.num_nodes,
                gpus_per_node=spec.gpus or 1,
                rendezvous=f"{rendezvous.master_addr}:{rendezvous.master_port}" if rendezvous else None,
            )
            if spec.num_nodes > 1:
                job.node_runs = [
                    NodeRun(
                        index=index,
                        container=runtime.handle(record, node_job_id(job_id, index)),
                        host_dir=f"{record.host_root}/jobs/{node_job_id(job_id, index)}",
                        command=node_command(index),
                    )
                    for index in range(spec.num_nodes)
                ]
            self.store.save_job(job)
            env = {"ISAACSIM_ASSET_ROOT": record.asset_root} if record.asset_root else {}
            if spec.num_nodes > 1:
                env |= MULTI_NODE_ENV
            env |= dict(setting.split("=", 1) for setting in spec.env)
            try:
                self.progress(f"starting {job.container} in {staging.job_dir} ({runtime.name} runtime)")
                early = runtime.start(
                    remote,
                    Launch(
                        record=record,
                        job=job,
                        generation=generation,
                        command=job.command,
                        video=spec.video,
                        env=env,
                        preparation=self._preparation(record, spec, job, staging),
                    ),
                )
                if early is not None:
                    self.early_output[job.id] = early
                if job.node_runs:
                    job.node_runs[0].status = "running"
                    self._start_workers(record, spec, job, generation, runtime, env)
            except BaseException as exc:  # a job that never started must not look "starting"
                job.status, job.error = "failed", failure_reason(exc)
                job.finished_at = datetime.now(timezone.utc)
                self.store.save_job(job)
                if job.node_runs:
                    self._stop_nodes(job, runtime, "the job did not start on every node")
                raise
            job.status, job.started_at = "running", datetime.now(timezone.utc)
            self.store.save_job(job)
        return job

    # -- several nodes -----------------------------------------------------------------------
    def _rendezvous(self, remote: Remote, record: DeploymentRecord, runtime: Runtime, job_id: str) -> Rendezvous:
        """The head's private address (what the other nodes reach over the deployment's
        internal rule), a port free where the job will listen, and the job id as rendezvous id."""
        head = record.node(0)
        address = head.private_ip or head.public_ip
        assert address is not None, "placement checked it"
        return Rendezvous(master_addr=address, master_port=runtime.free_port(remote, record), rdzv_id=job_id)

    def _start_workers(
        self,
        record: DeploymentRecord,
        spec: JobSpec,
        job: JobRecord,
        generation: Generation,
        runtime: Runtime,
        env: dict[str, str],
    ) -> None:
        """Nodes 1.. after the head, which hosts the rendezvous; each gets its own folder (the
        extension too, not the head's checkpoints: several nodes never resume)."""
        for run in job.node_runs[1:]:
            view = node_view(job, run)
            with self._remote(record.name, run.index) as remote:
                self.progress(f"node {run.index}: starting {run.container} in {run.host_dir}")
                staging = Staging(job_dir=run.host_dir, generation=generation, runtime=runtime)
                runtime.start(
                    remote,
                    Launch(
                        record=record,
                        job=view,
                        generation=generation,
                        command=run.command,
                        video=spec.video,
                        env=env,
                        preparation=self._preparation(record, spec, view, staging),
                    ),
                )
            run.status, run.started_at = "running", datetime.now(timezone.utc)
            self.store.save_job(job)

    def _stop_nodes(self, job: JobRecord, runtime: Runtime, why: str, *, but: int | None = None) -> None:
        """Kill every node's part that may still run (one failed: the rest would wait on it
        until NCCL's timeout). A node that cannot be reached is said, not raised."""
        for run in job.node_runs:
            if run.index == but or run.finished:
                continue
            try:
                with self._remote(job.deployment, run.index) as remote:
                    runtime.kill(remote, node_view(job, run))
            except IsaacctlError as exc:
                self.progress(f"{job.id}: could not stop node {run.index}: {exc.message}")
                continue
            run.status, run.error = "cancelled", why
            run.finished_at = run.finished_at or datetime.now(timezone.utc)

    def _preparation(self, record: DeploymentRecord, spec: JobSpec, job: JobRecord, staging: Staging) -> Preparation:
        """The job's folder as a tar (run.sh, spec.json, logs/, the extension, an uploaded
        checkpoint) and the copies of earlier runs to make on the host: the runtime sends
        them with the start, in one round trip."""
        buffer = io.BytesIO()
        with tempfile.TemporaryDirectory(prefix="isaacctl-job-") as scratch:
            folder = Path(scratch) / job.id
            (folder / "logs").mkdir(parents=True)
            (folder / "run.sh").write_bytes(staging.runtime.runner())
            (folder / "run.sh").chmod(0o755)
            (folder / "spec.json").write_text(
                json.dumps(
                    {
                        "job": job.id,
                        "deployment": record.name,
                        "runtime": staging.runtime.name,
                        "image": record.image,
                        "isaaclab_python": record.isaaclab_python,
                        "spec": job.spec,
                        "command": job.command,
                    },
                    indent=2,
                )
                + "\n"
            )
            if spec.extension:
                source = Path(spec.extension)
                (folder / "extension").mkdir()
                target = folder / "extension" / source.name
                shutil.copytree(source, target) if source.is_dir() else shutil.copy2(source, target)
            for local, relative in staging.uploads:
                target = folder / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(local, target)
            with tarfile.open(fileobj=buffer, mode="w") as archive:
                archive.add(str(folder), arcname=folder.name)
        return Preparation(
            jobs_folder=str(Path(staging.job_dir).parent), archive=buffer.getvalue(), copies=list(staging.host_copies)
        )

    # -- checkpoints -------------------------------------------------------------------------
    def _latest_training(self, record: DeploymentRecord, spec: JobSpec) -> JobRecord:
        finished = [
            job
            for job in self.refresh(record.name)
            if job.mode == "train"
            and job.task == spec.task
            and job.rl_library == spec.rl_library
            and job.status in ("succeeded", "cancelled")
        ]
        if not finished:
            raise UserError(
                f"--checkpoint: no finished {spec.rl_library} training of {spec.task} on "
                f"{record.name} to take a checkpoint from; give --checkpoint PATH or JOB"
            )
        return max(finished, key=lambda job: job.created_at)

    def _find_checkpoint(
        self, remote: Remote, source: JobRecord, library: str, wanted: str | None, best: bool = False
    ) -> str:
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
            raise UserError(
                f"--checkpoint: {str(local)!r} is a symbolic link; give the file itself "
                f"({os.path.realpath(local)}) if that is what you mean to upload"
            )
        if not stat.S_ISREG(local.stat().st_mode):
            raise UserError(f"--checkpoint: {str(local)!r} is not a regular file")
        # Inside isaacctl's state (fetched artifacts), a linked folder on the way must not lead
        # out of it either.
        state_root = os.path.realpath(self.store.root)
        given, real = os.path.abspath(local), os.path.realpath(local)
        inside_state = any(given.startswith(root + os.sep) for root in (state_root, os.path.abspath(self.store.root)))
        if inside_state and not real.startswith(state_root + os.sep):
            raise UserError(
                f"--checkpoint: {str(local)!r} leads out of isaacctl's state folder "
                f"(to {real}); give that file itself if you mean it"
            )

    def _resume_from(
        self, remote: Remote, record: DeploymentRecord, spec: JobSpec, staging: Staging
    ) -> commands.Resume:
        assert spec.resume is not None and spec.rl_library is not None
        job_ref, _, wanted = spec.resume.partition(":")
        source = self.store.find_job(job_ref, record.name)
        if source.mode != "train" or source.rl_library != spec.rl_library:
            raise UserError(f"--resume: {source.id} is not a {spec.rl_library} training job")
        relative = self._find_checkpoint(remote, source, spec.rl_library, wanted or None)
        library, experiment, run_folder = relative.split("/")[:3]
        # The whole run folder: rsl_rl finds --load_run under logs/rsl_rl/<experiment>/.
        staging.host_copies.append(
            (
                f"{source.host_dir}/logs/{library}/{experiment}/{run_folder}",
                f"{staging.job_dir}/logs/{library}/{experiment}",
            )
        )
        return commands.Resume(
            run_folder=run_folder,
            checkpoint_file=relative.rsplit("/", 1)[-1],
            container_path=f"{staging.runtime.logs_path(staging.generation, staging.job_dir)}/{relative}",
        )

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
                if not job.node_runs and self._apply_state(job, states.of(job.id)):
                    ended.append(job)
            summaries = summarize_jobs(remote, str(Path(open_jobs[0].host_dir).parent), [job.id for job in open_jobs])
            for job in open_jobs:
                summary = summaries.get(job.id) or {}
                job.last_iteration = summary.get("last_step", job.last_iteration)
                job.mean_reward = summary.get("mean_reward", job.mean_reward)
                if job.node_runs:
                    continue  # saved below, once every node has answered
                if job in ended and job.status == "failed":
                    job.error = self._output_tail(remote, job)
                self.store.save_job(job)
        for job in open_jobs:
            if job.node_runs:
                self._refresh_nodes(job, runtime)
                self.store.save_job(job)

    def _refresh_nodes(self, job: JobRecord, runtime: Runtime) -> None:
        """A job on several nodes is one thing: it runs while any node runs, fails as soon as
        one node fails (the others are stopped then, not left waiting on it), and succeeds
        when every node has. Rank 0 (node 0) writes the events, so the job's step is node 0's;
        as every iteration ends in an all-reduce over all ranks, it is the slowest node's too."""
        for run in job.node_runs:
            if run.finished:
                continue
            view = node_view(job, run)
            try:
                with self._remote(job.deployment, run.index) as remote:
                    state = runtime.states(remote, [view]).of(view.id)
                    ended = self._apply_state(view, state)
                    if ended and view.status == "failed":
                        view.error = self._output_tail(remote, view) or view.error
            except RemoteError as exc:
                state, ended = Unknown(exc.message), False
                self._apply_state(view, state)
            run.status, run.exit_code, run.error = view.status, view.exit_code, view.error
            run.started_at, run.finished_at = view.started_at or run.started_at, view.finished_at
        failed = sorted(
            (run for run in job.node_runs if run.status == "failed"),
            key=lambda run: run.finished_at or datetime.now(timezone.utc),
        )
        if failed and not job.cancel_requested:
            first = failed[0]
            self._stop_nodes(job, runtime, f"stopped: node {first.index} failed")
            job.status, job.exit_code = "failed", first.exit_code
            code = "without an exit status" if first.exit_code is None else f"with exit code {first.exit_code}"
            job.error = f"node {first.index} failed {code}" + (f"\n{first.error}" if first.error else "")
        elif all(run.finished for run in job.node_runs):
            job.status = "cancelled" if job.cancel_requested else "succeeded"
            job.exit_code = 0 if job.status == "succeeded" else job.node_runs[0].exit_code
            job.error = None
        elif any(run.status == "unknown" for run in job.node_runs):
            job.status = "unknown"
            job.error = "; ".join(f"node {run.index}: {run.error}" for run in job.node_runs if run.status == "unknown")
            return
        else:
            job.status, job.error, job.finished_at = "running", None, None
            return
        job.finished_at = max(
            (run.finished_at for run in job.node_runs if run.finished_at), default=datetime.now(timezone.utc)
        )

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

    def follow(
        self,
        job: JobRecord,
        emit: Callable[[str], None],
        *,
        follow: bool,
        tail: int | None,
        on_reconnect: Callable[[str], None] = lambda message: None,
        node: int = 0,
    ) -> JobRecord:
        """Stream the job's output (to its end with follow); returns the job as it is then.
        node: which node's (0, the head, runs rank 0)."""
        runtime = self.runtime(self.store.load(job.deployment))
        view = job
        if node != 0:
            run = next((run for run in job.node_runs if run.index == node), None)
            if run is None:
                spans = f"nodes 0-{job.nodes - 1}" if job.nodes > 1 else "node 0 only"
                raise UserError(f"--node: {job.id} runs on {spans}, not node {node}")
            view = node_view(job, run)
        runtime.stream_logs(
            lambda: self._remote(job.deployment, node),
            view,
            emit,
            follow=follow,
            tail=tail,
            on_reconnect=on_reconnect,
            initial=self.early_output.pop(job.id, None) if view is job and tail is None else None,
        )
        job = self.get(job.id, job.deployment)
        # one node's output has ended; the others end with it (or fail it), moments later
        deadline = time.monotonic() + NODES_SETTLE_SECONDS
        while follow and job.node_runs and not job.finished and time.monotonic() < deadline:
            time.sleep(1.0)
            job = self.get(job.id, job.deployment)
        return job

    # -- cancel ------------------------------------------------------------------------------
    def cancel(self, job_ref: str, deployment: str | None = None, grace: float = CANCEL_GRACE_SECONDS) -> JobRecord:
        """SIGINT first, so the run can save; SIGKILL after the grace period. Files are kept.
        The cancellation is recorded only once the host took the signal: a job whose host
        could not be reached runs on, and must not read "cancelled" when it ends."""
        check_grace(grace)
        job = self.get(job_ref, deployment)
        if job.finished:
            raise UserError(f"job: {job.id} has already {job.status}")
        runtime = self.runtime(self.store.load(job.deployment))
        if job.node_runs:
            return self._cancel_nodes(job, runtime, grace)
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

    def _cancel_nodes(self, job: JobRecord, runtime: Runtime, grace: float) -> JobRecord:
        """Every node at once: SIGINT to each, then each one's kill after the grace period."""
        took = False
        for run in job.node_runs:
            if run.finished:
                continue
            with self._remote(job.deployment, run.index) as remote:
                took = runtime.interrupt(remote, node_view(job, run)) or took
        if not took:  # every node had ended on its own: what it ended as is the answer
            return self.get(job.id, job.deployment)
        job.cancel_requested = True
        self.store.save_job(job)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            job = self.get(job.id, job.deployment)
            if job.finished:
                return job
            time.sleep(0.5)
        self.progress(f"{job.id} still running after {grace:g} s: killing it on every node")
        for run in job.node_runs:
            if not run.finished:
                with self._remote(job.deployment, run.index) as remote:
                    runtime.kill(remote, node_view(job, run))
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
