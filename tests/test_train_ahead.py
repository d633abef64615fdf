"""`train` connects before its own start-up (cli/ahead.py, services/jobs/opening.py): OpenSSH's
client, started at the process's first moment, leaves a master connection the job's start and
output stream ride, and the next command too. Pins still hold: a master checked against one
deployment's pins is never ridden by a command pinned otherwise, and a changed key is refused
in paramiko's words. A wrong guess costs nothing."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import uuid

import pytest

from harness.cli import Cli
from isaacctl.cli.ahead import _asks_help, _deployment
from isaacctl.records import SshEndpoint
from isaacctl.remote.ssh import ENDPOINT_FIELDS, control_folder

TRAIN = ("train", "--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", "2")


def deployed(root, sshd, image, name: str = "ws1") -> Cli:
    state = root / "state"
    state.mkdir(mode=0o700, parents=True)
    cli = Cli(state_dir=state, ssh_config=sshd.write_ssh_config(root / "ssh_config", ["gpu-box"]))
    cli.host_dir = sshd.home / f"isaacctl-{uuid.uuid4().hex[:6]}"
    cli.deploy_ssh(name, "gpu-box", cli.host_dir, "--image", image, check=True)
    return cli


def logins(sshd) -> int:
    return len(re.findall(r"Accepted publickey for", sshd.log_path.read_text(errors="replace")))


def sockets() -> set[str]:
    folder = control_folder()
    assert folder is not None
    return {entry.name for entry in folder.iterdir() if stat.S_ISSOCK(entry.lstat().st_mode)}


def started_id(result) -> str:
    match = re.search(r"started (train-\S+)", result.stderr)
    assert match, result.stderr
    return match.group(1)


def test_train_rides_a_master_it_opened_first_and_leaves_it_for_the_next_command(tmp_path, sshd, standin_image_local):
    cli = deployed(tmp_path, sshd, standin_image_local)
    before_sockets, before_logins = sockets(), logins(sshd)
    first = cli(*TRAIN, "--follow")
    assert first.returncode == 0, first.stderr
    assert "[isaacctl] exit status 0" in first.stdout
    new = sockets() - before_sockets
    assert len(new) == 1, new  # this deployment's master, named for its pins
    assert logins(sshd) - before_logins == 1
    master = control_folder() / new.pop()
    check = subprocess.run(["ssh", "-S", str(master), "-O", "check", "gpu-box"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr  # still up (ControlPersist) after train ended

    again = cli(*TRAIN, "--follow")
    assert again.returncode == 0, again.stderr
    assert logins(sshd) - before_logins == 1, "the second train logged in again"
    listed = {job["id"]: job for job in json.loads(cli("jobs", "--json", check=True).stdout)["data"]}
    assert listed[started_id(first)]["status"] == listed[started_id(again)]["status"] == "succeeded"


def test_a_master_checked_against_other_pins_is_never_ridden(tmp_path, sshd, standin_image_local):
    """Two state folders at one address: one's pins are replaced by another key. Its train is
    refused as a changed host key, though the other's master to that very host is up."""
    trusting = deployed(tmp_path / "a", sshd, standin_image_local)
    assert trusting(*TRAIN).returncode == 0  # leaves its master
    other = deployed(tmp_path / "b", sshd, standin_image_local)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True)
    stranger = (tmp_path / "k.pub").read_text().split()[1]
    pins = other.state_dir / "ws1" / "known_hosts"
    lines = pins.read_text().splitlines()
    pins.write_text("".join(f"{' '.join([*line.split()[:2], stranger])}\n" for line in lines))

    refused = other(*TRAIN, "--follow")
    assert refused.returncode == 1
    assert "host key changed" in refused.stderr, refused.stderr
    assert not any((other.host_dir / "jobs").iterdir()), "a job started on a host whose key is not the pinned one"


def test_a_changed_host_key_stops_train_in_the_usual_words(tmp_path, standin_image_local):
    from harness.sshd import SshServer

    with SshServer() as own:
        cli = deployed(tmp_path, own, standin_image_local)
        assert cli(*TRAIN).returncode == 0
        own.restart_with_new_host_key()
        result = cli(*TRAIN, "--follow")
    assert result.returncode == 1
    assert "host key changed" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_a_guess_that_is_not_the_command_s_deployment_is_not_taken(tmp_path, sshd, standin_image_local):
    """Two deployments and no -d: nothing to guess, and train says which to choose."""
    cli = deployed(tmp_path, sshd, standin_image_local)
    cli.deploy_ssh("ws2", "gpu-box", f"{cli.host_dir}-2", "--image", standin_image_local, check=True)
    before = sockets()
    result = cli(*TRAIN)
    assert result.returncode == 2
    assert "-d/--deployment: expected one of ws1, ws2" in result.stderr
    assert sockets() == before, "a connection was opened for a command that named no deployment"
    assert cli(*TRAIN, "-d", "ws2", "--follow").returncode == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--task", "T"], None),
        (["-d", "ws1", "--task", "T"], "ws1"),
        (["--deployment=ws2", "-d", "ws3"], "ws3"),
        (["-dws4"], "ws4"),
        (["--task", "T", "--", "-d", "x"], None),  # a Hydra override, not an option
    ],
)
def test_the_deployment_is_read_from_the_arguments_as_click_reads_it(args, expected):
    assert _deployment(args) == expected


def test_a_help_request_opens_nothing():
    assert _asks_help(["-d", "ws1", "--help"]) and _asks_help(["-h"])
    assert not _asks_help(["--task", "T", "--", "--help"])  # an override's business


def test_the_endpoint_fields_compared_are_every_field_of_an_endpoint():
    """SshRemote.same_as compares these: a field added to SshEndpoint must be compared too."""
    assert set(ENDPOINT_FIELDS) == set(SshEndpoint.model_fields)
