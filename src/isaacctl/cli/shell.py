"""`isaacctl ssh NAME [-- COMMAND...]`."""

import sys
from typing import List, Optional

import typer

from isaacctl.cli.context import app_of, complete_deployment


def ssh_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name.", autocompletion=complete_deployment),
    command: Optional[List[str]] = typer.Argument(None, help="Command to run instead of a shell."),
    node: int = typer.Option(
        0, "--node", help="Which node of a many-node deployment (0: the head; 'isaacctl status' lists them)."
    ),
) -> None:
    """Open a shell on the workstation, or run one command there and return its exit status.

    Examples:  isaacctl ssh ws1            isaacctl ssh ws1 -- nvidia-smi -L
               isaacctl ssh ws1 --node 1 -- nvidia-smi -L
    """
    from isaacctl.services.connection import interactive_shell

    app = app_of(ctx)
    record = app.store.load(name)
    service = app.deployments()
    with service.remote(name, node) as remote:
        if not command:
            interactive_shell(record, remote)
            return

        def echo(line: str, stream: str) -> None:
            target = sys.stdout if stream == "stdout" else sys.stderr
            target.write(line)
            target.flush()

        result = remote.run(command, on_output=echo)
    raise typer.Exit(result.exit_status)
