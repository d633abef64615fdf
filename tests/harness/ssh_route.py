"""An ssh_config ProxyCommand that gives every made-up cloud instance its own loopback sshd.

    ProxyCommand <python> ssh_route.py <moto url> %h <port of sshd 0> <port of sshd 1> ...

It asks the in-process moto server (``GET /isaacctl-test/route?host=%h``) which sshd the
instance with that address is routed to (assigned per instance id on first sight, so stable
across stop/start) and joins stdin/stdout to that sshd's port on 127.0.0.1. Both paramiko and
OpenSSH honour it, so two nodes show two different host keys. ``write_ssh_config`` writes it.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from pathlib import Path
from urllib.parse import quote
from urllib.request import urlopen

ROUTE_PATH = "/isaacctl-test/route"


def write_ssh_config(path: Path, moto_url: str, servers: list) -> Path:
    """`Host *` through this script to `servers` (SshServer, sharing one user and client key)."""
    first = servers[0]
    ports = " ".join(str(server.port) for server in servers)
    path = Path(path)
    path.write_text(
        "\n".join(
            [
                "Host *",
                f"    User {first.user}",
                f"    IdentityFile {first.client_key}",
                "    IdentitiesOnly yes",
                f"    ProxyCommand {sys.executable} {Path(__file__).resolve()} {moto_url} %h {ports}",
            ]
        )
        + "\n"
    )
    path.chmod(0o600)
    return path


def _pump_up(sock: socket.socket) -> None:
    while True:
        data = os.read(0, 65536)
        if not data:
            break
        sock.sendall(data)
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def main(argv: list[str]) -> int:
    moto_url, host, ports = argv[0], argv[1], [int(p) for p in argv[2:]]
    with urlopen(f"{moto_url}{ROUTE_PATH}?host={quote(host)}", timeout=10) as response:
        index = int(response.read().split()[0])
    if index >= len(ports):
        print(f"ssh_route: {host} is machine {index}, only {len(ports)} sshd given", file=sys.stderr)
        return 1
    sock = socket.create_connection(("127.0.0.1", ports[index]), timeout=10)
    sock.settimeout(None)
    threading.Thread(target=_pump_up, args=(sock,), daemon=True).start()
    while True:
        data = sock.recv(65536)
        if not data:
            return 0
        os.write(1, data)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
