"""The pip runtime against the REAL Isaac Lab 3.0.0 (kit-less, on the CPU, offline): a
deployment over the loopback sshd adopts the venv scripts/isaaclab_test_venv.sh builds
(--isaaclab-python), the offline assets of tests/isaaclab_assets/ (--asset-root) and
--gpus none; Isaac-Cartpole trains for real, and jobs, logs --follow, cancel, fetch-logs,
metrics and evaluate --checkpoint latest --video (Mesa's EGL) are checked on what it wrote.

The venv (~5.7 GB, outside the checkout) is made by scripts/test.sh; without it these tests
skip saying so. Flag checks at the end need no venv."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from harness.cli import Cli

CACHE = Path(os.environ.get("ISAACCTL_TEST_ISAACLAB_CACHE", "/var/cache/isaacctl-test-isaaclab"))
PYTHON = Path(os.environ.get("ISAACCTL_TEST_ISAACLAB_PYTHON", str(CACHE / "venv" / "bin" / "python")))
ASSETS = Path(__file__).resolve().parent / "isaaclab_assets" / "assetroot"
# Warp's compiled CPU kernels, kept between test runs as a host keeps cache/warp between jobs
# (a cold Cartpole start spends ~60 s compiling them on 2 cores; warm, the whole run is ~15 s).
WARP_SEED = CACHE / "warp-cache"

needs_isaaclab = pytest.mark.skipif(
    not (PYTHON.is_file() and os.access(PYTHON, os.X_OK)),
    reason=f"the real Isaac Lab 3.0.0 venv is absent ({PYTHON}): scripts/test.sh builds it "
    "(bash scripts/isaaclab_test_venv.sh; needs Python 3.12 from pyenv and PyPI once)",
)


def started_id(result) -> str:
    match = re.search(r"started ((train|evaluate)-\S+)", result.stderr)
    assert match, result.stderr
    return match.group(1)


def _stat(pid: int | str) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def alive(pid: int) -> bool:
    """Running, not a zombie (this machine's PID 1 may not reap the runner's orphans)."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def group_members(pgid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        fields = _stat(entry.name) if entry.name.isdigit() else None
        if fields is not None and fields[0] != "Z" and fields[2] == str(pgid):
            found.append(int(entry.name))
    return found


def job_json(cli, job: str) -> dict:
    jobs = json.loads(cli("jobs", "--json", check=True).stdout)["data"]
    return next(entry for entry in jobs if entry["id"] == job)


@pytest.fixture(scope="module")
def station(tmp_path_factory, sshd):
    """A pip-runtime deployment `lab` over the loopback sshd, adopting the real venv."""
    if not PYTHON.is_file():
        pytest.skip(f"the real Isaac Lab 3.0.0 venv is absent ({PYTHON}); scripts/test.sh builds it")
    root = tmp_path_factory.mktemp("pip-runtime")
    state = root / "state"
    state.mkdir(mode=0o700)
    ssh_config = root / "ssh_config"
    ssh_config.touch(mode=0o600)
    cli = Cli(state_dir=state, ssh_config=ssh_config)
    sshd.write_ssh_config(ssh_config, ["lab-box"])
    host_dir = sshd.home / f"isaacctl-{uuid.uuid4().hex[:6]}"
    if WARP_SEED.is_dir():
        shutil.copytree(WARP_SEED, host_dir / "cache" / "warp")
        subprocess.run(["chown", "-R", f"{sshd.user}:", str(host_dir)], check=True)
    deployed = cli.deploy_ssh(
        "lab",
        "lab-box",
        host_dir,
        "--runtime",
        "pip",
        "--isaaclab-python",
        str(PYTHON),
        "--asset-root",
        str(ASSETS),
    )
    assert deployed.returncode == 0, deployed.stderr
    cli.host_dir = host_dir
    yield cli
    if (host_dir / "cache" / "warp").is_dir():  # for the next run (see WARP_SEED)
        shutil.rmtree(WARP_SEED, ignore_errors=True)
        shutil.copytree(host_dir / "cache" / "warp", WARP_SEED)


@needs_isaaclab
def test_bootstrap_adopts_the_venv_with_a_real_import_and_no_docker(station):
    record = json.loads((station.state_dir / "lab" / "deployment.json").read_text())
    assert record["runtime"] == "pip"
    assert record["isaaclab_python"] == str(PYTHON)
    assert record["isaaclab_version"] == "3.0"  # read from the installed package
    assert record["asset_root"] == str(ASSETS)
    assert record["image"] is None
    steps = record["nodes"][0]["bootstrap"]
    assert {"reach", "facts", "host-folders", "python-env", "isaaclab-import"} <= set(steps)
    assert not set(steps) & {"docker", "container-toolkit", "registry-login", "image-pull", "smoke"}
    log = (station.state_dir / "lab" / "bootstrap.log").read_text()
    assert "isaaclab 3.0.0 imported from" in log
    commands = [line.split("$ ", 1)[1] for line in log.splitlines() if "$ " in line]
    assert not [c for c in commands if "docker" in c], commands  # no Docker, no image, no key
    for folder in ("cache/warp", "cache/computecache", "cache/pip", "jobs"):
        assert (station.host_dir / folder).is_dir()


@needs_isaaclab
def test_a_bootstrap_rerun_asks_the_host_once_and_keeps_the_import(station, sshd):
    def sessions() -> int:  # sshd logs one line per exec request (LogLevel VERBOSE)
        return sshd.log_path.read_text(errors="replace").count("Starting session:")

    before = sessions()
    rerun = station("bootstrap", "lab")
    assert rerun.returncode == 0, rerun.stderr
    assert sessions() - before == 1
    assert re.search(r"isaaclab-import\s+skipped.*up to date", rerun.stderr), rerun.stderr
    record = json.loads((station.state_dir / "lab" / "deployment.json").read_text())
    assert (record["isaaclab_python"], record["isaaclab_version"]) == (str(PYTHON), "3.0")
    # a changed asset root is the import's input: it runs again, for real
    moved = station("bootstrap", "lab", "--asset-root", str(ASSETS.parent))
    assert moved.returncode == 0, moved.stderr
    assert re.search(r"isaaclab-import\s+ok", moved.stderr), moved.stderr
    assert station("bootstrap", "lab", "--asset-root", str(ASSETS)).returncode == 0  # as the later tests expect


@needs_isaaclab
def test_train_follow_then_jobs_fetch_logs_and_metrics_from_the_real_run(station):
    result = station(
        "train",
        "--task",
        "Isaac-Cartpole-v0",
        "--num-envs",
        "16",
        "--max-iterations",
        "3",
        "--rl-library",
        "rsl_rl",
        "--follow",
        timeout=600,
    )
    assert result.returncode == 0, result.stderr + result.stdout[-3000:]
    job = started_id(result)
    assert "running Isaac-Cartpole" in result.stderr  # the 3.x id, with a notice
    assert "-m isaaclab train --rl_library rsl_rl --task Isaac-Cartpole --num_envs 16" in result.stdout
    assert "--device cpu agent.device=cpu" in result.stdout  # --gpus none: kit-less on the CPU
    assert "Learning iteration 2/3" in result.stdout
    assert "[isaacctl] exit status 0" in result.stdout
    listed = job_json(station, job)
    assert listed["status"] == "succeeded" and listed["exit_code"] == 0
    assert listed["last_iteration"] == 2  # from the real TensorBoard events
    assert isinstance(listed["mean_reward"], float)

    fetched = json.loads(station("fetch-logs", job, "--json", check=True).stdout)["data"]["jobs"][0]
    folder = Path(fetched["folder"])
    runs = list((folder / "logs" / "rsl_rl" / "cartpole").iterdir())
    assert len(runs) == 1
    run = json.loads((runs[0] / "run.json").read_text())
    assert run["library"] == "rsl_rl" and run["task"] == "Isaac-Cartpole" and run["version"] == 1
    assert sorted(p.name for p in (folder / "checkpoints").iterdir()) == ["model_0.pt", "model_2.pt"]
    with open(folder / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["step"] for row in rows][:3] == ["0", "1", "2"]
    assert any(row["Train/mean_reward"] for row in rows)  # once episodes have ended
    for tag in ("Train/mean_reward", "Loss/value", "Perf/total_fps", "Policy/mean_std"):
        assert tag in rows[0], sorted(rows[0])
    assert (folder / "output.txt").read_text().count("Learning iteration") == 3
    metrics = station("metrics", job)
    assert metrics.returncode == 0, metrics.stderr
    assert "Train/mean_reward" in metrics.stdout


@needs_isaaclab
def test_train_follow_shows_the_output_once_as_the_host_holds_it(station):
    """The first lines come back with the start and the stream carries on after them: nothing
    twice, nothing missing."""
    result = station("train", "--task", "Isaac-Cartpole-v0", "--num-envs", "16", "--max-iterations", "1", "--follow")
    assert result.returncode == 0, result.stderr + result.stdout[-3000:]
    job = started_id(result)
    written = (station.host_dir / "jobs" / job / "output.txt").read_text()
    assert written.startswith("[isaacctl] running: ")
    assert result.stdout == f"{job}\n{written}"  # the job's id (for scripts), then its output


@needs_isaaclab
def test_logs_follow_a_running_job_then_cancel_ends_the_real_process(station):
    result = station("train", "--task", "Isaac-Cartpole", "--num-envs", "16", "--max-iterations", "5000")
    assert result.returncode == 0, result.stderr
    job = started_id(result)
    follower = subprocess.Popen(
        [os.sys.executable, "-m", "isaacctl", "logs", job, "--follow"],
        env=station.full_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while "Learning iteration" not in station("logs", job, "--tail", "40").stdout:
        assert time.monotonic() < deadline, station("logs", job).stdout[-3000:]
        time.sleep(2)
    assert job_json(station, job)["status"] == "running"
    pid = int((station.host_dir / "jobs" / job / "pid").read_text().split()[0])
    cancelled = station("cancel", job, "--grace", "30", "--json")
    assert cancelled.returncode == 0, cancelled.stderr
    assert json.loads(cancelled.stdout)["data"]["status"] == "cancelled"
    assert not alive(pid)  # the runner has ended
    out, err = follower.communicate(timeout=120)
    assert follower.returncode == 130, err  # the job's own outcome: cancelled
    assert "Learning iteration" in out and "[isaacctl] exit status" in out
    assert group_members(pid) == []  # Isaac Lab saw the SIGINT too: nothing of the job is left


@needs_isaaclab
def test_evaluate_latest_checkpoint_records_a_video_with_newton_gl(station):
    result = station(
        "evaluate",
        "--task",
        "Isaac-Cartpole",
        "--checkpoint",
        "latest",
        "--num-envs",
        "4",
        "--video-length",
        "20",
        "--rl-library",
        "rsl_rl",
        "--follow",
        timeout=600,
    )
    assert result.returncode == 0, result.stderr + result.stdout[-3000:]
    job = started_id(result)
    assert "--video --video_length 20 --viz newton_gl" in result.stdout
    fetched = json.loads(station("fetch-logs", job, "--json", check=True).stdout)["data"]["jobs"][0]
    folder = Path(fetched["folder"])
    assert fetched["videos"] >= 1
    videos = list((folder / "videos").iterdir())
    # the newest finished training's last checkpoint (the cancelled one's, when it ran first)
    assert videos[0].name.startswith("clip_model_") and videos[0].stat().st_size > 1000
    assert list(folder.glob("logs/**/exported/policy.onnx"))


# -- bad input: one error line naming the flag, exit 2 (no venv needed) ------------------------
@pytest.mark.parametrize(
    "args, flag",
    [
        (["--runtime", "podman"], "--runtime"),
        (["--runtime", "pip", "--isaaclab-python", "venv/bin/python"], "--isaaclab-python"),
        (["--runtime", "pip", "--image", "nvcr.io/nvidia/isaac-lab:3.0.0"], "--image"),
        (["--runtime", "pip", "--isaaclab-version", "2.3"], "--isaaclab-version"),
        (["--isaaclab-python", "/opt/venv/bin/python"], "--isaaclab-python"),
        (["--runtime", "pip", "--asset-root", "assets"], "--asset-root"),
    ],
)
def test_bad_runtime_flags_are_refused_naming_the_flag(cli, tmp_path, args, flag):
    result = cli("deploy", "local", "--name", "bad", "--host-dir", str(tmp_path / "host"), "--gpus", "none", *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: {flag}:"), result.stderr
    assert not (cli.state_dir / "bad").exists()


@needs_isaaclab
def test_destroy_of_a_pip_deployment_stops_its_running_jobs(station, sshd, tmp_path):
    """An adopted machine is only forgotten by destroy, but the jobs isaacctl started there are
    not left training for nobody: the pip runtime's process groups are killed."""
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    cli = Cli(state_dir=state, ssh_config=station.ssh_config)
    host_dir = station.host_dir  # the same host folder: warm caches, a job folder of its own
    deployed = cli.deploy_ssh(
        "gone",
        "lab-box",
        host_dir,
        "--runtime",
        "pip",
        "--isaaclab-python",
        str(PYTHON),
        "--asset-root",
        str(ASSETS),
    )
    assert deployed.returncode == 0, deployed.stderr
    job = started_id(cli("train", "--task", "Isaac-Cartpole", "--num-envs", "16", "--max-iterations", "5000"))
    pid_file = host_dir / "jobs" / job / "pid"
    deadline = time.monotonic() + 60
    while not pid_file.is_file():
        assert time.monotonic() < deadline
        time.sleep(0.5)
    pid = int(pid_file.read_text().split()[0])
    assert alive(pid)
    destroyed = cli("destroy", "gone", "--yes")
    assert destroyed.returncode == 0, destroyed.stderr
    deadline = time.monotonic() + 30
    while group_members(pid):
        assert time.monotonic() < deadline, f"the job's processes outlived destroy: {group_members(pid)}"
        time.sleep(0.5)
    assert not (state / "gone").exists()
