"""A host over SSH (paramiko): one connection reused for every command, keepalives, a
reconnect when the connection was lost between commands, host keys pinned per node.

paramiko (and the pinning policy built on it) is imported on the first connection: importing
it costs ~300 ms, and commands that only hand over to the system ssh/rsync never pay it."""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from isaacctl.errors import HostKeyChanged, RemoteError
from isaacctl.remote.base import CommandResult, OutputHandler, Remote, render_argv
from isaacctl.remote.sshconfig import SshTarget, parse_jump, resolve

if TYPE_CHECKING:  # SshEndpoint: pydantic, which a fetch-logs with nothing new starts without
    import paramiko

    from isaacctl.records import SshEndpoint

KEEPALIVE_SECONDS = 15
CONNECT_TIMEOUT_SECONDS = 20.0
# OpenSSH connection sharing for the system ssh (rsync, shells, forwards): a second fetch or
# upload within a minute skips the SSH handshake.
CONTROL_PERSIST_SECONDS = 60


# what an SshEndpoint says (records.py), read by name: the record may be a view without pydantic
ENDPOINT_FIELDS = ("host", "port", "user", "identity_file", "default_user", "host_key_alias")


def _import_paramiko() -> None:
    """paramiko without invoke: paramiko.config imports it (~40 ms, asyncio and unittest.mock
    with it) only for ssh_config's `Match exec`, and isaacctl reads ssh_config with `ssh -G`
    (sshconfig's paramiko fallback puts it back when it is needed)."""
    if "paramiko" in sys.modules or "invoke" in sys.modules:
        return
    sys.modules["invoke"] = None  # type: ignore[assignment]  # makes `import invoke` fail
    try:
        import paramiko  # noqa: F401
    finally:
        del sys.modules["invoke"]


def _lost() -> tuple[type[BaseException], ...]:
    """Errors that mean the connection is gone (paramiko's, once it is imported)."""
    import paramiko

    return (paramiko.SSHException, EOFError, OSError)


def control_folder() -> Path | None:
    """A private folder for OpenSSH control sockets (short path: sockets allow ~100 bytes)."""
    folder = Path(tempfile.gettempdir()) / f"isaacctl-ssh-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.stat()
    except OSError:
        return None
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None  # somebody else's, or open to others: do without sharing
    return folder


class _LineSplitter:
    def __init__(self, stream: str, on_output: OutputHandler | None) -> None:
        self.stream = stream
        self.on_output = on_output
        self.pending = b""
        self.chunks: list[bytes] = []

    def feed(self, data: bytes) -> None:
        self.chunks.append(data)
        if self.on_output is None:
            return
        self.pending += data
        *lines, self.pending = self.pending.split(b"\n")
        for line in lines:
            self.on_output(line.decode(errors="replace") + "\n", self.stream)

    def close(self) -> str:
        if self.on_output is not None and self.pending:
            self.on_output(self.pending.decode(errors="replace"), self.stream)
        return b"".join(self.chunks).decode(errors="replace")


class SshRemote(Remote):
    def __init__(
        self,
        endpoint: SshEndpoint,
        known_hosts: Path,
        *,
        ssh_config: Path | None = None,
        allow_first_contact: bool = True,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
    ) -> None:
        self.endpoint = endpoint
        self.ssh_config = ssh_config
        self.known_hosts = known_hosts
        self.allow_first_contact = allow_first_contact
        self.connect_timeout = connect_timeout
        self._client: paramiko.SSHClient | None = None
        self._jump: paramiko.SSHClient | None = None

    # Resolved on first use (`ssh -G`, a fork and exec): a remote that is built only to be
    # compared (same_as) never pays for it.
    @cached_property
    def target(self) -> SshTarget:
        return resolve(self.endpoint, self.ssh_config)

    @property
    def description(self) -> str:  # type: ignore[override]
        return self.target.description

    def same_as(self, other: object) -> bool:
        """Whether `other` would connect to the same place in the same way (the endpoint as
        recorded, the same ssh_config, pins and settings): one may stand in for the other."""
        return isinstance(other, SshRemote) and self._settings() == other._settings()

    def _settings(self) -> tuple[object, ...]:
        endpoint = tuple(getattr(self.endpoint, field) for field in ENDPOINT_FIELDS)
        return endpoint, self.ssh_config, self.known_hosts, self.allow_first_contact, self.connect_timeout

    # -- connection --------------------------------------------------------------------------
    def _open_socket(self) -> socket.socket | paramiko.Channel | paramiko.ProxyCommand:
        import paramiko

        target = self.target
        if target.proxy_command:
            command = (
                target.proxy_command.replace("%h", target.hostname)
                .replace("%p", str(target.port))
                .replace("%r", target.user)
            )
            return paramiko.ProxyCommand(command)
        if target.proxy_jump:
            jump_endpoint = parse_jump(target.proxy_jump)
            jump = SshRemote(
                jump_endpoint,
                self.known_hosts,
                ssh_config=target.config_file,
                connect_timeout=self.connect_timeout,
            )
            self._jump = jump._connect()
            transport = self._jump.get_transport()
            assert transport is not None
            return transport.open_channel("direct-tcpip", (target.hostname, target.port), ("127.0.0.1", 0))
        # Our own socket, for TCP_NODELAY (as OpenSSH sets it): otherwise each SSH request and
        # its answer (a channel, a command) wait on Nagle's algorithm and the peer's delayed ACK,
        # ~40 ms a round trip on Linux; with it a command on an open connection takes ~10 ms.
        sock = socket.create_connection((target.hostname, target.port), timeout=self.connect_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def _connect(self) -> paramiko.SSHClient:
        _import_paramiko()
        import paramiko

        from isaacctl.remote.hostkeys import PinnedHostKeys, PinningPolicy

        target = self.target
        pins = PinnedHostKeys(self.known_hosts, target.host_key_alias, allow_first_contact=self.allow_first_contact)
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(PinningPolicy(pins))
        try:
            client.connect(
                target.hostname,
                port=target.port,
                username=target.user,
                # paramiko takes a list too (its stubs say str): every IdentityFile, in order
                key_filename=cast(Any, target.identity_files or None),
                look_for_keys=not target.identity_files,
                allow_agent=True,
                sock=self._open_socket(),
                timeout=self.connect_timeout,
                banner_timeout=self.connect_timeout,
                auth_timeout=self.connect_timeout,
            )
        except HostKeyChanged:
            client.close()
            raise
        except paramiko.AuthenticationException as exc:
            client.close()
            keys = ", ".join(target.identity_files) or "the default keys"
            raise RemoteError(f"ssh: {target.description} refused the login with {keys} ({exc})") from None
        except TimeoutError:
            client.close()
            raise RemoteError(f"ssh: {target.description} did not answer within {self.connect_timeout:.0f} s") from None
        except _lost() as exc:
            client.close()
            raise RemoteError(f"ssh: cannot connect to {target.description}: {exc}") from None
        transport = client.get_transport()
        assert transport is not None
        transport.set_keepalive(KEEPALIVE_SECONDS)
        return client

    def client(self) -> paramiko.SSHClient:
        transport = self._client.get_transport() if self._client else None
        if transport is None or not transport.is_active():
            self.close()
            self._client = self._connect()
        assert self._client is not None
        return self._client

    def connect(self) -> None:
        """Connect now (pinning the host key on first contact)."""
        self.client()

    def close(self) -> None:
        for client in (self._client, self._jump):
            if client is not None:
                client.close()
        self._client = self._jump = None

    def _session(self) -> paramiko.Channel:
        # A connection that died while idle is replaced once; the command has not started yet.
        for attempt in (1, 2):
            try:
                transport = self.client().get_transport()
                assert transport is not None
                return transport.open_session(timeout=self.connect_timeout)
            except _lost() as exc:
                self.close()
                if attempt == 2:
                    raise RemoteError(f"ssh: lost {self.description}: {exc}") from None
        raise AssertionError("unreachable")

    # -- commands ----------------------------------------------------------------------------
    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        on_output: OutputHandler | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> CommandResult:
        channel = self._session()
        out = _LineSplitter("stdout", on_output)
        err = _LineSplitter("stderr", on_output)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            channel.exec_command(render_argv(argv, env))
            if stdin:
                channel.sendall(stdin)
            channel.shutdown_write()
            while True:
                busy = False
                if channel.recv_ready():
                    out.feed(channel.recv(65536))
                    busy = True
                if channel.recv_stderr_ready():
                    err.feed(channel.recv_stderr(65536))
                    busy = True
                if channel.exit_status_ready() and not busy and channel.eof_received:
                    break
                if channel.closed and not busy:
                    break
                if deadline is not None and time.monotonic() > deadline:
                    raise RemoteError(f"ssh: {argv[0]!r} on {self.description} did not finish within {timeout:.0f} s")
                if not busy:
                    time.sleep(0.01)
            status = channel.recv_exit_status()
        except _lost() as exc:
            self.close()
            raise RemoteError(f"ssh: lost {self.description} while running {argv[0]!r}: {exc}") from None
        finally:
            channel.close()
        if status == -1:
            self.close()
            raise RemoteError(f"ssh: lost {self.description} while running {argv[0]!r}")
        return CommandResult(tuple(argv), status, out.close(), err.close())

    # -- files -------------------------------------------------------------------------------
    @staticmethod
    def _sftp_path(remote: str) -> str:
        # SFTP paths are relative to the login's home; "~/" means the same thing there.
        return remote[2:] if remote.startswith("~/") else remote

    def put(self, local: Path, remote: str) -> None:
        with self.client().open_sftp() as sftp:
            sftp.put(str(local), self._sftp_path(remote))

    def get(self, remote: str, local: Path) -> None:
        with self.client().open_sftp() as sftp:
            sftp.get(self._sftp_path(remote), str(local))

    # -- the system ssh client (interactive shells, rsync) -----------------------------------
    def rsync_location(self, path: str) -> str:
        host = self.target.alias
        return f"[{host}]:{path}" if ":" in host else f"{host}:{path}"

    def rsync_shell(self) -> str:
        import shlex

        # AES-GCM first: with AES-NI it moves bulk data faster than OpenSSH's default
        # chacha20-poly1305; the server picks from the rest of the list when it must.
        ciphers = "aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr"
        return shlex.join(
            ["ssh", *self.openssh_options(), "-o", "BatchMode=yes", "-o", "Compression=no", "-o", f"Ciphers={ciphers}"]
        )

    def _pins_tag(self) -> str:
        """Which pins a shared connection was checked against: %C alone names the host, port
        and user, and a command pinned to another key must not ride a master that checked
        the host against other pins (another deployment's at the same address)."""
        from hashlib import blake2b

        return blake2b(str(self.known_hosts.absolute()).encode(), digest_size=6).hexdigest()

    def openssh_options(self, share_connection: bool = True) -> list[str]:
        """Options that make OpenSSH's `ssh` go where this remote goes, with the same pins."""
        target = self.target
        folder = control_folder() if share_connection else None
        sharing = (
            [
                "-o",
                "ControlMaster=auto",
                "-o",
                f"ControlPath={folder}/{self._pins_tag()}-%C",
                "-o",
                f"ControlPersist={CONTROL_PERSIST_SECONDS}",
            ]
            if folder
            else ["-o", "ControlPath=none"]
        )
        options = [
            *sharing,
            "-F",
            str(target.config_file) if target.config_file else "/dev/null",
            "-o",
            f"HostKeyAlias={target.host_key_alias}",
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "ServerAliveInterval=15",
            "-p",
            str(target.port),
            "-l",
            target.user,
        ]
        for identity in target.identity_files:
            options += ["-i", identity]
        return options
