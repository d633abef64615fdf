"""Global options become one object handed to every command (`ctx.obj`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from isaacctl.console import Terminal

if TYPE_CHECKING:
    from isaacctl.services.deployments import DeploymentService
    from isaacctl.state import StateStore


@dataclass
class App:
    state_dir: Path | None = None
    verbose: bool = False
    terminal: Terminal = field(default_factory=Terminal)

    @cached_property
    def store(self) -> StateStore:
        from isaacctl.state import StateStore

        return StateStore(self.state_dir)

    def deployments(self, progress=None) -> DeploymentService:
        from isaacctl.services.deployments import DeploymentService

        return DeploymentService(self.store, progress)


def app_of(ctx: typer.Context) -> App:
    root = ctx.find_root()
    if not isinstance(root.obj, App):
        root.obj = App()
    return root.obj


def complete_deployment(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion of deployment names (reads folder names only: fast)."""
    from isaacctl.state import StateStore

    state_dir = ctx.find_root().params.get("state_dir")
    return [name for name in StateStore(state_dir).names() if name.startswith(incomplete)]


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
