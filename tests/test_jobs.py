"""Jobs end to end with the stand-in Isaac Lab image, on the local and the ssh provider:
the real CLI, the real Docker engine, the real sshd, rsync."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from harness.cli import Cli
from harness.own_containers import containers_with, deployment_ids, remove_containers_of

pytestmark = pytest.mark.docker

REWARD_TAG = {
    "rsl_rl": "Train/mean_reward",
    "skrl": "Reward / Total reward (mean)",
    "rl_games": "rewards/iter",
    "sb3": "rollout/ep_rew_mean",
}
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


@pytest.fixture(scope="module", params=["local", "ssh"])
def station(request, tmp_path_factory, sshd, standin_image_local):
    """A bootstrapped deployment named ws1 (module-wide: jobs tests share it)."""
    root = tmp_path_factory.mktemp(f"jobs-{request.param}")
    state = root / "state"
    state.mkdir(mode=0o700)
    ssh_config = root / "ssh_config"
    ssh_config.touch(mode=0o600)
    cli = Cli(state_dir=state, ssh_config=ssh_config)
    if request.param == "local":
        cli(
            "deploy",
            "local",
            "--name",
            "ws1",
            "--host-dir",
            str(root / "host"),
            "--gpus",
            "none",
            "--image",
            standin_image_local,
            check=True,
        )
    else:
        sshd.write_ssh_config(ssh_config, ["gpu-box"])
        cli.deploy_ssh(
            "ws1",
            "gpu-box",
            sshd.home / f"isaacctl-{uuid.uuid4().hex[:6]}",
            "--image",
            standin_image_local,
            check=True,
        )
    cli.provider = request.param
    ours = deployment_ids(cli.state_dir, ["ws1"])
    yield cli
    # only this module's containers: other tests (and people) use the name ws1 on this daemon too
    remove_containers_of(cli.state_dir, ["ws1"], also=ours)


def job_id_of(result) -> str:
    return (
        result.stdout.strip().splitlines()[0]
        if "--json" not in result.args
        else json.loads(result.stdout)["data"]["id"]
    )


def started_id(result) -> str:
    match = re.search(r"started ((train|evaluate)-\S+)", result.stderr)
    assert match, result.stderr
    return match.group(1)


def fetch(station, *args):
    result = station("fetch-logs", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["data"]


@pytest.mark.parametrize("library", ["rsl_rl", "skrl", "rl_games", "sb3"])
def test_train_each_library_follow_fetch_and_metrics(station, library):
    result = station(
        "train",
        "--task",
        "Isaac-Cartpole-v0",
        "--rl-library",
        library,
        "--max-iterations",
        "4",
        "--seed",
        "3",
        "--follow",
    )
    assert result.returncode == 0, result.stderr
    job = started_id(result)
    assert "[isaacctl] exit status 0" in result.stdout
    assert f"{job} succeeded" in result.stderr
    fetched = fetch(station, job)
    folder = Path(fetched["jobs"][0]["folder"])
    assert fetched["jobs"][0]["checkpoints"] >= 1
    assert list((folder / "checkpoints").iterdir())
    with open(folder / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and REWARD_TAG[library] in rows[0]
    # one reward per iteration (rl_games logs other tags against frames, in rows of their own)
    assert len([row for row in rows if row[REWARD_TAG[library]] != ""]) == 4
    config = json.loads((folder / "config.json").read_text())
    assert config["trainingConfig"]["rlLibrary"] == library
    assert config["trainingConfig"]["maxIterations"] == 4
    assert "--max_iterations" in config["isaacctl"]["command"]
    assert (folder / "output.txt").read_text().count("[isaacctl] exit status 0") == 1
    listed = json.loads(station("jobs", "--json").stdout)["data"]
    mine = next(j for j in listed if j["id"] == job)
    assert mine["status"] == "succeeded" and mine["exit_code"] == 0
    assert mine["mean_reward"] is not None and mine["last_iteration"] is not None


def test_metrics_csv_matches_the_reference_tensorboard_reader(station):
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    result = station("train", "--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", "6", "--follow")
    job = started_id(result)
    folder = Path(fetch(station, job)["jobs"][0]["folder"])
    events = next((folder / "logs").rglob("events.out.tfevents.*"))
    reference = accumulator.EventAccumulator(str(events.parent))
    reference.Reload()
    with open(folder / "metrics.csv") as handle:
        rows = {int(row["step"]): row for row in csv.DictReader(handle)}
    tags = reference.Tags()["scalars"]
    assert "Train/mean_reward" in tags
    expected = {}
    for tag in tags:
        for event in reference.Scalars(tag):
            # one row per step: when a tag repeats a step (rsl_rl's .../time tags are indexed by
            # whole seconds), the last value written wins
            expected[(tag, event.step)] = event.value
    assert len(expected) > 50
    for (tag, step), value in expected.items():
        assert float(rows[step][tag]) == pytest.approx(value, rel=1e-6)


def test_evaluate_picks_the_newest_checkpoint_by_number_and_brings_back_a_video(station):
    # 120 iterations save model_0, 50, 100 and 119: a text sort would pick model_50.pt.
    train = station("train", "--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", "120", "--follow")
    assert train.returncode == 0, train.stderr
    result = station("evaluate", "--task", "Isaac-Cartpole-Direct-v0", "--video-length", "30", "--follow")
    assert result.returncode == 0, result.stderr
    assert re.search(r"Loading model checkpoint from: \S+/model_119\.pt", result.stdout)
    job = started_id(result)
    folder = Path(fetch(station, job)["jobs"][0]["folder"])
    videos = list((folder / "videos").glob("*.mp4"))
    assert videos and videos[0].read_bytes()[4:8] == b"ftyp"
    assert list(folder.glob("logs/**/exported/policy.onnx"))
    record = json.loads(station("jobs", "--json").stdout)["data"]
    assert next(j for j in record if j["id"] == job)["checkpoint"].endswith("/model_119.pt")


def test_cancel_interrupts_then_keeps_the_files(station):
    start = station("train", "--task", "Isaac-Humanoid-Direct-v0", "--max-iterations", "100000")
    assert start.returncode == 0, start.stderr
    job = started_id(start)
    time.sleep(2)
    cancelled = station("cancel", job, "--grace", "20", "--json")
    assert cancelled.returncode == 0, cancelled.stderr
    record = json.loads(cancelled.stdout)["data"]
    assert record["status"] == "cancelled" and record["exit_code"] == 130
    fetched = fetch(station, job)["jobs"][0]
    assert fetched["checkpoints"] >= 1  # the stand-in saves on SIGINT, like a graceful stop
    assert "Interrupted" in (Path(fetched["folder"]) / "output.txt").read_text()
    again = station("cancel", job)
    assert again.returncode == 2 and "already cancelled" in again.stderr


def test_a_job_container_carries_the_deployment_name_and_id(station):
    start = station("train", "--task", "Isaac-Humanoid-Direct-v0", "--max-iterations", "100000", "--json")
    assert start.returncode == 0, start.stderr
    job = json.loads(start.stdout)["data"]
    labels = json.loads(
        subprocess.run(
            ["docker", "inspect", "-f", "{{json .Config.Labels}}", job["container"]],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    record = json.loads(station("status", "ws1", "--json", check=True).stdout)["data"]
    assert labels["isaacctl.deployment"] == "ws1" and labels["isaacctl.deployment-id"] == record["id"]
    assert station("cancel", job["id"], "--grace", "5").returncode == 0


def test_a_failing_task_ends_failed_with_its_exit_code_and_output_tail(station):
    result = station("train", "--task", "Isaac-Does-Not-Exist-v0", "--force", "--follow")
    assert result.returncode == 1
    assert "failed with exit code 1" in result.stderr
    assert "NameNotFound" in result.stderr  # the tail of its output, shown with the error
    job = started_id(result)
    record = next(j for j in json.loads(station("jobs", "--json").stdout)["data"] if j["id"] == job)
    assert record["status"] == "failed" and record["exit_code"] == 1


def test_fetch_twice_transfers_nothing_the_second_time(station, sshd):
    station("train", "--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", "3", "--follow", check=True)
    first = fetch(station)
    assert first["files_transferred"] >= 1
    provider = json.loads((station.state_dir / "ws1" / "deployment.json").read_text())["provider"]
    before = sshd.log_path.read_text(errors="replace").count("Starting session:")
    second = fetch(station)
    # one rsync over the shared connection: one exec request on sshd (none for a local host)
    assert sshd.log_path.read_text(errors="replace").count("Starting session:") - before == (provider == "ssh")
    assert second["files_transferred"] == 0
    assert second["jobs"] == first["jobs"]  # the same lay-out, not made again
    # something removed here since: that job is laid out again
    folder = Path(first["jobs"][-1]["folder"])
    for link in (folder / "checkpoints").iterdir():
        link.unlink()
    (folder / "metrics.csv").unlink()
    third = fetch(station)
    assert third["jobs"] == first["jobs"] and third["files_transferred"] == 0
    assert (folder / "metrics.csv").is_file() and len(list((folder / "checkpoints").iterdir())) >= 1


def test_fetch_checkpoints_last_and_none(station, tmp_path):
    result = station("train", "--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", "120", "--follow")
    job = started_id(result)
    last = fetch(station, job, "--checkpoints", "last", "--dest", str(tmp_path / "last"))
    assert [p.name for p in (Path(last["jobs"][0]["folder"]) / "checkpoints").iterdir()] == ["model_119.pt"]
    none = fetch(station, job, "--checkpoints", "none", "--dest", str(tmp_path / "none"))
    folder = Path(none["jobs"][0]["folder"])
    assert not (folder / "checkpoints").exists() and (folder / "metrics.csv").exists()


def test_resume_continues_from_the_newest_checkpoint(station):
    first = station("train", "--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", "60", "--follow")
    source = started_id(first)
    resumed = station(
        "train", "--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", "10", "--resume", source, "--follow"
    )
    assert resumed.returncode == 0, resumed.stderr
    job = started_id(resumed)
    record = next(j for j in json.loads(station("jobs", "--json").stdout)["data"] if j["id"] == job)
    command = record["command"]
    assert command[command.index("--checkpoint") + 1] == "model_59.pt"
    assert "--resume" in command and "--load_run" in command


def test_several_gpus_run_torchrun_with_distributed(station):
    result = station("train", "--task", "Isaac-Cartpole-Direct-v0", "--gpus", "2", "--max-iterations", "2", "--follow")
    assert result.returncode == 0, result.stderr
    assert "--nproc_per_node=2" in result.stdout and "--distributed" in result.stdout


def test_a_pipeline_job_json_with_flags_taking_precedence(station):
    result = station(
        "train",
        "--config",
        str(TEMPLATES / "jobs" / "train-cartpole.json"),
        "--max-iterations",
        "2",
        "--num-envs",
        "64",
        "--follow",
    )
    assert result.returncode == 0, result.stderr
    job = started_id(result)
    record = next(j for j in json.loads(station("jobs", "--json").stdout)["data"] if j["id"] == job)
    assert record["spec"]["max_iterations"] == 2 and record["spec"]["seed"] == 42
    assert record["spec"]["num_envs"] == 64


def test_an_extension_is_installed_before_the_run(station, tmp_path):
    package = tmp_path / "my_tasks"
    (package / "my_tasks").mkdir(parents=True)
    (package / "my_tasks" / "__init__.py").write_text("REGISTERED = True\n")
    (package / "setup.py").write_text(
        "from setuptools import setup\nsetup(name='my-tasks', version='0.1', packages=['my_tasks'])\n"
    )
    result = station(
        "train", "--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", "2", "--extension", str(package), "--follow"
    )
    assert result.returncode == 0, result.stderr
    assert "[isaacctl] installing extension my_tasks" in result.stdout
    assert "Successfully installed my-tasks" in result.stdout


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--task", "Isaac-Cartpole-v0", "--num-envs", "0"], "--num-envs:"),
        (["--task", "Isaac-Cartpole-v0", "--rl-library", "ppo"], "--rl-library:"),
        (["--task", "Isaac-Cartpol-v0"], "did you mean Isaac-Cartpole-v0"),
        (["--task", "Isaac-Ant-Direct-v0", "--rl-library", "sb3"], "--rl-library: Isaac-Ant-Direct-v0 supports"),
        (["--task", "Isaac-Cartpole-v0", "--rl-library", "sb3", "--gpus", "2"], "--gpus: sb3 cannot"),
        (["--task", "Isaac-Cartpole-v0", "--seed", "-5"], "--seed:"),
        (["--task", "Isaac-Cartpole-v0", "--", "not-an-override"], "HYDRA_OVERRIDES:"),
        (["--task", "Isaac-Cartpole-v0", "--run-name", "a b"], "--run-name:"),
        (["--max-iterations", "5"], "--task:"),
        (["--task", "Isaac-Cartpole-v0", "-d", "nope"], "no deployment named 'nope'"),
    ],
)
def test_bad_flags_exit_2_naming_the_field_and_start_nothing(station, args, expected):
    before = set((station.state_dir / "ws1" / "jobs").glob("*.json"))
    result = station("train", *args)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert set((station.state_dir / "ws1" / "jobs").glob("*.json")) == before


@pytest.mark.parametrize(
    "config, expected",
    [
        ({"trainingConfig": {"task": "Isaac-Cartpole-v0", "numEnvs": "many"}}, "trainingConfig.numEnvs:"),
        ({"trainingConfig": {"task": "Isaac-Cartpole-v0", "rlLibrary": "dqn"}}, "trainingConfig.rlLibrary:"),
        ({"trainingConfig": {"task": "Isaac-Cartpole-v0", "colour": "red"}}, "trainingConfig.colour:"),
        (
            {"trainingConfig": {"task": "Isaac-Cartpole-v0"}, "computeConfig": {"numNodes": 4}},
            "computeConfig.numNodes:",
        ),
        ({"computeConfig": {}}, "trainingConfig:"),
        ("{not json", "is not valid JSON"),
    ],
)
def test_bad_job_json_exits_2_naming_the_field(station, tmp_path, config, expected):
    path = tmp_path / "job.json"
    path.write_text(config if isinstance(config, str) else json.dumps(config))
    result = station("train", "--config", str(path))
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr


def test_metrics_summary_and_plot(station, tmp_path):
    station("train", "--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", "8", "--follow", check=True)
    png = tmp_path / "reward.png"
    result = station("metrics", "last", "--plot", str(png), "--json")
    assert result.returncode == 0, result.stderr
    tags = {t["tag"]: t for t in json.loads(result.stdout)["data"]["tags"]}
    assert tags["Train/mean_reward"]["points"] == 8
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_upload_and_download_round_trip(station, tmp_path):
    source = tmp_path / "assets"
    source.mkdir()
    (source / "robot.usd").write_bytes(b"#usda 1.0\n" * 100)
    assert station("upload", "ws1", str(source)).returncode == 0
    back = tmp_path / "back"
    result = station("download", "ws1", "uploads/assets", str(back))
    assert result.returncode == 0, result.stderr
    assert (back / "assets" / "robot.usd").read_bytes() == (source / "robot.usd").read_bytes()


def test_logs_of_a_finished_job_and_tail(station):
    station("train", "--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", "3", "--follow", check=True)
    whole = station("logs", "last")
    assert whole.returncode == 0 and "[isaacctl] exit status 0" in whole.stdout
    tail = station("logs", "last", "--tail", "1")
    assert tail.stdout.strip() == "[isaacctl] exit status 0"


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.skipif(
    os.environ.get("ISAACCTL_TEST_NETNS") == "1",
    reason=(
        "a container with host networking lives in dockerd's network namespace, not in the tests' "
        "loopback-only one (on a real host they are the same); run pytest directly to include it"
    ),
)
def test_tensorboard_is_forwarded_to_a_local_port(station):
    import signal
    import urllib.request

    station("train", "--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", "2", "--follow", check=True)
    host_port, local_port = _free_port(), _free_port()
    board = subprocess.Popen(
        [sys.executable, "-m", "isaacctl", "tensorboard", "--port", str(host_port), "--local-port", str(local_port)],
        env=station.full_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = board.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        page = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                page = urllib.request.urlopen(url, timeout=5).read().decode()
                break
            except OSError:
                time.sleep(0.3)
        assert "events.out.tfevents" in page
    finally:
        board.send_signal(signal.SIGINT)
        board.communicate(timeout=60)
    assert board.returncode == 0
    # by id too: another session's ws1 may have a TensorBoard running now (Docker's name filter
    # matches a part of the name: the deployment id follows it)
    left = containers_with(deployment_ids(station.state_dir, ["ws1"]), "name=isaacctl-ws1-tensorboard")
    assert left == []


def test_jobs_need_a_bootstrapped_deployment(cli, tmp_path):
    cli("deploy", "local", "--name", "bare", "--skip-bootstrap", "--host-dir", str(tmp_path / "h"), check=True)
    result = cli("train", "--task", "Isaac-Cartpole-v0")
    assert result.returncode == 2
    assert "not ready for jobs" in result.stderr and "isaacctl bootstrap bare" in result.stderr


def test_tasks_lists_the_catalog(cli):
    # without -d: as a new deployment (Isaac Lab 3.0) spells them
    listed = json.loads(cli("tasks", "-k", "anymald", "--json").stdout)["data"]
    assert {t["task"] for t in listed} >= {"Isaac-Velocity-Rough-AnymalD", "Isaac-Velocity-Flat-AnymalD"}
    assert all(t["libraries"] == ["rsl_rl", "skrl"] for t in listed)


def test_jobs_lists_what_was_last_known_when_the_host_is_unreachable(cli, sshd, standin_image_local):
    import socket

    sshd.write_ssh_config(cli.ssh_config, ["gpu-box"])
    cli.deploy_ssh("ws1", "gpu-box", sshd.home / "isaacctl-gone", "--image", standin_image_local, check=True)
    start = cli("train", "--task", "Isaac-Humanoid-Direct-v0", "--max-iterations", "100000")
    job = started_id(start)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    real = cli.ssh_config.read_text()
    cli.ssh_config.write_text(real.replace(f"Port {sshd.port}", f"Port {closed}"))
    try:
        listed = cli("jobs", "--json")
        assert listed.returncode == 0, listed.stderr
        assert "showing what was last known" in listed.stderr
        assert json.loads(listed.stdout)["data"][0]["id"] == job
    finally:
        cli.ssh_config.write_text(real)
        cli("cancel", job, "--grace", "5")
