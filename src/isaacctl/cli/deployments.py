"""`list`, `status`, `destroy`."""

import typer

from isaacctl.cli.context import app_of, complete_deployment, confirm_or_refuse

JSON_HELP = "Print JSON (a versioned envelope) instead of a table."


def list_command(
    ctx: typer.Context,
    refresh: bool = typer.Option(
        False, "--refresh", help="Ask every deployment's provider now (in parallel) and save what it says."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List the deployments in the state folder.

    Example:  isaacctl list --refresh --json
    """
    from isaacctl.cli.render import render_list

    app = app_of(ctx)
    if not refresh:
        from isaacctl.cli.listing import show_list

        show_list(app, as_json)
        return
    with app.terminal.spinner("asking the providers") as progress:
        entries = app.deployments(progress).list_deployments(refresh=True)
    from isaacctl.services.cost import so_far

    records = [entry.record for entry in entries]
    render_list(
        app.terminal,
        records,
        as_json,
        errors={entry.record.name: entry.error for entry in entries},
        costs=so_far(app.store, [r for r in records if app.store.exists(r.name)]),
    )


def status_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name.", autocompletion=complete_deployment),
    refresh: bool = typer.Option(
        False, "--refresh", help="Ask the provider and the hosts now, and save what they say."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Show one deployment: where it is, what it runs on, its state.

    Example:  isaacctl status ws1 --refresh
    """
    from isaacctl.cli.render import render_status

    app = app_of(ctx)
    if not refresh:
        from isaacctl.cli.listing import show_status

        show_status(app, name, as_json)
        return
    render_status(app.terminal, app.deployments().status(name, refresh=True), as_json)


def destroy_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name.", autocompletion=complete_deployment),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Destroy a deployment: cloud resources are deleted and verified gone; adopted machines
    (local, ssh) lose only isaacctl's containers and are forgotten.

    Example:  isaacctl destroy ws1 --yes
    """
    from isaacctl.cli.render import render_destroy

    app = app_of(ctx)
    record = app.store.load(name)  # a missing or invalid name fails here, before asking
    if not yes:
        from isaacctl.services.managed import ManagedService

        kept = ManagedService(app.store).running_on(name)
        if kept:  # the recovery loop would bring it back: only an explicit --yes ends it
            from isaacctl.errors import UserError

            raise UserError(f"--yes: managed job {kept[0].id} runs on {name}; cancel it first or pass --yes")
    confirm_or_refuse(app, yes, "destroy", f"Destroy {record.provider} deployment {name!r}?")
    with app.terminal.spinner(f"destroying {name}") as progress:
        result = app.deployments(progress).destroy(name)
    render_destroy(app.terminal, result, as_json)
