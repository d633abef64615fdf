"""pytest fixtures for the Azure provider's tests (imported by tests/test_azure_*.py and
tests/test_conformance_azure.py):

- ``fake_azure_server``: one FakeAzure (HTTPS on loopback, throwaway CA) per test module;
- ``azure``: that fake reset, and the ``cli`` fixture pointed at it (``FakeAzure.env()``);
- ``routed_azure``: ``azure`` with every SSH host routed per VM to the loopback sshd and its
  twin (tests/harness/ssh_route.py asks the fake which VM has the address), so the fake's
  made-up public addresses are never dialled;
- ``sshd_twin``: a second loopback sshd with its own host key (a second "machine").
"""

from __future__ import annotations

import pytest

from harness.fake_azure import FakeAzure
from harness.ssh_route import write_ssh_config
from harness.sshd import TwinSshServer


# Named with name=, so a test module imports the functions without its tests' parameters
# shadowing them: from harness.azure_fixtures import AZURE_FIXTURES (see below).
@pytest.fixture(scope="module", name="fake_azure_server")
def fake_azure_server_fixture(tmp_path_factory):
    server = FakeAzure(tmp_path_factory.mktemp("fake-azure")).start()
    yield server
    server.stop()


@pytest.fixture(name="azure")
def azure_fixture(fake_azure_server, cli):
    fake_azure_server.reset()
    cli.env.update(fake_azure_server.env())
    yield fake_azure_server
    fake_azure_server.faults.clear()


@pytest.fixture(scope="module", name="sshd_twin")
def sshd_twin_fixture(sshd):
    server = TwinSshServer(sshd).start()
    yield server
    server.close()


@pytest.fixture(name="routed_azure")
def routed_azure_fixture(azure, cli, sshd, sshd_twin):
    write_ssh_config(cli.ssh_config, azure.side_url, [sshd, sshd_twin])
    return azure
