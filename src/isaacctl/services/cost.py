"""What a deployment cost, from its event log and the dated price catalogs
(templates/<provider>/prices.yaml).

The log (events.jsonl) says when each instance was made (its type and market) and deleted,
and when the deployment was stopped and started: by isaacctl, by the watchdog on the host
(`autostop.acted`, with the host's own time), or as isaacctl noticed it later
(`autostop.noticed`, a stop seen by a refresh). Each instance's life is cut into pieces,
running or stopped; a running piece costs its type's hourly price on its market, and its
disk costs the catalog's GiB-month price for as long as it exists (stopped too). A job's share
is the machine's compute cost while it ran, split between the jobs running at once.

`destroy` removes a deployment's folder; `archive` keeps its log, record and job records in
<state>/.history/ first, so `cost` still counts what it cost."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from isaacctl.providers.toolkit.pricing import Catalog
    from isaacctl.records import DeploymentRecord, JobRecord
    from isaacctl.state import StateStore

HISTORY = ".history"
# Events after which no instance of the deployment runs (its disks stay).
STOPS = ("stop.done", "autostop.acted", "autostop.noticed", "preempted")
STARTS = ("start.done",)
MACHINES = ("instance", "vm")  # what each provider calls a machine in its resource events


def _type_of(event: dict[str, Any]) -> str | None:
    """The machine type a provider logged, under its own name for it."""
    for key in ("instance_type", "machine_type", "size"):
        if event.get(key):
            return str(event[key])
    return None


@dataclass
class Piece:
    instance: str
    instance_type: str | None
    market: str
    state: str  # "running" or "stopped"
    start: float
    end: float
    compute_usd: float = 0.0
    disk_usd: float = 0.0
    priced: bool = True

    @property
    def hours(self) -> float:
        return (self.end - self.start) / 3600.0


@dataclass
class JobCost:
    id: str
    hours: float
    usd: float


@dataclass
class DeploymentCost:
    name: str
    id: str
    provider: str
    region: str | None
    destroyed: bool = False
    pieces: list[Piece] = field(default_factory=list)
    jobs: list[JobCost] = field(default_factory=list)
    hourly_usd: float | None = None  # what it costs per hour now (None: not running or no price)
    price_source: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def running_hours(self) -> float:
        return sum(p.hours for p in self.pieces if p.state == "running")

    @property
    def stopped_hours(self) -> float:
        return sum(p.hours for p in self.pieces if p.state == "stopped")

    @property
    def compute_usd(self) -> float:
        return sum(p.compute_usd for p in self.pieces)

    @property
    def disk_usd(self) -> float:
        return sum(p.disk_usd for p in self.pieces)

    @property
    def disk_stopped_usd(self) -> float:
        return sum(p.disk_usd for p in self.pieces if p.state == "stopped")

    @property
    def total_usd(self) -> float:
        return self.compute_usd + self.disk_usd


@dataclass
class CostReport:
    since: float | None
    deployments: list[DeploymentCost]

    @property
    def by_provider(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for item in self.deployments:
            totals[item.provider] = totals.get(item.provider, 0.0) + item.total_usd
        return dict(sorted(totals.items()))

    @property
    def total_usd(self) -> float:
        return sum(item.total_usd for item in self.deployments)


# -- prices ------------------------------------------------------------------------------------
@cache  # `list` asks twice per deployment
def _catalog(provider: str) -> Catalog | None:
    from isaacctl.providers.toolkit.pricing import catalog_text, load_catalog

    if catalog_text(provider) is None:
        return None  # local, ssh, a plugin without a catalog (and no YAML parser loaded for them)
    try:
        return load_catalog(provider)
    except (FileNotFoundError, OSError, KeyError):
        return None  # local, ssh, a plugin without a catalog: no price


def type_price(provider: str, instance_type: str | None, market: str) -> float | None:
    catalog = _catalog(provider)
    if catalog is None or instance_type not in catalog.types:
        return None
    entry = catalog.types[instance_type]
    price: float = entry.spot if market == "spot" and entry.spot is not None else entry.on_demand
    return price


def hourly_price(record: DeploymentRecord) -> float | None:
    """The whole deployment's compute price per hour while it runs (every node)."""
    price = type_price(record.provider, record.instance_type, record.market or "on-demand")
    return None if price is None else price * max(1, len(record.nodes))


# -- the timeline ------------------------------------------------------------------------------
def _when(event: dict[str, Any]) -> float:
    """The host's own time for what it did (autostop), else when isaacctl logged it."""
    return float(event.get("at") or event.get("ts") or 0.0)


def pieces_of(events: list[dict[str, Any]], record: DeploymentRecord, now: float) -> list[Piece]:
    ordered = sorted(enumerate(events), key=lambda pair: (_when(pair[1]), pair[0]))
    asked: dict[str, dict[str, Any]] = {}  # instance requests by client token ("creating")
    live: dict[str, dict[str, Any]] = {}  # instance id -> type, market, since, state
    pieces: list[Piece] = []

    def close(instance: str, at: float) -> None:
        info = live[instance]
        if at > info["since"]:
            pieces.append(Piece(instance, info["type"], info["market"], info["state"], info["since"], at))
        info["since"] = at

    last_asked: dict[str, Any] = {}
    for _, event in ordered:
        name, at = event.get("event"), _when(event)
        machine = event.get("kind") in MACHINES
        if machine and name == "resource.creating":
            asked[str(event.get("id"))] = last_asked = event
        elif machine and name == "resource.created":
            # the request it answers: by EC2/ECS client token, GCE instance name, else the last one
            request = (
                asked.get(str(event.get("client_token") or event.get("instance_name") or event.get("id"))) or last_asked
            )
            live[str(event.get("id"))] = {
                "type": _type_of(event) or _type_of(request) or record.instance_type,
                "market": event.get("market") or request.get("market") or record.market or "on-demand",
                "since": at,
                "state": "running",
            }
        elif machine and name == "resource.deleted":
            if str(event.get("id")) in live:
                close(str(event.get("id")), at)
                del live[str(event.get("id"))]
        elif name in STOPS or name in STARTS:
            state = "stopped" if name in STOPS else "running"
            for instance, info in live.items():
                if info["state"] != state:
                    close(instance, at)
                    info["state"] = state
        elif name == "destroy.done":
            for instance in list(live):
                close(instance, at)
            live.clear()
    for instance in list(live):
        close(instance, now)
    return pieces


def _price(pieces: list[Piece], provider: str, disk_gib: int | None, notes: list[str]) -> None:
    catalog = _catalog(provider)
    for piece in pieces:
        price = type_price(provider, piece.instance_type, piece.market)
        if piece.state == "running":
            if price is None:
                piece.priced = False
                if catalog is not None:
                    notes.append(f"no price for {piece.instance_type} in templates/{provider}/prices.yaml")
            else:
                piece.compute_usd = price * piece.hours
        if catalog is not None and disk_gib:
            piece.disk_usd = catalog.disk_hourly(disk_gib) * piece.hours


def _clip(pieces: list[Piece], since: float | None) -> list[Piece]:
    if since is None:
        return pieces
    kept = []
    for piece in pieces:
        if piece.end <= since:
            continue
        piece.start = max(piece.start, since)
        kept.append(piece)
    return kept


def _job_shares(pieces: list[Piece], jobs: list[JobRecord], now: float, since: float | None = None) -> list[JobCost]:
    """Each job's share of the compute cost while it ran, split evenly between the jobs that ran
    at the same moment (the machine is shared, not billed per job)."""
    spans = []
    for job in jobs:
        begin = (job.started_at or job.created_at).timestamp()
        end = job.finished_at.timestamp() if job.finished_at else (begin if job.finished else now)
        if since is not None:
            if end <= since:
                continue
            begin = max(begin, since)
        spans.append((job.id, begin, max(begin, end)))
    running = [p for p in pieces if p.state == "running" and p.priced and p.end > p.start]
    cuts = sorted({t for _, b, e in spans for t in (b, e)} | {t for p in running for t in (p.start, p.end)})
    usd = {job_id: 0.0 for job_id, _, _ in spans}
    for left, right in zip(cuts, cuts[1:], strict=False):
        middle = (left + right) / 2
        active = [job_id for job_id, b, e in spans if b <= middle < e]
        if not active:
            continue
        rate = sum(p.compute_usd / p.hours for p in running if p.start <= middle < p.end and p.hours > 0)
        for job_id in active:
            usd[job_id] += rate * (right - left) / 3600.0 / len(active)
    return [JobCost(job_id, (e - b) / 3600.0, usd[job_id]) for job_id, b, e in spans]


def compute(
    record: DeploymentRecord,
    events: list[dict[str, Any]],
    jobs: list[JobRecord],
    since: float | None = None,
    now: float | None = None,
    destroyed: bool = False,
) -> DeploymentCost:
    now = time.time() if now is None else now
    result = DeploymentCost(record.name, record.id, record.provider, record.region, destroyed=destroyed)
    catalog = _catalog(record.provider)
    if catalog is not None:
        result.price_source = catalog.label
    disk = record.options.get("disk_gb")
    result.pieces = _clip(pieces_of(events, record, now), since)
    _price(result.pieces, record.provider, int(disk) if disk else None, result.notes)
    result.notes = sorted(set(result.notes))
    result.jobs = _job_shares(result.pieces, jobs, now, since)
    live_running = [p for p in result.pieces if p.end >= now and p.state == "running"]
    if live_running and all(p.priced for p in live_running):
        result.hourly_usd = sum(p.compute_usd / p.hours for p in live_running if p.hours > 0) or hourly_price(record)
    return result


def deployment_cost(store: StateStore, record: DeploymentRecord, since: float | None = None) -> DeploymentCost:
    return compute(record, store.events(record.name), _jobs(store, record.name), since)


def _jobs(store: StateStore, name: str) -> list[JobRecord]:
    try:
        return store.jobs(name)
    except Exception:  # noqa: BLE001 - an unreadable job record costs nothing to leave out
        return []


# -- destroyed deployments -----------------------------------------------------------------------
def archive(store: StateStore, record: DeploymentRecord) -> None:
    """Keep what `cost` needs of a deployment that destroy is about to remove."""
    import shutil  # here, not at the top: `list` imports this module (its start-up budget)

    paths = store.paths(record.name)
    target = store.root / HISTORY / f"{record.name}-{record.id}-{int(time.time())}"
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    for source in (paths.record, paths.events):
        if source.is_file():
            shutil.copy2(source, target / source.name)
    if paths.jobs.is_dir():
        shutil.copytree(paths.jobs, target / "jobs", dirs_exist_ok=True)


def _archived(store: StateStore) -> list[tuple[DeploymentRecord, list[dict[str, Any]], list[JobRecord]]]:
    from pydantic import ValidationError

    from isaacctl.records import DeploymentRecord, JobRecord, migrate

    found = []
    folder = store.root / HISTORY
    for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
        try:
            record = DeploymentRecord.model_validate(migrate(json.loads((entry / "deployment.json").read_text())))
        except (OSError, ValueError, ValidationError):
            continue
        events = _read_events(entry / "events.jsonl")
        jobs = []
        for path in sorted((entry / "jobs").glob("*.json")):
            try:
                jobs.append(JobRecord.model_validate_json(path.read_text()))
            except (OSError, ValueError, ValidationError):
                continue
        found.append((record, events, jobs))
    return found


def _read_events(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    events = []
    for line in lines:
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events


def so_far(store: StateStore, records: list[DeploymentRecord]) -> dict[str, tuple[float | None, float]]:
    """For `list`: each deployment's price per hour now and its cost so far."""
    found = {}
    for record in records:
        # no job shares: `list` must not pay for the job records' schema (its start-up budget)
        item = compute(record, store.events(record.name), [])
        found[record.name] = (item.hourly_usd, item.total_usd)
    return found


def report(store: StateStore, name: str | None = None, since: float | None = None) -> CostReport:
    """Every deployment here (and every destroyed one kept in .history), or one by name."""
    from isaacctl.errors import DeploymentNotFound

    items: list[DeploymentCost] = []
    now = time.time()
    names = [name] if name is not None else store.names()
    for each in names:
        if store.exists(each):
            items.append(deployment_cost(store, store.load(each), since))
    for record, events, jobs in _archived(store):
        if name is not None and record.name != name:
            continue
        item = compute(record, events, jobs, since, now, destroyed=True)
        if since is not None and not item.pieces:
            continue  # gone before the window
        items.append(item)
    if name is not None and not items:
        raise DeploymentNotFound(
            f"deployment: no deployment named {name!r} in {store.root}, nor one destroyed",
            hint="'isaacctl list' shows the deployments here",
        )
    return CostReport(since, items)
