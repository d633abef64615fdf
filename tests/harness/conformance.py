"""The provider conformance suite: one set of checks every provider (built in or a plugin) runs
against its own emulator, through the real CLI.

A provider's test module imports the checks and defines one fixture, ``conformance``, returning
a ``Target`` that knows how to deploy with that provider and what its emulator holds:

    from harness.conformance import *  # noqa: F403  (the checks become this module's tests)

    @pytest.fixture
    def conformance(aws, cli, tmp_path) -> Target:
        return AwsTarget(...)

Checks that do not apply to a provider (stop/start for an adopted host, several nodes for a
one-node provider) check the refusal instead: a capability the provider does not declare must
be refused with exit 2 and nothing made. See docs/architecture.md, "Adding a provider".
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import pytest

from .cli import Cli

__all__ = [
    "Target",
    "known_host_keys",
    "target",
    "test_conformance_plan_makes_nothing",
    "test_conformance_deploy_twice_makes_nothing_twice",
    "test_conformance_sigkill_after_each_resource_then_destroy_leaves_nothing",
    "test_conformance_same_name_from_another_state_folder",
    "test_conformance_stop_start_keeps_host_keys",
    "test_conformance_two_nodes",
    "test_conformance_destroy_verifies",
    "test_conformance_gc_selects_only_what_is_asked",
]


class Target:
    """What the suite needs to know of one provider and its emulator. Subclass it per provider."""

    provider: str = ""
    owns_machines: bool = False
    multi_node: bool = False
    stop_start: bool = False
    #: resource kinds, in the order a deploy makes them, after whose creation a deploy is killed
    kill_kinds: tuple[str, ...] = ()

    def __init__(self, cli: Cli, make_cli) -> None:
        self.cli = cli
        self._make_cli = make_cli  # () -> Cli: another state folder, same emulator and ssh_config

    def other_cli(self) -> Cli:
        return self._make_cli()

    def unique_name(self, prefix: str = "cf") -> str:
        # The Docker daemon and the emulators are shared: never reuse a name across tests.
        return f"{prefix}{uuid.uuid4().hex[:8]}"

    def deploy_args(self, name: str, *extra: str) -> list[str]:
        """argv after `isaacctl`: a deploy of this provider with --skip-bootstrap (and --yes
        where the provider asks)."""
        raise NotImplementedError

    def resources(self, name: str) -> list[tuple[str, str]]:
        """(kind, id) of every live resource the emulator holds tagged with the deployment name,
        whatever id it carries. Adopting providers make none: []."""
        return []

    def resource_ids(self, name: str) -> set[str]:
        """The deployment ids carried by the tags of those resources."""
        return set()

    def slowed(self) -> AbstractContextManager[None]:
        """Every cloud call slowed down, so a SIGKILL lands between two calls."""
        return nullcontext()

    def addresses(self, name: str) -> list[str | None]:
        """What the emulator says each node's public address is now (ordered by node index)."""
        return []


# -- helpers -----------------------------------------------------------------------------------
def _status(cli: Cli, name: str) -> dict:
    result = cli("status", name, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["data"]


def known_host_keys(cli: Cli, name: str) -> dict[str, str]:
    """alias -> "type base64" of the deployment's pinned host keys."""
    path = cli.state_dir / name / "known_hosts"
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        parts = line.split()
        if len(parts) >= 3 and not line.startswith("#"):
            pins[parts[0]] = f"{parts[1]} {parts[2]}"
    return pins


def _deploy(target: Target, name: str, *extra: str, cli: Cli | None = None, check: bool = True):
    return (cli or target.cli)(*target.deploy_args(name, *extra), check=check, timeout=600)


def _destroy(cli: Cli, name: str) -> None:
    result = cli("destroy", name, "--yes", timeout=600)
    assert result.returncode == 0, result.stderr


def _created_kinds(events: Path) -> list[str]:
    kinds = []
    for line in events.read_text().splitlines() if events.exists() else []:
        try:
            event = json.loads(line)
        except ValueError:  # the line being written right now
            continue
        if event.get("event") == "resource.created":
            kinds.append(event.get("kind"))
    return kinds


def _kill_after(target: Target, name: str, kind: str) -> None:
    """Start a deploy, SIGKILL it as soon as the event log says a `kind` exists."""
    events = target.cli.state_dir / name / "events.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "isaacctl", *target.deploy_args(name)],
        env=target.cli.full_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None and kind not in _created_kinds(events):
            time.sleep(0.005)
        assert process.poll() is None, f"deploy ended before making a {kind}: {process.stderr.read().decode()}"
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        assert process.stderr is not None
        process.stderr.close()


@pytest.fixture
def target(conformance) -> Iterator[Target]:
    yield conformance


# -- the checks --------------------------------------------------------------------------------
def test_conformance_plan_makes_nothing(target: Target):
    name = target.unique_name()
    if not target.owns_machines:
        # An adopted host costs nothing: there is no plan to approve, and nothing to make.
        pytest.skip(f"{target.provider} adopts machines: no plan")
    result = target.cli(*target.deploy_args(name, "--dry-run"))
    assert result.returncode == 0, result.stderr
    assert target.resources(name) == []
    assert not (target.cli.state_dir / name).exists()


def test_conformance_deploy_twice_makes_nothing_twice(target: Target):
    name = target.unique_name()
    _deploy(target, name)
    first, first_nodes = sorted(target.resources(name)), _status(target.cli, name)["nodes"]
    pins = known_host_keys(target.cli, name)
    again = _deploy(target, name)
    assert again.returncode == 0
    assert sorted(target.resources(name)) == first
    second_nodes = _status(target.cli, name)["nodes"]
    assert [n.get("instance_id") for n in second_nodes] == [n.get("instance_id") for n in first_nodes]
    assert known_host_keys(target.cli, name) == pins
    _destroy(target.cli, name)


def test_conformance_sigkill_after_each_resource_then_destroy_leaves_nothing(target: Target):
    if not target.kill_kinds:
        pytest.skip(f"{target.provider} makes no resources")
    for kind in target.kill_kinds:
        name = target.unique_name("k")
        with target.slowed():
            _kill_after(target, name, kind)
        assert any(k == kind for k, _ in target.resources(name)), (kind, target.resources(name))
        _destroy(target.cli, name)
        assert target.resources(name) == [], f"after a kill following {kind}: {target.resources(name)}"
        assert not (target.cli.state_dir / name).exists()


def test_conformance_same_name_from_another_state_folder(target: Target):
    name = target.unique_name()
    _deploy(target, name)
    record = _status(target.cli, name)
    other = target.other_cli()
    if not target.owns_machines:
        # Adopting the same host twice is allowed (it is the user's machine), but each folder
        # knows only its own deployment: destroying one leaves the other's record alone.
        _deploy(target, name, cli=other)
        _destroy(other, name)
        assert _status(target.cli, name)["id"] == record["id"]
        _destroy(target.cli, name)
        return
    before = sorted(target.resources(name))
    refused = other(*target.deploy_args(name), timeout=600)
    assert refused.returncode == 2, refused.stderr
    assert record["id"] in refused.stderr and "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) <= 2  # error line (and at most a hint)
    assert not (other.state_dir / name).exists()
    assert sorted(target.resources(name)) == before
    assert target.resource_ids(name) == {record["id"]}
    _destroy(target.cli, name)


def test_conformance_stop_start_keeps_host_keys(target: Target):
    name = target.unique_name()
    _deploy(target, name)
    if not target.stop_start:
        refused = target.cli("stop", name, "--yes")
        assert refused.returncode == 2 and "cannot be stopped" in refused.stderr
        _destroy(target.cli, name)
        return
    pins = known_host_keys(target.cli, name)
    assert pins
    stopped = target.cli("stop", name, "--yes", timeout=600)
    assert stopped.returncode == 0, stopped.stderr
    assert _status(target.cli, name)["status"] == "stopped"
    started = target.cli("start", name, timeout=600)
    assert started.returncode == 0, started.stderr
    assert known_host_keys(target.cli, name) == pins
    nodes = _status(target.cli, name)["nodes"]
    assert [n["public_ip"] for n in nodes] == target.addresses(name)
    assert target.cli("ssh", name, "--", "true").returncode == 0
    _destroy(target.cli, name)


def test_conformance_two_nodes(target: Target):
    name = target.unique_name()
    if not target.multi_node:
        refused = target.cli(*target.deploy_args(name, "--nodes", "2"))
        assert refused.returncode == 2 and "--nodes" in refused.stderr, refused.stderr
        assert not (target.cli.state_dir / name).exists()
        assert target.resources(name) == []
        return
    _deploy(target, name, "--nodes", "2")
    nodes = _status(target.cli, name)["nodes"]
    assert [(n["index"], n["role"]) for n in nodes] == [(0, "head"), (1, "worker")]
    assert len({n["private_ip"] for n in nodes}) == 2
    pins = known_host_keys(target.cli, name)
    assert len(pins) == 2 and len(set(pins.values())) == 2, pins  # one pin per node, distinct keys
    for index in (0, 1):
        reached = target.cli("ssh", name, "--node", str(index), "--", "true")
        assert reached.returncode == 0, reached.stderr
    _destroy(target.cli, name)
    assert target.resources(name) == []


def test_conformance_destroy_verifies(target: Target):
    name = target.unique_name()
    _deploy(target, name)
    if target.owns_machines:
        assert target.resources(name)
    _destroy(target.cli, name)
    assert target.resources(name) == []
    assert not (target.cli.state_dir / name).exists()
    gone = target.cli("status", name)
    assert gone.returncode == 2


def test_conformance_gc_selects_only_what_is_asked(target: Target):
    if not target.owns_machines:
        pytest.skip(f"{target.provider} makes nothing for gc to find")
    lost, kept = target.unique_name("lost"), target.unique_name("kept")
    _deploy(target, lost)
    _deploy(target, kept)
    lost_id = _status(target.cli, lost)["id"]
    stranger = target.other_cli()  # a folder that knows neither: both are candidates there
    listed = stranger("gc", "--provider", target.provider, "--json")
    assert listed.returncode == 0, listed.stderr
    assert target.resources(lost) and target.resources(kept)  # listing deletes nothing
    assert lost_id in listed.stdout
    swept = stranger("gc", "--provider", target.provider, lost_id, "--yes", timeout=600)
    assert swept.returncode == 0, swept.stderr
    assert target.resources(lost) == []
    assert target.resources(kept)
    _destroy(target.cli, kept)
    assert target.resources(kept) == []
    # the folder that made `lost` still has its record; its destroy finds nothing left
    _destroy(target.cli, lost)
