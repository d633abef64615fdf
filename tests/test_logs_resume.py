"""`logs --follow` while the server cuts the SSH connection: the job keeps running and the
stream resumes where it was, without repeating or losing a line."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.docker

ITERATION = re.compile(r"Learning iteration (\d+)/(\d+)")


def test_follow_survives_the_server_cutting_the_connection(cli, sshd, standin_image_local):
    sshd.write_ssh_config(cli.ssh_config, ["gpu-box"])
    cli.deploy_ssh("ws1", "gpu-box", sshd.home / "isaacctl-resume", "--image", standin_image_local, check=True)
    total = 400  # about 8 s at the stand-in's 0.02 s per iteration
    start = cli("train", "--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", str(total))
    assert start.returncode == 0, start.stderr
    job = re.search(r"started (\S+)", start.stderr).group(1)
    follower = subprocess.Popen(
        [sys.executable, "-m", "isaacctl", "logs", job, "--follow"],
        env=cli.full_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen_before_cut = 0
    assert follower.stdout is not None
    lines = []
    deadline = time.monotonic() + 60
    while seen_before_cut < 20 and time.monotonic() < deadline:
        line = follower.stdout.readline()
        lines.append(line)
        if ITERATION.search(line):
            seen_before_cut += 1
    assert sshd.drop_connections() >= 1
    # keep reading through the same buffered reader (communicate() would bypass its buffer)
    lines += follower.stdout.readlines()
    err = follower.stderr.read()
    follower.wait(timeout=120)
    assert follower.returncode == 0, err
    assert "reconnecting" in err
    iterations = [int(m.group(1)) for m in map(ITERATION.search, lines) if m]
    assert iterations == list(range(total)), "every iteration exactly once, in order"


def test_ctrl_c_while_following_leaves_the_job_running(cli, standin_image_local, tmp_path):
    import signal

    cli(
        "deploy",
        "local",
        "--name",
        "desk",
        "--gpus",
        "none",
        "--image",
        standin_image_local,
        "--host-dir",
        str(tmp_path / "host"),
        check=True,
    )
    start = cli("train", "--task", "Isaac-Humanoid-Direct-v0", "--max-iterations", "100000")
    job = re.search(r"started (\S+)", start.stderr).group(1)
    follower = subprocess.Popen(
        [sys.executable, "-m", "isaacctl", "logs", job, "--follow"],
        env=cli.full_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert follower.stdout is not None
        for line in follower.stdout:
            if ITERATION.search(line):
                break
        follower.send_signal(signal.SIGINT)
        err = follower.stderr.read()
        assert follower.wait(timeout=60) == 130
        assert "keeps running" in err and "Traceback" not in err
        jobs = cli("jobs", "--json").stdout
        assert f'"id": "{job}"' in jobs and '"status": "running"' in jobs
    finally:
        cli("cancel", job, "--grace", "5")
    assert '"status": "cancelled"' in cli("jobs", "--json").stdout
