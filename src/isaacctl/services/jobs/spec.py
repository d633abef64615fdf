"""What a user asks for: a JobSpec, from flags and/or the AWS Isaac Lab pipeline's job JSON,
validated before anything starts. Errors name the flag, or the JSON field when it came from
--config."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from isaacctl.errors import UserError, from_validation
from isaacctl.services.jobs.catalog import check_library, resolve_task
from isaacctl.services.jobs.pipeline import PIPELINE_FIELDS

if TYPE_CHECKING:
    from isaacctl.isaaclab import Generation
    from isaacctl.records import DeploymentRecord

OVERRIDE = re.compile(r"^\+?[A-Za-z_][\w.]*=.*$")
# no newline or NUL in a value: it becomes one `docker run --env` / `env` argument
ENV_SETTING = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=[^\n\r\x00]*$")


class JobSpec(BaseModel):
    # Python's re: pydantic-core's Rust engine compiles each Unicode \w into a large automaton,
    # ~25 ms apiece, paid by every `train` on start-up. Patterns end in \Z, as re's $ would
    # also match before a final newline.
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")

    mode: Literal["train", "evaluate"]
    task: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][\w.:-]*\Z")
    # None: the generation's default (rsl_rl on 2.x, the task's agent on 3.x); build_spec
    # resolves it and checks it against the generation's libraries.
    rl_library: str | None = Field(None, pattern=r"^[a-z][a-z0-9_]{0,31}\Z")
    num_envs: int | None = Field(None, ge=1, le=1_000_000)
    max_iterations: int | None = Field(None, ge=1, le=10_000_000)
    seed: int | None = Field(None, ge=-1, le=2**31 - 1)
    video: bool = False
    video_length: int = Field(200, ge=1, le=100_000)
    video_interval: int = Field(2000, ge=1, le=10_000_000)
    # Processes (one per GPU) on each node. None: every GPU of a node where the library trains
    # on several, else 1; JobService.submit decides from the deployment's facts.
    gpus: int | None = Field(None, ge=1, le=16)
    num_nodes: int = Field(1, ge=1, le=64)
    # KEY=VALUE settings for the job's processes (NCCL_*, ...); they win over isaacctl's own.
    env: list[str] = Field(default_factory=list)
    resume: str | None = Field(None, pattern=r"^[\w-]+(:[\w.*-]+)?\Z")
    run_name: str | None = Field(None, pattern=r"^[\w.-]{1,64}\Z")
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

    @field_validator("env")
    @classmethod
    def _environment(cls, values: list[str]) -> list[str]:
        for value in values:
            if not ENV_SETTING.match(value):
                raise ValueError(f"KEY=VALUE with KEY a shell variable name, got {value!r}")
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
FLAG_NAMES |= {"overrides": "HYDRA_OVERRIDES", "gpus": "--gpus", "num_nodes": "--nodes"}

PIPELINE_MODES = {"train": "train", "evaluate": "evaluate", "eval": "evaluate", "evaluation": "evaluate"}


# A job JSON is a few hundred bytes and two levels deep; far more is not one.
CONFIG_MAX_BYTES = 64 * 1024
CONFIG_MAX_DEPTH = 8
# fetch-logs writes the job back as a job JSON with an "isaacctl" section (what ran): a file
# that came home can be given to --config again, and that section is only a record.
CONFIG_SECTIONS = ("trainingConfig", "computeConfig", "isaacctl")
COMPUTE_FIELDS = {"numNodes": "num_nodes", "gpus": "gpus"}


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    return 0


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _read_config(path: Path) -> Any:
    try:
        with open(path, "rb") as handle:
            raw = handle.read(CONFIG_MAX_BYTES + 1)
    except OSError as exc:
        raise UserError(f"--config: expected a readable JSON file, {exc.strerror}: {path}") from None
    if len(raw) > CONFIG_MAX_BYTES:
        raise UserError(f"--config: {path} is larger than {CONFIG_MAX_BYTES // 1024} KiB; a job JSON is far smaller")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"--config: {path} is not UTF-8 text (byte {exc.start}); expected a job JSON") from None
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise UserError(f"--config: {path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise UserError(f"--config: {path} is not valid JSON ({reason})") from None
    if _depth(data) > CONFIG_MAX_DEPTH:
        raise UserError(f"--config: {path} is nested more than {CONFIG_MAX_DEPTH} levels deep; expected a job JSON")
    return data


def load_pipeline_config(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Fields from the pipeline's job JSON, and for each the JSON path it came from. Values
    keep their JSON types (validated strictly later): "64" is not a number of environments."""
    data = _read_config(path)
    if not isinstance(data, dict) or not isinstance(data.get("trainingConfig"), dict):
        raise UserError(f"trainingConfig: expected an object in {path}")
    for key in data:
        if key not in CONFIG_SECTIONS:
            raise UserError(f"{key}: not a section isaacctl knows (expected {', '.join(CONFIG_SECTIONS)})")
    training = data["trainingConfig"]
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, value in training.items():
        if key in ("policyS3Uri", "numEpisodes") or value is None:
            continue  # S3 hand-off and episode counts belong to the AWS pipeline, not to a host
        field = PIPELINE_FIELDS.get(key)
        if field is None:
            raise UserError(
                f"trainingConfig.{key}: not a field isaacctl knows "
                f"(expected one of {', '.join(PIPELINE_FIELDS)}, policyS3Uri, numEpisodes)"
            )
        if key == "mode":
            if not isinstance(value, str) or value.lower() not in PIPELINE_MODES:
                raise UserError(f"trainingConfig.mode: expected one of {', '.join(PIPELINE_MODES)}, got {value!r}")
            value = PIPELINE_MODES[value.lower()]
        values[field] = value
        sources[field] = f"trainingConfig.{key}"
    compute = data.get("computeConfig")
    if compute is not None and not isinstance(compute, dict):
        raise UserError(f"computeConfig: expected an object in {path}, got {type(compute).__name__}")
    for key, value in (compute or {}).items():
        field = COMPUTE_FIELDS.get(key)
        if field is None:
            raise UserError(f"computeConfig.{key}: not a field isaacctl knows (expected {', '.join(COMPUTE_FIELDS)})")
        if value is not None:
            values[field] = value
            sources[field] = f"computeConfig.{key}"
    return values, sources


def build_spec(
    flags: dict[str, Any],
    config: Path | None = None,
    *,
    generation: Generation | None = None,
    notice: Callable[[str], None] = lambda message: None,
    listed: list[dict[str, Any]] | None = None,
    deployment: DeploymentRecord | None = None,
) -> JobSpec:
    """Flags win over --config; then validation against the model, the task catalog and the
    deployment's Isaac Lab generation (default: a new deployment's). A task id of the other
    generation is run under this one's name, told through `notice`. With a deployment, its
    nodes and GPUs are checked against what the job asks (services/jobs/placement.py)."""
    from isaacctl.isaaclab import generation_for

    generation = generation or generation_for(None)
    values, sources = load_pipeline_config(config) if config else ({}, {})
    if "mode" in values and "mode" in flags and values["mode"] != flags["mode"]:
        raise UserError(
            f"{sources['mode']}: this job JSON is for {values['mode']}, not {flags['mode']}; "
            f"run it with 'isaacctl {values['mode']} --config'"
        )
    for key, value in flags.items():
        if value is not None and value != [] and not (key in values and value is False):
            values[key] = value
            sources[key] = FLAG_NAMES.get(key, key)
    try:
        # strict: JSON's "64" or true is not a number of environments (flags arrive typed)
        spec = JobSpec.model_validate(values, strict=True)
    except ValidationError as exc:

        def where(field: str) -> str:
            field = field.split(".")[0]  # overrides.2 -> overrides
            return sources.get(field, FLAG_NAMES.get(field, field))

        raise from_validation(exc, where) from None
    task, info = resolve_task(
        spec.task,
        force=spec.force,
        flag=sources.get("task", "--task"),
        generation=generation,
        notice=notice,
        listed=listed,
    )
    library_flag = sources.get("rl_library", "--rl-library")
    library = generation.library_for(spec.rl_library, info.default_library if info else _catalog_default())
    check_library(info, library, generation, flag=library_flag, notice=notice)
    spec = spec.model_copy(update={"task": task, "rl_library": library})
    _check_combinations(spec, generation, sources)
    if deployment is not None:
        from isaacctl.services.jobs.placement import place

        spec = place(spec, deployment, generation, sources)
    return spec


def _catalog_default() -> str:
    from isaacctl.services.jobs.catalog import catalog_default_library

    return catalog_default_library()


def _check_combinations(spec: JobSpec, generation: Generation, sources: dict[str, str]) -> None:
    assert spec.rl_library is not None
    info = generation.library(spec.rl_library)
    assert info is not None
    if (spec.gpus or 1) > 1 and not info.distributed:
        raise UserError(
            f"{sources.get('gpus', '--gpus')}: {spec.rl_library} cannot train on several GPUs "
            f"(use one of {', '.join(generation.distributed_libraries)})"
        )
    if spec.num_nodes > 1 and not info.distributed:
        raise UserError(
            f"{sources.get('num_nodes', '--nodes')}: {spec.rl_library} cannot train on several nodes "
            f"(its train has no --distributed; use one of {', '.join(generation.distributed_libraries)})"
        )
    if spec.mode == "evaluate":
        if spec.num_nodes > 1:
            raise UserError(f"{sources.get('num_nodes', '--nodes')}: evaluation runs on one node")
        for field in ("max_iterations", "resume", "run_name"):
            if getattr(spec, field) is not None:
                raise UserError(f"{FLAG_NAMES[field]}: only for train, not evaluate")
        if (spec.gpus or 1) > 1:
            raise UserError("--gpus: evaluation runs on one GPU")
    if spec.run_name is not None and not info.run_name:
        raise UserError(f"--run-name: only {', '.join(_run_naming(generation))} names runs; {spec.rl_library} does not")
    _check_selectors(spec, generation, sources)


def _run_naming(generation: Generation) -> list[str]:
    return [name for name in generation.library_names if generation.library(name).run_name]  # type: ignore[union-attr]


def _check_selectors(spec: JobSpec, generation: Generation, sources: dict[str, str]) -> None:
    """physics=, presets=, renderer= pick a 3.x configuration; to 2.x's Hydra they are keys
    that do not exist, and the job would fail minutes later."""
    from isaacctl.isaaclab import generations

    elsewhere = {key: other for other in generations().values() for key in other.selectors}
    for override in spec.overrides:
        key = override.lstrip("+").split("=", 1)[0]
        if key in elsewhere and generation.selector_of(override) is None:
            raise UserError(
                f"{sources.get('overrides', 'HYDRA_OVERRIDES')}: {key}= selects a configuration on "
                f"Isaac Lab {elsewhere[key].label}, not on this deployment's {generation.label}"
            )
