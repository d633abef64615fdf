"""`deploy ssh` and friends against Debian's real sshd on loopback."""

from __future__ import annotations

import json
import stat
import subprocess

import pytest


def deploy_args(sshd, name="ws1", *extra):
    return [
        "deploy",
        "ssh",
        "--skip-bootstrap",
        "--name",
        name,
        "--host",
        sshd.host,
        "--port",
        str(sshd.port),
        "--user",
        sshd.user,
        "-i",
        str(sshd.client_key),
        *extra,
    ]


@pytest.fixture
def deployed(cli, sshd, tmp_path):
    cli(*deploy_args(sshd, "ws1", "--host-dir", str(sshd.home / "isaacctl")), check=True)
    return cli.state_dir / "ws1"


def test_deploy_ssh_pins_the_host_key_and_writes_private_state(cli, sshd, deployed):
    known_hosts = (deployed / "known_hosts").read_text().split()
    assert known_hosts[0] == "ws1"  # pinned under the node's alias, not its address
    assert " ".join(known_hosts[1:3]) == " ".join(sshd.host_key_public.split()[:2])
    for path in [deployed, *deployed.iterdir()]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
    info = (deployed / "info.txt").read_text()
    assert "isaacctl ssh ws1" in info and "HostKeyAlias=ws1" in info
    record = json.loads(cli("status", "ws1", "--json").stdout)["data"]
    assert record["status"] == "ready"
    assert record["nodes"][0]["ssh"]["port"] == sshd.port


def test_list_and_status_show_the_deployment(cli, sshd, deployed):
    table = cli("list").stdout
    assert "ws1" in table and "ssh" in table and "ready" in table and sshd.host in table
    listed = json.loads(cli("list", "--json").stdout)
    assert [d["name"] for d in listed["data"]] == ["ws1"]
    refreshed = json.loads(cli("status", "ws1", "--refresh", "--json").stdout)["data"]
    assert refreshed["live"]["reachable"] is True


def test_ssh_runs_a_command_and_returns_its_status(cli, sshd, deployed):
    result = cli("ssh", "ws1", "--", "sh", "-c", "echo out; echo err >&2; exit 7")
    assert result.returncode == 7
    assert result.stdout == "out\n"
    assert "err" in result.stderr
    whoami = cli("ssh", "ws1", "--", "id", "-un")
    assert whoami.stdout.strip() == sshd.user
    # Arguments arrive as given: no remote shell re-splitting or expansion.
    quoted = cli("ssh", "ws1", "--", "printf", "%s|", "a b", "$HOME", "*")
    assert quoted.stdout == "a b|$HOME|*|"


def test_the_system_ssh_client_uses_the_same_pins(cli, sshd, deployed):
    info = (deployed / "info.txt").read_text().splitlines()
    command = info[info.index("Plain OpenSSH, checking the pinned host key:") + 1].split()
    result = subprocess.run([*command, "-o", "BatchMode=yes", "true"], capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_a_changed_host_key_is_refused(cli, sshd, deployed):
    before = (deployed / "known_hosts").read_text()
    sshd.restart_with_new_host_key()  # later tests deploy afresh, so they pin the new key
    result = cli("ssh", "ws1", "--", "true")
    assert result.returncode == 1
    assert "host key changed for ws1" in result.stderr
    assert "refusing" in result.stderr
    assert (deployed / "known_hosts").read_text() == before  # never re-pinned silently
    again = cli(*deploy_args(sshd, "ws1", "--host-dir", str(sshd.home / "isaacctl")))
    assert again.returncode == 1 and "host key changed" in again.stderr


def test_routing_through_ssh_config_never_dials_the_made_up_address(cli, sshd):
    # 203.0.113.7 is a documentation address: the guard fails the test if anything dials it.
    sshd.write_ssh_config(cli.ssh_config, ["203.0.113.7"])
    result = cli(
        "deploy",
        "ssh",
        "--skip-bootstrap",
        "--name",
        "cloudy",
        "--host",
        "203.0.113.7",
        "--host-dir",
        str(sshd.home / "isaacctl"),
    )
    assert result.returncode == 0, result.stderr
    assert cli("ssh", "cloudy", "--", "id", "-un").stdout.strip() == sshd.user


def test_proxy_jump_through_a_bastion(cli, sshd):
    sshd.write_ssh_config(cli.ssh_config, ["bastion"])
    with open(cli.ssh_config, "a") as config:
        config.write(
            f"\nHost inner\n    HostName 127.0.0.1\n    Port {sshd.port}\n    User {sshd.user}\n"
            f"    IdentityFile {sshd.client_key}\n    ProxyJump bastion\n"
        )
    result = cli(
        "deploy",
        "ssh",
        "--skip-bootstrap",
        "--name",
        "behind",
        "--host",
        "inner",
        "--host-dir",
        str(sshd.home / "isaacctl"),
    )
    assert result.returncode == 0, result.stderr
    assert cli("ssh", "behind", "--", "echo", "through").stdout == "through\n"


def test_unreachable_host_fails_fast_and_leaves_nothing(cli, sshd, state_dir):
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    result = cli(
        "deploy",
        "ssh",
        "--skip-bootstrap",
        "--name",
        "nobody",
        "--host",
        "127.0.0.1",
        "--port",
        str(closed_port),
        "-i",
        str(sshd.client_key),
        timeout=60,
    )
    assert result.returncode == 1
    assert "cannot connect" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(state_dir.iterdir()) == []


def test_wrong_key_is_a_clear_error(cli, sshd, tmp_path, state_dir):
    other_key = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other_key)], check=True)
    result = cli(*deploy_args(sshd, "ws2")[:-2], "-i", str(other_key))
    assert result.returncode == 1
    assert "refused the login" in result.stderr
    assert list(state_dir.iterdir()) == []


def test_same_name_with_other_options_is_refused(cli, sshd, deployed):
    result = cli(*deploy_args(sshd, "ws1", "--host-dir", "/elsewhere"))
    assert result.returncode == 2
    assert "--host-dir" in result.stderr
    assert json.loads(cli("status", "ws1", "--json").stdout)["data"]["status"] == "ready"


def test_destroy_forgets_the_host_and_keeps_the_machine(cli, sshd, deployed):
    marker = sshd.home / "keep-me"
    cli("ssh", "ws1", "--", "touch", str(marker), check=True)
    result = cli("destroy", "ws1", "--yes")
    assert result.returncode == 0, result.stderr
    assert not deployed.exists()
    assert marker.exists()
