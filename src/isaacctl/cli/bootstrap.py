"""`isaacctl bootstrap NAME`, and the bootstrap options `deploy` shares."""

from pathlib import Path
from typing import TYPE_CHECKING, Any, List, Optional

import typer

from isaacctl.cli.context import app_of, complete_deployment
from isaacctl.errors import UserError

if TYPE_CHECKING:
    from isaacctl.cli.progress import BootstrapView
    from isaacctl.records import DeploymentRecord
    from isaacctl.services.deployments import BootstrapRequest

# A new deployment's image (templates/isaaclab/versions.yaml); kept a literal so that building
# the CLI reads no YAML. tests/test_isaaclab3_container.py checks it against the table.
DEFAULT_IMAGE = "nvcr.io/nvidia/isaac-lab:3.0.0-kitless"
DEFAULT_REGISTRY_USER = "$oauthtoken"

# Shared option declarations (deploy commands and bootstrap take the same flags).
IMAGE = typer.Option(
    None,
    "--image",
    help=f"Isaac Lab container image [default: the --isaaclab-version's image ({DEFAULT_IMAGE} for 3.0), or the one installed before].",
)
ISAACLAB_VERSION = typer.Option(
    None,
    "--isaaclab-version",
    help="Isaac Lab version, e.g. 3.0 or 2.3: picks the image when --image is not given, and overrides the version the image says it has [default: what the image says; 3.0 for a new deployment].",
)
GPUS = typer.Option(None, "--gpus", help="'all', or 'none' to skip every GPU step (smoke runs, CI) [default: all].")
KEY_FILE = typer.Option(
    None, "--ngc-api-key-file", help="File holding the NGC API key [default: $NGC_API_KEY, else a hidden prompt]."
)
REGISTRY_USER = typer.Option(None, "--registry-user", help=f"Registry login [default: {DEFAULT_REGISTRY_USER}, NGC's].")
REGISTRY = typer.Option(
    None,
    "--registry",
    help="Registry HOST[:PORT] the key may be sent to, when the image is not on nvcr.io (the key goes nowhere else).",
)
ALLOW_GPU = typer.Option(False, "--allow-unsupported-gpu", help="Go on with a GPU without RT cores or an old driver.")
ALLOW_DISK = typer.Option(False, "--allow-low-disk", help="Go on with less free disk than the image and caches need.")
REACH_TIMEOUT = typer.Option(600.0, "--reach-timeout", help="Seconds to wait for SSH, cloud-init and apt.")
RUNTIME = typer.Option(
    None,
    "--runtime",
    help="Where jobs run: 'container' (the Isaac Lab image) or 'pip' (Isaac Lab 3 from PyPI in a Python environment on the host: no image, no NGC key) [default: container, or the one used before].",
)
ISAACLAB_PYTHON = typer.Option(
    None,
    "--isaaclab-python",
    help="With --runtime pip: the python of an environment on the host that already has isaaclab (a researcher's venv), adopted instead of making one.",
)
ASSET_ROOT = typer.Option(
    None, "--asset-root", help="Folder on the host with a mirror of NVIDIA's assets: ISAACSIM_ASSET_ROOT for every job."
)
PREWARM = typer.Option(
    None,
    "--prewarm/--no-prewarm",
    help="Fill Warp's and CUDA's caches with a one-iteration training in the background, so the first job starts warm (3.x) [default: on GPU hosts, or as set before].",
)

# Autostop (services/autostop.py): bootstrap flags rather than provider options, as the watchdog
# is host software bootstrap installs; it changes without re-making the machine (and never
# makes a resumed deploy "differ"), and 'isaacctl autostop NAME' changes it later.
AUTOSTOP = typer.Option(
    None,
    "--autostop",
    help="Stop the machine after this long idle (no job, no interactive SSH session, GPUs under 10 %), checked on the machine itself: 30m, 2h, 90s, or 'off' [default: off, or as set before].",
)
AUTOSTOP_ACTION = typer.Option(
    None, "--autostop-action", help="'stop' (disks kept) or 'destroy' when idle or over budget [default: stop]."
)
AUTOSTOP_COMMAND = typer.Option(
    None,
    "--autostop-command",
    help="local and ssh only: the command the watchdog runs there when idle, e.g. 'sudo systemctl suspend'.",
)
MAX_COST = typer.Option(
    None, "--max-cost", help="Stop the machine once the deployment cost this many USD (catalog prices), busy or not."
)
MAX_HOURS = typer.Option(None, "--max-hours", help="Stop the machine once it ran this many hours, busy or not.")
AUTOSTOP_PARAMETERS = (
    ("autostop", Optional[str], AUTOSTOP),
    ("autostop_action", Optional[str], AUTOSTOP_ACTION),
    ("autostop_command", Optional[str], AUTOSTOP_COMMAND),
    ("max_cost", Optional[float], MAX_COST),
    ("max_hours", Optional[float], MAX_HOURS),
)

FLAG_PARAMETERS: tuple[tuple[str, Any, Any], ...] = (
    (
        "skip_bootstrap",
        bool,
        typer.Option(False, "--skip-bootstrap", help="Only create or adopt the host; run 'isaacctl bootstrap' later."),
    ),
    ("image", Optional[str], IMAGE),
    ("isaaclab_version", Optional[str], ISAACLAB_VERSION),
    ("gpus", Optional[str], GPUS),
    ("key_file", Optional[Path], KEY_FILE),
    ("registry_user", Optional[str], REGISTRY_USER),
    ("registry", Optional[str], REGISTRY),
    ("allow_unsupported_gpu", bool, ALLOW_GPU),
    ("allow_low_disk", bool, ALLOW_DISK),
    ("reach_timeout", float, REACH_TIMEOUT),
    ("runtime", Optional[str], RUNTIME),
    ("isaaclab_python", Optional[str], ISAACLAB_PYTHON),
    ("asset_root", Optional[str], ASSET_ROOT),
    ("prewarm", Optional[bool], PREWARM),
)
FLAG_PARAMETERS += AUTOSTOP_PARAMETERS


def with_bootstrap_flags(command):
    """Gives a deploy command the bootstrap flags every deploy shares, and hands them to it as
    one dict argument `bootstrap` (typer reads the widened signature)."""
    import functools
    import inspect

    signature = inspect.signature(command)
    own = [p for p in signature.parameters.values() if p.name != "bootstrap"]
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
        for name, kind, default in FLAG_PARAMETERS
    ]

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        flags = {name: kwargs.pop(name) for name, _, _ in FLAG_PARAMETERS}
        return command(*args, bootstrap=flags, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=[*own, *added])
    return wrapper


def bootstrap_request(
    view: "BootstrapView",
    record: "DeploymentRecord | None",
    *,
    image: str | None,
    gpus: str | None,
    key_file: Path | None,
    registry_user: str | None,
    allow_unsupported_gpu: bool,
    allow_low_disk: bool,
    reach_timeout: float,
    registry: str | None = None,
    force: bool = False,
    only: list[str] | None = None,
    isaaclab_version: str | None = None,
    runtime: str | None = None,
    isaaclab_python: str | None = None,
    asset_root: str | None = None,
    prewarm: bool | None = None,
    autostop: str | None = None,
    autostop_action: str | None = None,
    autostop_command: str | None = None,
    max_cost: float | None = None,
    max_hours: float | None = None,
) -> "BootstrapRequest":
    """Flags win; otherwise what the last bootstrap of this deployment used; then defaults."""
    from isaacctl.services.bootstrap import BootstrapSettings
    from isaacctl.services.deployments import BootstrapRequest
    from isaacctl.services.secrets import registry_key_source

    chosen_gpus = gpus or (record.gpus if record else "all")
    if chosen_gpus not in ("all", "none"):
        raise UserError(f"--gpus: expected 'all' or 'none', got {chosen_gpus!r}")
    if not 0 < reach_timeout < float("inf"):  # also refuses nan, which compares false to everything
        raise UserError(f"--reach-timeout: expected a positive number of seconds, got {reach_timeout}")
    if image is not None and (not image or image.startswith("-") or any(c.isspace() for c in image)):
        raise UserError(f"--image: expected an image reference like {DEFAULT_IMAGE}, got {image!r}")
    if key_file is not None and not key_file.expanduser().is_file():
        # the key is read only at the registry-login step: a typo must not wait for it
        raise UserError(f"--ngc-api-key-file: expected a readable file, got {str(key_file)!r}")
    version = _isaaclab_version(isaaclab_version)
    chosen_runtime = _runtime(
        record,
        runtime,
        image=image,
        isaaclab_python=isaaclab_python,
        registry=registry,
        key_file=key_file,
        version=version,
    )
    if chosen_runtime == "pip":
        image = ""  # no image: the pip runtime's steps never ask for one
        isaaclab_python = isaaclab_python or (
            record.isaaclab_python
            if record
            and record.runtime == "pip"
            and record.isaaclab_python
            and not (record.isaaclab_python.startswith(f"{record.host_root}/"))
            else None
        )
    settings = BootstrapSettings(
        image=image or _default_image(record, version),
        isaaclab_version=version,
        gpus=chosen_gpus,
        registry_user=registry_user
        or (record.registry_user if record and record.registry_user else DEFAULT_REGISTRY_USER),
        allow_unsupported_gpu=allow_unsupported_gpu,
        allow_low_disk=allow_low_disk,
        reach_timeout=reach_timeout,
        force=force,
        only=tuple(only or ()),
        runtime=chosen_runtime,
        isaaclab_python=_host_path("--isaaclab-python", isaaclab_python),
        asset_root=_host_path("--asset-root", asset_root) or (record.asset_root if record else None),
        prewarm=prewarm,
    )
    settings.autostop = _autostop_flags(record, autostop, autostop_action, autostop_command, max_cost, max_hours)
    if chosen_runtime == "pip":
        return BootstrapRequest(
            settings=settings, registry_key=lambda: None, on_event=view.on_event, on_pull=view.on_pull
        )
    if any(c.isspace() for c in settings.image) or not settings.image or settings.image.startswith("-"):
        raise UserError(f"--image: expected an image reference like {DEFAULT_IMAGE}, got {settings.image!r}")
    if registry is not None:
        from isaacctl.services.bootstrap.steps import image_registry

        # The key follows the image only to the registry named here, so it must be the image's.
        if registry != image_registry(settings.image):
            raise UserError(f"--registry: {registry!r} is not the registry of the image {settings.image}")
        settings.registry = registry
    return BootstrapRequest(
        settings=settings,
        registry_key=registry_key_source(key_file, prompt=view.ask_secret),
        on_event=view.on_event,
        on_pull=view.on_pull,
    )


def _runtime(
    record: "DeploymentRecord | None",
    given: str | None,
    *,
    image: str | None,
    isaaclab_python: str | None,
    registry: str | None,
    key_file: Path | None,
    version: str | None,
) -> str:
    """--runtime, else the one this deployment used; flags that belong to the other runtime
    are refused rather than ignored."""
    from isaacctl.runtimes import RUNTIME_NAMES

    chosen = given or (record.runtime if record else "container")
    if chosen not in RUNTIME_NAMES:
        raise UserError(f"--runtime: expected one of {', '.join(RUNTIME_NAMES)}, got {chosen!r}")
    if chosen == "pip":
        for flag, value in (("--image", image), ("--registry", registry), ("--ngc-api-key-file", key_file)):
            if value is not None:
                raise UserError(
                    f"{flag}: the pip runtime runs no image (Isaac Lab comes from PyPI); "
                    "leave it out, or use --runtime container"
                )
        if version is not None and not version.startswith("3."):
            raise UserError(
                f"--isaaclab-version: the pip runtime runs Isaac Lab 3.x (2.x is not on PyPI), "
                f"got {version!r}; use --runtime container for 2.x"
            )
    elif isaaclab_python is not None:
        raise UserError("--isaaclab-python: only with --runtime pip")
    return chosen


def _autostop_flags(
    record: "DeploymentRecord | None",
    autostop: str | None,
    action: str | None,
    command: str | None,
    max_cost: float | None,
    max_hours: float | None,
):
    """Checked now (exit 2 before anything is made); applied by the autostop step."""
    from isaacctl.services.autostop import AutostopFlags, check_provider, settings_from

    flags = AutostopFlags(autostop, action, command, max_cost, max_hours)
    if flags.given:
        settings = settings_from(flags, record.autostop if record else None)
        if record is not None:
            from isaacctl.providers.registry import get_provider

            check_provider(get_provider(record.provider, sdk=False), settings)
    return flags


def _host_path(flag: str, value: str | None) -> str | None:
    """A path on the host, absolute: the host's ~ is not this machine's."""
    if value is None:
        return None
    if not value.startswith("/") or any(c in value for c in "\n\0"):
        raise UserError(f"{flag}: expected an absolute path on the host, got {value!r}")
    return value.rstrip("/") or "/"


def _isaaclab_version(given: str | None) -> str | None:
    if given is None:
        return None
    from isaacctl.isaaclab import known_versions, major_minor

    version = major_minor(given)
    if version not in known_versions():
        raise UserError(f"--isaaclab-version: expected one of {', '.join(known_versions())}, got {given!r}")
    return version


def _default_image(record: "DeploymentRecord | None", version: str | None) -> str:
    """The image installed before (unless another version is asked for), else the version's."""
    if record is not None and record.image and (version is None or version == record.isaaclab_version):
        return record.image
    if version is None:
        return DEFAULT_IMAGE
    from isaacctl.isaaclab import image_for

    return image_for(version)


def bootstrap_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name.", autocompletion=complete_deployment),
    force: bool = typer.Option(False, "--force", help="Run the selected steps even when they are done."),
    only: Optional[List[str]] = typer.Option(
        None, "--only", help="Run only this step (repeatable); reach and facts always run."
    ),
    image: Optional[str] = IMAGE,
    isaaclab_version: Optional[str] = ISAACLAB_VERSION,
    gpus: Optional[str] = GPUS,
    key_file: Optional[Path] = KEY_FILE,
    registry_user: Optional[str] = REGISTRY_USER,
    registry: Optional[str] = REGISTRY,
    allow_unsupported_gpu: bool = ALLOW_GPU,
    allow_low_disk: bool = ALLOW_DISK,
    reach_timeout: float = REACH_TIMEOUT,
    runtime: Optional[str] = RUNTIME,
    isaaclab_python: Optional[str] = ISAACLAB_PYTHON,
    asset_root: Optional[str] = ASSET_ROOT,
    prewarm: Optional[bool] = PREWARM,
    autostop: Optional[str] = AUTOSTOP,
    autostop_action: Optional[str] = AUTOSTOP_ACTION,
    autostop_command: Optional[str] = AUTOSTOP_COMMAND,
    max_cost: Optional[float] = MAX_COST,
    max_hours: Optional[float] = MAX_HOURS,
) -> None:
    """Make a deployment's host ready for Isaac Lab: Docker, the NVIDIA driver and Container
    Toolkit, the Isaac Lab image, cache folders. Steps already done are skipped.

    \b
    Steps: reach, facts, nvidia-driver, docker, container-toolkit, registry-login,
           image-pull, host-folders, smoke (--runtime pip: reach, facts, nvidia-driver,
           host-folders, python-env, isaaclab-import); then prewarm (3.x caches, in the
           background) and autostop (the idle watchdog)
    Example:  NGC_API_KEY=... isaacctl bootstrap ws1
              isaacctl bootstrap ws1 --only image-pull --force --image nvcr.io/nvidia/isaac-lab:2.2.0
    """
    from isaacctl.cli.progress import BootstrapView
    from isaacctl.services.bootstrap.runner import validate_steps

    app = app_of(ctx)
    record = app.store.load(name)
    validate_steps(only or [])
    with BootstrapView(app.terminal, nodes=len(record.nodes)) as view:
        request = bootstrap_request(
            view,
            record,
            image=image,
            gpus=gpus,
            key_file=key_file,
            registry_user=registry_user,
            allow_unsupported_gpu=allow_unsupported_gpu,
            allow_low_disk=allow_low_disk,
            reach_timeout=reach_timeout,
            registry=registry,
            force=force,
            only=only,
            isaaclab_version=isaaclab_version,
            runtime=runtime,
            isaaclab_python=isaaclab_python,
            asset_root=asset_root,
            prewarm=prewarm,
            autostop=autostop,
            autostop_action=autostop_action,
            autostop_command=autostop_command,
            max_cost=max_cost,
            max_hours=max_hours,
        )
        result = app.deployments().bootstrap(name, request)
    nodes = f" on {len(result.nodes)} nodes" if len(result.nodes) > 1 else ""
    app.terminal.success(
        f"{name} is ready for Isaac Lab ({len(result.ran)} step(s) run, {len(result.up_to_date)} up to date{nodes})"
    )
