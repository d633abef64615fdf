"""Lifecycle of deployments whose provider owns the machines: stop, start, credential checks,
and `gc`, the sweep for resources tagged by isaacctl whose deployment has no state here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from isaacctl.errors import UserError, failure_reason
from isaacctl.providers.base import CloudResource, CredentialCheck, DeployContext
from isaacctl.providers.registry import get_provider, provider_names
from isaacctl.services.deployments import REACHABLE_TIMEOUT_SECONDS, DeploymentService, validate_options
from isaacctl.state import NAME_PATTERN, StateStore

if TYPE_CHECKING:
    from pydantic import BaseModel

    from isaacctl.providers.base import Provider
    from isaacctl.records import DeploymentRecord

Progress = Callable[[str], None]


@dataclass
class PowerResult:
    name: str
    provider: str
    status: str
    address: str
    previous_address: str | None = None
    reachable: bool | None = None


@dataclass
class CheckResult:
    provider: str
    check: CredentialCheck


@dataclass
class GcResult:
    provider: str
    scope: dict[str, Any]  # the options that chose where to look (e.g. the region)
    orphans: dict[str, list[CloudResource]] = field(default_factory=dict)  # deployment -> resources
    kept: list[str] = field(default_factory=list)  # tagged deployments that have state here
    deleted: dict[str, list[str]] = field(default_factory=dict)  # deployment -> "kind id"
    errors: dict[str, str] = field(default_factory=dict)


def _scope_options(provider: Provider, raw: dict[str, Any]) -> BaseModel:
    """Options for a provider from generic flags (--region, --profile): flags a provider does
    not take are dropped, so one command serves every cloud."""
    fields = provider.options_model.model_fields
    return validate_options(provider, {key: value for key, value in raw.items() if value is not None and key in fields})


def _cloud_providers(only: str | None) -> list[Provider]:
    if only is not None:
        provider = get_provider(only)
        if not provider.capabilities.owns_machines:
            raise UserError(f"--provider: expected a provider that makes machines, {only!r} only adopts them")
        return [provider]
    candidates = []
    for name in provider_names():
        try:
            provider = get_provider(name)
        except Exception:  # noqa: BLE001 - an extra not installed: nothing of it to sweep
            continue
        if provider.capabilities.owns_machines:
            candidates.append(provider)
    return candidates


class LifecycleService:
    def __init__(self, store: StateStore, progress: Progress | None = None) -> None:
        self.store = store
        self.progress: Progress = progress or (lambda message: None)
        self.deployments = DeploymentService(store, self.progress)

    def _stoppable(self, name: str) -> tuple[DeploymentRecord, Provider, BaseModel]:
        record = self.store.load(name)
        provider, options = self.deployments.provider_for(record)
        if not provider.capabilities.stop_start:
            raise UserError(f"name: {name!r} is a {record.provider} deployment, which cannot be stopped or started")
        return record, provider, options

    def stop(self, name: str) -> PowerResult:
        with self.store.lock(name):
            record, provider, options = self._stoppable(name)
            previous = record.status
            self.store.append_event(name, "stop.start")
            record.status = "stopping"
            self.store.save(record)
            self.progress(f"stopping {name}")
            try:
                provider.stop(self.deployments.context(record, options))
            except BaseException as exc:
                self._failed(record, previous, "stop", exc)
                raise
            record.status = "stopped"
            self.store.save(record)
            self.store.append_event(name, "stop.done")
            return PowerResult(name, record.provider, record.status, record.address)

    def start(self, name: str) -> PowerResult:
        with self.store.lock(name):
            record, provider, options = self._stoppable(name)
            previous_status, previous_address = record.status, record.address
            self.store.append_event(name, "start.start")
            record.status = "starting"
            self.store.save(record)
            ctx = self.deployments.context(record, options)
            self.progress(f"starting {name}")
            try:
                record.nodes = provider.start(ctx)
                self.store.save(record)  # the new address, before anything else can fail
                self.progress(f"waiting until {record.address} is reachable")
                record.nodes = provider.wait_reachable(ctx, REACHABLE_TIMEOUT_SECONDS)
            except BaseException as exc:
                self._failed(record, previous_status, "start", exc)
                raise
            record.status = "ready" if previous_status in ("stopped", "starting", "ready") else previous_status
            record.last_error = None
            self.store.save(record)
            self.deployments.write_info(provider, record)
            self.store.append_event(name, "start.done", address=record.address, previous_address=previous_address)
            return PowerResult(name, record.provider, record.status, record.address,
                               previous_address=previous_address, reachable=True)

    def _failed(self, record: DeploymentRecord, previous: str, action: str, exc: BaseException) -> None:
        reason = failure_reason(exc)
        record.status = "failed" if action == "start" else previous  # type: ignore[assignment]
        record.last_error = f"{action}: {reason}"
        self.store.save(record)
        self.store.append_event(record.name, f"{action}.failed", reason=reason)

    # -- credentials -------------------------------------------------------------------------
    def check(self, provider: str | None, raw: dict[str, Any]) -> list[CheckResult]:
        results = []
        for chosen in _cloud_providers(provider):
            options = _scope_options(chosen, raw)
            results.append(CheckResult(chosen.name, chosen.check_credentials(options)))
        return results

    # -- leak sweep --------------------------------------------------------------------------
    def gc(self, provider: str | None, raw: dict[str, Any], delete: bool) -> list[GcResult]:
        known = set(self.store.names())
        results = []
        for chosen in _cloud_providers(provider):
            options = _scope_options(chosen, raw)
            result = GcResult(chosen.name, {k: v for k, v in options.model_dump(mode="json").items()
                                            if k in raw and raw[k] is not None} or {"defaults": True})
            self.progress(f"listing resources {chosen.name} has tagged")
            for resource in chosen.list_tagged(options):
                if resource.deployment in known:
                    if resource.deployment not in result.kept:
                        result.kept.append(resource.deployment)
                    continue
                result.orphans.setdefault(resource.deployment, []).append(resource)
            if delete:
                for deployment in sorted(result.orphans):
                    self._sweep(chosen, options, deployment, result)
            results.append(result)
        return results

    def _sweep(self, provider: Provider, options: BaseModel, deployment: str, result: GcResult) -> None:
        """Destroy an orphan from its tags alone. No state folder is made for it: what was
        deleted is reported, not logged."""
        from isaacctl.errors import IsaacctlError
        from isaacctl.records import DeploymentRecord

        if not NAME_PATTERN.fullmatch(deployment):
            result.errors[deployment] = "not an isaacctl deployment name: left alone"
            return
        deleted = result.deleted.setdefault(deployment, [])

        def on_resource(phase: str, kind: str, resource_id: str, details: dict[str, Any]) -> None:
            if phase == "deleted":
                deleted.append(f"{kind} {resource_id}")

        record = DeploymentRecord(name=deployment, provider=provider.name,
                                  options=options.model_dump(mode="json"))
        ctx = DeployContext(record=record, options=options, on_resource=on_resource, on_progress=self.progress)
        self.progress(f"deleting what {deployment} left behind")
        try:
            provider.destroy(ctx)
        except IsaacctlError as exc:
            result.errors[deployment] = exc.message
