"""Host keys pinned on first contact, per deployment node, and refused when they change.

Keys are stored under the node's alias (OpenSSH's HostKeyAlias), not its address, so a cloud
instance that gets a new address on start keeps its pin. The file is in OpenSSH's known_hosts
format, so the system `ssh` (interactive shells, rsync) checks the same pins."""

from __future__ import annotations

from pathlib import Path

import paramiko

from isaacctl.errors import HostKeyChanged
from isaacctl.state import atomic_write


def fingerprint(key: paramiko.PKey) -> str:
    return key.fingerprint  # "SHA256:..." as OpenSSH prints it


class PinnedHostKeys:
    def __init__(self, path: Path, alias: str, *, allow_first_contact: bool = True) -> None:
        self.path = path
        self.alias = alias
        self.allow_first_contact = allow_first_contact

    def _load(self) -> paramiko.HostKeys:
        keys = paramiko.HostKeys()
        if self.path.is_file():
            keys.load(str(self.path))
        return keys

    def pinned(self) -> dict[str, paramiko.PKey]:
        entry = self._load().lookup(self.alias)
        return dict(entry) if entry else {}

    def verify(self, key: paramiko.PKey) -> None:
        """Accept the pinned key, pin a first key, refuse anything else."""
        pinned = self.pinned()
        if not pinned:
            if not self.allow_first_contact:
                raise HostKeyChanged(f"host key: no key pinned for {self.alias} in {self.path}")
            self._pin(key)
            return
        known = pinned.get(key.get_name())
        if known is not None and known == key:
            return
        expected = ", ".join(fingerprint(k) for k in pinned.values())
        raise HostKeyChanged(
            f"host key changed for {self.alias}: it now presents {fingerprint(key)}, "
            f"pinned {expected}; refusing to connect",
            hint=f"if the host was rebuilt on purpose, remove its line from {self.path}",
        )

    def _pin(self, key: paramiko.PKey) -> None:
        keys = self._load()
        keys.add(self.alias, key.get_name(), key)
        lines = [f"{host} {k.get_name()} {k.get_base64()}\n" for host, entry in keys.items() for k in entry.values()]
        atomic_write(self.path, "".join(lines), mode=0o600)


class PinningPolicy(paramiko.MissingHostKeyPolicy):
    """Paramiko calls this for every key it does not already know; we decide with the pins."""

    def __init__(self, pins: PinnedHostKeys) -> None:
        self.pins = pins

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        self.pins.verify(key)
