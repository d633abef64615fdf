"""The harness is real: guard, sshd, registry and stand-in image are checked end to end."""

from __future__ import annotations

import io
import json
import os
import secrets
import socket
import subprocess
import sys
import tarfile
import time

import pytest

from harness import docker_env
from harness.cli import run_guarded
from harness.util import in_isolated_netns

TEST_NET = ("203.0.113.9", 22)  # TEST-NET-3: must never be dialled


@pytest.fixture
def listener():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    yield srv.getsockname()[1]
    srv.close()


# -- loopback guard ---------------------------------------------------------------------------


def test_guard_refuses_outside_loopback_in_process():
    with pytest.raises(OSError, match="loopback guard: refused connection to 203.0.113.9:22"):
        socket.create_connection(TEST_NET, timeout=2)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(OSError, match="loopback guard"):
            s.connect(TEST_NET)
        with pytest.raises(OSError, match="loopback guard"):
            s.connect_ex(TEST_NET)
    finally:
        s.close()
    with pytest.raises(OSError, match="loopback guard"):
        socket.getaddrinfo("example.com", 443)


def test_guard_allows_loopback_in_process(listener):
    socket.create_connection(("127.0.0.1", listener), timeout=2).close()
    socket.create_connection(("localhost", listener), timeout=2).close()


def test_guard_is_active_in_subprocesses(listener):
    code = (
        "import socket, sys\n"
        f"socket.create_connection(('127.0.0.1', {listener}), timeout=2).close()\n"
        "try:\n"
        f"    socket.create_connection({TEST_NET!r}, timeout=2)\n"
        "except OSError as e:\n"
        "    print('REFUSED', e)\n"
        "    sys.exit(0)\n"
        "sys.exit(3)\n"
    )
    res = run_guarded([sys.executable, "-c", code])
    assert res.returncode == 0, res.stdout + res.stderr
    assert "REFUSED loopback guard: refused connection to 203.0.113.9:22" in res.stdout


def test_cli_fixture_environment(cli, state_dir):
    code = "import json, os; print(json.dumps(dict(os.environ)))"
    res = run_guarded([sys.executable, "-c", code], env=cli.env)
    env = json.loads(res.stdout)
    assert env["ISAACCTL_STATE_DIR"] == str(state_dir)
    assert env["ISAACCTL_LOOPBACK_GUARD"] == "1"
    assert env["ISAACCTL_SSH_CONFIG"] == str(cli.ssh_config) and cli.ssh_config.read_text() == ""
    assert env["NO_COLOR"] == "1" and env["COLUMNS"] == "200"
    assert env["HOME"] != os.path.expanduser("~root") and "isaacctl-test-home-" in env["HOME"]
    assert "SSH_AUTH_SOCK" not in env
    assert oct(state_dir.stat().st_mode & 0o777) == "0o700"


@pytest.mark.skipif(os.environ.get("ISAACCTL_TEST_NETNS") != "1", reason="not started by scripts/test.sh")
def test_runs_in_loopback_only_network_namespace():
    assert in_isolated_netns()


# -- sshd -------------------------------------------------------------------------------------


def test_sshd_accepts_client_key(sshd, tmp_path):
    known_hosts = sshd.write_known_hosts(tmp_path / "known_hosts")
    res = subprocess.run(
        sshd.ssh_command(known_hosts) + ["id -un; echo $HOME; true"], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [sshd.user, str(sshd.home)]
    assert sshd.user != "root"
    assert oct(sshd.client_key.stat().st_mode & 0o777) == "0o600"


def test_sshd_rejects_wrong_key(sshd, tmp_path):
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    res = subprocess.run(sshd.ssh_command(key=other) + ["true"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 255
    assert "Permission denied" in res.stderr


def test_ssh_config_routes_made_up_address_to_loopback(sshd, tmp_path):
    aliases = ["203.0.113.7", "gpu-box"]
    for use_alias in (False, True):
        cfg = sshd.write_ssh_config(tmp_path / "ssh_config", aliases, host_key_alias=use_alias)
        known_hosts = sshd.write_known_hosts(tmp_path / "known_hosts", aliases if use_alias else None)
        for alias in aliases:
            res = subprocess.run(
                [
                    "ssh",
                    "-F",
                    str(cfg),
                    "-o",
                    "BatchMode=yes",
                    "-o",
                    f"UserKnownHostsFile={known_hosts}",
                    "-o",
                    "StrictHostKeyChecking=yes",
                    alias,
                    "echo ok",
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert (res.returncode, res.stdout.strip()) == (0, "ok"), res.stderr


def test_sshd_user_can_use_docker(sshd, docker_ready):
    res = subprocess.run(
        sshd.ssh_command() + ["docker info --format '{{.ServerVersion}}'"], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0 and res.stdout.strip(), res.stderr


def test_drop_connections_cuts_a_running_session(sshd):
    proc = subprocess.Popen(
        sshd.ssh_command() + ["echo started; sleep 60; echo finished"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "started"
        assert sshd.drop_connections() >= 1
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 255 and "finished" not in out, err
    assert sshd.running
    # the listener survives: new connections work
    res = subprocess.run(sshd.ssh_command() + ["true"], capture_output=True, timeout=60)
    assert res.returncode == 0


def test_host_key_changes_after_restart(sshd, tmp_path):
    known_hosts = sshd.write_known_hosts(tmp_path / "known_hosts")
    port, old = sshd.port, sshd.host_key_public
    assert subprocess.run(sshd.ssh_command(known_hosts) + ["true"], timeout=60).returncode == 0
    new = sshd.restart_with_new_host_key()
    assert new != old and sshd.port == port and sshd.host_key_public == new
    res = subprocess.run(sshd.ssh_command(known_hosts) + ["true"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 255
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in res.stderr
    # the server's real key is the announced one
    scan = subprocess.run(
        ["ssh-keyscan", "-t", "ed25519", "-p", str(port), "127.0.0.1"], capture_output=True, text=True, timeout=60
    )
    assert scan.stdout.split()[1:3] == new.split()[:2]


# -- registry and stand-in image -------------------------------------------------------------


def _tiny_image(ref: str) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = secrets.token_hex(16).encode()
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mtime = len(data), int(time.time())
        tar.addfile(info, io.BytesIO(data))
    docker_env.docker("import", "-", ref, input=buf.getvalue(), check=True)


@pytest.mark.docker
def test_registry_requires_credentials(registry, tmp_path):
    anon, authed = tmp_path / "anon", tmp_path / "authed"
    anon.mkdir()
    authed.mkdir()
    ref = registry.ref(f"isaacctl-harness/tiny-{secrets.token_hex(4)}", "1")
    _tiny_image(ref)
    try:
        res = docker_env.docker("push", ref, config=anon)
        assert res.returncode != 0 and "no basic auth credentials" in res.stderr + res.stdout
        bad = registry.login(authed, password="wrong-" + secrets.token_hex(4))
        assert bad.returncode != 0 and "401" in bad.stderr
        good = registry.login(authed)
        assert good.returncode == 0, good.stderr
        docker_env.docker("push", ref, config=authed, check=True)
        docker_env.docker("rmi", ref, check=True)
        res = docker_env.docker("pull", ref, config=anon)
        assert res.returncode != 0 and "no basic auth credentials" in res.stderr + res.stdout
        docker_env.docker("pull", ref, config=authed, check=True)
    finally:
        docker_env.docker("rmi", ref)
        registry.logout(authed)


@pytest.mark.docker
def test_standin_image_pulls_from_registry(registry, standin_image, tmp_path):
    # the standin_image fixture skips when tests/standin/build_image.sh does not exist yet
    from_fixture = standin_image
    assert from_fixture.startswith(registry.address + "/nvidia/isaac-lab:")
    cfg = tmp_path / "docker-config"
    cfg.mkdir()
    assert docker_env.docker("pull", from_fixture, config=cfg).returncode != 0
    assert registry.login(cfg).returncode == 0
    try:
        docker_env.docker("pull", from_fixture, config=cfg, check=True)
        docker_env.docker("image", "inspect", from_fixture, check=True)
    finally:
        registry.logout(cfg)
        docker_env.docker("rmi", from_fixture)
