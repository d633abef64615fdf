"""pytest fixtures for the Alibaba provider's tests, imported by each tests/test_*alibaba*.py
module (conftest.py belongs to everyone): the fake ECS/VPC server for the session, a fresh
state of it per test with the cli fixture pointed at it, and SSH routed per instance."""

from __future__ import annotations

import pytest

from harness.fake_alibaba import FakeAlibaba
from harness.ssh_route import write_ssh_config
from harness.sshd import TwinSshServer


@pytest.fixture(scope="session")
def fake_alibaba_server():
    server = FakeAlibaba().start()
    yield server
    server.stop()


@pytest.fixture
def alibaba(fake_alibaba_server, cli):
    """A fresh fake (reset, no faults) and the cli fixture pointed at it."""
    fake_alibaba_server.reset()
    cli.env.update(fake_alibaba_server.env())
    yield fake_alibaba_server
    fake_alibaba_server.faults.clear()


@pytest.fixture(scope="module")
def sshd_twin(sshd):
    server = TwinSshServer(sshd).start()
    yield server
    server.close()


@pytest.fixture
def routed(alibaba, cli, sshd, sshd_twin):
    """Instance 0 (first seen) -> sshd, instance 1 -> sshd_twin: the fake's 47.x addresses are
    never dialled."""
    write_ssh_config(cli.ssh_config, alibaba.url, [sshd, sshd_twin])
    return alibaba
