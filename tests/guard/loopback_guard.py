"""Loopback guard: refuse every network connection that leaves 127.0.0.0/8 or ::1.

Installed in the pytest process by tests/conftest.py and in Python subprocesses by
tests/guard/sitecustomize.py (tests/guard is prepended to PYTHONPATH and
ISAACCTL_LOOPBACK_GUARD=1 is set).

What is patched (on the ``socket`` module, so every library using it is covered):
- ``socket.socket.connect`` / ``connect_ex`` / ``sendto`` / ``sendmsg``: AF_INET/AF_INET6
  destinations must be loopback; AF_UNIX and other families are allowed.
- ``socket.create_connection``: checked before anything is resolved.
- ``socket.getaddrinfo`` / ``gethostbyname`` / ``gethostbyname_ex`` / ``gethostbyaddr``:
  numeric addresses pass (no DNS involved; the connect is checked later); names are only
  allowed when they are ``localhost``/``*.localhost`` or map to loopback in /etc/hosts. Any
  other name is refused WITHOUT being resolved, because resolving it would itself send a DNS
  query off the machine.

A refusal raises :class:`LoopbackGuardError` (an ``OSError``) whose message starts with
``loopback guard: refused``. Non-Python programs (ssh, docker, rsync) are not covered here:
scripts/test.sh runs the whole test session in a network namespace that only has loopback.
"""

from __future__ import annotations

import ipaddress
import os
import socket

ENV_VAR = "ISAACCTL_LOOPBACK_GUARD"

__all__ = [
    "ENV_VAR",
    "LoopbackGuardError",
    "install",
    "install_if_enabled",
    "installed",
    "is_allowed_host",
    "uninstall",
]


class LoopbackGuardError(OSError):
    """A connection (or name lookup) outside loopback was refused by the test guard."""


_orig: dict[str, object] = {}
_own_methods: set[str] = set()  # socket.socket methods defined on the class itself (not inherited)


def installed() -> bool:
    return bool(_orig)


def _loopback_ip(host: str) -> bool | None:
    """True/False for a numeric address, None when ``host`` is not numeric."""
    text = host.strip("[]").split("%", 1)[0]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(addr, "ipv4_mapped", None)
    if mapped is not None:
        addr = mapped
    return addr.is_loopback


def _etc_hosts_loopback_names() -> set[str]:
    names: dict[str, bool] = {}
    try:
        with open("/etc/hosts", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                fields = line.split("#", 1)[0].split()
                if len(fields) < 2:
                    continue
                is_lo = bool(_loopback_ip(fields[0]))
                for name in fields[1:]:
                    key = name.lower()
                    names[key] = names.get(key, True) and is_lo
    except OSError:
        pass
    return {n for n, lo in names.items() if lo}


def _allowed_name(name: str) -> bool:
    n = name.lower().rstrip(".")
    if n == "localhost" or n.endswith(".localhost"):
        return True
    return n in _etc_hosts_loopback_names()


def is_allowed_host(host: object) -> bool:
    """Whether a connection/lookup for ``host`` (str, bytes or None) stays on loopback."""
    if host is None:
        return True  # passive / loopback lookups
    if isinstance(host, (bytes, bytearray)):
        host = bytes(host).decode("idna", errors="replace")
    if not isinstance(host, str):
        return False
    if host == "":
        return True  # "" means INADDR_ANY for bind-like uses; connect to it is local
    lo = _loopback_ip(host)
    if lo is not None:
        return lo
    return _allowed_name(host)


def _is_numeric(host: object) -> bool:
    if isinstance(host, (bytes, bytearray)):
        host = bytes(host).decode("ascii", errors="replace")
    return isinstance(host, str) and _loopback_ip(host) is not None


def _describe(address: object) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        host = address[0]
        if isinstance(host, bytes):
            host = host.decode("ascii", errors="replace")
        if isinstance(host, str) and ":" in host:
            return f"[{host}]:{address[1]}"
        return f"{host}:{address[1]}"
    return repr(address)


def _check_address(family: int, address: object) -> None:
    if family not in (socket.AF_INET, socket.AF_INET6):
        return  # AF_UNIX, AF_NETLINK, ...: local by nature
    host = address[0] if isinstance(address, tuple) and address else address
    if host == "":
        raise LoopbackGuardError(f"loopback guard: refused connection to {_describe(address)}")
    if not is_allowed_host(host):
        raise LoopbackGuardError(f"loopback guard: refused connection to {_describe(address)}")


def _refuse_lookup(host: object, exc_type: type[OSError] = socket.gaierror) -> None:
    err = exc_type(socket.EAI_NONAME, f"loopback guard: refused to resolve {host!r}")
    raise err


def install() -> None:
    """Patch the socket module (idempotent)."""
    if _orig:
        return
    sock_cls = socket.socket
    _own_methods.update(n for n in ("connect", "connect_ex", "sendto", "sendmsg") if n in vars(sock_cls))
    _orig.update(
        connect=sock_cls.connect,
        connect_ex=sock_cls.connect_ex,
        sendto=sock_cls.sendto,
        sendmsg=getattr(sock_cls, "sendmsg", None),
        create_connection=socket.create_connection,
        getaddrinfo=socket.getaddrinfo,
        gethostbyname=socket.gethostbyname,
        gethostbyname_ex=socket.gethostbyname_ex,
        gethostbyaddr=socket.gethostbyaddr,
    )
    o_connect, o_connect_ex, o_sendto, o_sendmsg = (
        _orig["connect"],
        _orig["connect_ex"],
        _orig["sendto"],
        _orig["sendmsg"],
    )
    o_cc, o_gai = _orig["create_connection"], _orig["getaddrinfo"]
    o_ghbn, o_ghbn_ex, o_ghba = _orig["gethostbyname"], _orig["gethostbyname_ex"], _orig["gethostbyaddr"]

    def connect(self, address):
        _check_address(self.family, address)
        return o_connect(self, address)

    def connect_ex(self, address):
        _check_address(self.family, address)
        return o_connect_ex(self, address)

    def sendto(self, data, *args):
        if args:
            _check_address(self.family, args[-1])
        return o_sendto(self, data, *args)

    def sendmsg(self, buffers, ancdata=(), flags=0, address=None):
        if address is not None:
            _check_address(self.family, address)
            return o_sendmsg(self, buffers, ancdata, flags, address)
        return o_sendmsg(self, buffers, ancdata, flags)

    def create_connection(address, *args, **kwargs):
        host = address[0] if isinstance(address, tuple) and address else address
        if not is_allowed_host(host) or host == "":
            raise LoopbackGuardError(f"loopback guard: refused connection to {_describe(address)}")
        return o_cc(address, *args, **kwargs)

    def getaddrinfo(host, *args, **kwargs):
        if not (_is_numeric(host) or is_allowed_host(host)):
            _refuse_lookup(host)
        return o_gai(host, *args, **kwargs)

    def gethostbyname(host):
        if not (_is_numeric(host) or is_allowed_host(host)):
            _refuse_lookup(host)
        return o_ghbn(host)

    def gethostbyname_ex(host):
        if not (_is_numeric(host) or is_allowed_host(host)):
            _refuse_lookup(host)
        return o_ghbn_ex(host)

    def gethostbyaddr(host):
        # a reverse lookup of a non-loopback address is a DNS query too
        if not is_allowed_host(host):
            _refuse_lookup(host, socket.herror)
        return o_ghba(host)

    sock_cls.connect = connect
    sock_cls.connect_ex = connect_ex
    sock_cls.sendto = sendto
    if o_sendmsg is not None:
        sock_cls.sendmsg = sendmsg
    socket.create_connection = create_connection
    socket.getaddrinfo = getaddrinfo
    socket.gethostbyname = gethostbyname
    socket.gethostbyname_ex = gethostbyname_ex
    socket.gethostbyaddr = gethostbyaddr


def uninstall() -> None:
    """Undo :func:`install` (for the guard's own tests)."""
    if not _orig:
        return
    sock_cls = socket.socket
    for name in ("connect", "connect_ex", "sendto", "sendmsg"):
        if _orig[name] is None:
            continue
        if name in _own_methods:
            setattr(sock_cls, name, _orig[name])
        else:
            delattr(sock_cls, name)  # fall back to the inherited C method
    _own_methods.clear()
    socket.create_connection = _orig["create_connection"]
    socket.getaddrinfo = _orig["getaddrinfo"]
    socket.gethostbyname = _orig["gethostbyname"]
    socket.gethostbyname_ex = _orig["gethostbyname_ex"]
    socket.gethostbyaddr = _orig["gethostbyaddr"]
    _orig.clear()


def install_if_enabled() -> bool:
    if os.environ.get(ENV_VAR) == "1":
        install()
        return True
    return False
