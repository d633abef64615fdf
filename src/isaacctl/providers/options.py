"""Option models shared by providers. Field names are the CLI flag names with '_' for '-',
so a validation error can name the flag the user typed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

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

    @field_validator("host_dir")
    @classmethod
    def _host_dir(cls, value: str) -> str:
        # Relative folders depend on where a login lands; ':' and ',' end a Docker mount spec;
        # control characters (a newline, a tab) no folder name should have. Spaces are fine.
        if not (value.startswith("/") or value == "~" or value.startswith("~/")):
            raise ValueError("expected an absolute folder on the host (/... or ~/...)")
        bad = sorted({c for c in value if c in ":," or not c.isprintable()})
        if bad:
            raise ValueError(f"expected a folder without {' '.join(repr(c) for c in bad)} in it")
        return value.rstrip("/") if value.rstrip("/") else "/"
