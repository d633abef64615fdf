"""The state module on a real file system: names, permissions, atomic writes, locking."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import textwrap

import pytest

from isaacctl.errors import DeploymentNotFound, InvalidName
from isaacctl.records import DeploymentRecord
from isaacctl.state import StateStore, validate_name


@pytest.mark.parametrize("name", ["a", "ws1", "my-box-2", "a" * 32])
def test_valid_names_pass(name):
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["", "1ws", "Ws1", "-ws", "ws_1", "ws.1", "../x", "a/b", "a" * 33, "ws 1", "ws1\n"])
def test_invalid_names_are_refused(name, tmp_path):
    with pytest.raises(InvalidName, match="name: expected a lowercase letter"):
        StateStore(tmp_path).paths(name)
    assert list(tmp_path.iterdir()) == []


def test_save_makes_private_folders_and_files(tmp_path):
    store = StateStore(tmp_path / "state")
    store.save(DeploymentRecord(name="ws1", provider="local"))
    paths = store.paths("ws1")
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o700
    assert stat.S_IMODE(paths.root.stat().st_mode) == 0o700
    assert stat.S_IMODE(paths.record.stat().st_mode) == 0o600
    store.append_event("ws1", "deploy.start")
    assert stat.S_IMODE(paths.events.stat().st_mode) == 0o600
    assert store.load("ws1").provider == "local"
    assert json.loads(paths.record.read_text())["schema_version"] == 2


def test_lock_on_unknown_deployment_creates_nothing(tmp_path):
    store = StateStore(tmp_path)
    with pytest.raises(DeploymentNotFound):
        with store.lock("ghost"):
            pass
    assert not (tmp_path / "ghost").exists()


def test_events_survive_a_torn_last_line(tmp_path):
    store = StateStore(tmp_path)
    store.append_event("ws1", "resource.creating", kind="instance", id="i-1")
    with open(store.paths("ws1").events, "a") as handle:
        handle.write('{"event": "resource.cre')  # a crash in the middle of a write
    events = store.events("ws1")
    assert [e["event"] for e in events] == ["resource.creating"]
    assert events[0]["id"] == "i-1"


def test_ten_concurrent_writers_lose_no_update(tmp_path):
    store = StateStore(tmp_path)
    store.save(DeploymentRecord(name="ws1", provider="local", options={"count": 0}))
    writer = textwrap.dedent(
        f"""
        from isaacctl.state import StateStore
        store = StateStore({str(tmp_path)!r})
        for _ in range(5):
            store.update("ws1", lambda r: r.options.__setitem__("count", r.options["count"] + 1))
        """
    )
    processes = [subprocess.Popen([sys.executable, "-c", writer]) for _ in range(10)]
    assert [p.wait(timeout=120) for p in processes] == [0] * 10
    record = store.load("ws1")
    assert record.options["count"] == 50
    leftovers = [p.name for p in store.paths("ws1").root.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_remove_forgets_the_folder(tmp_path):
    store = StateStore(tmp_path)
    store.save(DeploymentRecord(name="ws1", provider="local"))
    store.remove("ws1")
    assert store.names() == []
    assert [p.name for p in tmp_path.iterdir()] == []


def test_a_hand_broken_record_is_a_clear_error(tmp_path):
    store = StateStore(tmp_path)
    store.save(DeploymentRecord(name="ws1", provider="local"))
    store.paths("ws1").record.write_text('{"name": "ws1", "provider": "local", "colour": 1}')
    with pytest.raises(Exception, match="not a valid deployment record"):
        store.load("ws1")
