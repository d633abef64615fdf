"""`isaacctl deploy <provider>`: one command per installed provider, each built from the
provider's options model (cli/plugin_deploy.py) and a thin wrapper over
DeploymentService.deploy. Providers that make (and bill for) machines show their plan first
and ask, unless --yes; --dry-run stops after the plan."""

from typing import Any

import typer

from isaacctl.cli import bootstrap as bootstrap_options
from isaacctl.cli.context import app_of, confirm_or_refuse
from isaacctl.cli.plugin_deploy import DeployGroup
from isaacctl.cli.render import render_deploy
from isaacctl.errors import UserError

app = typer.Typer(
    cls=DeployGroup,
    rich_markup_mode=None,  # plain click help: no rich import, and "[default: ...]" shown as written
    help=(
        "Create a workstation (or adopt one) and make it ready for Isaac Lab.\n\n"
        "Each provider has its own flags: 'isaacctl deploy PROVIDER --help'.\n\n"
        "\b\nExample:  isaacctl deploy ssh --name lab --host gpu1.example.org\n"
        "          isaacctl deploy aws --name ws1 --dry-run"
    ),
    no_args_is_help=True,
    add_completion=False,  # the root command has the completion options
)


def run_deploy(
    ctx: typer.Context,
    provider: str,
    name: str,
    options: dict[str, Any],
    as_json: bool,
    bootstrap: dict[str, Any],
    *,
    dry_run: bool = False,
    yes: bool = False,
) -> None:
    from isaacctl.cli.progress import BootstrapView
    from isaacctl.cli.render_cloud import render_plan

    app = app_of(ctx)
    # Flags left out are not passed, so the provider's own defaults and validation apply.
    given = {key: value for key, value in options.items() if value is not None}
    # Progress lines wait until the input has passed every check (options, plan, a name used
    # by another deployment): bad input gets its error line and nothing before it.
    held: list[str] = []
    live = [False]

    def progress(message: str) -> None:
        if live[0]:
            app.terminal.info(message)
        else:
            held.append(message)

    service = app.deployments(progress)
    view = BootstrapView(app.terminal)
    # Bad bootstrap flags fail here, before the provider is asked anything.
    flags = dict(bootstrap)
    skip = flags.pop("skip_bootstrap")
    request = None if skip else bootstrap_options.bootstrap_request(view, None, **flags)
    _check_autostop(None, flags, skip)
    prepared = service.prepare(provider, name, given)
    _check_autostop(prepared.provider, flags, skip)
    if app.store.exists(name):
        service.check_same_deployment(app.store.load(name), prepared.provider, prepared.options.model_dump(mode="json"))
    for message in held:
        app.terminal.info(message)
    live[0] = True
    if prepared.needs_approval or dry_run:
        render_plan(app.terminal, provider, name, prepared.plan, as_json, to_stdout=dry_run)
        if dry_run:
            return
        confirm_or_refuse(app, yes, "create billable resources", "Create these resources?")
    with view:
        result = service.deploy(provider, name, given, request, prepared=prepared)
    render_deploy(app.terminal, result, as_json)


def _check_autostop(provider: Any | None, flags: dict[str, Any], skip: bool) -> None:
    """Autostop flags the provider cannot honour, or that nothing would install, are bad input."""
    from isaacctl.services.autostop import AutostopFlags, check_provider, settings_from

    given = AutostopFlags(
        flags.get("autostop"),
        flags.get("autostop_action"),
        flags.get("autostop_command"),
        flags.get("max_cost"),
        flags.get("max_hours"),
    )
    if not given.given:
        return
    if skip:
        raise UserError(
            "--autostop: the watchdog is installed by bootstrap; leave out --skip-bootstrap, "
            "or run 'isaacctl autostop NAME ...' after 'isaacctl bootstrap'"
        )
    settings = settings_from(given)
    if provider is not None:
        check_provider(provider, settings)


@app.callback()
def deploy_group() -> None:
    # typer makes a group only from a callback or registered commands; the sub-commands here
    # are all built on demand by DeployGroup, so the group needs this empty callback.
    pass
