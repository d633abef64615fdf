"""How a person connects to a deployment: info.txt, `isaacctl ssh`."""

from __future__ import annotations

import os
import shlex
import shutil
from typing import TYPE_CHECKING

from isaacctl.errors import IsaacctlError

if TYPE_CHECKING:
    from isaacctl.records import DeploymentRecord
    from isaacctl.remote import Remote


def openssh_command(record: DeploymentRecord, remote: Remote) -> list[str] | None:
    """The system `ssh` command line that reaches the head node with the pinned host key,
    or None for the local provider."""
    from isaacctl.remote.ssh import SshRemote

    if not isinstance(remote, SshRemote):
        return None
    return ["ssh", *remote.openssh_options(share_connection=False), remote.target.alias]


def describe_connection(record: DeploymentRecord, remote: Remote) -> str:
    lines = [
        f"Deployment {record.name} ({record.provider}), created {record.created_at:%Y-%m-%d %H:%M} UTC",
        "",
        f"Shell:       isaacctl ssh {record.name}",
        f"A command:   isaacctl ssh {record.name} -- nvidia-smi",
        f"Status:      isaacctl status {record.name}",
        f"Train:       isaacctl train -d {record.name} --task Isaac-Cartpole-Direct-v0 --follow",
        f"Destroy:     isaacctl destroy {record.name}",
    ]
    command = openssh_command(record, remote)
    if command:
        lines += ["", "Plain OpenSSH, checking the pinned host key:", "  " + shlex.join(command)]
    return "\n".join(lines) + "\n"


def interactive_shell(record: DeploymentRecord, remote: Remote) -> None:
    """Replace this process with an interactive shell on the head node."""
    command = openssh_command(record, remote)
    if command is None:
        command = [os.environ.get("SHELL") or "/bin/bash", "-l"]
    elif shutil.which("ssh") is None:
        raise IsaacctlError(
            "ssh: an interactive shell needs OpenSSH's ssh client",
            hint="install it (apt-get install openssh-client), or run a command: isaacctl ssh NAME -- CMD",
        )
    os.execvp(command[0], command)
