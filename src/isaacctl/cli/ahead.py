"""`train` and `evaluate` start connecting to their host before the CLI itself has loaded
(services/jobs/opening.py): the deployment is read from the arguments by hand, as the
shortcuts read theirs. A wrong reading costs nothing but a connection closed unused: the
command claims it only for the deployment it resolved through click."""

from __future__ import annotations

import os

from isaacctl import startup_cache
from isaacctl.cli.shortcuts import global_options

JOB_COMMANDS = ("train", "evaluate")
HELP_FLAGS = ("--help", "-h")


def start(args: list[str]) -> None:
    if startup_cache.disabled() or "_ISAACCTL_COMPLETE" in os.environ:
        return
    found = global_options(args)
    if found is None or found[2] == len(args) or args[found[2]] not in JOB_COMMANDS:
        return
    values, _, index = found
    rest = args[index + 1 :]
    if _asks_help(rest):
        return  # nothing to connect to
    deployment = _deployment(rest)
    state_dir, ssh_config = values["--state-dir"], values["--ssh-config"]
    if ssh_config is not None:  # what cli/root.py's global_options does with it, only sooner
        os.environ["ISAACCTL_SSH_CONFIG"] = str(ssh_config)
    from isaacctl.services.jobs.opening import open_ahead

    open_ahead(str(state_dir) if state_dir is not None else None, deployment)


def _options(rest: list[str]) -> list[str]:
    """The command's own arguments: Hydra overrides follow `--`."""
    return rest[: rest.index("--")] if "--" in rest else rest


def _asks_help(rest: list[str]) -> bool:
    return any(arg in HELP_FLAGS for arg in _options(rest))


def _deployment(rest: list[str]) -> str | None:
    """-d/--deployment's value (the last one given), None without one."""
    deployment: str | None = None
    options = _options(rest)
    for index, arg in enumerate(options):
        if arg in ("-d", "--deployment") and index + 1 < len(options):
            deployment = options[index + 1]
        elif arg.startswith("--deployment="):
            deployment = arg.partition("=")[2]
        elif arg.startswith("-d") and not arg.startswith("--") and len(arg) > 2:
            deployment = arg[2:]
    return deployment
