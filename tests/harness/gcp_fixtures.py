"""pytest fixtures for the GCP provider's tests (imported by tests/test_*gcp*.py): the fake
Compute Engine on loopback, the `cli` fixture pointed at it through the standard credential
chain, and SSH routed per instance to loopback sshds (tests/harness/ssh_route.py)."""

from __future__ import annotations

import pytest

from .fake_gcp import FakeGce
from .ssh_route import write_ssh_config
from .sshd import TwinSshServer


@pytest.fixture(scope="session")
def fake_gce(tmp_path_factory):
    server = FakeGce(tmp_path_factory.mktemp("fake-gce")).start()
    yield server
    server.stop()


@pytest.fixture
def gcp(fake_gce, cli):
    """A fresh fake (reset, no faults) and the cli fixture pointed at it."""
    fake_gce.reset()
    cli.env.update(fake_gce.env())
    yield fake_gce
    fake_gce.faults.clear()


@pytest.fixture(scope="module")
def sshd_twin(sshd):
    server = TwinSshServer(sshd).start()
    yield server
    server.close()


@pytest.fixture
def gcp_routed(gcp, cli, sshd, sshd_twin):
    """Every instance's address goes to a loopback sshd of its own (node 0 -> sshd, node 1 ->
    its twin): the fake's 34.x addresses are never dialled."""
    write_ssh_config(cli.ssh_config, gcp.url, [sshd, sshd_twin])
    return gcp
