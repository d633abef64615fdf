"""Option models shared by providers. Field names are the CLI flag names with '_' for '-',
so a validation error can name the flag the user typed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_HOST_DIR = "~/isaacctl"


class HostOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host_dir: str = Field(
        DEFAULT_HOST_DIR,
        min_length=1,
        description="folder on the workstation for caches, logs and jobs",
    )
    # Every provider takes --nodes; one without Capabilities.multi_node refuses more than 1
    # (the deployment service checks it, so the flag is never decorative).
    nodes: int = Field(1, ge=1, le=64, description="how many identical machines (1: a workstation)")
