"""How `train` starts a job on an SSH host: one login for the start, the output stream and the
last look at the job (the connection is opened while the spec is checked), and the job folder
sent in the start's own round trip, whose failing step is told as what it was."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from harness.cli import Cli
from isaacctl.runtimes.base import EarlyOutput


@pytest.fixture(scope="module")
def station(tmp_path_factory, sshd, standin_image_local):
    root = tmp_path_factory.mktemp("job-start")
    state = root / "state"
    state.mkdir(mode=0o700)
    ssh_config = sshd.write_ssh_config(root / "ssh_config", ["gpu-box"])
    cli = Cli(state_dir=state, ssh_config=ssh_config)
    cli.host_dir = sshd.home / f"isaacctl-{uuid.uuid4().hex[:6]}"
    cli.deploy_ssh("ws1", "gpu-box", cli.host_dir, "--image", standin_image_local, check=True)
    return cli


def logins(sshd) -> int:
    return len(re.findall(r"Accepted publickey for", sshd.log_path.read_text(errors="replace")))


def started_id(result) -> str:
    match = re.search(r"started (train-\S+)", result.stderr)
    assert match, result.stderr
    return match.group(1)


def test_train_follow_logs_in_once_for_start_stream_and_end(station, sshd):
    before = logins(sshd)
    result = station("train", "--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", "3", "--follow")
    assert result.returncode == 0, result.stderr
    assert "[isaacctl] exit status 0" in result.stdout
    assert f"{started_id(result)} succeeded" in result.stderr
    assert logins(sshd) - before == 1
    folder = station.host_dir / "jobs" / started_id(result)
    assert json.loads((folder / "spec.json").read_text())["job"] == started_id(result)
    assert (folder / "run.sh").stat().st_mode & 0o111


def test_logs_follow_of_a_finished_job_logs_in_once(station, sshd):
    job = started_id(station("train", "--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", "2", "--follow"))
    before = logins(sshd)
    result = station("logs", job, "--follow")
    assert result.returncode == 0, result.stderr
    assert "[isaacctl] exit status 0" in result.stdout
    assert logins(sshd) - before == 1


def test_a_job_folder_that_cannot_be_made_fails_the_job_naming_the_step(station):
    jobs = station.host_dir / "jobs"
    jobs.chmod(0o555)  # the login user (not root) can no longer make a job folder there
    try:
        result = station("train", "--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", "3", "--follow")
    finally:
        jobs.chmod(0o755)
    assert result.returncode == 1
    assert f"cannot copy the job's files to {jobs}" in result.stderr
    listed = json.loads(station("jobs", "--json", check=True).stdout)["data"]
    failed = [job for job in listed if job["status"] == "failed"]
    assert len(failed) == 1 and "cannot copy the job's files" in failed[0]["error"]
    assert not (jobs / failed[0]["id"]).exists()


def test_an_unreachable_host_fails_the_job_with_the_connection_error(tmp_path, sshd, standin_image_local):
    """The connection opened early fails where it would have failed without that: the job is
    recorded, then fails starting, with SSH's reason."""
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    ssh_config = sshd.write_ssh_config(tmp_path / "ssh_config", ["gpu-box"])
    cli = Cli(state_dir=state, ssh_config=ssh_config)
    host_dir = sshd.home / f"isaacctl-{uuid.uuid4().hex[:6]}"
    deploy = ["deploy", "ssh", "--name", "gone", "--host", "gpu-box", "--gpus", "none"]
    cli(*deploy, "--image", standin_image_local, "--host-dir", str(host_dir), check=True)
    ssh_config.write_text(ssh_config.read_text().replace(f"Port {sshd.port}", "Port 1"))  # nothing listens there
    result = cli("train", "--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", "3", "--follow")
    assert result.returncode == 1
    assert "ssh: cannot connect to" in result.stderr, result.stderr
    listed = json.loads(cli("jobs", "--json", check=True).stdout)["data"]
    assert [job["status"] for job in listed] == ["failed"]
    assert "ssh: cannot connect to" in listed[0]["error"]
    assert not list((host_dir / "jobs").iterdir())


def test_the_early_output_of_a_start_is_its_complete_lines_and_their_bytes():
    early = EarlyOutput.of("[isaacctl] running: é\nhalf a li")
    assert early.text == "[isaacctl] running: é\n"
    assert early.offset == len("[isaacctl] running: é\n".encode())  # bytes, as the stream counts
    assert EarlyOutput.of("") == EarlyOutput("", 0) == EarlyOutput.of("no newline yet")
