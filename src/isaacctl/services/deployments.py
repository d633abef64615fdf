"""Deployments: create (idempotently, recording every resource), list, inspect, destroy."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from isaacctl.errors import (
    DeploymentExists,
    IsaacctlError,
    ProviderError,
    RemoteError,
    UserError,
    failure_reason,
    from_validation,
)
from isaacctl.providers.base import CloudResource, DeployContext, InstanceState, NodeStatus, Plan, Provider
from isaacctl.providers.registry import get_provider
from isaacctl.services import containers
from isaacctl.services.connection import describe_connection
from isaacctl.state import StateStore, validate_name

if TYPE_CHECKING:
    from pydantic import BaseModel

    from isaacctl.records import DeploymentRecord, JobRecord, Node
    from isaacctl.remote import Remote
    from isaacctl.services.bootstrap import BootstrapResult, BootstrapSettings, StepEvent
    from isaacctl.services.bootstrap.pull_progress import PullProgress
    from isaacctl.services.secrets import SecretSource

Progress = Callable[[str], None]
REACHABLE_TIMEOUT_SECONDS = 600.0
# `list --refresh` waits this long for a deployment another command is working on, then shows
# it as busy rather than holding up the whole list.
REFRESH_LOCK_TIMEOUT_SECONDS = 5.0
REFRESH_WORKERS = 8


def validate_options(provider: Provider[Any], raw: dict[str, Any]) -> BaseModel:
    """Provider[Any] options from CLI flags; the first problem becomes a one-line error naming the flag."""
    from pydantic import ValidationError

    try:
        options: BaseModel = provider.options_model.model_validate(raw)
        return options
    except ValidationError as exc:
        raise from_validation(exc, lambda field: "--" + field.replace(".", "-").replace("_", "-")) from None


def check_capabilities(provider: Provider[Any], options: BaseModel) -> None:
    """Capabilities are read, not decorative: options a provider cannot honour are refused
    before anything is asked of it."""
    caps = provider.capabilities
    nodes = getattr(options, "nodes", 1)
    if nodes > 1 and not caps.multi_node:
        raise UserError(f"--nodes: expected 1, the {provider.name} provider makes one-node deployments only")
    if getattr(options, "spot", False) and not caps.spot:
        raise UserError(f"--spot: the {provider.name} provider has no spot market")


@dataclass
class Prepared:
    """A deploy checked and planned, nothing touched yet: what the user approves."""

    provider: Provider[Any]
    options: BaseModel
    plan: Plan

    @property
    def needs_approval(self) -> bool:
        # Providers that make machines cost money: their plan is shown and confirmed.
        return self.provider.capabilities.owns_machines


@dataclass
class DeployResult:
    record: DeploymentRecord
    resumed: bool
    plan: Plan
    bootstrap: BootstrapResult | None = None


@dataclass
class BootstrapRequest:
    """What `deploy` and `bootstrap` need to make the host ready (None: do not bootstrap)."""

    settings: BootstrapSettings
    registry_key: SecretSource
    on_event: Callable[[StepEvent], None] = lambda event: None
    on_pull: Callable[[PullProgress], None] = lambda progress: None


@dataclass
class DestroyResult:
    name: str
    provider: str
    removed_containers: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class StatusResult:
    record: DeploymentRecord
    live: dict[str, Any] | None = None  # filled by a refresh: what the provider and host say now


@dataclass
class ListEntry:
    record: DeploymentRecord
    error: str | None = None  # why a refresh of this one failed (the others are not affected)


def _when(created: str | None) -> str:
    if not created:
        return "created at an unknown time"
    try:
        return f"created {datetime.fromisoformat(created.replace('Z', '+00:00')):%Y-%m-%d %H:%M} UTC"
    except ValueError:
        return f"created {created}"


def describe_owner(resource: CloudResource) -> str:
    """`deployment 3fa2c1d0 (alice@laptop, created 2026-11-30 14:02 UTC)`"""
    who = resource.creator or "unknown creator"
    ident = resource.deployment_id or "without an id (made before deployment ids)"
    return f"deployment {ident} ({who}, {_when(resource.created)})"


def merge_nodes(record: DeploymentRecord, fresh: list[Node]) -> None:
    """Take the nodes a provider returns (create, wait_reachable, start) as the record's,
    keeping what isaacctl learnt of each machine (facts, bootstrap steps, last state): the
    provider knows addresses, not what bootstrap did. A node on another instance than before
    (its machine was replaced) starts afresh."""
    known = {node.index: node for node in record.nodes}
    for node in fresh:
        old = known.get(node.index)
        if old is None or old is node or old.instance_id != node.instance_id:
            continue
        if node.facts is None:
            node.facts = old.facts
        if not node.bootstrap:
            node.bootstrap = old.bootstrap
        if node.state is None:
            node.state, node.state_at = old.state, old.state_at
    record.nodes = list(fresh)


def preemptions(record: DeploymentRecord, statuses: list[NodeStatus]) -> list[str]:
    """Spot nodes that were running and are now stopped or gone while isaacctl was not
    stopping them: the cloud took them back (a preemption, an eviction). Called before
    learn_status, which overwrites each node's last known state."""
    if record.market != "spot" or record.status not in ("ready", "bootstrapping", "starting"):
        return []
    taken = []
    for status in statuses:
        try:
            node = record.node(status.index)
        except IndexError:
            continue
        if node.state == InstanceState.RUNNING.value and status.state in (
            InstanceState.STOPPING,
            InstanceState.STOPPED,
            InstanceState.TERMINATED,
        ):
            taken.append(
                f"node {node.index} ({node.instance_id or node.address}) was taken back by the cloud "
                f"(spot preemption or eviction); 'isaacctl start {record.name}' brings it back"
            )
    return taken


def learn_status(record: DeploymentRecord, statuses: list[NodeStatus]) -> list[str]:
    """Put what a provider's `query` says into the record: each node's state (and when), a new
    public or private address (and the SSH host, when it was that address). Returns notes on
    what changed that a person should know (a node terminated outside isaacctl)."""
    from isaacctl.records import utc_now

    notes: list[str] = []
    now = utc_now()
    for status in statuses:
        try:
            node = record.node(status.index)
        except IndexError:
            continue
        state = status.state.value
        if state == InstanceState.TERMINATED.value and node.state != state:
            notes.append(f"node {node.index} ({node.instance_id or node.address}) was terminated outside isaacctl")
        node.state, node.state_at = state, now
        if status.instance_id and node.instance_id is None:
            node.instance_id = status.instance_id
        if status.public_ip and status.public_ip != node.public_ip:
            if node.ssh is not None and node.ssh.host == node.public_ip:
                node.ssh.host = status.public_ip
            node.public_ip = status.public_ip
        if status.private_ip and status.private_ip != node.private_ip:
            if node.ssh is not None and node.ssh.host == node.private_ip:
                node.ssh.host = status.private_ip
            node.private_ip = status.private_ip
    states = {node.state for node in record.nodes}
    if notes:
        record.status, record.last_error = "failed", "; ".join(notes)
    elif states == {InstanceState.STOPPED.value} and record.status in ("ready", "starting", "stopping"):
        record.status = "stopped"  # stopped outside isaacctl (the console, an idle policy)
    elif states == {InstanceState.RUNNING.value} and record.status in ("stopped", "stopping", "starting"):
        record.status = "ready"
    return notes


class DeploymentService:
    def __init__(self, store: StateStore, progress: Progress | None = None) -> None:
        self.store = store
        self.progress: Progress = progress or (lambda message: None)

    # -- helpers -----------------------------------------------------------------------------
    def context(self, record: DeploymentRecord, options: BaseModel, plan: Plan | None = None) -> DeployContext[Any]:
        """What a provider gets to act on one deployment; every resource lands in events.jsonl."""

        def on_resource(phase: str, kind: str, resource_id: str, details: dict[str, Any]) -> None:
            self.store.append_event(record.name, f"resource.{phase}", kind=kind, id=resource_id, **details)

        paths = self.store.paths(record.name)
        return DeployContext(
            record=record,
            options=options,
            on_resource=on_resource,
            known_hosts_file=str(paths.known_hosts),
            on_progress=self.progress,
            plan=plan,
            private_key_file=str(paths.private_key),
        )

    def provider_for(self, record: DeploymentRecord) -> tuple[Provider[Any], BaseModel]:
        provider = get_provider(record.provider)
        return provider, validate_options(provider, record.options)

    def remote(self, name: str, node: int = 0) -> Remote:
        """How to run commands on one node (0: the head)."""
        record = self.store.load(name)
        indexes = [each.index for each in record.nodes]
        if node not in indexes:
            have = ", ".join(map(str, indexes)) or "none"
            raise UserError(f"--node: deployment {name!r} has node(s) {have}, not {node}")
        provider = get_provider(record.provider)
        return provider.remote(record, str(self.store.paths(name).known_hosts), node)

    # -- deploy ------------------------------------------------------------------------------
    def prepare(self, provider_name: str, name: str, raw_options: dict[str, Any]) -> Prepared:
        """Everything that can fail on bad input or missing credentials, before anything is
        touched; the plan says what will be made and what it costs."""
        validate_name(name)
        provider = get_provider(provider_name)
        options = validate_options(provider, raw_options)
        check_capabilities(provider, options)
        credentials = provider.check_credentials(options)
        if not credentials.ok:
            raise ProviderError(f"credentials: {credentials.identity}", hint=credentials.hint)
        if provider.capabilities.owns_machines:
            self._refuse_foreign(provider, options, name)
        self.progress(f"planning {provider.name} workstation {name}")
        return Prepared(provider, options, provider.plan(name, options))

    def _refuse_foreign(self, provider: Provider[Any], options: BaseModel, name: str) -> None:
        """A name is unique per state folder, not per cloud account: another folder (another
        person) may have a live deployment of the same name. Its resources carry another id;
        touching them would adopt, or later delete, someone else's machines."""
        record = self.store.load(name) if self.store.exists(name) else None
        if record is not None and record.provider != provider.name:
            return  # deploy refuses it as another provider's deployment
        self.progress(f"checking that {name} is not another deployment's")
        resources = provider.list_tagged(options, name)
        if record is None:
            foreign = [r for r in resources if r.deployment == name]
        else:
            foreign = [
                r for r in resources if r.deployment == name and r.deployment_id and r.deployment_id != record.id
            ]
        if not foreign:
            return
        other = foreign[0]
        region = other.region or getattr(options, "region", None)
        where = f"{provider.name} {region}" if region else provider.name
        if record is None:
            raise DeploymentExists(
                f"name: {name!r} is taken in {where} by {describe_owner(other)}; choose another name"
            )
        raise DeploymentExists(
            f"name: {name!r} in {where} is also used by {describe_owner(other)}, not this state "
            f"folder's {record.id}; choose another name"
        )

    def deploy(
        self,
        provider_name: str,
        name: str,
        raw_options: dict[str, Any],
        bootstrap: BootstrapRequest | None = None,
        prepared: Prepared | None = None,
    ) -> DeployResult:
        from isaacctl.records import DeploymentRecord

        prepared = prepared or self.prepare(provider_name, name, raw_options)
        provider, options, plan = prepared.provider, prepared.options, prepared.plan
        wanted = options.model_dump(mode="json")
        with self.store.lock(name, create=True):
            resumed = self.store.exists(name)
            if resumed:
                record = self.store.load(name)
                self.check_same_deployment(record, provider, wanted)
            else:
                record = DeploymentRecord(name=name, provider=provider_name, options=wanted)
                self.store.create(record)
            self.store.append_event(name, "deploy.start", provider=provider_name, resumed=resumed)
            try:
                self._bring_up(provider, options, record, plan)
            except BaseException as exc:
                self._record_failure(record, provider, exc, resumed=resumed)
                raise
            result = DeployResult(record=record, resumed=resumed, plan=plan)
            if bootstrap is not None:
                result.bootstrap = self._bootstrap_locked(provider, record, bootstrap)
            self.store.append_event(name, "deploy.done")
        return result

    @staticmethod
    def check_same_deployment(record: DeploymentRecord, provider: Provider[Any], wanted: dict[str, Any]) -> None:
        if record.provider != provider.name:
            raise DeploymentExists(
                f"name: {record.name!r} is already a {record.provider} deployment; "
                f"destroy it first or choose another name"
            )
        # Both sides through the options model: an option a newer release added (with its
        # default) does not make an existing deployment "differ".
        stored = validate_options(provider, record.options).model_dump(mode="json")
        if stored != wanted:
            changed = sorted(k for k in wanted.keys() | stored.keys() if wanted.get(k) != stored.get(k))
            flags = ", ".join("--" + key.replace("_", "-") for key in changed)
            raise DeploymentExists(
                f"name: {record.name!r} exists with other values for {flags}; destroy it first or choose another name"
            )

    def _bring_up(self, provider: Provider[Any], options: BaseModel, record: DeploymentRecord, plan: Plan) -> None:
        ctx = self.context(record, options, plan)
        self.progress(f"creating {provider.name} workstation {record.name}")
        record.status = "creating"
        merge_nodes(record, provider.create(ctx))
        self.store.save(record)
        self.progress("waiting until it is reachable")
        merge_nodes(record, provider.wait_reachable(ctx, REACHABLE_TIMEOUT_SECONDS))
        if provider.capabilities.owns_machines:
            # what a later refresh compares with (a spot node found stopped was taken back)
            from isaacctl.records import utc_now

            for node in record.nodes:
                node.state, node.state_at = InstanceState.RUNNING.value, utc_now()
        record.status = "ready"
        record.last_error = None
        self.store.save(record)
        self.write_info(provider, record)

    def write_info(self, provider: Provider[Any], record: DeploymentRecord) -> None:
        known_hosts = str(self.store.paths(record.name).known_hosts)
        remote = provider.remote(record, known_hosts)  # resolves only, connects nothing
        self.store.write_info(record.name, describe_connection(record, remote))

    # -- bootstrap ---------------------------------------------------------------------------
    def bootstrap(self, name: str, request: BootstrapRequest) -> BootstrapResult:
        with self.store.lock(name):
            record = self.store.load(name)
            provider = get_provider(record.provider)
            return self._bootstrap_locked(provider, record, request)

    def _bootstrap_locked(
        self, provider: Provider[Any], record: DeploymentRecord, request: BootstrapRequest
    ) -> BootstrapResult:
        from isaacctl.services.bootstrap import run_bootstrap

        known_hosts = str(self.store.paths(record.name).known_hosts)
        record.status = "bootstrapping"
        self.store.save(record)
        self.store.append_event(record.name, "bootstrap.start", image=request.settings.image)
        try:
            result = run_bootstrap(
                self.store,
                record,
                lambda node: provider.remote(record, known_hosts, node),
                request.settings,
                request.registry_key,
                request.on_event,
                request.on_pull,
            )
        except BaseException as exc:
            reason = failure_reason(exc)
            record.status, record.last_error = "failed", reason
            self.store.save(record)
            self.store.append_event(record.name, "bootstrap.failed", reason=reason)
            raise
        record.status, record.last_error = "ready", None
        self.store.save(record)
        self.store.append_event(record.name, "bootstrap.done", ran=result.ran)
        return result

    def _record_failure(
        self, record: DeploymentRecord, provider: Provider[Any], exc: BaseException, *, resumed: bool
    ) -> None:
        reason = failure_reason(exc)
        self.store.append_event(record.name, "deploy.failed", reason=reason)
        if not provider.capabilities.owns_machines and not resumed:
            # An adopted host that never answered leaves nothing behind: forget it, so the
            # user can simply run deploy again with corrected flags.
            self.store.remove(record.name)
            return
        record.status = "failed"
        record.last_error = reason
        self.store.save(record)

    # -- read --------------------------------------------------------------------------------
    def status(self, name: str, refresh: bool = False) -> StatusResult:
        if not refresh:
            return StatusResult(self.store.load(name))
        record, statuses = self.refresh(name)
        provider = get_provider(record.provider)
        live: dict[str, Any] = {"nodes": [status.state.value for status in statuses]}
        if all(status.state in (InstanceState.RUNNING, InstanceState.UNKNOWN) for status in statuses):
            live["reachable"] = True
            known_hosts = str(self.store.paths(name).known_hosts)
            for node in record.nodes:
                try:
                    with provider.remote(record, known_hosts, node.index) as remote:
                        ok = remote.run(["true"], timeout=30).ok
                    error = None if ok else "a test command failed"
                except RemoteError as exc:
                    ok, error = False, exc.message
                if not ok:
                    live["reachable"] = False
                    live["error"] = error if len(record.nodes) == 1 else f"node {node.index}: {error}"
                    break
            if live["reachable"] and record.autostop is not None:
                self._learn_autostop(provider, record)
        return StatusResult(record, live)

    def _learn_autostop(self, provider: Provider[Any], record: DeploymentRecord) -> None:
        """The watchdog's last decision (and the stops it made while nobody looked) from the head."""
        from isaacctl.services.autostop import learn_from_host

        with self.store.lock(record.name):
            fresh = self.store.load(record.name)  # what another command saved meanwhile is kept
            try:
                with provider.remote(fresh, str(self.store.paths(record.name).known_hosts), 0) as remote:
                    learn_from_host(self.store, fresh, remote)
            except RemoteError:
                return
            self.store.save(fresh)
            record.autostop_decision = fresh.autostop_decision

    def refresh(self, name: str, lock_timeout: float | None = None) -> tuple[DeploymentRecord, list[NodeStatus]]:
        """Ask the provider about every node and save what it says in the record."""
        from isaacctl.state import LOCK_TIMEOUT_SECONDS

        with self.store.lock(name, timeout=lock_timeout or LOCK_TIMEOUT_SECONDS):
            record = self.store.load(name)
            provider, _ = self.provider_for(record)
            statuses = provider.query(record)
            from isaacctl.services import autostop

            noticed = autostop.noticed(record, statuses)
            preempted = [] if noticed is not None else preemptions(record, statuses)
            notes = learn_status(record, statuses)
            if preempted and not notes:
                record.last_error = "; ".join(preempted)
            self.store.save(record)
            for note in notes:
                self.store.append_event(name, "node.lost", note=note)
            for note in preempted:
                # the cost report and `managed` recovery read these; status shows the last one
                self.store.append_event(name, "node.preempted", note=note)
            if noticed is not None:
                self.store.append_event(name, "autostop.noticed", action=noticed)
        if noticed == "destroy":
            # the watchdog stopped (or deleted) the machine meant to be destroyed: the rest
            # (disks, network, state) goes now, with the user's credentials, which it never had
            self.progress(f"{name} was stopped by its autostop watchdog to be destroyed: destroying the rest")
            self.destroy(name)
        return record, statuses

    def list_deployments(self, refresh: bool = False) -> list[ListEntry]:
        """Every deployment here; with refresh, each asked of its provider at once (one
        thread each, each under its own lock), a failure kept on its own row."""
        if not refresh:
            return [ListEntry(record) for record in self.store.load_all()]
        names = self.store.names()
        if not names:
            return []

        def one(name: str) -> ListEntry:
            try:
                return ListEntry(self.refresh(name, lock_timeout=REFRESH_LOCK_TIMEOUT_SECONDS)[0])
            except Exception as exc:  # noqa: BLE001 - one deployment's trouble is its row's, not the list's
                return ListEntry(self.store.load(name), failure_reason(exc))

        with ThreadPoolExecutor(max_workers=min(REFRESH_WORKERS, len(names)), thread_name_prefix="refresh") as pool:
            return list(pool.map(one, names))

    # -- destroy -----------------------------------------------------------------------------
    def destroy(self, name: str) -> DestroyResult:
        with self.store.lock(name):
            record = self.store.load(name)
            provider, options = self.provider_for(record)
            result = DestroyResult(name=name, provider=record.provider)
            self.store.append_event(name, "destroy.start")
            record.status = "destroying"
            self.store.save(record)
            if not provider.capabilities.owns_machines:
                result.removed_containers, warning = self._remove_containers(provider, record)
                if warning:
                    result.warnings.append(warning)
            self.progress(f"destroying {record.provider} workstation {name}")
            try:
                provider.destroy(self.context(record, options))
            except BaseException as exc:
                # The state stays (with what destroy learnt) so that destroy can run again.
                reason = failure_reason(exc)
                record.last_error = reason
                self.store.save(record)
                self.store.append_event(name, "destroy.failed", reason=reason)
                raise
            self.store.append_event(name, "destroy.done")
            from isaacctl.services import cost

            cost.archive(self.store, record)  # `cost` still counts a destroyed deployment
            self.store.remove(name)
        return result

    @staticmethod
    def _stop_pip_jobs(remote: Remote, record: DeploymentRecord, running: list[JobRecord]) -> list[str]:
        """The pip runtime's jobs are process groups, not containers: a forgotten machine must
        not keep training for nobody. Killed, since nobody is left to read a graceful end."""
        from isaacctl.runtimes import runtime_for

        runtime = runtime_for(record)
        stopped = []
        for job in running:
            try:
                runtime.kill(remote, job)
            except IsaacctlError:
                continue
            stopped.append(f"job {job.id}")
        return stopped

    def _remove_containers(self, provider: Provider[Any], record: DeploymentRecord) -> tuple[list[str], str | None]:
        self.progress("removing isaacctl's containers")
        removed: list[str] = []
        known_hosts = str(self.store.paths(record.name).known_hosts)
        running = [job for job in self.store.jobs(record.name) if not job.finished]
        for node in record.nodes:
            try:
                with provider.remote(record, known_hosts, node.index) as remote:
                    removed += containers.remove_containers(remote, record)
                    if record.runtime == "pip" and node.index == 0:
                        removed += self._stop_pip_jobs(remote, record, running)
            except IsaacctlError as exc:
                # The machine is not ours: when it is gone or unreachable there is nothing to leak.
                return removed, f"containers not removed: {exc.message}"
        return removed, None
