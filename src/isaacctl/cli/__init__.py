"""The command line: thin commands that parse options, call one service and render its result.

Nothing heavy is imported here: `main` first asks cli/shortcuts.py whether it can answer
without typer (the top-level help from its cache, a plain `list`), and only then builds the
typer group (cli/root.py). Heavy imports (pydantic, paramiko, rich, cloud SDKs) happen inside
command bodies."""

import os
import sys

# Not typing.TYPE_CHECKING: importing typing is ~5 ms of the help's start-up (mypy reads
# this name the same way).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from isaacctl.console import Terminal

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
INTERRUPTED = "interrupted; state is consistent, re-run the command to carry on"


def _one_line(error: Exception) -> str:
    message = error.format_message().replace("\n", " ")  # type: ignore[attr-defined]
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
        terminal = _terminal()
        if terminal.verbose:
            import traceback

            traceback.print_exc()
        terminal.error(
            f"unexpected {type(error).__name__}: {error}",
            hint=None if terminal.verbose else "run again with -v for the traceback",
        )
        return 1


def _terminal() -> "Terminal":
    """Where errors go. Made when one happens: the help's shortcut needs no console."""
    from isaacctl.console import Terminal

    return Terminal(verbose="-v" in sys.argv or "--verbose" in sys.argv)


def _main(argv: list[str] | None) -> int:
    import signal

    signal.signal(signal.SIGINT, Interrupt.handler)
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        from isaacctl.cli import shortcuts

        answered = shortcuts.answer(args)
        result = _full_with_ahead(argv, args) if answered is None else answered
    except KeyboardInterrupt:
        _terminal().error(INTERRUPTED)
        return EXIT_INTERRUPTED
    except Exception as error:
        errors = sys.modules.get("isaacctl.errors")  # not imported: not one of ours
        if errors is not None and isinstance(error, errors.IsaacctlError):
            _terminal().error(error.message, error.hint, error.details)
            return int(error.exit_code)
        click = sys.modules.get("click")  # imported by the full path only
        if click is not None and isinstance(error, click.exceptions.Abort):
            _terminal().error(INTERRUPTED)
            return EXIT_INTERRUPTED
        if (click is not None and isinstance(error, click.ClickException)) or _looks_like_usage_error(error):
            # _looks_like_usage_error: typer releases that vendor their own click
            _terminal().error(_one_line(error))
            return getattr(error, "exit_code", 0) or EXIT_USAGE
        raise
    if result == EXIT_INTERRUPTED and Interrupt.seen and not Interrupt.reported:
        _terminal().error(INTERRUPTED)
    return result if isinstance(result, int) else 0


def _full_with_ahead(argv: list[str] | None, args: list[str]) -> object:
    """The full path, with `train`'s SSH connection opening meanwhile (cli/ahead.py)."""
    from isaacctl.cli import ahead

    ahead.start(args)
    try:
        return _full(argv, args)
    finally:
        opening = sys.modules.get("isaacctl.services.jobs.opening")
        if opening is not None:
            opening.discard_ahead()


def _full(argv: list[str] | None, args: list[str]) -> object:
    from isaacctl.cli import root, shortcuts

    if not args and "_ISAACCTL_COMPLETE" not in os.environ:  # (shell completion has no arguments)
        # click since 8.2 prints the help on stderr and exits 2 here; done here so it does not
        # depend on click's version, and so the help is not squeezed into one error line
        sys.stderr.write(root.root_help())
        shortcuts.remember_help(args)
        return EXIT_USAGE
    result = root.command().main(args=argv, prog_name="isaacctl", standalone_mode=False)
    shortcuts.remember_help(args)
    return result
