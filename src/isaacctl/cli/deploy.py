"""`isaacctl deploy <provider>`: one command per provider, each a thin wrapper over
DeploymentService.deploy."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from isaacctl.cli import bootstrap as bootstrap_options
from isaacctl.cli.context import app_of
from isaacctl.cli.render import render_deploy

app = typer.Typer(
    help="Create a workstation (or adopt one) and make it ready for Isaac Lab.",
    no_args_is_help=True,
)

NAME_HELP = "Deployment name: a lowercase letter, then letters, digits or hyphens (max 32)."
HOST_DIR_HELP = "Folder on the workstation for caches, logs and jobs."


SKIP_BOOTSTRAP = typer.Option(False, "--skip-bootstrap", help="Only create or adopt the host; run 'isaacctl bootstrap' later.")


def run_deploy(
    ctx: typer.Context, provider: str, name: str, options: dict[str, Any], as_json: bool,
    skip_bootstrap: bool, bootstrap_flags: dict[str, Any],
) -> None:
    from isaacctl.cli.progress import BootstrapView

    app = app_of(ctx)
    # Flags left out are not passed, so the provider's own defaults and validation apply.
    given = {key: value for key, value in options.items() if value is not None}
    service = app.deployments(app.terminal.info)
    with BootstrapView(app.terminal) as view:
        request = None if skip_bootstrap else bootstrap_options.bootstrap_request(view, None, **bootstrap_flags)
        result = service.deploy(provider, name, given, request)
    render_deploy(app.terminal, result, as_json)


@app.command("local")
def deploy_local(
    ctx: typer.Context,
    name: str = typer.Option(..., "--name", "-n", help=NAME_HELP),
    host_dir: Optional[str] = typer.Option(None, "--host-dir", help=HOST_DIR_HELP + " [default: ~/isaacctl]"),
    skip_bootstrap: bool = SKIP_BOOTSTRAP,
    image: Optional[str] = bootstrap_options.IMAGE,
    gpus: Optional[str] = bootstrap_options.GPUS,
    key_file: Optional[Path] = bootstrap_options.KEY_FILE,
    registry_user: Optional[str] = bootstrap_options.REGISTRY_USER,
    allow_unsupported_gpu: bool = bootstrap_options.ALLOW_GPU,
    allow_low_disk: bool = bootstrap_options.ALLOW_DISK,
    reach_timeout: float = bootstrap_options.REACH_TIMEOUT,
    as_json: bool = typer.Option(False, "--json", help="Print the deployment as JSON."),
) -> None:
    """Use this machine as the workstation (an RTX desktop).

    \b
    Example:  isaacctl deploy local --name desk
    """
    run_deploy(ctx, "local", name, {"host_dir": host_dir}, as_json, skip_bootstrap, dict(
        image=image, gpus=gpus, key_file=key_file, registry_user=registry_user,
        allow_unsupported_gpu=allow_unsupported_gpu, allow_low_disk=allow_low_disk,
        reach_timeout=reach_timeout))


@app.command("ssh")
def deploy_ssh(
    ctx: typer.Context,
    name: str = typer.Option(..., "--name", "-n", help=NAME_HELP),
    host: str = typer.Option(..., "--host", help="Address or ssh_config Host alias of the machine."),
    port: Optional[int] = typer.Option(None, "--port", help="SSH port [default: ssh_config, else 22]."),
    user: Optional[str] = typer.Option(None, "--user", help="Login [default: ssh_config, else yours]."),
    identity_file: Optional[Path] = typer.Option(
        None, "--identity-file", "-i", help="Private key [default: ssh_config, else ~/.ssh/id_*]."
    ),
    host_dir: Optional[str] = typer.Option(None, "--host-dir", help=HOST_DIR_HELP + " [default: ~/isaacctl]"),
    skip_bootstrap: bool = SKIP_BOOTSTRAP,
    image: Optional[str] = bootstrap_options.IMAGE,
    gpus: Optional[str] = bootstrap_options.GPUS,
    key_file: Optional[Path] = bootstrap_options.KEY_FILE,
    registry_user: Optional[str] = bootstrap_options.REGISTRY_USER,
    allow_unsupported_gpu: bool = bootstrap_options.ALLOW_GPU,
    allow_low_disk: bool = bootstrap_options.ALLOW_DISK,
    reach_timeout: float = bootstrap_options.REACH_TIMEOUT,
    as_json: bool = typer.Option(False, "--json", help="Print the deployment as JSON."),
) -> None:
    """Adopt a machine that already exists, over SSH. Its host key is pinned on first contact.

    \b
    Example:  isaacctl deploy ssh --name lab --host gpu1.example.org --user ubuntu -i ~/.ssh/lab
    """
    options = {
        "host": host,
        "port": port,
        "user": user,
        "identity_file": str(identity_file) if identity_file else None,
        "host_dir": host_dir,
    }
    run_deploy(ctx, "ssh", name, options, as_json, skip_bootstrap, dict(
        image=image, gpus=gpus, key_file=key_file, registry_user=registry_user,
        allow_unsupported_gpu=allow_unsupported_gpu, allow_low_disk=allow_low_disk,
        reach_timeout=reach_timeout))
