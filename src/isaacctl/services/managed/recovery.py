"""Managed training: keep a `train --managed` run going until it finishes, across preemptions.

One pass (`ManagedService.tick`) looks at every managed job of the state folder:
  - the provider says its nodes run and the job runs: its checkpoints are synced home;
  - the job ended on its own (succeeded, cancelled, or failed while the machine ran): done;
  - a node is stopped or terminated by the cloud (a preemption), or the job's container ended
    while the cloud took the machine away: recovery.

Recovery starts the machine again where the cloud kept it (provider.start, through the
lifecycle service); when that fails (no capacity) or the machine is gone, every resource the
deployment has is destroyed by its tags first (the provider's verified destroy: nothing leaks),
then the deployment is made again, in the next zone, then on demand when --fallback-on-demand
allows it, and bootstrapped. The newest checkpoint (on the host, else the copy synced home or
the one in the --checkpoint-bucket, restored) is resumed with the library's resume path
through the job service: a run submitted as `--resume JOB:FILE`, told only the iterations
left, whose container and folder then become the managed job's own. Every step is saved before the next, so a controller killed at any point
carries on where it was when it is started again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from isaacctl.errors import IsaacctlError, ProviderError, UserError, failure_reason
from isaacctl.providers.base import InstanceState
from isaacctl.services import checkpoint_store, checkpoint_sync
from isaacctl.services.deployments import BootstrapRequest, DeploymentService
from isaacctl.services.jobs.checkpoints import checkpoint_rank, newest_checkpoint
from isaacctl.services.jobs.host_files import list_files
from isaacctl.services.jobs.service import JobService
from isaacctl.services.lifecycle import LifecycleService
from isaacctl.services.managed import boot_hook

if TYPE_CHECKING:
    from isaacctl.records import DeploymentRecord, JobRecord, ManagedAttempt, ManagedSettings
    from isaacctl.services.secrets import SecretSource
    from isaacctl.state import StateStore

Progress = Callable[[str], None]
DEFAULT_SYNC_SECONDS = 30.0
MAX_RESTARTS_LIMIT = 100
# libraries whose resume continues the iteration count (so "what is left" can be told)
MANAGED_LIBRARIES = ("rsl_rl",)
LOST = (InstanceState.STOPPED, InstanceState.STOPPING, InstanceState.TERMINATED)
# How a run ends when its machine stops under it (SIGKILL, SIGTERM, Docker's unclean stop), or
# None: gone without a status. Seen on a machine that runs again, it was cut short, not failed.
CUT_SHORT = (137, 143, 255, None)


def now() -> datetime:
    return datetime.now(timezone.utc)


def check_flags(*, max_restarts: int, checkpoint_bucket: str | None) -> None:
    """train --managed's own flags, before anything starts."""
    if not 0 <= max_restarts <= MAX_RESTARTS_LIMIT:
        raise UserError(f"--max-restarts: expected 0 to {MAX_RESTARTS_LIMIT}, got {max_restarts}")
    if checkpoint_bucket is not None:
        checkpoint_store.parse(checkpoint_bucket)


@dataclass
class Outcome:
    job: str
    deployment: str
    state: str  # what the pass found or did: running, recovered, succeeded, failed, cancelled, waiting
    detail: str = ""


class ManagedService:
    def __init__(
        self,
        store: StateStore,
        progress: Progress | None = None,
        registry_key: SecretSource | None = None,
        sync_seconds: float = DEFAULT_SYNC_SECONDS,
    ) -> None:
        self.store = store
        self.progress: Progress = progress or (lambda message: None)
        self.deployments = DeploymentService(store, self.progress)
        self.lifecycle = LifecycleService(store, self.progress)
        self.jobs = JobService(self.deployments, self.progress)
        # only a redeploy whose image is not there yet needs the registry key; never stored
        self.registry_key: SecretSource = registry_key or (lambda: None)
        self.sync_seconds = sync_seconds

    # -- enrolment ---------------------------------------------------------------------------
    def settings_for(
        self,
        spec_flags: dict[str, Any],
        *,
        library: str,
        total_iterations: int | None,
        max_restarts: int,
        fallback_on_demand: bool,
        checkpoint_bucket: str | None = None,
        deployment: str | None = None,
    ) -> ManagedSettings:
        from isaacctl.records import ManagedSettings

        if library not in MANAGED_LIBRARIES:
            raise UserError(
                f"--managed: {library} runs cannot be resumed where they stopped yet; "
                f"use --rl-library {' or '.join(MANAGED_LIBRARIES)}"
            )
        if spec_flags.get("resume"):
            raise UserError("--resume: a managed job resumes itself; leave --resume out")
        if (spec_flags.get("num_nodes") or 1) > 1:
            # its resume would need every node's checkpoint and rendezvous again: refused, not half done
            raise UserError("--nodes: a managed job runs on one node (several are not supported yet)")
        if total_iterations is None:
            raise UserError("--max-iterations: a managed job needs the run's length, to resume with what is left")
        if checkpoint_bucket is not None:
            assert deployment is not None
            # before the job starts: a bucket that is not there or refuses writes starts nothing
            checkpoint_store.CheckpointBucket.of(checkpoint_bucket, self.store.load(deployment), "").check_writable()
        return ManagedSettings(
            max_restarts=max_restarts,
            fallback_on_demand=fallback_on_demand,
            total_iterations=total_iterations,
            checkpoint_bucket=checkpoint_bucket,
        )

    def enrol(self, job: JobRecord, settings: ManagedSettings) -> JobRecord:
        """Make a job just submitted a managed one (the `train --managed` hook)."""
        job.managed = settings
        settings.last_seen_running = now()
        job.runs_on = self._where(self.store.load(job.deployment))
        self.store.save_job(job)
        self.store.append_event(
            job.deployment,
            "managed.enrolled",
            job=job.id,
            max_restarts=settings.max_restarts,
            fallback_on_demand=settings.fallback_on_demand,
            checkpoint_bucket=settings.checkpoint_bucket,
        )
        self._describe_run(job, supersedes=None)
        return job

    def _describe_run(self, job: JobRecord, supersedes: str | None) -> None:
        """The current run's resume description on the host, for its boot hook. Without it the
        host resumes nothing itself; the controller still does, so a failure is only said."""
        assert job.managed is not None
        record = self.store.load(job.deployment)
        try:
            description = boot_hook.describe(
                record,
                job,
                boot_hook.run_of(job),
                runtime=self.jobs.runtime(record),
                generation=self.jobs.generation(record),
                restarts_left=job.managed.max_restarts - job.restarts,
            )
            with self.deployments.remote(job.deployment) as remote:
                boot_hook.write(remote, record, description, supersedes)
        except IsaacctlError as exc:
            self.progress(f"{job.id}: the host will not resume it by itself at boot ({exc.message})")

    def _settle(self, job: JobRecord, state: str) -> boot_hook.Settled:
        record = self.store.load(job.deployment)
        with self.deployments.remote(job.deployment) as remote:
            return boot_hook.settle(remote, record, boot_hook.run_of(job), state)

    def _adopt_boot_runs(self, job: JobRecord, chain: list[dict[str, Any]], attempt: ManagedAttempt | None) -> Outcome:
        """Runs the host's boot hook started become the managed job's, one attempt (and one
        restart) each; `attempt`: the controller's own recovery, which the hook was first to."""
        from isaacctl.records import ManagedAttempt

        record = self.store.load(job.deployment)
        runtime = self.jobs.runtime(record)
        for description in chain:
            if attempt is None:
                attempt = ManagedAttempt(
                    number=len(job.attempts) + 1, at=now(), reason="the machine booted with the run cut short"
                )
                job.attempts.append(attempt)
            origin = description.get("resumed_from") or {}
            attempt.action, attempt.job = "boot", str(description["run"])
            attempt.checkpoint, attempt.from_iteration = origin.get("checkpoint"), origin.get("iteration")
            job.container = runtime.handle(record, attempt.job)
            job.host_dir = f"{record.host_root}/jobs/{attempt.job}"
            job.command = list(description.get("command") or job.command)
            job.status, job.exit_code, job.error, job.finished_at = "running", None, None, None
            started = description.get("started_at")
            self._done(job, attempt, record, until=datetime.fromtimestamp(started, timezone.utc) if started else None)
            attempt = None
        return Outcome(job.id, job.deployment, "recovered", f"the host resumed it at boot ({job.runs_on})")

    def active(self) -> list[JobRecord]:
        found = []
        for name in self.store.names():
            try:
                jobs = self.store.jobs(name)
            except IsaacctlError:
                continue
            found += [job for job in jobs if job.managed is not None and job.managed.state in ("running", "recovering")]
        return found

    # -- cancel / destroy --------------------------------------------------------------------
    def cancel(self, job: JobRecord, grace: float) -> JobRecord:
        """Recovery stops first (a controller looking now leaves it alone), then the run is
        interrupted as any job; one whose machine is gone is simply marked cancelled."""
        assert job.managed is not None
        job.managed.state = "cancelled"
        job.cancel_requested = True
        self.store.save_job(job)
        self.store.append_event(job.deployment, "managed.cancelled", job=job.id)
        self._cancel_on_host(job)
        try:
            job = self.jobs.cancel(job.id, job.deployment, grace=grace)
        except IsaacctlError as exc:
            self.progress(f"{job.id}: {exc.message}; recovery is stopped")
            job = self.store.load_job(job.deployment, job.id)
        if not job.finished:
            return job
        if job.status == "failed":  # the container ended with the machine: cancelled, not failed
            job.status, job.error = "cancelled", None
        job.finished_at = job.finished_at or now()
        self.store.save_job(job)
        return job

    def _cancel_on_host(self, job: JobRecord) -> None:
        """The boot hook leaves the run alone from now on; a run it already started becomes
        the job's first, so the cancel reaches the run that is going."""
        try:
            for _ in range(job.managed.max_restarts + 1 if job.managed else 1):
                settled = self._settle(job, "cancelled")
                if not settled.chain:
                    return
                self._adopt_boot_runs(job, settled.chain, None)
                assert job.managed is not None
                job.managed.state = "cancelled"  # adopting said "running"
                self.store.save_job(job)
        except IsaacctlError as exc:
            self.progress(f"{job.id}: the host was not told ({exc.message}); its boot hook may resume the run")

    def running_on(self, deployment: str) -> list[JobRecord]:
        """Managed jobs that recovery is still looking after (destroy asks for --yes)."""
        return [job for job in self.active() if job.deployment == deployment]

    # -- the pass ----------------------------------------------------------------------------
    def tick(self) -> list[Outcome]:
        outcomes = []
        for job in self.active():
            try:
                outcomes.append(self.step(job.deployment, job.id))
            except IsaacctlError as exc:
                # one job's trouble is its own: the next pass tries again
                self.store.append_event(job.deployment, "managed.error", job=job.id, reason=exc.message)
                outcomes.append(Outcome(job.id, job.deployment, "waiting", exc.message))
        return outcomes

    def step(self, deployment: str, job_id: str) -> Outcome:
        if not self.store.exists(deployment):
            return Outcome(job_id, deployment, "cancelled", "the deployment is gone")
        job = self.store.load_job(deployment, job_id)
        assert job.managed is not None
        record = self.store.load(deployment)
        if job.managed.state not in ("running", "recovering"):
            return Outcome(job.id, deployment, job.managed.state)
        if record.status == "destroying":
            return Outcome(job.id, deployment, "waiting", "the deployment is being destroyed")
        if job.managed.recovering_since is not None:
            return self.recover(job, "carrying on with a recovery that was interrupted")
        lost = self._lost_nodes(record)
        if lost:
            return self.recover(job, lost)
        self._fold_current(job)
        job = next(j for j in self.jobs.refresh(deployment) if j.id == job.id)
        assert job.managed is not None
        if job.status == "running":
            job.managed.last_seen_running = now()
            self._sync(job)
            self.store.save_job(job)
            return Outcome(job.id, deployment, "running")
        if job.status in ("unknown", "starting"):
            return Outcome(job.id, deployment, "waiting", job.error or "")
        if job.status == "failed":
            # a container that ended as the cloud took the machine is a preemption, not a failure
            lost = self._lost_nodes(self.store.load(deployment))
            if lost:
                return self.recover(job, lost)
            # the machine runs again (started by the user, the cloud, or the hook's boot):
            # its boot hook may have resumed the run already
            settled = self._settle(job, "-")
            if settled.chain:
                return self._adopt_boot_runs(job, settled.chain, None)
            if job.exit_code in CUT_SHORT:
                return self.recover(job, f"its run was cut short (exit {job.exit_code}) and the machine runs again")
            # a run's own error exit while the machine lives is its failure, left as it is
            self._settle(job, "failed")
        if job.status == "succeeded":
            self._sync(job, force=True)
            try:
                self._settle(job, "done")
            except IsaacctlError as exc:
                self.progress(f"{job.id}: {exc.message}")
        job.managed.state = job.status if job.status in ("succeeded", "failed", "cancelled") else "failed"
        self.store.save_job(job)
        self.store.append_event(deployment, f"managed.{job.managed.state}", job=job.id, restarts=job.restarts)
        return Outcome(job.id, deployment, job.managed.state)

    def _lost_nodes(self, record: DeploymentRecord) -> str | None:
        """Why the cloud took the deployment's machines, or None while they all run."""
        provider, _ = self.deployments.provider_for(record)
        if not provider.capabilities.owns_machines:
            return None  # an adopted machine is never preempted by a cloud
        statuses = provider.query(record)
        gone = [s for s in statuses if s.state in LOST]
        if not gone:
            return None
        return ", ".join(f"node {s.index} ({s.instance_id or '-'}) {s.state.value}" for s in gone)

    def _sync(self, job: JobRecord, force: bool = False) -> None:
        assert job.managed is not None
        last = job.managed.last_sync
        if not force and last is not None and (now() - last).total_seconds() < self.sync_seconds:
            return
        try:
            with self.deployments.remote(job.deployment) as remote:
                checkpoint_sync.pull_checkpoints(self.store, remote, job)
        except IsaacctlError as exc:
            self.progress(f"{job.id}: checkpoints not synced this time ({exc.message})")
            return
        bucket = self._bucket(job)
        if bucket is not None:
            home = checkpoint_sync.home_logs(self.store, job)
            try:
                bucket.upload_new(home, checkpoint_sync.relative_files(home))
            except IsaacctlError as exc:
                # the home copy is there; the next pass uploads what this one could not
                self.progress(f"{job.id}: checkpoints not uploaded to {bucket.url} this time ({exc.message})")
                return
        job.managed.last_sync = now()

    def _bucket(self, job: JobRecord) -> checkpoint_store.CheckpointBucket | None:
        assert job.managed is not None
        if job.managed.checkpoint_bucket is None:
            return None
        record = self.store.load(job.deployment)
        return checkpoint_store.CheckpointBucket.of(job.managed.checkpoint_bucket, record, job.id)

    def _newest_from_bucket(self, job: JobRecord, newer_than: str | None) -> str | None:
        """The bucket's newest checkpoint, brought home, when it is newer than `newer_than`
        (the home copy is missing: another controller machine, a lost home folder)."""
        bucket = self._bucket(job)
        if bucket is None:
            return None
        try:
            found = bucket.newest(job.rl_library)
            if found is None or (newer_than is not None and _iteration(job, found) <= _iteration(job, newer_than)):
                return None
            self.progress(f"downloading {found} from {bucket.url}")
            bucket.download_run(found, checkpoint_sync.home_logs(self.store, job))
            return found
        except IsaacctlError as exc:
            if newer_than is None:
                raise  # nothing else to resume from: the next pass asks the bucket again
            # a checkpoint is at hand: resuming from it loses less than waiting on S3
            self.progress(f"{job.id}: {bucket.url} not read ({exc.message}); resuming from {newer_than}")
            return None

    # -- recovery ----------------------------------------------------------------------------
    def recover(self, job: JobRecord, reason: str) -> Outcome:
        from isaacctl.records import ManagedAttempt

        managed = job.managed
        assert managed is not None
        if managed.recovering_since is None:
            if job.restarts >= managed.max_restarts:
                return self._give_up(
                    job,
                    f"preempted ({reason}) after {job.restarts} restart(s): --max-restarts "
                    f"{managed.max_restarts} reached",
                )
            managed.recovering_since = now()
            managed.state = "recovering"
            job.attempts.append(
                ManagedAttempt(number=len(job.attempts) + 1, at=managed.recovering_since, reason=reason)
            )
            self.store.save_job(job)
            self.store.append_event(job.deployment, "managed.preempted", job=job.id, reason=reason)
            self.progress(f"{job.id}: {reason}; recovering")
        attempt = job.attempts[-1]
        try:
            self._bring_back(job, attempt)
            self._resume(job, attempt)
        except IsaacctlError as exc:
            if self.store.load_job(job.deployment, job.id).cancel_requested:
                return Outcome(job.id, job.deployment, "cancelled")  # `cancel` said so meanwhile
            attempt.error = failure_reason(exc)
            self.store.save_job(job)
            self.store.append_event(job.deployment, "managed.attempt-failed", job=job.id, reason=attempt.error)
            return Outcome(job.id, job.deployment, "waiting", attempt.error)
        return Outcome(job.id, job.deployment, "recovered", attempt.where or "")

    def _give_up(self, job: JobRecord, why: str) -> Outcome:
        assert job.managed is not None
        job.managed.state, job.managed.recovering_since = "failed", None
        job.status, job.error = "failed", why
        job.finished_at = job.finished_at or now()
        self.store.save_job(job)
        self.store.append_event(job.deployment, "managed.failed", job=job.id, reason=why)
        return Outcome(job.id, job.deployment, "failed", why)

    def _bring_back(self, job: JobRecord, attempt: ManagedAttempt) -> None:
        """Until every node runs: start where the cloud kept it, else redeploy elsewhere."""
        record = self.store.load(job.deployment)
        provider, _ = self.deployments.provider_for(record)
        if not provider.capabilities.owns_machines:  # an adopted host is there as it is
            attempt.action = attempt.action or "resume"
            return
        states = {s.state for s in provider.query(record)}
        if states <= {InstanceState.RUNNING} and record.status == "ready":
            attempt.action = attempt.action or "resume"
            return
        if InstanceState.TERMINATED not in states and not attempt.destroyed_old:
            attempt.action = "start"
            self.store.save_job(job)
            try:
                self.progress(f"starting {record.name} again where the cloud kept it")
                self.lifecycle.start(record.name)
                return
            except ProviderError as exc:
                self.progress(f"{record.name} cannot start in place ({exc.message}); redeploying")
                attempt.error = f"start: {exc.message}"
        attempt.action = "redeploy"
        self.store.save_job(job)
        self._redeploy(job, attempt)

    def _redeploy(self, job: JobRecord, attempt: ManagedAttempt) -> None:
        """Destroy by tags first (the old machine and everything it had), then make it again:
        next zone, then on demand when allowed. The state folder, jobs and home copies stay."""
        assert job.managed is not None
        name = job.deployment
        with self.store.lock(name):
            record = self.store.load(name)
            provider, options = self.deployments.provider_for(record)
            if not attempt.destroyed_old:
                after = self._next_zone(provider, record, options)
                self.progress(
                    f"deleting what {name} had in {record.zone or record.region or provider.name} (by its tags)"
                )
                self.store.append_event(name, "managed.destroy-old", job=job.id, zone=record.zone)
                provider.destroy(self.deployments.context(record, options))
                attempt.destroyed_old = True
                self.store.save_job(job)
                # the old nodes stay in the record until create returns the new ones: `jobs`
                # meanwhile still has a node to ask (and learns nothing from a gone machine)
                record.options, record.status = after, "creating"
                self.store.save(record)
        request = self._bootstrap_request(record)
        choices = [record.options]
        if record.options.get("spot") and job.managed.fallback_on_demand:
            choices.append({**record.options, "spot": False})
        last: IsaacctlError | None = None
        for raw in choices:
            with self.store.lock(name):
                record = self.store.load(name)
                record.options = raw
                self.store.save(record)
            try:
                self.progress(f"deploying {name} again ({self._describe(raw)})")
                self.deployments.deploy(record.provider, name, raw, bootstrap=request)
                return
            except ProviderError as exc:
                last = exc
                self.progress(f"{name}: {exc.message}")
                # it may have made part of it before failing: nothing of it may stay
                with self.store.lock(name):
                    record = self.store.load(name)
                    provider.destroy(self.deployments.context(record, self.deployments.provider_for(record)[1]))
                    record.status = "creating"
                    self.store.save(record)
        raise last or ProviderError(f"{name}: no placement left to try")

    @staticmethod
    def _describe(raw: dict[str, Any]) -> str:
        where = raw.get("zone") or raw.get("region") or raw.get("location") or "default placement"
        return f"{where}, {'spot' if raw.get('spot') else 'on demand'}"

    @staticmethod
    def _next_zone(provider: Any, record: DeploymentRecord, options: Any) -> dict[str, Any]:
        """The options to deploy with: the zone after the one that was preempted first (the
        provider's own failover tries the region's others after it)."""
        raw: dict[str, Any] = options.model_dump(mode="json")
        if "zone" not in raw or not record.zone:
            return raw
        try:
            resolved = provider.plan(record.name, options).resolved
        except IsaacctlError:
            return raw
        # Azure plans (location, zone) places, the deployment's own location first
        zones = list(
            resolved.get("zones") or [z for loc, z in resolved.get("places") or [] if z and loc == record.region]
        )
        if record.zone in zones and len(zones) > 1:
            raw["zone"] = zones[(zones.index(record.zone) + 1) % len(zones)]
        return raw

    def _bootstrap_request(self, record: DeploymentRecord) -> BootstrapRequest:
        """What the last bootstrap used (the record keeps it); the key only from where the
        controller was told (NGC_API_KEY, watch --ngc-api-key-file), never from a file of ours."""
        from isaacctl.services.bootstrap import BootstrapSettings

        settings = BootstrapSettings(
            image=record.image or "",
            gpus=record.gpus,
            registry_user=record.registry_user or "$oauthtoken",
            isaaclab_version=record.isaaclab_version,
            runtime=record.runtime,
            isaaclab_python=record.isaaclab_python,
            asset_root=record.asset_root,
        )
        key = self.registry_key if record.runtime == "container" else (lambda: None)
        return BootstrapRequest(settings=settings, registry_key=key)

    def _resume(self, job: JobRecord, attempt: ManagedAttempt) -> None:
        """The newest checkpoint (the host's, else the one synced home) resumed by the job
        service; the new run's container and folder become the managed job's."""
        from isaacctl.services.jobs.spec import JobSpec

        managed = job.managed
        assert managed is not None
        record = self.store.load(job.deployment)
        if self._lost_nodes(record):  # preempted again while coming back: go round once more
            raise ProviderError(f"{record.name} was preempted again while it came back")
        with self.deployments.remote(record.name) as remote:
            # an earlier attempt's run may still be going (a controller killed after it started)
            current = (
                self.store.load_job(job.deployment, attempt.job)
                if attempt.job
                and attempt.job != job.id
                and (self.store.paths(job.deployment).jobs / f"{attempt.job}.json").exists()
                else None
            )
            if current is not None:
                self._fold(job, current)
            if attempt.job and job.container.endswith(attempt.job):
                state = self.jobs.runtime(record).states(remote, [job]).of(job.id)
                if state is not None and getattr(state, "running", False):
                    self._done(job, attempt, record)
                    self._describe_run(job, supersedes=None)
                    return
            # the host's boot hook and this controller never both resume it: the run is
            # claimed under the host's lock, or what the hook started instead is adopted
            claim = boot_hook.settle(remote, record, boot_hook.run_of(job), "claimed")
            if claim.chain:
                self._adopt_boot_runs(job, claim.chain, attempt)
                return
            on_host = [f.path for f in list_files(remote, f"{job.host_dir}/logs")]
            chosen = newest_checkpoint(job.rl_library, on_host)
            at_home = checkpoint_sync.newest_at_home(self.store, job)
            ahead = (
                at_home
                if chosen is None or (at_home and _iteration(job, at_home) > _iteration(job, chosen))
                else chosen
            )
            at_home = self._newest_from_bucket(job, ahead) or at_home
            if at_home is not None and (chosen is None or _iteration(job, at_home) > _iteration(job, chosen)):
                self.progress(f"restoring {at_home} from home")
                checkpoint_sync.restore(self.store, remote, job, at_home)
                chosen = at_home
        spec = JobSpec.model_validate(job.spec)
        if chosen is None:  # preempted before the first save: the run starts over
            attempt.checkpoint, attempt.from_iteration = None, 0
            spec = spec.model_copy(update={"max_iterations": managed.total_iterations})
        else:
            done = _iteration(job, chosen)
            attempt.checkpoint, attempt.from_iteration = chosen, done
            # rsl_rl resumes at the checkpoint's iteration and runs max_iterations more
            left = max(1, managed.total_iterations - done)
            spec = spec.model_copy(update={"resume": f"{job.id}:{chosen.rsplit('/', 1)[-1]}", "max_iterations": left})
        self.store.save_job(job)
        if self.store.load_job(job.deployment, job.id).cancel_requested:
            raise UserError(f"job: {job.id} was cancelled during its recovery")
        started = self.jobs.submit(record.name, spec)
        attempt.job = started.id
        self.store.save_job(job)  # before the fold: a controller killed here finds the run
        previous = boot_hook.run_of(job)
        self._fold(job, started)
        self._done(job, attempt, self.store.load(record.name))
        self._describe_run(job, supersedes=previous)

    def _fold(self, job: JobRecord, run: JobRecord) -> None:
        """The run that carries on becomes the managed job's: one id for the user throughout."""
        job.container, job.host_dir, job.command = run.container, run.host_dir, run.command
        job.status, job.exit_code, job.error, job.finished_at = "running", None, None, None
        job.started_at = job.started_at or run.started_at
        self.store.save_job(job)
        self.store.remove_job(run.deployment, run.id)

    def _fold_current(self, job: JobRecord) -> None:
        """A record another command saved with the previous run's container (it read it before
        a recovery and wrote after) gets the current one back."""
        if job.attempts and job.attempts[-1].job and job.attempts[-1].result == "ok":
            current = job.attempts[-1].job
            if not job.container.endswith(current):
                record = self.store.load(job.deployment)
                job.container = self.jobs.runtime(record).handle(record, current)
                job.host_dir = f"{record.host_root}/jobs/{current}"
                job.status, job.finished_at, job.exit_code = "running", None, None
                self.store.save_job(job)

    def _done(
        self, job: JobRecord, attempt: ManagedAttempt, record: DeploymentRecord, until: datetime | None = None
    ) -> None:
        """until: when the run started again (the boot hook's time), else now."""
        managed = job.managed
        assert managed is not None
        since = managed.last_seen_running or managed.recovering_since or attempt.at
        attempt.lost_seconds = round(max(0.0, ((until or now()) - since).total_seconds()), 1)
        attempt.where, attempt.result, attempt.error = self._where(record), "ok", None
        job.lost_seconds = round(job.lost_seconds + attempt.lost_seconds, 1)
        job.restarts += 1
        job.runs_on = attempt.where
        managed.state, managed.recovering_since, managed.last_seen_running = "running", None, until or now()
        self.store.save_job(job)
        self.store.append_event(
            job.deployment,
            "managed.resumed",
            job=job.id,
            run=attempt.job,
            action=attempt.action,
            where=attempt.where,
            checkpoint=attempt.checkpoint,
        )
        self.progress(f"{job.id} runs again on {attempt.where} from {attempt.checkpoint or 'the start'}")

    @staticmethod
    def _where(record: DeploymentRecord) -> str:
        head = record.head
        place = record.zone or record.region
        parts = [record.provider, place, record.market, head.instance_id if head else None]
        return " ".join(p for p in parts if p)


def _iteration(job: JobRecord, path: str) -> int:
    rank = checkpoint_rank(job.rl_library, path)
    return rank[1] if rank else -1  # (kind, number)
