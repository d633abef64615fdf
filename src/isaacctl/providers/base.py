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
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel

    from isaacctl.records import DeploymentRecord, Node
    from isaacctl.remote import Remote

# Every cloud resource isaacctl makes carries the deployment's name and id (and who made it,
# and when). These are the generic keys, valid as GCP label keys (lowercase letters, digits,
# '_' and '-') and so on every cloud; each provider maps them to its own tag form (AWS keeps
# its historical "isaacctl:deployment"), see `Identity`.
NAME_KEY = "isaacctl-deployment"
ID_KEY = "isaacctl-deployment-id"
CREATOR_KEY = "isaacctl-creator"
CREATED_KEY = "isaacctl-created"
# AWS's tag key for the name (the AWS provider's own form of NAME_KEY).
DEPLOYMENT_TAG = "isaacctl:deployment"
# Containers isaacctl starts on a host carry these Docker labels.
CONTAINER_LABEL = "isaacctl.deployment"
CONTAINER_ID_LABEL = "isaacctl.deployment-id"

OptionsT = TypeVar("OptionsT", bound="BaseModel")


@dataclass(frozen=True)
class Identity:
    """Which deployment a resource belongs to. `id` tells apart two deployments of one name
    (two state folders, two people in one account); `creator` and `created` tell the other
    user whose they are."""

    name: str
    id: str
    creator: str = ""
    created: str = ""  # ISO 8601, UTC

    def labels(self) -> dict[str, str]:
        """The generic key/value pairs; a provider maps keys and sanitises values as its cloud
        requires."""
        return {NAME_KEY: self.name, ID_KEY: self.id, CREATOR_KEY: self.creator, CREATED_KEY: self.created}

    def owns(self, resource_id: str | None) -> bool:
        """Whether a resource carrying `resource_id` is this deployment's. A resource with no id
        (made before ids existed) matches by name alone."""
        return resource_id is None or resource_id == "" or resource_id == self.id


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
    """A resource found by its deployment tag (for leak sweeps, verified destroys and the
    check that a name is not another deployment's)."""

    kind: str
    resource_id: str
    deployment: str
    region: str | None = None
    state: str | None = None
    deployment_id: str | None = None  # None: made before ids existed
    creator: str | None = None
    created: str | None = None  # ISO 8601


@dataclass
class DeployContext(Generic[OptionsT]):
    """What a provider gets for one operation on one deployment."""

    record: DeploymentRecord
    options: OptionsT
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

    @property
    def identity(self) -> Identity:
        return identity_of(self.record)

    def creating(self, kind: str, resource_id: str, **details: Any) -> None:
        self.on_resource("creating", kind, resource_id, details)

    def created(self, kind: str, resource_id: str, **details: Any) -> None:
        self.on_resource("created", kind, resource_id, details)

    def deleted(self, kind: str, resource_id: str, **details: Any) -> None:
        self.on_resource("deleted", kind, resource_id, details)

    def failed(self, kind: str, resource_id: str, **details: Any) -> None:
        """A request announced with `creating` that made nothing (capacity, quota...)."""
        self.on_resource("failed", kind, resource_id, details)


def identity_of(record: DeploymentRecord) -> Identity:
    return Identity(record.name, record.id, record.creator, record.created_at.isoformat())


class Provider(ABC, Generic[OptionsT]):
    """One place workstations live. Instances are stateless; all state is in the record."""

    name: ClassVar[str]
    summary: ClassVar[str]
    capabilities: ClassVar[Capabilities] = Capabilities()
    #: pydantic model of the options `deploy <provider>` takes (validated before anything runs).
    options_model: type[OptionsT]
    #: option fields that say where to look (region, profile, project...): `check` and `gc`
    #: take them as flags. A field given several times to `gc` is looked in one by one.
    scope_fields: ClassVar[tuple[str, ...]] = ()
    #: `deploy <provider> --help`: example command lines, and one paragraph of help (else the
    #: class's own docstring, else `summary`). Read from the class itself, not inherited.
    examples: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str | None] = None

    def check_credentials(self, options: OptionsT) -> CredentialCheck:
        return CredentialCheck(ok=True, identity="no credentials needed")

    @abstractmethod
    def plan(self, name: str, options: OptionsT) -> Plan:
        """What `create` would make, and its price when known. Makes nothing."""

    @abstractmethod
    def create(self, ctx: DeployContext[OptionsT]) -> list[Node]:
        """Make what is missing (find existing resources by name and id tags first; never
        adopt one carrying another deployment's id) and return every node, index 0 the head
        (role "head"), the others role "worker", each with instance id, public and private
        address and SSH endpoint (its host key alias unique per node). May fill ctx.record's
        region, zone, instance_type and market; the service saves it."""

    @abstractmethod
    def wait_reachable(self, ctx: DeployContext[OptionsT], timeout: float) -> list[Node]:
        """Wait until every node accepts SSH (or is otherwise usable) and return the nodes,
        with addresses as they are now."""

    @abstractmethod
    def query(self, record: DeploymentRecord) -> list[NodeStatus]:
        """The state of each node as the provider sees it now."""

    def stop(self, ctx: DeployContext[OptionsT]) -> None:
        """Stop the nodes (disks kept) and wait until they are stopped. Only with
        capabilities.stop_start."""
        raise NotImplementedError(f"{self.name} cannot stop a workstation")

    def start(self, ctx: DeployContext[OptionsT]) -> list[Node]:
        """Start stopped nodes, wait until they run, and return them with their addresses as
        they are now (they may change). Host-key aliases stay: the machine is the same."""
        raise NotImplementedError(f"{self.name} cannot start a workstation")

    @abstractmethod
    def destroy(self, ctx: DeployContext[OptionsT]) -> None:
        """Remove everything tagged with the deployment's name and id (and untagged-id
        resources of its name), idempotently, and verify it is gone (raise ProviderError
        naming what remains). Never touches resources carrying another id."""

    def list_tagged(self, options: OptionsT, deployment: str | None = None) -> list[CloudResource]:
        """Every live resource carrying the deployment tag (any deployment when None), in the
        region (or scope) the options name, with the id, creator and creation time its tags
        carry. Terminated instances are not listed."""
        return []

    @abstractmethod
    def remote(self, record: DeploymentRecord, known_hosts_file: str, node: int = 0) -> Remote:
        """How to run commands on one node of the deployment (0: the head)."""
