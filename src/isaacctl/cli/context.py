"""What commands share: the global options' App (cli/app.py), name completion, confirmation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from isaacctl.cli.app import App

if TYPE_CHECKING:
    from isaacctl.state import StateStore

__all__ = ["App", "app_of", "complete_deployment", "complete_job", "confirm_or_refuse"]


def app_of(ctx: typer.Context) -> App:
    root = ctx.find_root()
    if not isinstance(root.obj, App):
        root.obj = App()
    return root.obj


def _completion_store(ctx: typer.Context) -> StateStore | None:
    from isaacctl.errors import IsaacctlError
    from isaacctl.state import StateStore

    try:
        return StateStore(ctx.find_root().params.get("state_dir"))
    except IsaacctlError:  # a bad --state-dir: nothing to offer, and no error mid-completion
        return None


def complete_deployment(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion of deployment names (reads folder names only: fast)."""
    store = _completion_store(ctx)
    return [name for name in store.names() if name.startswith(incomplete)] if store else []


def complete_job(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion of job ids, newest first, of -d's deployment or of all (reads file
    names only: no record is parsed)."""
    store = _completion_store(ctx)
    if store is None:
        return []
    chosen = ctx.params.get("deployment")
    names = [chosen] if chosen in store.names() else store.names()
    found = [(path.stat().st_mtime, path.stem) for name in names for path in store.paths(name).jobs.glob("*.json")]
    ids = [job for _, job in sorted(found, reverse=True)]
    return [job for job in ["last", *ids] if job.startswith(incomplete)]


def confirm_or_refuse(app: App, yes: bool, doing: str, question: str) -> None:
    """Destructive or billable work asks first, unless --yes; without a terminal to ask on it
    is refused (exit 2) rather than assumed."""
    if yes:
        return
    import sys

    from isaacctl.errors import UserError

    if not sys.stdin.isatty():
        raise UserError(f"--yes: required to {doing} when not run from a terminal")
    if not app.terminal.confirm(question):
        raise typer.Exit(1)
