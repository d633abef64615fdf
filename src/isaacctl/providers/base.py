"""The provider contract, declared once. Every provider (built in or third party) implements
`Provider` and registers its class under the entry-point group `isaacctl.providers`.

The deployment service drives a provider through these steps:
    check_credentials -> plan (shown, approved) -> create (idempotent) -> wait_reachable
    -> ... -> [stop -> start] -> destroy
and records every resource the provider reports through `DeployContext` before and after it
exists, so an interrupted deploy can always be cleaned up from the event log and from tags.
`list_tagged` finds what a provider made by its deployment tag alone (leak sweeps, `gc`, and the
check a destroy ends with).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from pydantic import BaseModel

    from isaacctl.records import DeploymentRecord, Node
    from isaacctl.remote import Remote

# Every cloud resource isaacctl makes carries this tag (label on GCP) with the deployment name.
DEPLOYMENT_TAG = "isaacctl:deployment"
# Containers isaacctl starts on a host carry this Docker label.
CONTAINER_LABEL = "isaacctl.deployment"


@dataclass(frozen=True)
class Capabilities:
    stop_start: bool = False
    spot: bool = False
    multi_node: bool = False
    # False for providers that adopt a machine (local, ssh): destroy only forgets it.
    owns_machines: bool = False


class InstanceState(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    TERMINATED = "terminated"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class CredentialCheck:
    ok: bool
    identity: str  # who the credentials belong to, or why there are none
    hint: str | None = None


@dataclass(frozen=True)
class PlannedResource:
    kind: str  # "instance", "security-group", "key-pair", ...
    name: str
    detail: str = ""
    action: str = "create"  # "create", "reuse" (found by tag), "adopt"


@dataclass(frozen=True)
class Plan:
    resources: list[PlannedResource]
    hourly_usd: float | None = None  # on-demand price of the plan, per hour
    hourly_spot_usd: float | None = None  # a typical spot price, per hour
    price_source: str | None = None  # where the figures come from
    price_date: str | None = None  # when they were true
    notes: list[str] = field(default_factory=list)
    # What the provider resolved while planning (image id, CIDR, zones...): `create` makes
    # exactly what the user approved. Plain JSON values; never secrets.
    resolved: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NodeStatus:
    index: int
    instance_id: str | None
    state: InstanceState
    public_ip: str | None = None
    private_ip: str | None = None


@dataclass(frozen=True)
class CloudResource:
    """A resource found by its deployment tag (for leak sweeps and verified destroys)."""

    kind: str
    resource_id: str
    deployment: str
    region: str | None = None
    state: str | None = None


@dataclass
class DeployContext:
    """What a provider gets for one operation on one deployment."""

    record: DeploymentRecord
    options: BaseModel
    # Called before a resource is requested and after it exists; both land in events.jsonl.
    on_resource: Callable[[str, str, str, dict[str, Any]], None]
    # Where this deployment's host keys are pinned (owned by the state module).
    known_hosts_file: str = ""
    # Short progress messages for the spinner ("waiting for i-0abc to run").
    on_progress: Callable[[str], None] = lambda message: None
    # The plan the user approved (None when a command other than deploy drives the provider).
    plan: Plan | None = None
    # Where a key the provider generates for this deployment goes (0600, inside the state folder).
    private_key_file: str = ""

    @property
    def name(self) -> str:
        return self.record.name

    def creating(self, kind: str, resource_id: str, **details: Any) -> None:
        self.on_resource("creating", kind, resource_id, details)

    def created(self, kind: str, resource_id: str, **details: Any) -> None:
        self.on_resource("created", kind, resource_id, details)

    def deleted(self, kind: str, resource_id: str, **details: Any) -> None:
        self.on_resource("deleted", kind, resource_id, details)

    def failed(self, kind: str, resource_id: str, **details: Any) -> None:
        """A request announced with `creating` that made nothing (capacity, quota...)."""
        self.on_resource("failed", kind, resource_id, details)


class Provider(ABC):
    """One place workstations live. Instances are stateless; all state is in the record."""

    name: ClassVar[str]
    summary: ClassVar[str]
    capabilities: ClassVar[Capabilities] = Capabilities()
    #: pydantic model of the options `deploy <provider>` takes (validated before anything runs).
    options_model: ClassVar[type[BaseModel]]

    def check_credentials(self, options: BaseModel) -> CredentialCheck:
        return CredentialCheck(ok=True, identity="no credentials needed")

    @abstractmethod
    def plan(self, name: str, options: BaseModel) -> Plan:
        """What `create` would make, and its price when known. Makes nothing."""

    @abstractmethod
    def create(self, ctx: DeployContext) -> list[Node]:
        """Make what is missing (find existing resources by tag first) and return the nodes.
        May fill ctx.record's region, zone, instance_type and market; the service saves it."""

    @abstractmethod
    def wait_reachable(self, ctx: DeployContext, timeout: float) -> list[Node]:
        """Wait until every node accepts SSH (or is otherwise usable) and return the nodes,
        with addresses as they are now."""

    @abstractmethod
    def query(self, record: DeploymentRecord) -> list[NodeStatus]:
        """The state of each node as the provider sees it now."""

    def stop(self, ctx: DeployContext) -> None:
        """Stop the nodes (disks kept) and wait until they are stopped. Only with
        capabilities.stop_start."""
        raise NotImplementedError(f"{self.name} cannot stop a workstation")

    def start(self, ctx: DeployContext) -> list[Node]:
        """Start stopped nodes, wait until they run, and return them with their addresses as
        they are now (they may change). Host-key aliases stay: the machine is the same."""
        raise NotImplementedError(f"{self.name} cannot start a workstation")

    @abstractmethod
    def destroy(self, ctx: DeployContext) -> None:
        """Remove everything tagged with the deployment, idempotently, and verify it is gone
        (raise ProviderError naming what remains)."""

    def list_tagged(self, options: BaseModel, deployment: str | None = None) -> list[CloudResource]:
        """Every live resource carrying the deployment tag (any deployment when None), in the
        region (or scope) the options name. Terminated instances are not listed."""
        return []

    @abstractmethod
    def remote(self, record: DeploymentRecord, known_hosts_file: str) -> Remote:
        """How to run commands on the deployment's head node."""
