"""Session-wide isolation of the test process environment (used by tests/conftest.py)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from .util import GUARD_DIR

_saved: dict[str, str | None] = {}
_home: Path | None = None

# variables that would let a developer's own setup leak into the tests
_DROP = (
    "SSH_AUTH_SOCK",
    "SSH_AGENT_PID",
    "DOCKER_CONFIG",
    "DOCKER_HOST",
    "DOCKER_CONTEXT",
    "ISAACCTL_STATE_DIR",
    "ISAACCTL_SSH_CONFIG",
    "ISAACCTL_CONFIG",
)


def _set(key: str, value: str | None) -> None:
    if key not in _saved:
        _saved[key] = os.environ.get(key)
    if value is None:
        os.environ.pop(key, None)
    else:
        os.environ[key] = value


def install_guard():
    """Turn the loopback guard on in this process and for every child (env var)."""
    if str(GUARD_DIR) not in sys.path:
        sys.path.append(str(GUARD_DIR))
    import loopback_guard

    _set(loopback_guard.ENV_VAR, "1")
    loopback_guard.install()
    return loopback_guard


def isolate_environment() -> Path:
    """HOME (and XDG dirs) -> a fresh temp dir, so ~/.ssh/config, ~/.docker/config.json or a
    developer's isaacctl state never leak in; drops agent/docker-context variables."""
    global _home
    _home = Path(tempfile.mkdtemp(prefix="isaacctl-test-home-"))
    _set("HOME", str(_home))
    for sub, var in (
        (".config", "XDG_CONFIG_HOME"),
        (".cache", "XDG_CACHE_HOME"),
        (".local/share", "XDG_DATA_HOME"),
        (".local/state", "XDG_STATE_HOME"),
    ):
        (_home / sub).mkdir(parents=True, exist_ok=True)
        _set(var, str(_home / sub))
    (_home / ".ssh").mkdir(mode=0o700)
    for var in _DROP:
        _set(var, None)
    return _home


def restore_environment() -> None:
    global _home
    for key, value in _saved.items():
        if key == "ISAACCTL_LOOPBACK_GUARD":
            continue  # the guard stays on until the process ends
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    _saved.clear()
    if _home is not None:
        shutil.rmtree(_home, ignore_errors=True)
        _home = None
