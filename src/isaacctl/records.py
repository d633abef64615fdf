"""The shapes of what isaacctl keeps about a deployment. No I/O here: `state` owns the files."""


from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

DeploymentStatus = Literal[
    "creating", "bootstrapping", "ready", "stopping", "stopped", "starting", "failed", "destroying"
]


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


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


class Node(_Model):
    index: int = 0
    instance_id: str | None = None
    public_ip: str | None = None
    private_ip: str | None = None
    ssh: SshEndpoint | None = None  # None for the local provider: commands run here


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


class StepRecord(_Model):
    """The last result of one bootstrap step."""

    status: Literal["ok", "skipped", "failed"]
    digest: str  # of everything the step runs; a change re-runs it
    finished_at: datetime
    duration_s: float
    message: str = ""


class DeploymentRecord(_Model):
    schema_version: int = SCHEMA_VERSION
    name: str
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
    # Non-secret provider options as given at deploy time (never credentials or keys).
    options: dict[str, Any] = Field(default_factory=dict)
    nodes: list[Node] = Field(default_factory=list)
    facts: HostFacts | None = None
    bootstrap: dict[str, StepRecord] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)
    last_error: str | None = None

    @property
    def head(self) -> Node | None:
        return self.nodes[0] if self.nodes else None

    @property
    def address(self) -> str:
        """What a person would call the host: the SSH host, else "localhost"."""
        node = self.head
        if node is None:
            return "-"
        if node.ssh is None:
            return "localhost"
        return node.ssh.host

    @property
    def gpu_summary(self) -> str:
        if self.facts is None or not self.facts.gpus:
            return "-"
        models = [gpu.model for gpu in self.facts.gpus]
        first = models[0]
        return first if len(models) == 1 else f"{len(models)}x {first}"


JobStatus = Literal["starting", "running", "succeeded", "failed", "cancelled"]
FINAL_JOB_STATES = ("succeeded", "failed", "cancelled")


class JobRecord(_Model):
    """One training or evaluation run. `spec` is what was asked (a dict of JobSpec), `command`
    exactly what ran in the container."""

    schema_version: int = SCHEMA_VERSION
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

    @property
    def finished(self) -> bool:
        return self.status in FINAL_JOB_STATES
