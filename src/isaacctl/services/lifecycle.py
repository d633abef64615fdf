"""Lifecycle of deployments whose provider owns the machines: stop, start, credential checks,
and `gc`, the sweep for resources tagged by isaacctl whose deployment has no state here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from isaacctl.errors import UserError, failure_reason
from isaacctl.providers.base import CloudResource, CredentialCheck, DeployContext
from isaacctl.providers.registry import get_provider, provider_names
from isaacctl.services.deployments import (
    REACHABLE_TIMEOUT_SECONDS,
    DeploymentService,
    merge_nodes,
    validate_options,
)
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
class GcCandidate:
    """Resources tagged for one deployment (provider, region, name, id) that is not one of this
    state folder's: left by a lost state folder or a crash, or someone else's."""

    provider: str
    region: str | None
    name: str
    id: str | None  # None: made before deployment ids (swept by name)
    resources: list[CloudResource] = field(default_factory=list)
    creator: str | None = None
    created: str | None = None  # ISO 8601, from the created tag
    # This folder has a deployment of this name, with another id: the candidate is not it.
    name_used_here: bool = False
    # Where it was found (the provider's scope options): where it is deleted.
    scope: dict[str, Any] = field(default_factory=dict)
    deleted: list[str] | None = None  # "kind id" once swept
    error: str | None = None

    @property
    def age_seconds(self) -> int | None:
        if not self.created:
            return None
        try:
            made = datetime.fromisoformat(self.created.replace("Z", "+00:00"))
        except ValueError:
            return None
        if made.tzinfo is None:
            made = made.replace(tzinfo=timezone.utc)
        return max(0, int((datetime.now(timezone.utc) - made).total_seconds()))


@dataclass
class GcReport:
    looked_in: list[dict[str, Any]] = field(default_factory=list)  # {"provider": ..., "scope": {...}}
    candidates: list[GcCandidate] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # this folder's deployments found tagged: "provider name id"
    errors: list[str] = field(default_factory=list)  # scopes that could not be listed
    # Providers not asked, with why: without --provider, a cloud whose credentials are not set
    # up here has nothing of this user's to list, and is not an error.
    skipped: list[str] = field(default_factory=list)


def _scope_options(provider: Provider[Any], raw: dict[str, Any]) -> BaseModel:
    """Options for a provider from the scope flags (--region, --profile...): a provider gets
    only the fields it declares in `scope_fields`, so one command serves every cloud."""
    return validate_options(
        provider, {key: value for key, value in raw.items() if value is not None and key in provider.scope_fields}
    )


def _no_credentials(provider: Provider[Any], scope: dict[str, Any]) -> str | None:
    """Why a provider cannot be asked here (no credentials set up), or None when it can."""
    try:
        check = provider.check_credentials(_scope_options(provider, scope))
    except Exception as exc:  # noqa: BLE001 - an SDK's own failure is a reason to skip, said so
        return f"credentials not usable ({type(exc).__name__})"
    return None if check.ok else f"no usable credentials ({check.identity})"


def _scopes(
    provider: Provider[Any], given: dict[str, list[str]], records: list[DeploymentRecord]
) -> list[dict[str, Any]]:
    """Where gc looks for one provider: every value given for a scope field (each combination
    with the others); a field not given takes the provider's default and every value this
    folder's deployments of that provider use, so their leaks are found where they were made."""
    fields = provider.scope_fields
    bases: list[dict[str, Any]] = [{}]
    for record in records:
        if record.provider == provider.name:
            used = {f: record.options[f] for f in fields if f not in given and record.options.get(f) is not None}
            if record.region and "region" in fields and "region" not in given:
                used.setdefault("region", record.region)
            bases.append(used)
    combos: list[dict[str, Any]] = [{}]
    for name in fields:
        if given.get(name):
            combos = [{**combo, name: value} for combo in combos for value in given[name]]
    scopes, seen = [], set()
    for base in bases:
        for combo in combos:
            scope = {**base, **combo}
            options = _scope_options(provider, scope)
            # the same place spelt two ways (a default written out) is looked in once
            shown = {f: getattr(options, f, None) for f in fields}
            key = tuple(sorted((k, str(v)) for k, v in shown.items()))
            if key not in seen:
                seen.add(key)
                scopes.append(shown)
    return scopes


def _cloud_providers(only: str | None) -> list[Provider[Any]]:
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


def _mark_nodes(record: DeploymentRecord, state: str) -> None:
    """What stop and start just made true of every node, saved with the record."""
    from isaacctl.records import utc_now

    now = utc_now()
    for node in record.nodes:
        node.state, node.state_at = state, now


class LifecycleService:
    def __init__(self, store: StateStore, progress: Progress | None = None) -> None:
        self.store = store
        self.progress: Progress = progress or (lambda message: None)
        self.deployments = DeploymentService(store, self.progress)

    def _stoppable(self, name: str) -> tuple[DeploymentRecord, Provider[Any], BaseModel]:
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
            _mark_nodes(record, "stopped")
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
                merge_nodes(record, provider.start(ctx))
                self.store.save(record)  # the new address, before anything else can fail
                self.progress(f"waiting until {record.address} is reachable")
                merge_nodes(record, provider.wait_reachable(ctx, REACHABLE_TIMEOUT_SECONDS))
                _mark_nodes(record, "running")
            except BaseException as exc:
                self._failed(record, previous_status, "start", exc)
                raise
            record.status = "ready" if previous_status in ("stopped", "starting", "ready") else previous_status
            record.last_error = None
            self.store.save(record)
            self.deployments.write_info(provider, record)
            self.store.append_event(name, "start.done", address=record.address, previous_address=previous_address)
            return PowerResult(
                name, record.provider, record.status, record.address, previous_address=previous_address, reachable=True
            )

    def _failed(self, record: DeploymentRecord, previous: str, action: str, exc: BaseException) -> None:
        reason = failure_reason(exc)
        record.status = "failed" if action == "start" else previous  # type: ignore[assignment]
        record.last_error = f"{action}: {reason}"
        self.store.save(record)
        self.store.append_event(record.name, f"{action}.failed", reason=reason)

    # -- credentials -------------------------------------------------------------------------
    def check(self, provider: str | None, raw: dict[str, Any]) -> list[CheckResult]:
        chosen_providers = _cloud_providers(provider)
        if provider is not None:
            _refuse_other_scope(chosen_providers[0], raw)
        results = []
        for chosen in chosen_providers:
            options = _scope_options(chosen, raw)
            results.append(CheckResult(chosen.name, chosen.check_credentials(options)))
        return results

    # -- leak sweep --------------------------------------------------------------------------
    def gc_scan(self, provider: str | None, given: dict[str, list[str]]) -> GcReport:
        """Lists, deletes nothing: every (provider, region, name, id) tagged by isaacctl that is
        not a deployment of this state folder. A name this folder uses with another id is
        listed (it is someone else's); resources without an id (made before ids) whose name is
        used here are kept, as they may be this folder's own."""
        from isaacctl.errors import IsaacctlError

        given = {key: values for key, values in given.items() if values}
        chosen_providers = _cloud_providers(provider)
        if provider is not None:
            _refuse_other_scope(chosen_providers[0], given)
        records, unreadable = self._records()
        report = GcReport()
        # Scopes are validated before anything is listed: a bad --region is exit 2, nothing asked.
        plans = [(chosen, _scopes(chosen, given, records)) for chosen in chosen_providers]
        for chosen, scopes in plans:
            if provider is None:
                why_not = _no_credentials(chosen, scopes[0] if scopes else {})
                if why_not is not None:
                    report.skipped.append(f"{chosen.name}: {why_not}")
                    continue
            ours = {(r.name, r.id) for r in records if r.provider == chosen.name}
            names_here = {r.name for r in records if r.provider == chosen.name} | unreadable
            by_key: dict[tuple[str | None, str, str | None], GcCandidate] = {}
            for scope in scopes:
                report.looked_in.append({"provider": chosen.name, "scope": _shown(scope)})
                self.progress(f"listing what {chosen.name} has tagged{_where(scope)}")
                try:
                    found = chosen.list_tagged(_scope_options(chosen, scope))
                except IsaacctlError as exc:
                    report.errors.append(f"{chosen.name}{_where(scope)}: {exc.message}")
                    continue
                for resource in found:
                    ident = resource.deployment_id or None
                    if (resource.deployment, ident) in ours or resource.deployment in unreadable:
                        kept = f"{resource.deployment} ({ident})"
                        if kept not in report.kept:
                            report.kept.append(kept)
                        continue
                    if ident is None and resource.deployment in names_here:
                        kept = f"{resource.deployment} (no id; its name is used here)"
                        if kept not in report.kept:
                            report.kept.append(kept)
                        continue
                    region = resource.region or scope.get("region")
                    key = (region, resource.deployment, ident)
                    candidate = by_key.get(key)
                    if candidate is None:
                        where = dict(scope)
                        if region is not None and "region" in chosen.scope_fields:
                            where["region"] = region
                        candidate = by_key[key] = GcCandidate(
                            chosen.name,
                            region,
                            resource.deployment,
                            ident,
                            scope=where,
                            name_used_here=resource.deployment in names_here,
                        )
                    if any(
                        r.kind == resource.kind and r.resource_id == resource.resource_id for r in candidate.resources
                    ):
                        continue  # the same account seen through two scopes (two profiles)
                    candidate.resources.append(resource)
                    candidate.creator = candidate.creator or resource.creator
                    if resource.created and (candidate.created is None or resource.created < candidate.created):
                        candidate.created = resource.created
            report.candidates += sorted(by_key.values(), key=lambda c: (c.name, c.id or "", c.region or ""))
        return report

    def _records(self) -> tuple[list[DeploymentRecord], set[str]]:
        """This folder's deployments, and the names of those whose record cannot be read (all
        their resources are kept: which id is theirs is unknown)."""
        from isaacctl.errors import IsaacctlError

        records, unreadable = [], set()
        for name in self.store.names():
            try:
                records.append(self.store.load(name))
            except IsaacctlError:
                unreadable.add(name)
        return records, unreadable

    @staticmethod
    def gc_select(report: GcReport, selectors: list[str], everything: bool) -> list[GcCandidate]:
        """The candidates named by name or id (or all). A selector that names nothing is bad
        input. A name this folder also uses does not select the other deployment of that name:
        its id must be given, so that typing one's own deployment's name never deletes a
        stranger's."""
        if everything:
            return list(report.candidates)
        chosen: list[GcCandidate] = []
        for selector in selectors:
            by_id = [c for c in report.candidates if c.id == selector]
            by_name = [c for c in report.candidates if c.name == selector]
            matched = by_id or [c for c in by_name if not c.name_used_here]
            if not matched and by_name:
                ids = ", ".join(sorted(c.id or "(none)" for c in by_name))
                raise UserError(
                    f"{selector}: is also a deployment in this state folder; select the other one by its id ({ids})"
                )
            if not matched:
                raise UserError(f"{selector}: matches no candidate's name or id (run 'isaacctl gc' to list them)")
            chosen += [c for c in matched if c not in chosen]
        return chosen

    def gc_delete(self, candidates: list[GcCandidate]) -> None:
        """Destroy each chosen candidate from its tags, by name and id: another deployment of
        the same name is untouched. Failures are recorded on the candidate; the others go on."""
        providers: dict[str, Provider[Any]] = {}
        for candidate in candidates:
            provider = providers.setdefault(candidate.provider, get_provider(candidate.provider))
            self._sweep(provider, candidate)

    def _sweep(self, provider: Provider[Any], candidate: GcCandidate) -> None:
        """No state folder is made for it: what was deleted is reported, not logged."""
        from isaacctl.errors import IsaacctlError
        from isaacctl.records import DeploymentRecord

        if not NAME_PATTERN.fullmatch(candidate.name):
            candidate.error = "not an isaacctl deployment name: left alone"
            return
        deleted: list[str] = []

        def on_resource(phase: str, kind: str, resource_id: str, details: dict[str, Any]) -> None:
            if phase == "deleted":
                deleted.append(f"{kind} {resource_id}")

        options = _scope_options(provider, candidate.scope)
        who: dict[str, Any] = {"creator": candidate.creator} if candidate.creator else {}
        # Without an id (made before ids) the record gets a fresh random one that no resource
        # carries: then only the name's resources without an id match (Identity.owns).
        if candidate.id is not None:
            who["id"] = candidate.id
        record = DeploymentRecord(
            name=candidate.name,
            provider=provider.name,
            region=candidate.region,
            options=options.model_dump(mode="json"),
            **who,
        )
        ctx = DeployContext(record=record, options=options, on_resource=on_resource, on_progress=self.progress)
        self.progress(
            f"deleting what {candidate.name} ({candidate.id or 'no id'}) left in {candidate.region or provider.name}"
        )
        try:
            provider.destroy(ctx)
        except IsaacctlError as exc:
            candidate.error = exc.message
        candidate.deleted = deleted


def _shown(scope: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in scope.items() if value is not None}


def _where(scope: dict[str, Any]) -> str:
    shown = _shown(scope)
    return " in " + ", ".join(str(v) for v in shown.values()) if shown else ""


def _refuse_other_scope(provider: Provider[Any], raw: dict[str, Any]) -> None:
    """A scope flag the chosen provider does not take would be silently ignored: refuse it."""
    for key, value in raw.items():
        if value and key not in provider.scope_fields:
            flag = "--" + key.replace("_", "-")
            raise UserError(
                f"{flag}: the {provider.name} provider does not take it "
                f"(it takes {', '.join('--' + f.replace('_', '-') for f in provider.scope_fields) or 'none'})"
            )
