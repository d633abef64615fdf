"""The job layer as a careful user finds it: a Docker daemon that does not answer, a host that
cannot be reached while cancelling, malformed job JSON, links planted on the host, Ctrl-C during
fetch-logs, paths with spaces, and where the registry key may go. Real CLI, real Docker engine,
real sshd and rsync, the loopback registry; every deployment has a name of its own, and only
the containers of those deployments are removed."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from harness.cli import Cli
from harness.docker_env import docker
from harness.own_containers import remove_containers_of

pytestmark = pytest.mark.docker

LONG = ["--task", "Isaac-Humanoid-Direct-v0", "--max-iterations", "100000"]
# ~0.02 s an iteration in the stand-in: a run that ends by itself within seconds.
SHORT = ["--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", "300"]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def new_cli(root: Path) -> Cli:
    state = root / "state"
    state.mkdir(mode=0o700)
    ssh_config = root / "ssh_config"
    ssh_config.touch(mode=0o600)
    return Cli(state_dir=state, ssh_config=ssh_config)


@pytest.fixture(scope="module")
def local_station(tmp_path_factory, standin_image_local):
    root = tmp_path_factory.mktemp("hardening-local")
    cli = new_cli(root)
    cli.name = unique("hl")
    cli(
        "deploy",
        "local",
        "--name",
        cli.name,
        "--host-dir",
        str(root / "host"),
        "--gpus",
        "none",
        "--image",
        standin_image_local,
        check=True,
    )
    yield cli
    remove_containers_of(cli.state_dir, [cli.name])


@pytest.fixture(scope="module")
def ssh_station(tmp_path_factory, sshd, standin_image_local):
    """An ssh deployment whose host folder has a space in its name (item 6 of the brief: rsync
    3.2.3 splits remote paths in the remote shell unless --protect-args)."""
    root = tmp_path_factory.mktemp("hardening-ssh")
    cli = new_cli(root)
    cli.name = unique("hs")
    alias = unique("box")
    sshd.write_ssh_config(cli.ssh_config, [alias])
    cli.host_dir = sshd.home / f"isaacctl {cli.name}"
    cli(
        "deploy",
        "ssh",
        "--name",
        cli.name,
        "--host",
        alias,
        "--gpus",
        "none",
        "--image",
        standin_image_local,
        "--host-dir",
        str(cli.host_dir),
        check=True,
    )
    yield cli
    remove_containers_of(cli.state_dir, [cli.name])


def started_id(result) -> str:
    match = re.search(r"started ((train|evaluate)-\S+)", result.stderr)
    assert match, result.stderr
    return match.group(1)


def job_record(cli: Cli, job: str) -> dict:
    return json.loads((cli.state_dir / cli.name / "jobs" / f"{job}.json").read_text())


def listed(cli: Cli, job: str, **kwargs) -> dict:
    result = cli("jobs", "-d", cli.name, "--json", **kwargs)
    assert result.returncode == 0, result.stderr
    return next(j for j in json.loads(result.stdout)["data"] if j["id"] == job)


def job_files(cli: Cli) -> set[Path]:
    return set((cli.state_dir / cli.name / "jobs").glob("*.json"))


def one_error_line(result, naming: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and naming in errors[0], result.stderr
    assert "Traceback" not in result.stderr


def unreachable(cli: Cli, sshd) -> str:
    """Points the deployment's ssh_config at a closed port; returns the real text to restore."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    real = cli.ssh_config.read_text()
    cli.ssh_config.write_text(real.replace(f"Port {sshd.port}", f"Port {closed}"))
    return real


# -- 1. a Docker daemon that does not answer says nothing about the job ---------------------------
def test_a_docker_that_does_not_answer_leaves_jobs_unknown_then_they_are_checked_again(local_station):
    cli = local_station
    job = started_id(cli("train", "-d", cli.name, *LONG))
    try:
        # The local provider runs docker here: a daemon socket that is not there is exactly
        # what `docker inspect` meets while dockerd restarts.
        silent = {"DOCKER_HOST": "unix:///nonexistent/isaacctl-test-docker.sock"}
        seen = listed(cli, job, env=silent)
        assert seen["status"] == "unknown", seen
        assert "Cannot connect to the Docker daemon" in seen["error"]
        assert seen["finished_at"] is None and seen["exit_code"] is None
        table = cli("jobs", "-d", cli.name, env=silent)
        assert table.returncode == 0 and "unknown" in table.stdout
        again = listed(cli, job)
        assert again["status"] == "running" and again["error"] is None
    finally:
        cli("cancel", job, "-d", cli.name, "--grace", "5")
    assert listed(cli, job)["status"] == "cancelled"


# -- 2. cancel: recorded once the host took the signal; --grace checked -----------------------------
def test_a_cancel_that_cannot_reach_the_host_is_not_recorded(ssh_station, sshd):
    cli = ssh_station
    job = started_id(cli("train", "-d", cli.name, *SHORT))
    real = unreachable(cli, sshd)
    try:
        refused = cli("cancel", job, "-d", cli.name, "--grace", "5")
    finally:
        cli.ssh_config.write_text(real)
    assert refused.returncode == 1, refused.stderr
    assert job_record(cli, job)["cancel_requested"] is False
    # It ran on, so it ends as what it was: succeeded, not "cancelled".
    followed = cli("logs", job, "-d", cli.name, "--follow", timeout=180)
    assert followed.returncode == 0, followed.stderr
    assert listed(cli, job)["status"] == "succeeded"


def test_a_grace_that_is_not_a_sensible_number_of_seconds_is_refused(local_station):
    cli = local_station
    job = started_id(cli("train", "-d", cli.name, *LONG))
    try:
        for grace in ("-5", "nan", "inf", "-inf", "1e9"):
            one_error_line(cli("cancel", job, "-d", cli.name, f"--grace={grace}"), "--grace")
            assert job_record(cli, job)["cancel_requested"] is False
        assert listed(cli, job)["status"] == "running"
    finally:
        cli("cancel", job, "-d", cli.name, "--grace", "5")


# -- 3. malformed job JSON -----------------------------------------------------------------------
TASK = {"task": "Isaac-Cartpole-v0"}


@pytest.mark.parametrize(
    "content, naming",
    [
        (b"\x7fELF\x02\x01\x01\x00\xff\xfe\x00binary", "--config"),
        (b'{"trainingConfig": ' + b"[" * 30_000 + b"]" * 30_000 + b"}", "--config"),
        (b'{"trainingConfig": ' + b"[" * 20 + b"]" * 20 + b"}", "--config"),
        (b" " * 200_000 + b"{}", "--config"),
        (b'{"trainingConfig": {"task": "Isaac-Cartpole-v0", "seed": NaN}}', "--config"),
        (json.dumps({"trainingConfig": TASK, "computeConfig": [1]}).encode(), "computeConfig"),
        (json.dumps({"trainingConfig": TASK, "computeConfig": "big"}).encode(), "computeConfig"),
        (json.dumps({"trainingConfig": TASK, "computeConfig": {"numGpus": 2}}).encode(), "computeConfig.numGpus"),
        (json.dumps({"trainingConfig": {**TASK, "numEnvs": "64"}}).encode(), "trainingConfig.numEnvs"),
        (json.dumps({"trainingConfig": {**TASK, "numEnvs": True}}).encode(), "trainingConfig.numEnvs"),
        (json.dumps({"trainingConfig": {**TASK, "numEnvs": 64.5}}).encode(), "trainingConfig.numEnvs"),
        (json.dumps({"trainingConfig": {**TASK, "recordVideo": "yes"}}).encode(), "trainingConfig.recordVideo"),
        (json.dumps({"trainingConfig": {**TASK, "seed": "7"}}).encode(), "trainingConfig.seed"),
        (json.dumps({"trainingConfig": {**TASK, "mode": "evaluate"}}).encode(), "trainingConfig.mode"),
        (json.dumps({"trainingConfig": {**TASK, "mode": ["train"]}}).encode(), "trainingConfig.mode"),
        (json.dumps({"trainingConfig": TASK, "extraConfig": {}}).encode(), "extraConfig"),
    ],
)
def test_a_malformed_job_json_exits_2_naming_the_field_and_starts_nothing(local_station, tmp_path, content, naming):
    cli = local_station
    path = tmp_path / "job.json"
    path.write_bytes(content)
    before = job_files(cli)
    one_error_line(cli("train", "-d", cli.name, "--config", str(path)), naming)
    assert job_files(cli) == before


def test_a_job_json_that_fetch_logs_wrote_is_accepted_again(local_station, tmp_path):
    """The config.json that comes home carries an "isaacctl" section and computeConfig.gpus."""
    cli = local_station
    job = started_id(
        cli("train", "-d", cli.name, "--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", "2", "--follow")
    )
    fetched = json.loads(cli("fetch-logs", job, "-d", cli.name, "--checkpoints", "none", "--json").stdout)
    config = Path(fetched["data"]["jobs"][0]["folder"]) / "config.json"
    again = cli("train", "-d", cli.name, "--config", str(config), "--follow")
    assert again.returncode == 0, again.stderr


# -- 4. links planted on the host, and evaluate --checkpoint -------------------------------------
def run_folder(cli: Cli, job: str) -> str:
    """The run folder of a finished rsl_rl job, relative to its logs/ on the host."""
    found = sorted((cli.host_dir / "jobs" / job / "logs").glob("rsl_rl/*/*/model_*.pt"))
    assert found
    return found[-1].parent.relative_to(cli.host_dir / "jobs" / job / "logs").as_posix()


def files_containing(root: Path, secret: bytes) -> list[Path]:
    """Regular files holding the secret, links not followed (the planted ones hold it)."""
    found = []
    for parent, _, names in os.walk(root):
        for name in names:
            path = Path(parent) / name
            if not path.is_symlink() and path.is_file() and secret in path.read_bytes():
                found.append(path)
    return found


def test_links_planted_on_the_host_are_not_followed_nor_uploaded(ssh_station, tmp_path):
    cli = ssh_station
    secret = f"PRIVATE-KEY-{uuid.uuid4().hex}".encode()
    private = tmp_path / "dot-ssh"
    private.mkdir()
    (private / "id_ed25519").write_bytes(secret)
    (private / "model_7.pt").write_bytes(secret)
    private.chmod(0o755)
    tmp_path.chmod(0o755)
    job = started_id(
        cli("train", "-d", cli.name, "--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", "3", "--follow")
    )
    run = run_folder(cli, job)
    host_run = cli.host_dir / "jobs" / job / "logs" / run
    # What a hostile or careless host can leave in a job's folder: a checkpoint-named link to a
    # private file, and a linked folder.
    os.symlink(private / "id_ed25519", host_run / "model_200.pt")
    os.symlink(private, host_run / "keys")
    fetched = cli("fetch-logs", job, "-d", cli.name, "--json")
    assert fetched.returncode == 0, fetched.stderr
    folder = Path(json.loads(fetched.stdout)["data"]["jobs"][0]["folder"])
    assert not [p for p in folder.rglob("*") if p.is_symlink()]
    assert not (folder / "checkpoints" / "model_200.pt").exists()
    assert files_containing(cli.state_dir, secret) == []

    # A link already in the artifacts (left by an older fetch, or put there by hand) is not laid
    # out as a checkpoint, and evaluate --checkpoint does not upload what it points to.
    local_run = folder / "logs" / run
    os.symlink(private / "id_ed25519", local_run / "model_300.pt")
    os.symlink(private, local_run / "keys")
    again = cli("fetch-logs", job, "-d", cli.name, "--json")
    assert again.returncode == 0, again.stderr
    assert not (folder / "checkpoints" / "model_300.pt").exists()
    before = job_files(cli)
    for given in (local_run / "model_300.pt", local_run / "keys" / "model_7.pt"):
        refused = cli("evaluate", "-d", cli.name, "--task", "Isaac-Cartpole-Direct-v0", "--checkpoint", str(given))
        one_error_line(refused, "--checkpoint")
    assert job_files(cli) == before
    assert files_containing(cli.host_dir, secret) == []

    # A regular file under the artifacts is uploaded as before.
    real = next((folder / "checkpoints").glob("model_*.pt"))
    played = cli(
        "evaluate",
        "-d",
        cli.name,
        "--task",
        "Isaac-Cartpole-Direct-v0",
        "--checkpoint",
        str(real),
        "--video-length",
        "5",
        "--follow",
    )
    assert played.returncode == 0, played.stderr


# -- 5. Ctrl-C during fetch-logs -----------------------------------------------------------------
def test_ctrl_c_during_fetch_leaves_no_truncated_checkpoint(ssh_station, tmp_path):
    cli = ssh_station
    job = started_id(
        cli("train", "-d", cli.name, "--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", "2", "--follow")
    )
    run = run_folder(cli, job)
    big = cli.host_dir / "jobs" / job / "logs" / run / "model_500.pt"
    size = 3 * 1024**3
    with open(big, "wb") as handle:  # sparse on the host; ~3 GiB on the wire, seconds of transfer
        handle.truncate(size)
    dest = tmp_path / "fetched here"
    local_run = dest / job / "logs" / run
    process = subprocess.Popen(
        [sys.executable, "-m", "isaacctl", "fetch-logs", job, "-d", cli.name, "--dest", str(dest)],
        env=cli.full_env(),
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if local_run.is_dir() and any(p.name.startswith(".model_500.pt.") for p in local_run.iterdir()):
            break
        time.sleep(0.01)
    assert process.poll() is None, "the fetch ended before it could be interrupted"
    time.sleep(0.3)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    process.communicate(timeout=60)
    assert process.returncode != 0
    assert not (local_run / "model_500.pt").exists()
    assert not [p for p in local_run.iterdir() if p.name.startswith(".model_500.pt.")]
    assert not (dest / job / "checkpoints" / "model_500.pt").exists()

    finished = cli("fetch-logs", job, "-d", cli.name, "--dest", str(dest), timeout=600)
    assert finished.returncode == 0, finished.stderr
    assert (local_run / "model_500.pt").stat().st_size == size
    assert (dest / job / "checkpoints" / "model_500.pt").stat().st_size == size
    for path in (local_run / "model_500.pt", dest / job / "checkpoints" / "model_500.pt", big):
        path.unlink()


# -- 6. spaces in remote and local paths ---------------------------------------------------------
def test_fetch_download_and_upload_with_spaces_in_paths_and_old_rsync_argument_parsing(ssh_station, tmp_path):
    """RSYNC_OLD_ARGS=1 makes this rsync parse remote paths as 3.2.3 (Ubuntu 22.04) does, through
    the remote shell; --protect-args must keep a path with a space whole."""
    cli = ssh_station
    old = {"RSYNC_OLD_ARGS": "1"}
    job = started_id(
        cli("train", "-d", cli.name, "--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", "3", "--follow")
    )
    dest = tmp_path / "my results"
    fetched = cli("fetch-logs", job, "-d", cli.name, "--dest", str(dest), "--json", env=old)
    assert fetched.returncode == 0, fetched.stderr
    assert list((dest / job / "checkpoints").glob("model_*.pt"))
    assert (dest / job / "output.txt").exists()
    local = tmp_path / "a file with spaces.txt"
    local.write_text("hello\n")
    upload = cli("upload", cli.name, str(local), "my uploads", env=old)
    assert upload.returncode == 0, upload.stderr
    assert (cli.host_dir / "my uploads" / local.name).read_text() == "hello\n"
    back = tmp_path / "back here"
    download = cli("download", cli.name, f"my uploads/{local.name}", str(back), env=old)
    assert download.returncode == 0, download.stderr
    assert (back / local.name).read_text() == "hello\n"


# -- 7. the registry key goes to nvcr.io, or to a registry named for it -----------------------------
@pytest.fixture
def private_image(registry, standin_image_local):
    """The stand-in under a tag of its own in the loopback registry (which needs a login), and
    not in the engine: a bootstrap must pull it. Other tests' tags are left alone."""
    ref = registry.ref("isaacctl-test/hardening", uuid.uuid4().hex[:10])
    docker("tag", standin_image_local, ref, check=True)
    with tempfile.TemporaryDirectory(prefix="isaacctl-docker-config-") as config:
        assert registry.login(Path(config)).returncode == 0
        try:
            docker("push", ref, config=Path(config), check=True)
        finally:
            registry.logout(Path(config))
            docker("rmi", ref)
    yield ref
    docker("rmi", ref)


@pytest.fixture
def bare_ssh(cli, sshd):
    cli.name = unique("hr")
    alias = unique("box")
    sshd.write_ssh_config(cli.ssh_config, [alias])
    cli(
        "deploy",
        "ssh",
        "--name",
        cli.name,
        "--host",
        alias,
        "--host-dir",
        str(sshd.home / cli.name),
        "--skip-bootstrap",
        check=True,
    )
    yield cli
    remove_containers_of(cli.state_dir, [cli.name])


def test_the_key_is_not_sent_to_a_registry_that_was_not_named_for_it(bare_ssh, registry, private_image):
    cli = bare_ssh
    common = [
        "bootstrap",
        cli.name,
        "--image",
        private_image,
        "--gpus",
        "none",
        "--registry-user",
        registry.user,
        "--ngc-api-key-file",
        str(registry.password_file),
    ]
    # The registry refuses anonymous pulls: had the key gone with the pull, it would succeed.
    anonymous = cli(*common)
    assert anonymous.returncode == 1, anonymous.stderr
    assert "image-pull" in anonymous.stderr
    assert f"--registry {registry.address}" in anonymous.stderr
    logs = "".join(p.read_text() for p in (cli.state_dir / cli.name).rglob("bootstrap*.log"))
    assert "the key is not sent" in logs

    wrong = cli(*common, "--registry", "nvcr.io")
    one_error_line(wrong, "--registry")

    named = cli(*common, "--registry", registry.address, timeout=600)
    assert named.returncode == 0, named.stderr
