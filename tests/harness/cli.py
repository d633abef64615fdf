"""Running the real isaacctl CLI (and other Python programs) as guarded subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from .util import GUARD_DIR

GUARD_ENV = "ISAACCTL_LOOPBACK_GUARD"


def guarded_env(env: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """os.environ + ``env`` overrides (a None value removes the variable), with tests/guard
    first on PYTHONPATH and ISAACCTL_LOOPBACK_GUARD=1, so any Python child runs the guard."""
    merged: dict[str, str] = dict(os.environ)
    for key, value in (env or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = str(value)
    parts = [p for p in merged.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(GUARD_DIR)]
    merged["PYTHONPATH"] = os.pathsep.join([str(GUARD_DIR), *parts])
    merged[GUARD_ENV] = "1"
    return merged


def run_guarded(
    argv: Sequence[str],
    env: Mapping[str, str | None] | None = None,
    input: str | None = None,
    timeout: float = 300,
    cwd: str | Path | None = None,
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in argv],
        env=guarded_env(env),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def run_cli(
    args: Sequence[str],
    env: Mapping[str, str | None] | None = None,
    input: str | None = None,
    timeout: float = 300,
    cwd: str | Path | None = None,
) -> subprocess.CompletedProcess:
    """``python -m isaacctl *args`` under the loopback guard. ``env`` holds overrides on top
    of os.environ and must provide ISAACCTL_STATE_DIR (never the user's real state)."""
    full = guarded_env(env)
    if not full.get("ISAACCTL_STATE_DIR"):
        raise ValueError("run_cli needs ISAACCTL_STATE_DIR in env")
    return subprocess.run(
        [sys.executable, "-m", "isaacctl", *map(str, args)],
        env=full,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


class Cli:
    """The ``cli`` fixture: ``cli("up", "--yes")`` or ``cli(["up", "--yes"])``.

    Every call runs the real CLI in a subprocess with the loopback guard,
    ISAACCTL_STATE_DIR=state_dir, ISAACCTL_SSH_CONFIG=ssh_config (an empty file unless the test
    writes one, e.g. with ``sshd.write_ssh_config(cli.ssh_config, [...])``), NO_COLOR=1 and
    COLUMNS=200. ``cli.env`` holds per-test overrides applied to every call; ``env=`` adds
    per-call ones. ``check=True`` fails the test with the CLI's output on a non-zero exit.
    """

    def __init__(self, state_dir: Path, ssh_config: Path, env: Mapping[str, str | None] | None = None):
        self.state_dir = Path(state_dir)
        self.ssh_config = Path(ssh_config)
        self.env: dict[str, str | None] = {
            "ISAACCTL_STATE_DIR": str(self.state_dir),
            "ISAACCTL_SSH_CONFIG": str(self.ssh_config),
            "NO_COLOR": "1",
            "COLUMNS": "200",
            "TERM": "dumb",
        }
        self.env.update(env or {})

    def full_env(self, env: Mapping[str, str | None] | None = None) -> dict[str, str]:
        return guarded_env({**self.env, **(env or {})})

    def __call__(
        self,
        *args,
        env: Mapping[str, str | None] | None = None,
        input: str | None = None,
        timeout: float = 300,
        check: bool = False,
        cwd: str | Path | None = None,
    ) -> subprocess.CompletedProcess:
        if len(args) == 1 and isinstance(args[0], (list, tuple)):
            args = tuple(args[0])
        res = run_cli(args, env={**self.env, **(env or {})}, input=input, timeout=timeout, cwd=cwd)
        if check and res.returncode != 0:
            raise AssertionError(
                f"isaacctl {' '.join(map(str, args))} exited {res.returncode}\n"
                f"--- stdout ---\n{res.stdout}\n--- stderr ---\n{res.stderr}"
            )
        return res

    def deploy_ssh(
        self, name: str, host: str, host_dir: str | Path, *options: str, **call
    ) -> subprocess.CompletedProcess:
        """`deploy ssh` of a CPU workstation (--gpus none) at ``host`` (an alias the test's
        ssh_config routes to its sshd): the stand-in's ``--image IMAGE`` or the pip runtime's
        options in ``options``; ``call`` as for a call (check=, timeout=)."""
        deploy = ["deploy", "ssh", "--name", name, "--host", host, "--gpus", "none", *options]
        return self(*deploy, "--host-dir", str(host_dir), **call)
