"""The shapes of what isaacctl keeps about a deployment. No I/O here: `state` owns the files.

Schema versions of the deployment record (`migrate` brings an older one up to date on load):
  1  the first release: one node; facts and bootstrap steps on the record itself.
  2  a random deployment id and its creator (put on every tag and container label, so two
     state folders using one name never touch each other's resources); nodes carry their
     role, last known state, facts and bootstrap steps.
"""

import getpass
import hashlib
import secrets
import socket
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# The derived values are shared with the records `list` reads without pydantic (records_read).
from isaacctl.records_read import (
    FINAL_JOB_STATES,
    bootstrap_of,
    deployment_address,
    facts_of,
    gpu_summary,
    head_of,
    node_address,
    node_of,
)

SCHEMA_VERSION = 2
JOB_SCHEMA_VERSION = 1
# Resources made before deployments had ids carry the name tag only: they match by name.
LEGACY_CREATOR = "unknown (made before deployment ids)"

DeploymentStatus = Literal[
    "creating", "bootstrapping", "ready", "stopping", "stopped", "starting", "failed", "destroying"
]


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def new_deployment_id() -> str:
    """8 lowercase hex digits: valid in every cloud's tag and label values, and in names."""
    return secrets.token_hex(4)


def current_creator() -> str:
    """Who made a deployment, as shown to another user who meets its resources."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry (a container): still say where
        user = "unknown"
    return f"{user}@{socket.gethostname()}"[:128]


class _Model(BaseModel):
    # Unknown keys are refused so a typo in a hand-edited record is caught, not silently kept.
    # Schemas are built on first use: `list` never pays for the job models (start-up budget).
    model_config = ConfigDict(extra="forbid", defer_build=True)


class SshEndpoint(_Model):
    """How to reach a node. None means "not given": ssh_config, then the defaults, decide."""

    host: str
    port: int | None = None
    user: str | None = None
    identity_file: str | None = None
    # The provider's own default login (e.g. "ubuntu" on cloud images); an ssh_config entry wins.
    default_user: str | None = None
    # The name its host key is pinned under in known_hosts (OpenSSH's HostKeyAlias), so a node
    # keeps its pinned key when its address changes on stop/start.
    host_key_alias: str


class GpuFact(_Model):
    model: str
    memory_mib: int | None = None
    driver_version: str | None = None


class HostFacts(_Model):
    os: str | None = None
    kernel: str | None = None
    cpus: int | None = None
    memory_mib: int | None = None
    free_disk_gib: float | None = None
    gpus: list[GpuFact] = Field(default_factory=list)


StepStatus = Literal["ok", "skipped", "failed"]


class StepRecord(_Model):
    """The last result of one bootstrap step."""

    status: StepStatus
    digest: str  # of everything the step runs; a change re-runs it
    finished_at: datetime
    duration_s: float
    message: str = ""


AutostopAction = Literal["stop", "destroy"]


class AutostopSettings(_Model):
    """What the watchdog on the workstation does when it finds the host idle (or over budget).
    It runs there, not here: a closed laptop cannot leak a GPU."""

    idle_seconds: int | None = None  # None: no idle stop (a budget alone may still be set)
    action: AutostopAction = "stop"
    # local and ssh machines are not isaacctl's to stop: only a command the user gave runs there
    command: str | None = None
    max_cost_usd: float | None = None
    max_hours: float | None = None
    gpu_threshold: float = 10.0  # % utilisation at or above which a GPU counts as busy
    set_at: datetime = Field(default_factory=utc_now)


class AutostopDecision(_Model):
    """The watchdog's last decision as read from the host (it logs every one there)."""

    at: datetime
    decision: str  # "active", "idle", "stop", "destroy", "over-budget", "failed"...
    reason: str = ""
    idle_for_s: float | None = None
    read_at: datetime = Field(default_factory=utc_now)


NodeRole = Literal["head", "worker"]


class Node(_Model):
    index: int = 0
    role: NodeRole = "head"
    instance_id: str | None = None
    public_ip: str | None = None
    private_ip: str | None = None
    ssh: SshEndpoint | None = None  # None for the local provider: commands run here
    # What the provider last said of the node ("running", "stopped", "terminated"...), and when.
    state: str | None = None
    state_at: datetime | None = None
    facts: HostFacts | None = None
    bootstrap: dict[str, StepRecord] = Field(default_factory=dict)

    @property
    def address(self) -> str:
        """What a person would call the node: its SSH host, else "localhost"."""
        return node_address(self)

    @property
    def gpu_summary(self) -> str:
        return gpu_summary(self.facts)


class DeploymentRecord(_Model):
    schema_version: int = SCHEMA_VERSION
    name: str
    # Random, made once: on every tag and container label beside the name. A provider adopts
    # or deletes only resources carrying this id.
    id: str = Field(default_factory=new_deployment_id, pattern=r"^[0-9a-f]{8}$")
    creator: str = Field(default_factory=current_creator)
    provider: str
    status: DeploymentStatus = "creating"
    region: str | None = None
    zone: str | None = None
    instance_type: str | None = None
    market: Literal["on-demand", "spot"] | None = None
    image: str | None = None  # the Isaac Lab container image bootstrap installed
    image_id: str | None = None
    isaaclab_version: str | None = None
    gpus: Literal["all", "none"] = "all"
    registry_user: str | None = None
    host_root: str | None = None  # the deployment's folder on the host, absolute
    runtime: Literal["container", "pip"] = "container"  # where jobs run (isaacctl/runtimes/)
    isaaclab_python: str | None = None  # pip runtime: the Python whose isaaclab jobs run
    asset_root: str | None = None  # ISAACSIM_ASSET_ROOT for jobs (a local asset mirror)
    prewarm: bool | None = None  # --prewarm/--no-prewarm as last given (None: by default)
    # Non-secret provider options as given at deploy time (never credentials or keys).
    options: dict[str, Any] = Field(default_factory=dict)
    nodes: list[Node] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)
    last_error: str | None = None
    # The autostop watchdog installed on the host (None: none), and what it last decided.
    autostop: AutostopSettings | None = None
    autostop_decision: AutostopDecision | None = None

    @property
    def head(self) -> Node | None:
        return head_of(self)

    def node(self, index: int) -> Node:
        """The node with this index; IndexError names the ones there are."""
        node: Node = node_of(self, index)
        return node

    @property
    def facts(self) -> HostFacts | None:
        """The head node's facts (what one-node commands show)."""
        return facts_of(self)

    @property
    def bootstrap(self) -> dict[str, StepRecord]:
        """The head node's bootstrap steps."""
        return bootstrap_of(self)

    @property
    def address(self) -> str:
        """What a person would call the host: the SSH host, else "localhost"."""
        return deployment_address(self)

    @property
    def gpu_summary(self) -> str:
        return gpu_summary(self.facts)


ManagedState = Literal["running", "recovering", "succeeded", "failed", "cancelled"]


class ManagedSettings(_Model):
    """`train --managed`: isaacctl keeps the run going across preemptions (services/managed)."""

    max_restarts: int = 5
    fallback_on_demand: bool = False
    checkpoint_bucket: str | None = None
    # The whole run's iterations: each resume is given what is left after its checkpoint, so
    # the resumed run ends where the first one would have.
    total_iterations: int
    state: ManagedState = "running"
    # Set before a recovery starts and cleared once the job runs again: a controller killed in
    # between finds it and carries on, and a failed container meanwhile is not the job failing.
    recovering_since: datetime | None = None
    last_seen_running: datetime | None = None
    last_sync: datetime | None = None


class ManagedAttempt(_Model):
    """One recovery: why, what was done, where the job went, and from which checkpoint."""

    number: int
    at: datetime
    reason: str
    action: str = ""  # "start" (same instance), "redeploy" (new instance), "resume" (host kept running)
    where: str | None = None  # "aws us-east-1b spot i-0abc"
    checkpoint: str | None = None  # the file it resumed from (None: from the start)
    from_iteration: int | None = None
    job: str | None = None  # the run that carries on (its container and folder)
    result: Literal["ok", "failed", "running"] = "running"
    error: str | None = None
    lost_seconds: float | None = None
    # a redeploy deletes the old machine's resources once, before making new ones
    destroyed_old: bool = False


JobStatus = Literal["starting", "running", "unknown", "succeeded", "failed", "cancelled"]


class NodeRun(_Model):
    """One node's part of a job that spans several nodes: its own container (or process group),
    folder and command (torchrun's node rank differs). Node 0's is the job's own."""

    index: int  # the deployment's node index, which is also torchrun's node rank
    container: str
    host_dir: str
    command: list[str]
    status: JobStatus = "starting"
    exit_code: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINAL_JOB_STATES


class JobRecord(_Model):
    """One training or evaluation run. `spec` is what was asked (a dict of JobSpec), `command`
    exactly what ran in the container."""

    schema_version: int = JOB_SCHEMA_VERSION
    id: str
    deployment: str
    mode: Literal["train", "evaluate"]
    task: str
    rl_library: str
    spec: dict[str, Any]
    command: list[str]
    container: str
    host_dir: str  # the job's folder on the host: logs/, output.txt, spec.json
    status: JobStatus = "starting"
    exit_code: int | None = None
    cancel_requested: bool = False
    created_at: datetime = Field(default_factory=utc_now)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    last_iteration: int | None = None
    mean_reward: float | None = None
    checkpoint: str | None = None  # evaluate: the checkpoint it played, host path
    error: str | None = None
    # `train --managed` (None: an ordinary job). Each recovery is an attempt; `container`,
    # `host_dir` and `command` are always the run that carries on now.
    managed: ManagedSettings | None = None
    restarts: int = 0
    attempts: list[ManagedAttempt] = Field(default_factory=list)
    lost_seconds: float = 0.0  # wall time without a running job, summed over recoveries
    runs_on: str | None = None  # where it runs now: "aws us-east-1b spot i-0abc"
    # Several GPUs or nodes: one process (rank) per GPU on each node, torchrun on every node.
    nodes: int = 1
    gpus_per_node: int = 1
    rendezvous: str | None = None  # several nodes: the head's private address and port
    node_runs: list[NodeRun] = Field(default_factory=list)  # several nodes: each node's part, node 0 first

    @property
    def finished(self) -> bool:
        return self.status in FINAL_JOB_STATES

    @property
    def ranks(self) -> int:
        return self.nodes * self.gpus_per_node


def legacy_deployment_id(data: dict[str, Any]) -> str:
    """The id a v1 record gets on migration. Derived, not random: a migrated record that is
    only read (list, status) must name the same id on every load, or containers labelled
    after one load would look foreign to the next."""
    seed = f"{data.get('name')}|{data.get('provider')}|{data.get('created_at')}"
    return hashlib.sha256(seed.encode()).hexdigest()[:8]


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """A deployment record as read from disk, brought up to SCHEMA_VERSION (a new dict).
    Records newer than this release are left as they are, so validation names what it
    does not know rather than this code guessing."""
    data = dict(data)
    version = data.get("schema_version", 1)
    if version == 1:
        facts, steps = data.pop("facts", None), data.pop("bootstrap", None) or {}
        nodes = [dict(node) for node in data.get("nodes", [])]
        for node in nodes:
            node.setdefault("role", "head" if node.get("index", 0) == 0 else "worker")
        if nodes:
            nodes[0]["facts"], nodes[0]["bootstrap"] = facts, steps
        data["nodes"] = nodes
        data.setdefault("id", legacy_deployment_id(data))
        data.setdefault("creator", LEGACY_CREATOR)
        data["schema_version"] = version = 2
    return data
