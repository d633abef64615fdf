"""`isaacctl cost [NAME] [--since 7d] [--json]`: what deployments cost, from their event logs and
the dated price catalogs (services/cost.py)."""

from typing import Optional

import typer

from isaacctl.cli.context import app_of, complete_deployment


def _since(text: Optional[str]) -> Optional[float]:
    if text is None:
        return None
    import time
    from datetime import datetime, timezone

    from isaacctl.errors import UserError
    from isaacctl.services.autostop import _DURATION, _UNIT

    match = _DURATION.fullmatch(text.strip().lower())
    if match and match.group(2):
        return time.time() - float(match.group(1)) * _UNIT[match.group(2)]
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(
            f"--since: expected a span like 7d, 12h or 30m, or a date like 2026-11-01, got {text!r}"
        ) from None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def cost_command(
    ctx: typer.Context,
    name: Optional[str] = typer.Argument(
        None,
        help="Deployment name [default: every deployment here, destroyed ones too].",
        autocompletion=complete_deployment,
    ),
    since: Optional[str] = typer.Option(
        None, "--since", help="Only the cost from then on: 7d, 12h, 30m or a date (UTC)."
    ),
    jobs: bool = typer.Option(False, "--jobs", help="Also each job's share of its machine's cost."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (a versioned envelope) instead of tables."),
) -> None:
    """What each deployment cost: hours each machine ran x its catalog price (piece by piece
    across instance types and markets), its disk while it existed, each job's share, and totals
    per provider.

    \b
    Example:  isaacctl cost
              isaacctl cost ws1 --since 7d --jobs --json
    """
    from isaacctl.cli.render_cost import render_cost
    from isaacctl.services import cost

    app = app_of(ctx)
    start = _since(since)
    if name is not None:
        from isaacctl.state import validate_name

        validate_name(name)
    render_cost(app.terminal, cost.report(app.store, name, start), as_json, jobs=jobs or name is not None)
