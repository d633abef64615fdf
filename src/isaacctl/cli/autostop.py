"""`isaacctl autostop NAME [30m|off]`: set, change, turn off or show the idle watchdog that runs
on the workstation itself (services/autostop.py)."""

from typing import Optional

import typer

from isaacctl.cli.bootstrap import AUTOSTOP_ACTION, AUTOSTOP_COMMAND, MAX_COST, MAX_HOURS
from isaacctl.cli.context import app_of, complete_deployment


def autostop_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name.", autocompletion=complete_deployment),
    idle: Optional[str] = typer.Argument(
        None,
        help="Idle time before the machine is stopped (30m, 2h, 90s; a bare number is minutes), or 'off'. Left out: show the settings and the watchdog's last decision.",
    ),
    action: Optional[str] = AUTOSTOP_ACTION,
    command: Optional[str] = AUTOSTOP_COMMAND,
    max_cost: Optional[float] = MAX_COST,
    max_hours: Optional[float] = MAX_HOURS,
    as_json: bool = typer.Option(False, "--json", help="Print JSON (a versioned envelope) instead of text."),
) -> None:
    """Stop an idle workstation on its own: a watchdog on the machine checks jobs, interactive SSH
    sessions and GPU use, and stops it the way that ends that cloud's compute billing.

    \b
    Example:  isaacctl autostop ws1 30m
              isaacctl autostop ws1 2h --autostop-action destroy --max-cost 50
              isaacctl autostop lab 45m --autostop-command 'sudo systemctl suspend'
              isaacctl autostop ws1 off
    """
    from isaacctl.cli.render_cost import render_autostop
    from isaacctl.services.autostop import AutostopFlags, AutostopService

    app = app_of(ctx)
    app.store.require(name)  # a missing name fails here, before anything else is said
    flags = AutostopFlags(idle, action, command, max_cost, max_hours, label="IDLE")
    with app.terminal.spinner(f"autostop on {name}") as progress:
        service = AutostopService(app.store, progress)
        if not flags.given:
            result = service.show(name)
        else:
            off = idle is not None and idle.strip().lower() in ("off", "none", "never")
            result = service.set(name, flags, off=off)
    render_autostop(app.terminal, result, as_json)
