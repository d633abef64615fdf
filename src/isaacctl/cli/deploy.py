"""`isaacctl deploy <provider>`: one command per provider, each a thin wrapper over
DeploymentService.deploy. Providers that make (and bill for) machines show their plan first
and ask, unless --yes; --dry-run stops after the plan."""


from pathlib import Path
from typing import Any, Optional

import typer

from isaacctl.cli import bootstrap as bootstrap_options
from isaacctl.cli.context import app_of, confirm_or_refuse
from isaacctl.cli.render import render_deploy

from isaacctl.cli.plugin_deploy import DeployGroup  # noqa: E402

app = typer.Typer(
    cls=DeployGroup,
    rich_markup_mode=None,  # plain click help: no rich import, and "[default: ...]" shown as written
    help="Create a workstation (or adopt one) and make it ready for Isaac Lab.",
    no_args_is_help=True,
)

NAME_HELP = "Deployment name: a lowercase letter, then letters, digits or hyphens (max 32)."
HOST_DIR_HELP = "Folder on the workstation for caches, logs and jobs."


DRY_RUN = typer.Option(False, "--dry-run", help="Show the plan and its price, make nothing.")
YES = typer.Option(False, "--yes", "-y", help="Do not ask before making billable resources.")
JSON = typer.Option(False, "--json", help="Print the deployment (or, with --dry-run, the plan) as JSON.")


def run_deploy(
    ctx: typer.Context, provider: str, name: str, options: dict[str, Any], as_json: bool,
    bootstrap: dict[str, Any], *, dry_run: bool = False, yes: bool = False,
) -> None:
    from isaacctl.cli.progress import BootstrapView
    from isaacctl.cli.render_cloud import render_plan

    app = app_of(ctx)
    # Flags left out are not passed, so the provider's own defaults and validation apply.
    given = {key: value for key, value in options.items() if value is not None}
    service = app.deployments(app.terminal.info)
    view = BootstrapView(app.terminal)
    # Bad bootstrap flags fail here, before the provider is asked anything.
    flags = dict(bootstrap)
    skip = flags.pop("skip_bootstrap")
    request = None if skip else bootstrap_options.bootstrap_request(view, None, **flags)
    prepared = service.prepare(provider, name, given)
    if prepared.needs_approval or dry_run:
        render_plan(app.terminal, provider, name, prepared.plan, as_json, to_stdout=dry_run)
        if dry_run:
            return
        confirm_or_refuse(app, yes, "create billable resources", "Create these resources?")
    with view:
        result = service.deploy(provider, name, given, request, prepared=prepared)
    render_deploy(app.terminal, result, as_json)


@app.command("local")
@bootstrap_options.with_bootstrap_flags
def deploy_local(
    ctx: typer.Context,
    name: str = typer.Option(..., "--name", "-n", help=NAME_HELP),
    host_dir: Optional[str] = typer.Option(None, "--host-dir", help=HOST_DIR_HELP + " [default: ~/isaacctl]"),
    as_json: bool = typer.Option(False, "--json", help="Print the deployment as JSON."),
    bootstrap: dict[str, Any] = None,  # the shared flags, see with_bootstrap_flags
) -> None:
    """Use this machine as the workstation (an RTX desktop).

    \b
    Example:  isaacctl deploy local --name desk
    """
    run_deploy(ctx, "local", name, {"host_dir": host_dir}, as_json, bootstrap)


@app.command("ssh")
@bootstrap_options.with_bootstrap_flags
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
    as_json: bool = typer.Option(False, "--json", help="Print the deployment as JSON."),
    bootstrap: dict[str, Any] = None,  # the shared flags, see with_bootstrap_flags
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
    run_deploy(ctx, "ssh", name, options, as_json, bootstrap)


@app.command("aws")
@bootstrap_options.with_bootstrap_flags
def deploy_aws(
    ctx: typer.Context,
    name: str = typer.Option(..., "--name", "-n", help=NAME_HELP),
    region: Optional[str] = typer.Option(None, "--region", help="AWS region [default: us-east-1]."),
    zone: Optional[str] = typer.Option(None, "--zone", help="Availability zone to try first [default: the first that offers the type]."),
    instance_type: Optional[str] = typer.Option(None, "--instance-type", help="EC2 instance type [default: g6e.2xlarge]."),
    disk_gb: Optional[int] = typer.Option(None, "--disk-gb", help="Root disk (gp3) in GiB [default: 256]."),
    spot: bool = typer.Option(False, "--spot", help="Spot market (persistent; stops on interruption)."),
    ingress_cidr: Optional[str] = typer.Option(None, "--ingress-cidr", help="Who may SSH in: a CIDR, or 'myip' [default: myip, your address /32]."),
    myip_url: Optional[str] = typer.Option(None, "--myip-url", envvar="ISAACCTL_MYIP_URL", help="Where 'myip' asks for your public address [default: https://checkip.amazonaws.com]."),
    ami: Optional[str] = typer.Option(None, "--ami", help="Machine image [default: the newest Deep Learning Base GPU AMI, Ubuntu 22.04]."),
    profile: Optional[str] = typer.Option(None, "--profile", help="AWS profile [default: boto3's chain: environment, AWS_PROFILE, SSO...]."),
    host_dir: Optional[str] = typer.Option(None, "--host-dir", help=HOST_DIR_HELP + " [default: ~/isaacctl]"),
    dry_run: bool = DRY_RUN,
    yes: bool = YES,
    as_json: bool = JSON,
    bootstrap: dict[str, Any] = None,  # the shared flags, see with_bootstrap_flags
) -> None:
    """Create a GPU workstation on EC2 (key pair, security group, instance), then bootstrap it.
    Shows the plan and hourly price first. On an existing name, makes only what is missing.

    \b
    Example:  isaacctl deploy aws --name ws1 --region us-east-1 --instance-type g6e.2xlarge
              isaacctl deploy aws --name ws1 --spot --dry-run
    """
    options = {
        "region": region, "zone": zone, "instance_type": instance_type, "disk_gb": disk_gb,
        "spot": spot or None, "ingress_cidr": ingress_cidr, "myip_url": myip_url, "ami": ami,
        "profile": profile, "host_dir": host_dir,
    }
    run_deploy(ctx, "aws", name, options, as_json, bootstrap, dry_run=dry_run, yes=yes)
