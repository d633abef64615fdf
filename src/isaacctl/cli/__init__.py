"""The command line: thin commands that parse options, call one service and render its result.

Heavy imports (pydantic, paramiko, rich, cloud SDKs) happen inside command bodies, so
`isaacctl --help` stays fast."""

import os
import sys
from pathlib import Path
from typing import Optional

import click
import typer

from isaacctl.cli.context import App
from isaacctl.cli.lazy import LazyGroup
from isaacctl.console import Terminal
from isaacctl.errors import IsaacctlError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

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


def _one_line(error: click.ClickException) -> str:
    message = error.format_message().replace("\n", " ")
    context = getattr(error, "ctx", None)
    where = f" (see '{context.command_path} --help')" if context is not None else ""
    return f"{message}{where}"


class Interrupt:
    """typer turns Ctrl-C into a silent exit 130; this remembers that it happened, so main can
    say so (unless the command already did, like `logs --follow`)."""

    seen = False
    reported = False

    @classmethod
    def handler(cls, signum: int, frame: object) -> None:
        cls.seen = True
        raise KeyboardInterrupt


def _looks_like_usage_error(error: BaseException) -> bool:
    return hasattr(error, "format_message") and hasattr(error, "exit_code")


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except Exception as error:  # the last resort: a bug, not a user error
        terminal = Terminal(verbose="-v" in sys.argv or "--verbose" in sys.argv)
        if terminal.verbose:
            import traceback

            traceback.print_exc()
        terminal.error(
            f"unexpected {type(error).__name__}: {error}",
            hint=None if terminal.verbose else "run again with -v for the traceback",
        )
        return 1


def _main(argv: list[str] | None) -> int:
    import signal

    signal.signal(signal.SIGINT, Interrupt.handler)
    command = typer.main.get_command(app)
    terminal = Terminal(verbose="-v" in sys.argv or "--verbose" in sys.argv)
    try:
        result = command.main(args=argv, prog_name="isaacctl", standalone_mode=False)
    except (typer.Abort, KeyboardInterrupt):
        terminal.error("interrupted; state is consistent, re-run the command to carry on")
        return EXIT_INTERRUPTED
    except click.ClickException as error:
        terminal.error(_one_line(error))
        return error.exit_code or EXIT_USAGE
    except IsaacctlError as error:
        terminal.error(error.message, error.hint, error.details)
        return error.exit_code
    except Exception as error:
        if _looks_like_usage_error(error):  # typer releases that vendor their own click
            terminal.error(_one_line(error))  # type: ignore[arg-type]
            return getattr(error, "exit_code", 0) or EXIT_USAGE
        raise
    if result == EXIT_INTERRUPTED and Interrupt.seen and not Interrupt.reported:
        terminal.error("interrupted; state is consistent, re-run the command to carry on")
    return result if isinstance(result, int) else 0
