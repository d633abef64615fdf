"""`list` and `status` without --refresh, shared by the typer commands and their shortcut
(cli/shortcuts.py), so both print the same thing. Imports neither typer nor pydantic."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from isaacctl.cli.app import App


def show_list(app: App, as_json: bool) -> None:
    from isaacctl.cli.render import render_list
    from isaacctl.services.cost import so_far

    # Straight from the store: listing needs no provider, and must stay fast (0.1 s budget).
    records = app.store.read_all()
    render_list(app.terminal, records, as_json, costs=so_far(app.store, records))


class Unrefreshed:
    """What render_status reads of a StatusResult when nothing was refreshed. Not StatusResult
    itself: services.deployments imports the providers (~50 ms of `status`'s start-up)."""

    live = None

    def __init__(self, record: object) -> None:
        self.record = record


def show_status(app: App, name: str, as_json: bool) -> None:
    from isaacctl.cli.render import render_status

    render_status(app.terminal, Unrefreshed(app.store.read(name)), as_json)  # type: ignore[arg-type]
