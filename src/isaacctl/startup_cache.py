"""Small files that let a command skip work every run would redo the same way: the top-level
help as typer renders it, the record models' shapes (records_read). Each entry is keyed by a
hash of everything it depends on, so a changed input reads as a miss, never as a stale hit;
a miss (or an unwritable cache) only means the slow path runs.

Where: $ISAACCTL_CACHE_DIR, else $XDG_CACHE_HOME/isaacctl, else ~/.cache/isaacctl.
ISAACCTL_NO_SHORTCUTS=1 turns every shortcut off (the full path always runs), which is how the
tests compare the two."""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing's: see cli/__init__.py
if TYPE_CHECKING:
    from typing import Any

try:  # CPython's own blake2: hashlib would load OpenSSL first (~5 ms of the help's start-up)
    from _blake2 import blake2b
except ImportError:  # another interpreter
    from hashlib import blake2b

KEEP_PER_KIND = 16  # a few terminal widths and releases side by side; older ones are removed


def disabled() -> bool:
    return bool(os.environ.get("ISAACCTL_NO_SHORTCUTS"))


def folder() -> str:
    chosen = os.environ.get("ISAACCTL_CACHE_DIR")
    if chosen:
        return chosen
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "isaacctl")


def key(*parts: Any) -> str:
    digest = blake2b(digest_size=16)
    for part in parts:
        digest.update(part if isinstance(part, bytes) else repr(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def installed_folders() -> list[tuple[str, int | None]]:
    """Every folder imports come from and its time: an install or a removal (typer, click, a
    provider plugin) changes its folder on sys.path, so a key holding this misses then."""
    import sys

    installed: list[tuple[str, int | None]] = []
    for entry in sys.path[1:]:  # [0] is the script's folder or the working directory
        try:
            installed.append((entry, os.stat(entry or ".").st_mtime_ns))
        except OSError:
            installed.append((entry, None))
    return installed


# The help is read with no json (its import is ~3 ms of that start-up): entries are text, and
# the JSON ones below are text too.
def read_text(kind: str, entry_key: str) -> str | None:
    if disabled():
        return None
    try:
        with open(os.path.join(folder(), f"{kind}-{entry_key}"), encoding="utf-8") as handle:
            return handle.read()
    except (OSError, ValueError):
        return None


def write_text(kind: str, entry_key: str, text: str) -> None:
    if disabled():
        return
    where = folder()
    target = os.path.join(where, f"{kind}-{entry_key}")
    temporary = os.path.join(where, f".{kind}-{entry_key}.{os.getpid()}.tmp")
    try:
        os.makedirs(where, mode=0o700, exist_ok=True)
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, target)  # a reader sees the whole entry or none
        _prune(where, kind)
    except OSError:  # a read-only home: the slow path keeps working
        try:
            os.unlink(temporary)
        except OSError:
            pass


def read(kind: str, entry_key: str) -> Any:
    """A JSON entry (None when missing or unreadable)."""
    import json

    text = read_text(kind, entry_key)
    try:
        return None if text is None else json.loads(text)
    except ValueError:
        return None


def write(kind: str, entry_key: str, value: Any) -> None:
    import json

    write_text(kind, entry_key, json.dumps(value))


def _prune(where: str, kind: str) -> None:
    entries = [entry for entry in os.scandir(where) if entry.name.startswith(f"{kind}-")]
    entries.sort(key=lambda entry: entry.stat().st_mtime, reverse=True)
    for stale in entries[KEEP_PER_KIND:]:
        try:
            os.unlink(stale.path)
        except OSError:
            pass
