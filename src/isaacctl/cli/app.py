"""Global options become one object handed to every command (`ctx.obj`). Apart from
cli/context.py, which needs typer, so that `list`'s shortcut can build one without it."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

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
