"""`stop`, `start`, `check`, `gc`: lifecycle of workstations a cloud provider made."""


from typing import Optional

import typer

from isaacctl.cli.context import app_of, complete_deployment, confirm_or_refuse

JSON_HELP = "Print JSON (a versioned envelope) instead of text."


def _lifecycle(ctx: typer.Context, progress=None):
    from isaacctl.services.lifecycle import LifecycleService

    return LifecycleService(app_of(ctx).store, progress)


def stop_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name.", autocompletion=complete_deployment),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Stop a cloud workstation: compute billing stops, the disk (and its bill) stays, running
    jobs end. 'isaacctl start' brings it back.

    \b
    Example:  isaacctl stop ws1 --yes
    """
    from isaacctl.cli.render_cloud import render_power

    app = app_of(ctx)
    record = app.store.load(name)  # a missing name fails here, before asking
    confirm_or_refuse(app, yes, "stop", f"Stop {record.provider} deployment {name!r}? Running jobs end.")
    with app.terminal.spinner(f"stopping {name}") as progress:
        result = _lifecycle(ctx, progress).stop(name)
    render_power(app.terminal, result, as_json)


def start_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name.", autocompletion=complete_deployment),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Start a stopped cloud workstation and wait until SSH answers. Its address may change;
    its pinned host key does not.

    \b
    Example:  isaacctl start ws1
    """
    from isaacctl.cli.render_cloud import render_power

    app = app_of(ctx)
    with app.terminal.spinner(f"starting {name}") as progress:
        result = _lifecycle(ctx, progress).start(name)
    render_power(app.terminal, result, as_json)


def check_command(
    ctx: typer.Context,
    provider: Optional[str] = typer.Argument(None, help="Provider to check [default: every cloud provider installed]."),
    region: Optional[str] = typer.Option(None, "--region", help="Region to check in [default: the provider's]."),
    profile: Optional[str] = typer.Option(None, "--profile", help="Credentials profile [default: the provider's chain]."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Check that cloud credentials work, and say whose they are.

    \b
    Example:  isaacctl check aws --profile research
    """
    from isaacctl.cli.render_cloud import render_check

    app = app_of(ctx)
    results = _lifecycle(ctx).check(provider, {"region": region, "profile": profile})
    render_check(app.terminal, results, as_json)
    if not all(result.check.ok for result in results):
        raise typer.Exit(1)


def gc_command(
    ctx: typer.Context,
    provider: Optional[str] = typer.Option(None, "--provider", help="Only this provider [default: every cloud provider]."),
    region: Optional[str] = typer.Option(None, "--region", help="Region to sweep [default: the provider's]."),
    profile: Optional[str] = typer.Option(None, "--profile", help="Credentials profile."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Delete what is listed (without it, gc only lists)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List resources tagged by isaacctl whose deployment has no state in this state folder
    (left by a lost state folder or a crash); with --yes, delete them. Deployments made from
    another machine or state folder look orphaned here too: read the list first.

    \b
    Example:  isaacctl gc --provider aws --region us-east-1
              isaacctl gc --provider aws --region us-east-1 --yes
    """
    from isaacctl.cli.render_cloud import render_gc

    app = app_of(ctx)
    with app.terminal.spinner("looking for orphaned resources") as progress:
        results = _lifecycle(ctx, progress).gc(provider, {"region": region, "profile": profile}, delete=yes)
    render_gc(app.terminal, results, yes, as_json)
    if any(result.errors for result in results):
        raise typer.Exit(1)
