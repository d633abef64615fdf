"""Autostop: the watchdog that stops an idle (or over-budget) workstation, installed ON the
workstation (templates/autostop/: watchdog.py, a systemd service and timer), so it keeps
working when the controller is gone. This module turns flags into settings, writes the
host's config (how that cloud's billing is ended, the price and what was spent so far),
installs or removes it, reads back its last decision, and notices on the controller's next
command that a machine stopped (or was meant to be destroyed) on its own.

How each cloud's compute bill is ended (the route written into the host's config):
  aws, gcp, alibaba  a guest shutdown; AWS instances are made with shutdown behaviour "stop",
                     GCP stops a VM shut down from inside, Alibaba stops it (see docs/autostop.md
                     for its StopCharging caveat); `destroy` is finished by the controller
  azure              deallocation (a shutdown from inside keeps billing) with the VM's own
                     managed identity, whose role is scoped to the deployment's resource group
  local, ssh         only a command the user gave (--autostop-command), else refused
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from isaacctl.errors import IsaacctlError, RemoteError, UserError

if TYPE_CHECKING:
    from isaacctl.providers.base import NodeStatus, Provider
    from isaacctl.records import AutostopDecision, AutostopSettings, DeploymentRecord
    from isaacctl.remote import Remote
    from isaacctl.state import StateStore

FOLDER = "autostop"  # under the deployment's host folder
ACTIVITY_FILE = f"{FOLDER}/activity"
GUEST_SHUTDOWN_PROVIDERS = ("aws", "gcp", "alibaba")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd]?)$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "": 60}  # a bare number is minutes


def parse_duration(text: str, flag: str = "--autostop") -> int | None:
    """'90s', '30m', '2h', '1d' or a number of minutes; 'off' (None)."""
    value = (text or "").strip().lower()
    if value in ("off", "none", "never"):
        return None
    match = _DURATION.fullmatch(value)
    seconds = float(match.group(1)) * _UNIT[match.group(2)] if match else float("nan")
    if not (1 <= seconds <= 366 * 86400):
        raise UserError(f"{flag}: expected an idle time like 30m, 2h or 90s (or 'off'), got {text!r}")
    return int(seconds)


def _positive(value: float | None, flag: str, what: str) -> float | None:
    if value is None:
        return None
    if not (math.isfinite(value) and value > 0):
        raise UserError(f"{flag}: expected a positive {what}, got {value}")
    return float(value)


@dataclass(frozen=True)
class AutostopFlags:
    """The autostop flags of one deploy or bootstrap, as typed (None: not given)."""

    autostop: str | None = None
    action: str | None = None
    command: str | None = None
    max_cost: float | None = None
    max_hours: float | None = None
    label: str = "--autostop"  # how the idle time was given: the flag, or `autostop`'s IDLE argument

    @property
    def given(self) -> bool:
        return any(v is not None for v in (self.autostop, self.action, self.command, self.max_cost, self.max_hours))


def settings_from(flags: AutostopFlags, current: AutostopSettings | None = None) -> AutostopSettings | None:
    """New settings from the flags over the current ones; None when autostop ends up off
    (no idle limit and no budget)."""
    from isaacctl.records import AutostopSettings

    base = current.model_dump() if current is not None else {}
    base.pop("set_at", None)
    if flags.autostop is not None:
        base["idle_seconds"] = parse_duration(flags.autostop, flags.label)
        if base["idle_seconds"] is None:  # 'off' ends the budget as well: one word, all off
            return None
    if flags.action is not None:
        if flags.action not in ("stop", "destroy"):
            raise UserError(f"--autostop-action: expected 'stop' or 'destroy', got {flags.action!r}")
        base["action"] = flags.action
    if flags.command is not None:
        if not flags.command.strip() or "\n" in flags.command or "\0" in flags.command:
            raise UserError(f"--autostop-command: expected one shell command line, got {flags.command!r}")
        base["command"] = flags.command
    if flags.max_cost is not None:
        base["max_cost_usd"] = _positive(flags.max_cost, "--max-cost", "amount of USD")
    if flags.max_hours is not None:
        base["max_hours"] = _positive(flags.max_hours, "--max-hours", "number of hours")
    if base.get("idle_seconds") is None and base.get("max_cost_usd") is None and base.get("max_hours") is None:
        if flags.given:
            raise UserError(
                "--autostop: expected an idle time (e.g. --autostop 60m) with "
                f"{'--autostop-action' if flags.action else '--autostop-command' if flags.command else 'these flags'}"
                ", or a budget (--max-cost, --max-hours)"
            )
        return None
    return AutostopSettings(**base)


def check_provider(provider: Provider[Any], settings: AutostopSettings | None) -> None:
    """What a provider cannot honour is refused (exit 2) before anything is made."""
    if settings is None:
        return
    if provider.capabilities.owns_machines:
        if settings.command is not None:
            raise UserError(
                f"--autostop-command: only for machines isaacctl adopts (local, ssh); a {provider.name} "
                "workstation is stopped the way that ends its billing"
            )
        return
    if settings.command is None:
        raise UserError(
            f"--autostop: a {provider.name} machine is not isaacctl's to stop; give the command that "
            "should run when it is idle, e.g. --autostop-command 'sudo systemctl suspend'"
        )
    if settings.action == "destroy":
        raise UserError(f"--autostop-action: 'destroy' needs a machine isaacctl made; {provider.name} adopts one")
    if settings.max_cost_usd is not None:
        raise UserError(f"--max-cost: isaacctl has no price for a {provider.name} machine; use --max-hours")


def route_of(record: DeploymentRecord, provider: Provider[Any]) -> str:
    if not provider.capabilities.owns_machines:
        return "command"
    return "azure" if record.provider == "azure" else "shutdown"


def _interval(settings: AutostopSettings) -> int:
    """Checks a tenth as often as the idle limit, at most once a minute, at least every second."""
    idle = settings.idle_seconds or 600
    return max(1, min(60, idle // 10))


def host_config(
    store: StateStore | None,
    record: DeploymentRecord,
    provider: Provider[Any],
    settings: AutostopSettings,
    node_index: int,
) -> dict[str, Any]:
    from isaacctl.services import cost

    spent = cost.deployment_cost(store, record) if store is not None else None
    config: dict[str, Any] = {
        "deployment": record.name,
        "deployment_id": record.id,
        "node": node_index,
        "host_root": record.host_root,
        "route": route_of(record, provider),
        "idle_seconds": settings.idle_seconds,
        "action": settings.action,
        "command": settings.command,
        "gpu_threshold": settings.gpu_threshold,
        "interval_s": _interval(settings),
        "max_cost_usd": settings.max_cost_usd,
        "max_hours": settings.max_hours,
        # the whole deployment's price and what it cost so far: every node's watchdog stops
        # its own machine when the deployment's budget is reached
        "hourly_usd": cost.hourly_price(record),
        "spent_usd": round(spent.total_usd, 4) if spent else 0.0,
        "spent_hours": round(spent.running_hours, 4) if spent else 0.0,
    }
    config.update(_cloud_target(record, node_index))
    import hashlib  # here, not at the top: `list` imports this module for describe()

    config["config_id"] = hashlib.sha256(
        json.dumps({**config, "set_at": settings.set_at.isoformat()}, sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    return config


def _cloud_target(record: DeploymentRecord, node_index: int) -> dict[str, Any]:
    """What the VM's identity acts on (Azure): its subscription, resource group and name."""
    if record.provider != "azure":
        return {}
    import os

    from isaacctl.providers.azure.api import group_name
    from isaacctl.providers.base import identity_of

    node = record.node(node_index)
    target = {
        "subscription": record.options.get("subscription") or os.environ.get("AZURE_SUBSCRIPTION_ID"),
        "resource_group": group_name(identity_of(record)),
        "vm": (node.instance_id or "").rsplit("/", 1)[-1] or None,
    }
    endpoint = os.environ.get("ISAACCTL_AZURE_ENDPOINT")
    if endpoint:  # the ARM endpoint the user pointed isaacctl at (sovereign clouds, the fake)
        target["arm_endpoint"] = endpoint
    return target


def _unit(record: DeploymentRecord) -> str:
    return f"isaacctl-autostop-{record.id}"


def units(record: DeploymentRecord, settings: AutostopSettings | None, folder: str) -> tuple[str, str]:
    """The systemd service and timer for one deployment (named by its id: two deployments on
    one adopted host each have their own)."""
    from isaacctl.resources import template_text

    values = {
        "NAME": record.name,
        "ID": record.id,
        "DIR": folder,
        "PYTHON": "/usr/bin/python3",
        "INTERVAL": str(_interval(settings) if settings else 60),
    }

    def unit(name: str) -> str:  # @NAME@ placeholders: systemd's own ${...} stays as written
        text = template_text(f"autostop/{name}")
        for key, value in values.items():
            text = text.replace(f"@{key}@", value)
        return text

    return unit("isaacctl-autostop.service"), unit("isaacctl-autostop.timer")


def install(
    remote: Remote,
    store: StateStore | None,
    record: DeploymentRecord,
    provider: Provider[Any],
    settings: AutostopSettings | None,
    node_index: int = 0,
) -> str:
    """Install, change or (settings None) remove the watchdog on one node; returns how it runs
    there ("systemd", "loop", "removed")."""
    from isaacctl.resources import template_text

    if not record.host_root:
        raise UserError(f"--autostop: {record.name!r} has no host folder yet; run 'isaacctl bootstrap {record.name}'")
    folder = f"{record.host_root}/{FOLDER}"
    service, timer = units(record, settings, folder)
    spec = {
        "dir": folder,
        "unit": _unit(record),
        "config": None if settings is None else host_config(store, record, provider, settings, node_index),
        "watchdog": template_text("autostop/watchdog.py"),
        "service": service,
        "timer": timer,
    }
    result = remote.run(
        ["python3", "-c", template_text("autostop/install.py")], stdin=json.dumps(spec).encode(), timeout=120
    )
    if not result.ok:
        raise IsaacctlError(f"autostop: installing the watchdog failed: {result.tail(3)}")
    try:
        return str(json.loads(result.stdout.strip().splitlines()[-1])["mode"])
    except (ValueError, KeyError, IndexError):
        raise IsaacctlError(f"autostop: the installer said {result.tail(3)!r}") from None


_READ = r"""
import json, sys
folder = sys.argv[1]
try:
    state = json.load(open(folder + "/state.json"))
except (OSError, ValueError):
    state = {}
acted = []
try:
    for line in open(folder + "/decisions.log"):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("done"):
            acted.append(entry)
except OSError:
    pass
print(json.dumps({"last": state.get("last"), "acted": acted[-20:]}))
"""


def read_host(remote: Remote, record: DeploymentRecord) -> tuple[AutostopDecision | None, list[dict[str, Any]]]:
    """The watchdog's last decision, and the times it stopped the machine (from its log)."""
    from isaacctl.records import AutostopDecision

    result = remote.run(["python3", "-c", _READ, f"{record.host_root}/{FOLDER}"], timeout=60)
    if not result.ok:
        return None, []
    try:
        said = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None, []
    last = said.get("last")
    decision = None
    if isinstance(last, dict) and "at" in last:
        decision = AutostopDecision(
            at=datetime.fromtimestamp(float(last["at"]), timezone.utc),
            decision=str(last.get("decision", "?")),
            reason=str(last.get("reason", "")),
            idle_for_s=last.get("idle_for_s"),
        )
    return decision, [entry for entry in said.get("acted") or [] if isinstance(entry, dict)]


def learn_from_host(store: StateStore, record: DeploymentRecord, remote: Remote) -> None:
    """Keep the host's last decision on the record, and log each stop it made (with the
    host's own time) for `cost`: the controller may have been away when it happened."""
    if record.autostop is None or not record.host_root:
        return
    decision, acted = read_host(remote, record)
    if decision is not None:
        record.autostop_decision = decision
    logged = {round(float(e.get("at", 0)), 3) for e in store.events(record.name) if e.get("event") == "autostop.acted"}
    for entry in acted:
        at = round(float(entry.get("at", 0)), 3)
        if at and at not in logged:
            store.append_event(
                record.name,
                "autostop.acted",
                at=at,
                action=entry.get("decision"),
                reason=entry.get("reason"),
                route=entry.get("route"),
            )


def noticed(record: DeploymentRecord, statuses: list[NodeStatus]) -> str | None:
    """Whether a refresh shows a machine stopped (or gone) that isaacctl did not stop while it
    had autostop: "stop" or "destroy" (its action), else None."""
    if record.autostop is None or record.status not in ("ready", "bootstrapping", "starting"):
        return None
    states = {status.state.value for status in statuses}
    if not statuses or not states <= {"stopped", "stopping", "terminated"}:
        return None
    return record.autostop.action


def describe(
    settings: AutostopSettings | None, last: AutostopDecision | None = None, now: datetime | None = None
) -> str:
    """One line for `list` and `status`: the setting, and the time left as last seen."""
    if settings is None:
        return "off"
    parts = []
    if settings.idle_seconds:
        parts.append(f"{settings.action} after {short(settings.idle_seconds)} idle")
    if settings.max_cost_usd is not None:
        parts.append(f"at ${settings.max_cost_usd:g}")
    if settings.max_hours is not None:
        parts.append(f"after {settings.max_hours:g} h")
    if settings.command:
        parts.append(f"runs {settings.command!r}")
    text = ", ".join(parts)
    if last is not None and settings.idle_seconds:
        now = now or datetime.now(timezone.utc)
        if last.decision == "idle" and last.idle_for_s is not None:
            left = settings.idle_seconds - last.idle_for_s - (now - last.at).total_seconds()
            text += f" ({short(max(0, int(left)))} left)" if left > 0 else " (due)"
        elif last.decision == "active":
            text += " (busy)"
    return text


def short(seconds: float) -> str:
    seconds = int(seconds)
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60}m"
    if seconds >= 3600:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


# -- the `isaacctl autostop NAME ...` command's work -----------------------------------------
@dataclass
class AutostopResult:
    name: str
    settings: AutostopSettings | None
    modes: dict[int, str]  # node -> "systemd", "loop", "removed"
    decision: AutostopDecision | None = None


class AutostopService:
    def __init__(self, store: StateStore, progress: Any = None) -> None:
        self.store = store
        self.progress = progress or (lambda message: None)

    def _nodes(self, record: DeploymentRecord, provider: Provider[Any]) -> Iterator[tuple[int, Remote]]:
        known_hosts = str(self.store.paths(record.name).known_hosts)
        for node in record.nodes:
            yield node.index, provider.remote(record, known_hosts, node.index)

    def set(self, name: str, flags: AutostopFlags, off: bool = False) -> AutostopResult:
        from isaacctl.providers.registry import get_provider

        with self.store.lock(name):
            record = self.store.load(name)
            provider = get_provider(record.provider)
            settings = None if off else settings_from(flags, record.autostop)
            check_provider(provider, settings)
            if record.status in ("stopped", "stopping", "destroying"):
                raise UserError(f"name: {name!r} is {record.status}; start it first, autostop lives on the machine")
            modes: dict[int, str] = {}
            for index, remote in self._nodes(record, provider):
                self.progress(
                    f"installing the autostop watchdog on node {index}"
                    if settings
                    else f"removing the autostop watchdog from node {index}"
                )
                with remote:
                    modes[index] = install(remote, self.store, record, provider, settings, index)
            record.autostop, record.autostop_decision = settings, None
            self.store.save(record)
            self.store.append_event(
                name, "autostop.set", **({"off": True} if settings is None else settings.model_dump(mode="json"))
            )
            return AutostopResult(name, settings, modes)

    def show(self, name: str) -> AutostopResult:
        """The settings, and the head's last decision read from the host now."""
        from isaacctl.providers.registry import get_provider

        with self.store.lock(name):
            record = self.store.load(name)
            provider = get_provider(record.provider)
            if record.autostop is not None and record.status not in ("stopped", "stopping") and record.nodes:
                known_hosts = str(self.store.paths(name).known_hosts)
                try:
                    with provider.remote(record, known_hosts, 0) as remote:
                        learn_from_host(self.store, record, remote)
                    self.store.save(record)
                except RemoteError as exc:
                    self.progress(f"the host did not answer: {exc.message}")
            return AutostopResult(name, record.autostop, {}, record.autostop_decision)
