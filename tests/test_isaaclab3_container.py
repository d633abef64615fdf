"""Isaac Lab 3.x on the container runtime, end to end: the real CLI on local and ssh
deployments of the 3.x stand-in image (tests/standin, built with --generation 3: the `isaaclab`
command, uid 1000, kit-less), the real Docker engine and sshd. The version comes from the image
itself; old ids run under their 3.x names; --headless is never sent."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from harness import docker_env
from harness.cli import Cli
from harness.own_containers import remove_containers_of

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "tests" / "standin" / "build_image.sh"
LOCAL_REF3 = "isaacctl-test/isaac-lab:3.0.0"


def _build(generation: str, ref: str) -> str:
    if subprocess.run(["docker", "image", "inspect", ref], capture_output=True).returncode == 0:
        return ref
    result = subprocess.run(
        ["bash", str(BUILD), "--generation", generation, ref], capture_output=True, text=True, timeout=1800
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return ref


@pytest.fixture(scope="session")
def standin3(docker_ready) -> str:
    """The 3.x stand-in under its local tag (scripts/test.sh builds it; built here otherwise)."""
    return _build("3", os.environ.get("ISAACCTL_TEST_IMAGE3_LOCAL") or LOCAL_REF3)


def _retag(source: str, target: str) -> str:
    subprocess.run(["docker", "tag", source, target], check=True, capture_output=True)
    return target


def _new_cli(root: Path) -> Cli:
    state = root / "state"
    state.mkdir(mode=0o700)
    ssh_config = root / "ssh_config"
    ssh_config.touch(mode=0o600)
    return Cli(state_dir=state, ssh_config=ssh_config)


def _deploy(cli: Cli, kind: str, root: Path, sshd, image: str, *extra: str):
    if kind == "local":
        return cli(
            "deploy",
            "local",
            "--name",
            "ws3",
            "--host-dir",
            str(root / "host"),
            "--gpus",
            "none",
            "--image",
            image,
            *extra,
        )
    sshd.write_ssh_config(cli.ssh_config, ["gpu-box"])
    return cli(
        "deploy",
        "ssh",
        "--name",
        "ws3",
        "--host",
        "gpu-box",
        "--gpus",
        "none",
        "--image",
        image,
        "--host-dir",
        str(sshd.home / f"isaacctl-{uuid.uuid4().hex[:6]}"),
        *extra,
    )


@pytest.fixture(scope="module", params=["local", "ssh"])
def station(request, tmp_path_factory, sshd, standin3):
    """A bootstrapped 3.x deployment named ws3 (module-wide)."""
    root = tmp_path_factory.mktemp(f"il3-{request.param}")
    cli = _new_cli(root)
    result = _deploy(cli, request.param, root, sshd, standin3)
    assert result.returncode == 0, result.stderr
    cli.provider = request.param
    cli.host_root = json.loads(cli("status", "ws3", "--json", check=True).stdout)["data"]["host_root"]
    yield cli
    remove_containers_of(cli.state_dir, ["ws3"])


def started_id(result) -> str:
    match = re.search(r"started ((train|evaluate)-\S+)", result.stderr)
    assert match, result.stderr
    return match.group(1)


def job_record(station, job: str) -> dict:
    return next(j for j in json.loads(station("jobs", "--json").stdout)["data"] if j["id"] == job)


def fetch(station, *args) -> dict:
    result = station("fetch-logs", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["data"]


# -- the version and the host ------------------------------------------------------------------
def test_the_version_is_read_from_the_image_and_kept_per_image_id(station):
    record = json.loads(station("status", "ws3", "--json", check=True).stdout)["data"]
    assert record["isaaclab_version"] == "3.0"
    kept = [json.loads(path.read_text()) for path in (station.state_dir / ".isaaclab").glob("*.json")]
    assert any(
        entry["key"] == record["image_id"]
        and entry["facts"]["version"] == "3.0"
        and entry["facts"]["isaac_sim"] is False
        for entry in kept
    )


def test_the_cache_folders_belong_to_the_images_user(station):
    stat = subprocess.run(
        [
            "stat",
            "-c",
            "%u %n",
            f"{station.host_root}/cache/warp",
            f"{station.host_root}/cache/computecache",
            f"{station.host_root}/omniverse/logs",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    assert all(line.startswith("1000 ") for line in stat if line)


# -- train, jobs, logs, fetch-logs -------------------------------------------------------------
def test_an_old_id_trains_under_its_3x_name_with_the_tasks_own_agent(station):
    result = station("train", "--task", "Isaac-Cartpole-v0", "--max-iterations", "4", "--seed", "3", "--follow")
    assert result.returncode == 0, result.stderr
    assert "calls Isaac-Cartpole-v0 Isaac-Cartpole; running Isaac-Cartpole" in result.stderr
    job = started_id(result)
    record = job_record(station, job)
    command = record["command"]
    assert command[:6] == ["isaaclab", "train", "--rl_library", "rsl_rl", "--task", "Isaac-Cartpole"]
    assert "--headless" not in command and "--run_timestamp" in command
    assert record["status"] == "succeeded" and record["exit_code"] == 0
    assert record["last_iteration"] == 3 and record["mean_reward"] is not None
    assert "Learning iteration 3/4" in result.stdout and "[isaacctl] exit status 0" in result.stdout

    fetched = fetch(station, job)["jobs"][0]
    folder = Path(fetched["folder"])
    run = next((folder / "logs" / "rsl_rl" / "cartpole").iterdir())
    assert run.name == command[command.index("--run_timestamp") + 1]
    manifest = json.loads((run / "run.json").read_text())
    assert manifest["library"] == "rsl_rl" and manifest["task"] == "Isaac-Cartpole" and manifest["version"] == 1
    assert {p.name for p in run.glob("model_*.pt")} == {"model_0.pt", "model_3.pt"}
    assert (run / "params" / "agent.yaml").exists() and list(run.glob("events.out.tfevents.*"))
    with open(folder / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert "Train/mean_reward" in rows[0] and "Loss/value" in rows[0]  # rsl-rl-lib 5's tag names
    logs = station("logs", job, "--tail", "1")
    assert logs.stdout.strip() == "[isaacctl] exit status 0"


def test_sb3_and_torchrl_get_no_run_timestamp(station):
    # 3.0 registers --run_timestamp with --distributed: sb3's train would refuse it
    for library in ("sb3", "torchrl"):
        result = station(
            "train", "--task", "Isaac-Cartpole", "--rl-library", library, "--max-iterations", "2", "--follow"
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr
        assert "--run_timestamp" not in job_record(station, started_id(result))["command"]


def test_selectors_and_overrides_are_passed_through(station):
    result = station(
        "train",
        "--task",
        "Isaac-Cartpole-Direct",
        "--max-iterations",
        "2",
        "--follow",
        "--",
        "physics=newton_mjwarp",
        "presets=a,b",
        "env.scene.num_envs=8",
    )
    assert result.returncode == 0, result.stderr
    assert "physics: newton_mjwarp" in result.stdout and "presets: a,b" in result.stdout
    command = job_record(station, started_id(result))["command"]
    # in the order given (a CPU host's agent.device=cpu may follow)
    assert command[command.index("physics=newton_mjwarp") :][:3] == [
        "physics=newton_mjwarp",
        "presets=a,b",
        "env.scene.num_envs=8",
    ]


def test_cancel_interrupts_and_the_job_reads_cancelled(station):
    start = station("train", "--task", "Isaac-Humanoid-Direct", "--max-iterations", "100000")
    assert start.returncode == 0, start.stderr
    job = started_id(start)
    subprocess.run(["sleep", "2"])
    cancelled = station("cancel", job, "--grace", "20", "--json")
    assert cancelled.returncode == 0, cancelled.stderr
    record = json.loads(cancelled.stdout)["data"]
    # 3.x's train ends with 0 after Ctrl-C (it saves nothing more than its periodic checkpoints)
    assert record["status"] == "cancelled" and record["exit_code"] == 0
    assert fetch(station, job)["jobs"][0]["checkpoints"] >= 1


# -- evaluate and resume -----------------------------------------------------------------------
def test_evaluate_latest_and_best_with_a_newton_gl_video(station):
    train = station(
        "train", "--task", "Isaac-Cartpole-Direct", "--rl-library", "skrl", "--max-iterations", "30", "--follow"
    )
    assert train.returncode == 0, train.stderr
    for keyword, expected in (("latest", r"agent_\d+\.pt"), ("best", r"best_agent\.pt")):
        result = station(
            "evaluate",
            "--task",
            "Isaac-Cartpole-Direct",
            "--rl-library",
            "skrl",
            "--checkpoint",
            keyword,
            "--video-length",
            "20",
            "--follow",
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr
        job = started_id(result)
        command = job_record(station, job)["command"]
        assert command[:2] == ["isaaclab", "play"] and command[command.index("--viz") + 1] == "newton_gl"
        assert re.search(expected + "$", command[command.index("--checkpoint") + 1])
        folder = Path(fetch(station, job)["jobs"][0]["folder"])
        videos = list((folder / "videos").glob("*.mp4"))
        assert videos and videos[0].read_bytes()[4:8] == b"ftyp"


def test_resume_is_train_with_a_checkpoint_file(station):
    first = station("train", "--task", "Isaac-Cartpole-Direct", "--max-iterations", "60", "--follow")
    assert first.returncode == 0, first.stderr
    resumed = station(
        "train", "--task", "Isaac-Cartpole-Direct", "--max-iterations", "5", "--resume", started_id(first), "--follow"
    )
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr
    command = job_record(station, started_id(resumed))["command"]
    assert "--resume" not in command and "--load_run" not in command
    assert command[command.index("--checkpoint") + 1].endswith("/model_59.pt")
    assert "Learning iteration 63/64" in resumed.stdout  # the count goes on from model_59


# -- the deployment's own task list --------------------------------------------------------------
def test_tasks_d_lists_what_the_deployments_isaac_lab_lists(station):
    result = station("tasks", "-d", "ws3", "--json")
    assert result.returncode == 0, result.stderr
    listed = {t["task"]: t for t in json.loads(result.stdout)["data"]}
    # only the image lists this one; isaacctl's shipped catalog does not know it
    assert "Isaac-Cartpole-Showcase-Box-Box-Direct" in listed
    assert "Isaac-Velocity-Flat-AnymalD" in listed and not any(name.endswith("-v0") for name in listed)
    assert set(listed["Isaac-Cartpole"]["libraries"]) == {"rsl_rl", "skrl", "rl_games", "sb3", "torchrl"}
    assert listed["Isaac-Cartpole"]["experiment"] == "cartpole"  # the shipped catalog fills in what it knows
    # a task only the deployment knows trains without --force once its list is known
    trained = station("train", "--task", "Isaac-Cartpole-Showcase-Box-Box-Direct", "--max-iterations", "2", "--follow")
    assert trained.returncode == 0, trained.stdout[-2000:] + trained.stderr


def test_an_extension_is_installed_with_the_images_pip_as_its_user(station, tmp_path):
    package = tmp_path / "my_tasks"
    (package / "my_tasks").mkdir(parents=True)
    (package / "my_tasks" / "__init__.py").write_text("REGISTERED = True\n")
    (package / "setup.py").write_text(
        "from setuptools import setup\nsetup(name='my-tasks', version='0.1', packages=['my_tasks'])\n"
    )
    result = station(
        "train", "--task", "Isaac-Cartpole", "--max-iterations", "2", "--extension", str(package), "--follow"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert "Successfully installed my-tasks" in result.stdout


def test_no_3x_job_was_sent_headless(station):
    for job in json.loads(station("jobs", "--json").stdout)["data"]:
        assert "--headless" not in job["command"] and job["command"][0] == "isaaclab"


# -- which version, from what ------------------------------------------------------------------
@pytest.mark.parametrize("generation, expected, entry", [("2", "2.3", "./isaaclab.sh"), ("3", "3.0", "isaaclab")])
def test_an_image_whose_tag_says_nothing_is_asked_its_version(
    tmp_path, sshd, standin3, standin_image_local, generation, expected, entry
):
    source = standin3 if generation == "3" else standin_image_local
    image = _retag(source, f"isaacctl-test/isaac-lab-custom:lab{generation}")
    cli = _new_cli(tmp_path)
    try:
        result = _deploy(cli, "local", tmp_path, sshd, image)
        assert result.returncode == 0, result.stderr
        assert json.loads(cli("status", "ws3", "--json").stdout)["data"]["isaaclab_version"] == expected
        task = "Isaac-Cartpole-v0"
        run = cli("train", "--task", task, "--max-iterations", "2", "--follow")
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr
        command = job_record(cli, started_id(run))["command"]
        assert command[0] == entry and ("--headless" in command) == (generation == "2")
    finally:
        remove_containers_of(cli.state_dir, ["ws3"])
        subprocess.run(["docker", "rmi", image], capture_output=True)


def test_isaaclab_version_overrides_what_the_image_says(tmp_path, sshd, standin3):
    cli = _new_cli(tmp_path)
    try:
        result = _deploy(cli, "local", tmp_path, sshd, standin3, "--isaaclab-version", "2.3")
        assert result.returncode == 0, result.stderr
        assert json.loads(cli("status", "ws3", "--json").stdout)["data"]["isaaclab_version"] == "2.3"
        # jobs are then 2.x jobs, whatever the image says: here the 3.x image has no 2.x scripts
        run = cli("train", "--task", "Isaac-Cartpole-v0", "--max-iterations", "2", "--follow")
        command = job_record(cli, started_id(run))["command"]
        assert command[:3] == ["./isaaclab.sh", "-p", "scripts/reinforcement_learning/rsl_rl/train.py"]
        assert run.returncode != 0
    finally:
        remove_containers_of(cli.state_dir, ["ws3"])


def test_a_bad_isaaclab_version_exits_2_naming_the_flag(cli, tmp_path):
    result = cli("deploy", "local", "--name", "ws3", "--host-dir", str(tmp_path / "h"), "--isaaclab-version", "9.9")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[0].startswith("error: --isaaclab-version: expected one of")


def test_the_cli_default_image_is_the_default_versions_image():
    from isaacctl.cli.bootstrap import DEFAULT_IMAGE
    from isaacctl.isaaclab import default_version

    assert DEFAULT_IMAGE == default_version().image and default_version().version == "3.0"
    assert docker_env.IMAGE_TAG == "2.3.2"  # the 2.x stand-in keeps its tag: its tests stay on 2.x
