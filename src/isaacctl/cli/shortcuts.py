"""Answers for the commands people type most, without typer and click (~35 ms of start-up)
or pydantic (~60 ms): `isaacctl --help` (and `isaacctl` alone) from a cached rendering of
typer's own help, `isaacctl [global options] list [--json]` or `status NAME [--json]` by
the same code the typer commands run (cli/listing.py), and a plain `fetch-logs` whose jobs have
finished (cli/fetch_shortcut.py). Anything else, or anything unusual about these (another flag,
shell completion, ISAACCTL_NO_SHORTCUTS=1), returns None and the full path runs.

Hand-written on purpose: recognising these few argument lists needs no parser, and loading
click's would cost the time saved. tests/test_startup.py checks that each shortcut prints
exactly what the full path prints."""

from __future__ import annotations

import os
import sys

from isaacctl import startup_cache

TYPE_CHECKING = False  # not typing's: see cli/__init__.py
if TYPE_CHECKING:
    from pathlib import Path

HELP_ARGS: tuple[list[str], ...] = ([], ["--help"], ["-h"])
HELP_KIND = "help"
VALUE_OPTIONS = ("--state-dir", "--ssh-config")


def answer(args: list[str]) -> int | None:
    """The exit status when a shortcut answered; None: run the full path."""
    if startup_cache.disabled() or "_ISAACCTL_COMPLETE" in os.environ:
        return None
    try:
        if args in HELP_ARGS:
            return _replay_help(args)
        return _read_command(args)
    except BrokenPipeError:
        # what click's main does when the reader went away (`isaacctl list | head -1`): exit 1
        # quietly, and no error at the interpreter's last flush either (click only now)
        from typing import Any

        from click import utils

        pacify: Any = utils.PacifyFlushWrapper
        sys.stdout, sys.stderr = pacify(sys.stdout), pacify(sys.stderr)
        raise SystemExit(1) from None


# -- the top-level help ------------------------------------------------------------------------


def _help_key(args: list[str]) -> str:
    """Everything the rendering depends on: isaacctl's release and the source of the CLI, the
    installed packages (an install or removal changes its folder on sys.path: typer, click, a
    plugin), the interpreter, the terminal's width, colour settings and whether the streams are
    terminals. Plain os calls: pathlib and shutil would cost this path ~5 ms to import."""
    from isaacctl import __version__

    cli_folder = os.path.dirname(os.path.abspath(__file__))
    sources = sorted(
        (entry.name, entry.stat().st_mtime_ns, entry.stat().st_size)
        for entry in os.scandir(cli_folder)
        if entry.name.endswith(".py")
    )
    colour = [os.environ.get(name) for name in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "TERM")]
    return startup_cache.key(
        __version__,
        sys.version,
        sys.executable,
        args,
        sources,
        startup_cache.installed_folders(),
        _columns(),
        colour,
        sys.stdout.isatty(),
        sys.stderr.isatty(),
    )


def _columns() -> int:
    """shutil.get_terminal_size().columns (the width click renders help for), read as shutil
    reads it: COLUMNS, else the terminal on stdout, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def _replay_help(args: list[str]) -> int | None:
    try:
        entry = startup_cache.read_text(HELP_KIND, _help_key(args))
    except OSError:  # the CLI's sources are not files (a zip): no shortcut
        return None
    header, newline, text = (entry or "").partition("\n")
    code, _, stream = header.partition(" ")
    if not newline or not code.isdigit() or stream not in ("stdout", "stderr"):
        return None
    target = sys.stdout if stream == "stdout" else sys.stderr
    target.write(text)
    target.flush()
    return int(code)


def remember_help(args: list[str]) -> None:
    """After the full path answered a help request: keep its rendering for the next run."""
    if args not in HELP_ARGS or startup_cache.disabled():
        return
    from isaacctl.cli.root import root_help

    # what cli._full (no arguments) and click's help option (--help, -h) print, and where
    header = "2 stderr" if not args else "0 stdout"
    try:
        startup_cache.write_text(HELP_KIND, _help_key(args), f"{header}\n{root_help()}")
    except OSError:
        return


# -- list, status ----------------------------------------------------------------------------------


def _read_command(args: list[str]) -> int | None:
    parsed = _parse(args)
    if parsed is None:
        return None
    if parsed[3] == "fetch-logs":
        return _fetch_logs(parsed)
    state_dir, ssh_config, verbose, command, name, as_json = parsed
    from isaacctl.cli import listing
    from isaacctl.cli.app import App
    from isaacctl.console import Terminal

    # what cli/root.py's global_options does with the same flags
    if ssh_config is not None:
        os.environ["ISAACCTL_SSH_CONFIG"] = str(ssh_config)
    app = App(state_dir=state_dir, verbose=verbose, terminal=Terminal(verbose=verbose))
    if command == "list":
        listing.show_list(app, as_json)
    else:
        listing.show_status(app, str(name), as_json)
    return 0


def _fetch_logs(parsed: Parsed) -> int | None:
    from isaacctl.cli import fetch_shortcut

    state_dir, ssh_config, verbose, _, rest, _ = parsed
    assert isinstance(rest, list)
    if ssh_config is not None:
        os.environ["ISAACCTL_SSH_CONFIG"] = str(ssh_config)
    return fetch_shortcut.answer(state_dir, verbose, rest)


# state dir, ssh_config, -v, the command, then status's NAME (or fetch-logs' arguments), --json
Parsed = tuple["Path | None", "Path | None", bool, str, "str | list[str] | None", bool]


def global_options(args: list[str]) -> tuple[dict[str, Path | None], bool, int] | None:
    """[--state-dir DIR] [--ssh-config FILE] [-v] in click's reading: their values (as typer
    gives them: Path(text), the last one given wins), -v, and the index of the first argument
    that is none of them; None where click's reading might differ."""
    for name in ("ISAACCTL_STATE_DIR", "ISAACCTL_SSH_CONFIG"):
        if os.environ.get(name) == "":
            return None  # click's reading of an empty variable is its own business
    from pathlib import Path

    values: dict[str, Path | None] = {name: None for name in VALUE_OPTIONS}
    verbose = False
    index = 0
    while index < len(args):
        arg = args[index]
        option, equals, value = arg.partition("=")
        if arg in ("-v", "--verbose"):
            verbose = True
        elif option in VALUE_OPTIONS:
            if not equals:
                index += 1
                if index == len(args):
                    return None
                value = args[index]
            values[option] = Path(value)
        else:
            return values, verbose, index
        index += 1
    return values, verbose, index


def _parse(args: list[str]) -> Parsed | None:
    """[global options] then `list [--json]`, `status NAME [--json]` or `fetch-logs ...`, in
    click's reading; None for anything else."""
    found = global_options(args)
    if found is None or found[2] == len(args):
        return None
    values, verbose, index = found
    arg, rest = args[index], args[index + 1 :]
    if arg == "fetch-logs":  # what follows is fetch_shortcut's to read
        return values["--state-dir"], values["--ssh-config"], verbose, arg, rest, False
    if arg not in ("list", "status"):
        return None
    as_json = "--json" in rest
    others = [each for each in rest if each != "--json"]
    if rest.count("--json") > 1:
        return None
    if arg == "list" and others:
        return None
    # status takes one name; anything that looks like an option (--refresh, -h) is click's
    if arg == "status" and (len(others) != 1 or others[0].startswith("-")):
        return None
    deployment = others[0] if arg == "status" else None
    return values["--state-dir"], values["--ssh-config"], verbose, arg, deployment, as_json
