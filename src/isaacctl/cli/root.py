"""The root typer group: global options, the lazy command table, `version`. Imported only
when the full path runs (cli/__init__.py: shortcuts first)."""

import os
from pathlib import Path
from typing import Optional

import click
import typer

from isaacctl.cli.app import App
from isaacctl.cli.lazy import LazyGroup
from isaacctl.console import Terminal

app = typer.Typer(
    cls=LazyGroup,  # commands are imported and built only when used (start-up time)
    name="isaacctl",
    help=(
        "A GPU workstation in the cloud for NVIDIA Isaac Lab, and the jobs that run on it.\n\n"
        "Example:  isaacctl deploy ssh --name ws1 --host gpu-box.example.org"
    ),
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


@app.callback()
def global_options(
    ctx: typer.Context,
    state_dir: Optional[Path] = typer.Option(
        None,
        "--state-dir",
        envvar="ISAACCTL_STATE_DIR",
        help="Folder holding one sub-folder per deployment [default: ./state].",
    ),
    ssh_config: Optional[Path] = typer.Option(
        None,
        "--ssh-config",
        envvar="ISAACCTL_SSH_CONFIG",
        help="OpenSSH client config to honour (Host, HostName, Port, User, IdentityFile, "
        "ProxyCommand, ProxyJump) [default: ~/.ssh/config].",
    ),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Show debug output and tracebacks."),
    version: bool = typer.Option(
        False,
        "--version",
        is_eager=True,
        callback=lambda given: _print_version(given),
        help="Print isaacctl's version and exit.",
    ),
) -> None:
    if ssh_config is not None:
        os.environ["ISAACCTL_SSH_CONFIG"] = str(ssh_config)
    ctx.obj = App(state_dir=state_dir, verbose=verbose, terminal=Terminal(verbose=verbose))


def _print_version(given: bool) -> None:
    if given:
        from isaacctl import __version__

        typer.echo(f"isaacctl {__version__}")
        raise typer.Exit()


@app.command("version")
def version_command() -> None:
    """Print isaacctl's version (also: isaacctl --version).

    Example:  isaacctl version
    """
    _print_version(True)


def command() -> click.Command:
    return typer.main.get_command(app)


def root_help() -> str:
    """The top-level help exactly as `isaacctl --help` prints it (click's help option echoes
    ctx.get_help() and a newline); help_cache keeps it."""
    group = command()
    # the context make_context would build, without parsing (no_args_is_help would raise)
    ctx = group.context_class(group, info_name="isaacctl", **group.context_settings)
    return group.get_help(ctx) + "\n"
