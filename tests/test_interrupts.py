"""Ctrl-C at awkward moments: exit 130, state consistent, the lock released."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time

import pytest


@pytest.fixture
def silent_port():
    """A loopback port that accepts connections and never says a word (no SSH banner)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server.getsockname()[1]
    server.close()


def interrupt_after(cli, args, seconds):
    process = subprocess.Popen(
        [sys.executable, "-m", "isaacctl", *args],
        env=cli.full_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(seconds)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


def test_ctrl_c_during_a_first_deploy_leaves_nothing(cli, sshd, state_dir, silent_port):
    code, _, err = interrupt_after(
        cli,
        [
            "deploy",
            "ssh",
            "--name",
            "ws1",
            "--host",
            "127.0.0.1",
            "--port",
            str(silent_port),
            "-i",
            str(sshd.client_key),
        ],
        2.0,
    )
    assert code == 130
    assert "interrupted" in err and "Traceback" not in err
    assert list(state_dir.iterdir()) == []


def test_ctrl_c_during_bootstrap_records_it_and_releases_the_lock(cli, sshd, silent_port):
    sshd.write_ssh_config(cli.ssh_config, ["gpu-box"])
    cli(
        "deploy",
        "ssh",
        "--name",
        "ws1",
        "--host",
        "gpu-box",
        "--skip-bootstrap",
        "--host-dir",
        str(sshd.home / "isaacctl-int"),
        check=True,
    )
    cli.ssh_config.write_text(cli.ssh_config.read_text().replace(f"Port {sshd.port}", f"Port {silent_port}"))
    code, _, err = interrupt_after(cli, ["bootstrap", "ws1", "--gpus", "none"], 2.0)
    assert code == 130 and "Traceback" not in err
    record = json.loads(cli("status", "ws1", "--json").stdout)["data"]
    assert record["status"] == "failed" and record["last_error"] == "interrupted"
    events = [json.loads(line)["event"] for line in (cli.state_dir / "ws1" / "events.jsonl").read_text().splitlines()]
    assert events[-1] == "bootstrap.failed"
    from filelock import FileLock

    with FileLock(str(cli.state_dir / "ws1" / ".lock"), timeout=1):  # free at once
        pass
    cli.ssh_config.write_text(cli.ssh_config.read_text().replace(f"Port {silent_port}", f"Port {sshd.port}"))
    again = cli("bootstrap", "ws1", "--gpus", "none", "--only", "host-folders")
    assert again.returncode == 0, again.stderr
    assert json.loads(cli("status", "ws1", "--json").stdout)["data"]["status"] == "ready"
