"""The SSH remote on its own, against the loopback sshd: reuse, reconnect, ProxyCommand,
streaming, stdin, timeouts, files."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from isaacctl.errors import RemoteError
from isaacctl.records import SshEndpoint
from isaacctl.remote.ssh import SshRemote


@pytest.fixture
def remote(sshd, tmp_path):
    config = sshd.write_ssh_config(tmp_path / "ssh_config", ["box"])
    host = SshRemote(SshEndpoint(host="box", host_key_alias="box"), tmp_path / "known_hosts", ssh_config=config)
    yield host
    host.close()


def test_one_connection_serves_many_commands(remote):
    first = remote.run(["sh", "-c", "echo $PPID"]).stdout
    transport = remote.client().get_transport()
    for _ in range(5):
        assert remote.run(["true"]).ok
    assert remote.client().get_transport() is transport
    assert first.strip().isdigit()


def test_a_connection_dropped_between_commands_is_replaced(remote, sshd):
    assert remote.run(["true"]).ok
    assert sshd.drop_connections() >= 1
    time.sleep(0.5)
    result = remote.run(["echo", "again"])
    assert result.stdout == "again\n"


def test_stdin_streaming_and_exit_status(remote):
    lines = []
    result = remote.run(
        ["sh", "-c", "cat; echo err >&2; exit 3"],
        stdin=b"one\ntwo\n",
        on_output=lambda line, stream: lines.append((stream, line)),
    )
    assert result.exit_status == 3
    assert ("stdout", "one\n") in lines and ("stdout", "two\n") in lines and ("stderr", "err\n") in lines


def test_a_command_that_outlives_its_timeout(remote):
    started = time.monotonic()
    with pytest.raises(RemoteError, match="did not finish within 1 s"):
        remote.run(["sleep", "30"], timeout=1)
    assert time.monotonic() - started < 10


def test_files_both_ways(remote, sshd, tmp_path):
    local = tmp_path / "data.bin"
    local.write_bytes(bytes(range(256)) * 100)
    remote.put(local, "~/data.bin")
    assert (sshd.home / "data.bin").read_bytes() == local.read_bytes()
    back = tmp_path / "back.bin"
    remote.get("~/data.bin", back)
    assert back.read_bytes() == local.read_bytes()
    folder = tmp_path / "tree"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "b.txt").write_text("deep\n")
    remote.put_tree(folder, str(sshd.home))
    assert (sshd.home / "tree" / "a" / "b.txt").read_text() == "deep\n"


def test_proxy_command_from_ssh_config(sshd, tmp_path):
    config = sshd.write_ssh_config(tmp_path / "ssh_config", ["bastion"])
    with open(config, "a") as handle:
        handle.write(
            f"\nHost inner\n    HostName 127.0.0.1\n    Port {sshd.port}\n    User {sshd.user}\n"
            f"    IdentityFile {sshd.client_key}\n"
            f"    ProxyCommand ssh -F {config} -o StrictHostKeyChecking=no "
            f"-o UserKnownHostsFile={tmp_path / 'bastion_hosts'} -W %h:%p bastion\n"
        )
    with SshRemote(SshEndpoint(host="inner", host_key_alias="inner"), tmp_path / "kh", ssh_config=config) as host:
        assert host.run(["echo", "via", "proxy"]).stdout == "via proxy\n"
    assert Path(tmp_path / "kh").read_text().startswith("inner ssh-ed25519 ")


def test_explicit_values_beat_ssh_config_and_defaults_lose_to_it(sshd, tmp_path):
    config = sshd.write_ssh_config(tmp_path / "ssh_config", ["box"])
    routed = SshRemote(
        SshEndpoint(host="box", default_user="ubuntu", host_key_alias="b"), tmp_path / "k", ssh_config=config
    )
    assert routed.target.user == sshd.user  # the provider's default loses to ssh_config
    explicit = SshRemote(
        SshEndpoint(host="box", user="someone", port=2200, host_key_alias="b"), tmp_path / "k", ssh_config=config
    )
    assert (explicit.target.user, explicit.target.port) == ("someone", 2200)
    bare = SshRemote(
        SshEndpoint(host="203.0.113.5", default_user="ubuntu", host_key_alias="c"), tmp_path / "k", ssh_config=config
    )
    assert (bare.target.user, bare.target.hostname, bare.target.port) == ("ubuntu", "203.0.113.5", 22)
