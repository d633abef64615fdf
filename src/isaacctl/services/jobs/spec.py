"""What a user asks for: a JobSpec, from flags and/or the AWS Isaac Lab pipeline's job JSON,
validated before anything starts. Errors name the flag, or the JSON field when it came from
--config."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from isaacctl.errors import UserError, from_validation
from isaacctl.services.jobs.catalog import DISTRIBUTED_LIBRARIES, check_task
from isaacctl.services.jobs.pipeline import PIPELINE_FIELDS

OVERRIDE = re.compile(r"^\+?[A-Za-z_][\w.]*=.*$")


class JobSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["train", "evaluate"]
    task: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][\w.:-]*$")
    rl_library: Literal["rsl_rl", "skrl", "rl_games", "sb3"] = "rsl_rl"
    num_envs: int | None = Field(None, ge=1, le=1_000_000)
    max_iterations: int | None = Field(None, ge=1, le=10_000_000)
    seed: int | None = Field(None, ge=-1, le=2**31 - 1)
    video: bool = False
    video_length: int = Field(200, ge=1, le=100_000)
    video_interval: int = Field(2000, ge=1, le=10_000_000)
    gpus: int = Field(1, ge=1, le=16)
    num_nodes: int = Field(1, ge=1, le=1)
    resume: str | None = Field(None, pattern=r"^[\w-]+(:[\w.*-]+)?$")
    run_name: str | None = Field(None, pattern=r"^[\w.-]{1,64}$")
    extension: str | None = None
    checkpoint: str | None = None
    overrides: list[str] = Field(default_factory=list)
    force: bool = False

    @field_validator("overrides")
    @classmethod
    def _hydra_overrides(cls, values: list[str]) -> list[str]:
        for value in values:
            if not OVERRIDE.match(value):
                raise ValueError(f"Hydra overrides like agent.max_iterations=10, got {value!r}")
        return values

    @field_validator("extension")
    @classmethod
    def _extension_exists(cls, value: str | None) -> str | None:
        if value is None:
            return None
        path = Path(value).expanduser()
        if not (path.is_dir() or path.name.endswith((".tar.gz", ".zip", ".whl"))) or not path.exists():
            raise ValueError(f"a package folder or sdist/wheel file, {value!r} is neither")
        return str(path.absolute())


# Where each field came from, to name it in errors: the flag, or the --config JSON path.
FLAG_NAMES = {name: "--" + name.replace("_", "-") for name in JobSpec.model_fields}
FLAG_NAMES |= {"overrides": "HYDRA_OVERRIDES", "gpus": "--gpus", "num_nodes": "computeConfig.numNodes"}

PIPELINE_MODES = {"train": "train", "evaluate": "evaluate", "eval": "evaluate", "evaluation": "evaluate"}


def load_pipeline_config(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Fields from the pipeline's job JSON, and for each the JSON path it came from."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise UserError(f"--config: expected a readable JSON file, {exc.strerror}: {path}") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"--config: {path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("trainingConfig"), dict):
        raise UserError(f"trainingConfig: expected an object in {path}")
    training = data["trainingConfig"]
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, value in training.items():
        if key in ("policyS3Uri", "numEpisodes") or value is None:
            continue  # S3 hand-off and episode counts belong to the AWS pipeline, not to a host
        field = PIPELINE_FIELDS.get(key)
        if field is None:
            raise UserError(f"trainingConfig.{key}: not a field isaacctl knows "
                            f"(expected one of {', '.join(PIPELINE_FIELDS)}, policyS3Uri, numEpisodes)")
        if key == "mode":
            value = PIPELINE_MODES.get(str(value).lower(), value)
        values[field] = value
        sources[field] = f"trainingConfig.{key}"
    compute = data.get("computeConfig") or {}
    if "numNodes" in compute:
        values["num_nodes"] = compute["numNodes"]
        sources["num_nodes"] = "computeConfig.numNodes"
    return values, sources


def build_spec(flags: dict[str, Any], config: Path | None = None) -> JobSpec:
    """Flags win over --config; then validation against the model and the task catalog."""
    values, sources = load_pipeline_config(config) if config else ({}, {})
    for key, value in flags.items():
        if value is not None and value != [] and not (key in values and value is False):
            values[key] = value
            sources[key] = FLAG_NAMES.get(key, key)
    try:
        spec = JobSpec.model_validate(values)
    except ValidationError as exc:
        def where(field: str) -> str:
            field = field.split(".")[0]  # overrides.2 -> overrides
            return sources.get(field, FLAG_NAMES.get(field, field))

        raise from_validation(exc, where) from None
    check_task(spec.task, spec.rl_library, force=spec.force, flag=sources.get("task", "--task"))
    _check_combinations(spec)
    return spec


def _check_combinations(spec: JobSpec) -> None:
    if spec.gpus > 1 and spec.rl_library not in DISTRIBUTED_LIBRARIES:
        raise UserError(f"--gpus: {spec.rl_library} cannot train on several GPUs "
                        f"(use one of {', '.join(DISTRIBUTED_LIBRARIES)})")
    if spec.mode == "evaluate":
        for field in ("max_iterations", "resume", "run_name"):
            if getattr(spec, field) is not None:
                raise UserError(f"{FLAG_NAMES[field]}: only for train, not evaluate")
        if spec.gpus > 1:
            raise UserError("--gpus: evaluation runs on one GPU")
    if spec.run_name is not None and spec.rl_library != "rsl_rl":
        raise UserError(f"--run-name: only rsl_rl names runs; {spec.rl_library} does not")

