"""Where an SSH endpoint really goes: the record's explicit values, then the user's ssh_config
(HostName, Port, User, IdentityFile, ProxyCommand, ProxyJump), then defaults. Users behind
bastions need this, and tests route made-up cloud addresses to a loopback sshd with it."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pydantic: a fetch-logs with nothing new starts without it (cli/fetch_shortcut.py)
    from isaacctl.records import SshEndpoint

DEFAULT_SSH_CONFIG = "~/.ssh/config"


def ssh_config_path(explicit: str | Path | None = None) -> Path | None:
    chosen = explicit or os.environ.get("ISAACCTL_SSH_CONFIG") or DEFAULT_SSH_CONFIG
    path = Path(chosen).expanduser()
    return path if path.is_file() else None


@dataclass(frozen=True)
class SshTarget:
    alias: str  # the name the record uses (an address or an ssh_config Host)
    hostname: str
    port: int
    user: str
    identity_files: list[str] = field(default_factory=list)
    proxy_command: str | None = None
    proxy_jump: str | None = None
    host_key_alias: str = ""
    config_file: Path | None = None

    @property
    def description(self) -> str:
        return f"{self.user}@{self.alias}" + (f":{self.port}" if self.port != 22 else "")


def _lookup_with_openssh(endpoint: SshEndpoint, config_file: Path | None) -> dict | None:
    """The configuration OpenSSH itself would use (`ssh -G`: Match, Include and all), with the
    provider's default login placed after the user's config so that a `User` there wins.
    None when there is no ssh client here. ~5 ms, where importing paramiko costs ~300 ms."""
    import shutil
    import subprocess
    import tempfile

    ssh = shutil.which("ssh")
    if ssh is None:
        return None
    with tempfile.NamedTemporaryFile("w", prefix="isaacctl-ssh-", suffix=".conf") as wrapper:
        if config_file is not None:
            wrapper.write(f"Include {config_file.absolute()}\n")
        if endpoint.default_user:
            wrapper.write(f"Host *\n    User {endpoint.default_user}\n")
        wrapper.flush()
        argv = [ssh, "-G", "-F", wrapper.name]
        argv += ["-p", str(endpoint.port)] if endpoint.port else []
        argv += ["-l", endpoint.user] if endpoint.user else []
        result = subprocess.run(
            [*argv, "--", endpoint.host], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30
        )
    if result.returncode != 0:
        return None
    found: dict = {"identityfile": []}
    for line in result.stdout.splitlines():
        key, _, value = line.partition(" ")
        if key == "identityfile":
            found["identityfile"].append(value)
        elif key in ("hostname", "port", "user", "proxycommand", "proxyjump"):
            found[key] = value
    # ssh -G lists its default keys even when they do not exist: keep the ones that do
    found["identityfile"] = [p for p in found["identityfile"] if Path(p).expanduser().is_file()]
    for key in ("proxycommand", "proxyjump"):
        if found.get(key, "none").lower() == "none":
            found.pop(key, None)
    return found


def _lookup_with_paramiko(alias: str, config_file: Path | None) -> dict:
    if config_file is None:
        return {}
    import paramiko

    if getattr(paramiko.config, "invoke", True) is None:  # imported without it (ssh._import_paramiko)
        import invoke  # `Match exec` needs it

        setattr(paramiko.config, "invoke", invoke)  # noqa: B010  (not in paramiko's stubs)
    return dict(paramiko.SSHConfig.from_path(str(config_file)).lookup(alias))


def resolve(endpoint: SshEndpoint, config_file: Path | None) -> SshTarget:
    found = _lookup_with_openssh(endpoint, config_file)
    if found is None:
        found = _lookup_with_paramiko(endpoint.host, config_file)
    identities = [endpoint.identity_file] if endpoint.identity_file else []
    identities += [str(Path(p).expanduser()) for p in found.get("identityfile", [])]
    port = endpoint.port or int(found.get("port", 22))
    user = endpoint.user or found.get("user") or endpoint.default_user or getpass.getuser()
    proxy_command = found.get("proxycommand")
    if proxy_command and proxy_command.strip().lower() == "none":
        proxy_command = None
    return SshTarget(
        alias=endpoint.host,
        hostname=found.get("hostname", endpoint.host),
        port=port,
        user=user,
        identity_files=list(dict.fromkeys(identities)),
        proxy_command=proxy_command,
        proxy_jump=found.get("proxyjump"),
        host_key_alias=endpoint.host_key_alias,
        config_file=config_file,
    )


def parse_jump(spec: str) -> SshEndpoint:
    """One hop of ProxyJump: [user@]host[:port]. Only the first hop of a chain is used."""
    first = spec.split(",")[0].strip()
    user, _, rest = first.rpartition("@")
    host, _, port = rest.partition(":")
    from isaacctl.records import SshEndpoint

    return SshEndpoint(
        host=host,
        port=int(port) if port else None,
        user=user or None,
        host_key_alias=f"jump:{host}",
    )
