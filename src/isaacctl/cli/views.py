"""What `--json` shows of a deployment: explicit dicts, documented field by field in
docs/json.md, versioned by the envelope's api_version. Not the file on disk: the record may
change shape between releases (it is migrated on load); these views change only with
api_version. A field is added freely; renaming or removing one needs a new api_version."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

    from isaacctl.records import AutostopDecision, AutostopSettings, DeploymentRecord, HostFacts, Node, StepRecord

API_VERSION = 1


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def facts_view(facts: HostFacts | None) -> dict[str, Any] | None:
    if facts is None:
        return None
    return {
        "os": facts.os,
        "kernel": facts.kernel,
        "cpus": facts.cpus,
        "memory_mib": facts.memory_mib,
        "free_disk_gib": facts.free_disk_gib,
        "gpus": [
            {"model": gpu.model, "memory_mib": gpu.memory_mib, "driver_version": gpu.driver_version}
            for gpu in facts.gpus
        ],
    }


def steps_view(steps: dict[str, StepRecord]) -> dict[str, dict[str, Any]]:
    return {
        name: {
            "status": step.status,
            "digest": step.digest,
            "finished_at": _time(step.finished_at),
            "duration_s": step.duration_s,
            "message": step.message,
        }
        for name, step in steps.items()
    }


def node_view(node: Node) -> dict[str, Any]:
    ssh = node.ssh
    return {
        "index": node.index,
        "role": node.role,
        "instance_id": node.instance_id,
        "public_ip": node.public_ip,
        "private_ip": node.private_ip,
        "address": node.address,
        "state": node.state,
        "state_at": _time(node.state_at),
        "ssh": None
        if ssh is None
        else {
            "host": ssh.host,
            "port": ssh.port,
            "user": ssh.user,
            "default_user": ssh.default_user,
            "identity_file": ssh.identity_file,
            "host_key_alias": ssh.host_key_alias,
        },
        "gpu": node.gpu_summary,
        "facts": facts_view(node.facts),
        "bootstrap": steps_view(node.bootstrap),
    }


def deployment_view(record: DeploymentRecord) -> dict[str, Any]:
    """One deployment, as `list`, `status` and `deploy` print it under "data"."""
    return {
        "name": record.name,
        "id": record.id,
        "creator": record.creator,
        "provider": record.provider,
        "status": record.status,
        "address": record.address,
        "region": record.region,
        "zone": record.zone,
        "instance_type": record.instance_type,
        "market": record.market,
        "gpu": record.gpu_summary,
        "gpus": record.gpus,
        "image": record.image,
        "image_id": record.image_id,
        "isaaclab_version": record.isaaclab_version,
        "runtime": record.runtime,
        "isaaclab_python": record.isaaclab_python,
        "asset_root": record.asset_root,
        "registry_user": record.registry_user,
        "host_root": record.host_root,
        "options": dict(record.options),
        "created_at": _time(record.created_at),
        "updated_at": _time(record.updated_at),
        "last_error": record.last_error,
        "facts": facts_view(record.facts),
        "bootstrap": steps_view(record.bootstrap),
        "nodes": [node_view(node) for node in record.nodes],
        "autostop": autostop_view(record.autostop, record.autostop_decision),
    }


def autostop_view(settings: AutostopSettings | None, decision: AutostopDecision | None) -> dict[str, Any] | None:
    if settings is None and decision is None:
        return None
    return {
        "idle_seconds": settings.idle_seconds if settings else None,
        "action": settings.action if settings else None,
        "command": settings.command if settings else None,
        "max_cost_usd": settings.max_cost_usd if settings else None,
        "max_hours": settings.max_hours if settings else None,
        "gpu_threshold": settings.gpu_threshold if settings else None,
        "last_decision": None
        if decision is None
        else {
            "at": decision.at.isoformat(),
            "decision": decision.decision,
            "reason": decision.reason,
            "idle_for_s": decision.idle_for_s,
            "read_at": decision.read_at.isoformat(),
        },
    }


def list_entry_view(
    record: DeploymentRecord, refresh_error: str | None = None, refreshed: bool = False
) -> dict[str, Any]:
    view = deployment_view(record)
    if refreshed:
        view["refresh_error"] = refresh_error
    return view
