"""Fixtures for the isaacctl tests. The logic lives in tests/harness/ (imported as ``harness``).

Session-wide: the loopback guard is on (in-process and, via ISAACCTL_LOOPBACK_GUARD=1 plus
tests/guard on PYTHONPATH, in CLI subprocesses); HOME/XDG_* point at a temp dir.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_TESTS_DIR = str(Path(__file__).resolve().parent)
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from harness import docker_env, session  # noqa: E402
from harness.cli import Cli  # noqa: E402
from harness.sshd import SshServer  # noqa: E402

# as early as possible: before test modules (and the product) are imported
session.install_guard()


def pytest_configure(config):
    session.isolate_environment()


def pytest_unconfigure(config):
    session.restore_environment()


@pytest.fixture(scope="session", autouse=True)
def _loopback_guard():
    guard = session.install_guard()
    assert guard.installed()
    yield guard


@pytest.fixture(scope="session")
def sshd():
    """SshServer: real sshd on 127.0.0.1:<port>; user isaactest with a fresh home."""
    server = SshServer().start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def docker_ready() -> bool:
    return docker_env.ensure_docker()


@pytest.fixture(scope="session")
def registry(docker_ready):
    """Registry(address, user, password_file, password, login(cfg), logout(cfg), ref(repo, tag))."""
    reg = docker_env.Registry.from_env()
    started = reg is None
    if started:
        reg = docker_env.start_registry()
    yield reg
    if started:
        reg.stop()


@pytest.fixture(scope="session")
def standin_image(registry) -> str:
    """Ref of the stand-in Isaac Lab image in the registry (needs login to pull)."""
    return docker_env.standin_image(registry)


@pytest.fixture(scope="session")
def standin_image_local(docker_ready) -> str:
    """The same stand-in image under a local tag (isaacctl-test/isaac-lab:2.3.2): no pull."""
    return docker_env.standin_image_local()


@pytest.fixture
def state_dir(tmp_path) -> Path:
    path = tmp_path / "state"
    path.mkdir(mode=0o700)
    path.chmod(0o700)
    return path


@pytest.fixture
def cli(state_dir, tmp_path) -> Cli:
    ssh_config = tmp_path / "ssh_config"
    ssh_config.touch(mode=0o600)
    return Cli(state_dir=state_dir, ssh_config=ssh_config)


# -- AWS (moto on loopback) ------------------------------------------------------------------
@pytest.fixture(scope="session")
def moto_server(tmp_path_factory):
    """harness.moto_server.MotoServer: moto's EC2 on 127.0.0.1 behind a fault injector."""
    from harness.moto_server import MotoServer

    server = MotoServer(tmp_path_factory.mktemp("moto")).start()
    yield server
    server.stop()


@pytest.fixture
def aws(moto_server, cli):
    """A fresh moto (reset, no faults) and the cli fixture pointed at it."""
    moto_server.reset()
    cli.env.update(moto_server.env())
    yield moto_server
    moto_server.faults.clear()
