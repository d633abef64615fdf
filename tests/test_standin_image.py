"""Tests of the stand-in Isaac Lab image (tests/standin): a test double of the
Isaac Lab container, as isaacctl sees it from outside.

Docker tests build (or reuse) the image with tests/standin/build_image.sh and
run every container with `--network none`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STANDIN = ROOT / "tests" / "standin"
ISAACLAB = STANDIN / "isaaclab"
IMAGE = "isaacctl-standin:test"
RL = "scripts/reinforcement_learning"

sys.path.insert(0, str(ISAACLAB / "_standin_site"))
try:
    from isaaclab_standin import mp4, tfevents  # noqa: E402
finally:
    # its stand-in `torch` and `tensorboard` packages must not shadow the real ones
    sys.path.remove(str(ISAACLAB / "_standin_site"))

pytestmark = pytest.mark.timeout(900)

EVENT_TAGS = {
    "rsl_rl": {
        "Train/mean_reward",
        "Train/mean_episode_length",
        "Loss/value_function",
        "Loss/surrogate",
        "Loss/entropy",
        "Loss/learning_rate",
        "Policy/mean_noise_std",
        "Perf/total_fps",
    },
    "skrl": {"Reward / Total reward (mean)", "Loss / Policy loss", "Episode / Total timesteps (mean)"},
    "rl_games": {"rewards/iter", "episode_lengths/iter", "performance/step_fps", "losses/a_loss"},
    "sb3": {"rollout/ep_rew_mean", "rollout/ep_len_mean", "time/fps", "train/loss"},
}
REWARD_TAG = {
    "rsl_rl": "Train/mean_reward",
    "skrl": "Reward / Total reward (mean)",
    "rl_games": "rewards/iter",
    "sb3": "rollout/ep_rew_mean",
}
TS = r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}"
ITERS = 70  # > rsl_rl save_interval 50, rl_games save_best_after 50, sb3's 1000-step checkpoint (16*70)


# ---------------------------------------------------------------------------
# helpers


def _docker_ok() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def run_standin(
    logs: Path, command: str, env: dict | None = None, timeout: float = 120, volumes: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    cmd = [
        "docker",
        "run",
        "--rm",
        "--network",
        "none",
        # torchrun's rendezvous store listens on the host name: with no network, only a name
        # that resolves to loopback lets the ranks meet (jobs themselves use host networking)
        "--hostname",
        "localhost",
        "-e",
        "STANDIN_ITERATION_SECONDS=0",
        "-v",
        f"{logs}:/workspace/isaaclab/logs",
    ]
    for key, value in (env or {}).items():
        cmd += ["-e", f"{key}={value}"]
    for vol in volumes:
        cmd += ["-v", vol]
    cmd += [IMAGE, "bash", "-c", command]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def only(paths) -> Path:
    paths = list(paths)
    assert len(paths) == 1, paths
    return paths[0]


def mp4_boxes(data: bytes) -> list[bytes]:
    kinds, pos = [], 0
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        assert size >= 8, (pos, size)
        kinds.append(kind)
        pos += size
    assert pos == len(data)
    return kinds


def check_mp4(path: Path) -> None:
    data = path.read_bytes()
    assert 300 < len(data) < 20000
    assert mp4_boxes(data) == [b"ftyp", b"moov", b"mdat"]
    if shutil.which("ffprobe"):
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert probe.returncode == 0, probe.stderr
        assert probe.stdout.strip() == "h264,16,16"


def scalars(event_file: Path) -> dict[str, list]:
    acc_mod = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    acc = acc_mod.EventAccumulator(str(event_file), size_guidance={acc_mod.SCALARS: 0})
    acc.Reload()
    return {tag: acc.Scalars(tag) for tag in acc.Tags()["scalars"]}


# ---------------------------------------------------------------------------
# host-only tests (no Docker): the encoders


def test_crc32c_known_vector():
    assert tfevents.crc32c(b"123456789") == 0xE3069283
    assert tfevents.crc32c(b"") == 0


def test_mp4_structure(tmp_path):
    path = tmp_path / "v.mp4"
    mp4.write_mp4(str(path), frames=8, duration_frames=200)
    check_mp4(path)


def test_event_file_roundtrip(tmp_path):
    writer = tfevents.EventWriter(str(tmp_path))
    for step in range(3):
        writer.add_scalars(step, {"Train/mean_reward": step * 1.5})
    writer.close()
    path = only(tmp_path.glob("events.out.tfevents.*"))
    assert re.fullmatch(r"events\.out\.tfevents\.\d+\.[^.]+.*\.\d+\.0", path.name)
    assert len(list(tfevents.read_records(str(path)))) == 4  # file_version + 3 scalars
    values = scalars(path)["Train/mean_reward"]
    assert [(v.step, v.value) for v in values] == [(0, 0.0), (1, 1.5), (2, 3.0)]


def test_scripts_run_without_docker(tmp_path):
    """The fake scripts are plain python3: run one on the host (cwd = a temp dir)."""
    env = dict(os.environ, STANDIN_ITERATION_SECONDS="0", PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run(
        [
            str(ISAACLAB / "isaaclab.sh"),
            "-p",
            str(ISAACLAB / RL / "rsl_rl" / "train.py"),
            "--task",
            "Isaac-Cartpole-Direct-v0",
            "--headless",
            "--max_iterations",
            "3",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    run = only((tmp_path / "logs" / "rsl_rl" / "cartpole_direct").iterdir())
    assert sorted(p.name for p in run.glob("model_*.pt")) == ["model_0.pt", "model_2.pt"]
    assert "Learning iteration 2/3" in proc.stdout


# ---------------------------------------------------------------------------
# the image


@pytest.fixture(scope="session")
def standin_image() -> str:
    if not _docker_ok():
        pytest.skip("Docker engine not available")
    proc = subprocess.run(["bash", str(STANDIN / "build_image.sh"), IMAGE], capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        pytest.fail(f"build_image.sh failed:\n{proc.stdout}\n{proc.stderr}")
    return IMAGE


@pytest.fixture(scope="module")
def trained(standin_image, tmp_path_factory) -> dict[str, tuple[Path, subprocess.CompletedProcess]]:
    """One Cartpole training per library, ITERS iterations, into one logs folder."""
    logs = tmp_path_factory.mktemp("logs")
    runs = {}
    for lib in ("rsl_rl", "skrl", "rl_games", "sb3"):
        proc = run_standin(
            logs, f"./isaaclab.sh -p {RL}/{lib}/train.py --task Isaac-Cartpole-v0 --headless --max_iterations {ITERS}"
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        runs[lib] = (logs, proc)
    return runs


@pytest.mark.docker
def test_image_label_dirs_and_warm_rebuild(standin_image, tmp_path):
    label = subprocess.run(
        [
            "docker",
            "image",
            "inspect",
            "--format",
            '{{index .Config.Labels "org.isaacctl.standin"}} {{.Config.WorkingDir}}',
            standin_image,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert label == ["true", "/workspace/isaaclab"]
    dirs = [
        "/isaac-sim/kit/cache",
        "/root/.cache/ov",
        "/root/.cache/pip",
        "/root/.cache/nvidia/GLCache",
        "/root/.nv/ComputeCache",
        "/root/.nvidia-omniverse/logs",
        "/root/.local/share/ov/data",
        "/root/Documents",
    ]
    proc = run_standin(tmp_path, " && ".join(f"test -d {d}" for d in dirs) + " && pwd")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "/workspace/isaaclab"
    t0 = time.monotonic()
    rebuild = subprocess.run(
        ["bash", str(STANDIN / "build_image.sh"), standin_image], capture_output=True, text=True, timeout=300
    )
    assert rebuild.returncode == 0, rebuild.stderr
    assert "is cached" in rebuild.stdout
    assert time.monotonic() - t0 < 30


@pytest.mark.docker
def test_isaaclab_sh_exit_codes_and_usage(standin_image, tmp_path):
    proc = run_standin(tmp_path, "./isaaclab.sh -p -c 'import sys; print(\"hi\"); sys.exit(7)'")
    assert proc.returncode == 7
    assert "hi" in proc.stdout
    proc = run_standin(tmp_path, "./isaaclab.sh --install")
    assert proc.returncode == 1
    assert "usage" in proc.stderr
    proc = run_standin(tmp_path, "./isaaclab.sh")
    assert proc.returncode == 1


@pytest.mark.docker
def test_rsl_rl_layout(trained):
    logs, proc = trained["rsl_rl"]
    run = only((logs / "rsl_rl" / "cartpole").iterdir())
    assert re.fullmatch(TS, run.name)
    assert sorted(p.name for p in run.glob("model_*.pt")) == ["model_0.pt", "model_50.pt", "model_69.pt"]
    assert (run / "params" / "env.yaml").is_file() and (run / "params" / "agent.yaml").is_file()
    assert "experiment_name: cartpole" in (run / "params" / "agent.yaml").read_text()
    only(run.glob("events.out.tfevents.*"))
    for i in (0, 69):
        assert f"Learning iteration {i}/{ITERS}" in proc.stdout
    assert len(re.findall(r"^ +Mean reward: -?\d+\.\d\d$", proc.stdout, re.M)) == ITERS
    assert len(re.findall(r"^ +Mean episode length: \d+\.\d\d$", proc.stdout, re.M)) == ITERS
    assert "[INFO] Logging experiment in directory: /workspace/isaaclab/logs/rsl_rl/cartpole" in proc.stdout
    assert (run / "model_69.pt").stat().st_size == pytest.approx(4096, abs=64)
    assert zipfile.is_zipfile(run / "model_69.pt")


@pytest.mark.docker
def test_skrl_layout(trained):
    logs, _ = trained["skrl"]
    run = only((logs / "skrl" / "cartpole").iterdir())
    assert re.fullmatch(TS + "_ppo_torch", run.name)
    ckpts = sorted(p.name for p in (run / "checkpoints").iterdir())
    rollouts, timesteps = 16, 16 * ITERS
    expected = {f"agent_{t}.pt" for t in range(timesteps // 10, timesteps + 1, timesteps // 10)}
    assert set(ckpts) == expected | {"best_agent.pt"}
    assert rollouts
    assert (run / "params" / "agent.yaml").is_file()
    only(run.glob("events.out.tfevents.*"))


@pytest.mark.docker
def test_rl_games_layout(trained):
    logs, proc = trained["rl_games"]
    run = only((logs / "rl_games" / "cartpole").iterdir())
    assert re.fullmatch(TS, run.name)
    names = sorted(p.name for p in (run / "nn").iterdir())
    assert "cartpole.pth" in names
    assert any(re.fullmatch(r"last_cartpole_ep_25_rew_-?\d+\.\d+\.pth", n) for n in names), names
    assert any(re.fullmatch(r"last_cartpole_ep_50_rew_-?\d+\.\d+\.pth", n) for n in names), names
    assert any(re.fullmatch(rf"last_cartpole_ep_{ITERS}_rew__-?\d+\.\d+_\.pth", n) for n in names), names
    only((run / "summaries").glob("events.out.tfevents.*"))
    assert f"epoch: {ITERS}/{ITERS} frames:" in proc.stdout
    assert "MAX EPOCHS NUM!" in proc.stdout


@pytest.mark.docker
def test_sb3_layout(trained):
    logs, proc = trained["sb3"]
    run = only((logs / "sb3" / "Isaac-Cartpole-v0").iterdir())
    assert re.fullmatch(TS, run.name)
    assert sorted(p.name for p in run.glob("*.zip")) == ["model.zip", "model_4096000_steps.zip"]
    assert zipfile.ZipFile(run / "model.zip").namelist()[0] == "data"
    only((run / "PPO_1").glob("events.out.tfevents.*"))
    assert re.search(r"^\|    ep_rew_mean +\| -?[\d.]+ +\|$", proc.stdout, re.M)


@pytest.mark.docker
@pytest.mark.parametrize("lib", ["rsl_rl", "skrl", "rl_games", "sb3"])
def test_event_files_parse_with_tensorboard(trained, lib):
    pytest.importorskip("tensorboard")
    logs, _ = trained[lib]
    event_file = only((logs / lib).rglob("events.out.tfevents.*"))
    assert len(list(tfevents.read_records(str(event_file)))) > ITERS
    data = scalars(event_file)
    assert EVENT_TAGS[lib] <= set(data), set(data)
    rewards = [v.value for v in data[REWARD_TAG[lib]]]
    assert len(rewards) == ITERS
    steps = [v.step for v in data[REWARD_TAG[lib]]]
    assert steps == sorted(steps)
    assert sum(rewards[-10:]) / 10 > sum(rewards[:10]) / 10  # rising
    if lib == "sb3":
        assert len(data["train/loss"]) == ITERS - 1  # sb3 logs train/ from the 2nd rollout on


@pytest.mark.docker
def test_unknown_task_and_unsupported_library(standin_image, tmp_path):
    proc = run_standin(tmp_path, f"./isaaclab.sh -p {RL}/rsl_rl/train.py --task Isaac-Nope-v0 --headless")
    assert proc.returncode == 1
    assert "gymnasium.error.NameNotFound: Environment `Isaac-Nope` doesn't exist." in proc.stderr
    proc = run_standin(tmp_path, f"./isaaclab.sh -p {RL}/sb3/train.py --task Isaac-Ant-Direct-v0 --headless")
    assert proc.returncode == 1
    assert "sb3_cfg_entry_point" in proc.stderr
    proc = run_standin(
        tmp_path, f"./isaaclab.sh -p {RL}/sb3/train.py --task Isaac-Cartpole-v0 --headless --distributed"
    )
    assert proc.returncode == 2
    assert "error: unrecognized arguments: --distributed" in proc.stderr
    assert not any(tmp_path.iterdir())


@pytest.mark.docker
def test_hydra_overrides_and_run_name(standin_image, tmp_path):
    proc = run_standin(
        tmp_path,
        f"./isaaclab.sh -p {RL}/rsl_rl/train.py --task Isaac-Cartpole-Direct-v0 "
        "--headless --run_name demo agent.max_iterations=4 agent.experiment_name=custom "
        "env.scene.num_envs=64 agent.seed=7",
    )
    assert proc.returncode == 0, proc.stderr
    run = only((tmp_path / "rsl_rl" / "custom").iterdir())
    assert re.fullmatch(TS + "_demo", run.name)
    assert sorted(p.name for p in run.glob("model_*.pt")) == ["model_0.pt", "model_3.pt"]
    assert "num_envs: 64" in (run / "params" / "env.yaml").read_text()
    assert "seed: 7" in (run / "params" / "agent.yaml").read_text()
    proc = run_standin(
        tmp_path,
        f"./isaaclab.sh -p {RL}/rsl_rl/train.py --task Isaac-Cartpole-Direct-v0 --headless agent.no_such_key=1",
    )
    assert proc.returncode == 1
    assert "Could not override 'agent.no_such_key'" in proc.stderr


@pytest.mark.docker
def test_rsl_rl_resume_continues_iterations(standin_image, tmp_path):
    base = f"./isaaclab.sh -p {RL}/rsl_rl/train.py --task Isaac-Cartpole-Direct-v0 --headless"
    assert run_standin(tmp_path, f"{base} --max_iterations 3").returncode == 0
    time.sleep(1.1)  # run folders are named by the second
    proc = run_standin(tmp_path, f"{base} --max_iterations 2 --resume --load_run '.*' --checkpoint 'model_.*.pt'")
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"\[INFO\]: Loading model checkpoint from: .*/model_2\.pt", proc.stdout)
    assert "Learning iteration 3/4" in proc.stdout
    newest = sorted((tmp_path / "rsl_rl" / "cartpole_direct").iterdir())[-1]
    assert sorted(p.name for p in newest.glob("model_*.pt")) == ["model_3.pt"]


@pytest.mark.docker
def test_play_with_video_exports_policy(standin_image, tmp_path):
    train = run_standin(
        tmp_path,
        f"./isaaclab.sh -p {RL}/rsl_rl/train.py --task Isaac-Cartpole-Direct-v0 "
        "--headless --max_iterations 3 --video --video_length 20 --video_interval 16",
    )
    assert train.returncode == 0, train.stderr
    run = only((tmp_path / "rsl_rl" / "cartpole_direct").iterdir())
    videos = sorted(p.name for p in (run / "videos" / "train").iterdir())
    assert videos == ["rl-video-step-0.mp4", "rl-video-step-16.mp4"]
    check_mp4(run / "videos" / "train" / "rl-video-step-0.mp4")
    ckpt = f"/workspace/isaaclab/logs/rsl_rl/cartpole_direct/{run.name}/model_2.pt"
    proc = run_standin(
        tmp_path,
        f"./isaaclab.sh -p {RL}/rsl_rl/play.py --task Isaac-Cartpole-Direct-v0 "
        f"--headless --checkpoint {ckpt} --video --video_length 40",
        env={"STANDIN_PLAY_STEP_SECONDS": "0"},
    )
    assert proc.returncode == 0, proc.stderr
    assert f"[INFO]: Loading model checkpoint from: {ckpt}" in proc.stdout
    check_mp4(run / "videos" / "play" / "rl-video-step-0.mp4")
    assert (run / "exported" / "policy.pt").is_file()
    onnx = (run / "exported" / "policy.onnx").read_bytes()
    assert b"Identity" in onnx and b"main_graph" in onnx


@pytest.mark.docker
def test_play_checkpoint_errors(standin_image, tmp_path):
    base = f"./isaaclab.sh -p {RL}/rsl_rl/play.py --task Isaac-Cartpole-Direct-v0 --headless"
    proc = run_standin(tmp_path, f"{base} --checkpoint /workspace/isaaclab/logs/missing.pt")
    assert proc.returncode == 1
    assert "Unable to find the file: /workspace/isaaclab/logs/missing.pt" in proc.stderr
    proc = run_standin(tmp_path, f"{base} --use_pretrained_checkpoint")
    assert proc.returncode == 1
    assert "not available offline" in proc.stderr


def _wait_for(name: str, pattern: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True).stdout
        if re.search(pattern, logs):
            return logs
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} not seen in {name} logs")


def _signal_run(tmp_path, command: str, pattern: str, signal: str, seconds: str = "0.1"):
    name = f"standin-test-{uuid.uuid4().hex[:10]}"
    subprocess.run(
        [
            "docker",
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "none",
            "-e",
            f"STANDIN_ITERATION_SECONDS={seconds}",
            "-e",
            "STANDIN_PLAY_STEP_SECONDS=0.01",
            "-v",
            f"{tmp_path}:/workspace/isaaclab/logs",
            IMAGE,
            "bash",
            "-c",
            command,
        ],
        check=True,
        capture_output=True,
    )
    try:
        _wait_for(name, pattern)
        subprocess.run(["docker", "kill", "--signal", signal, name], check=True, capture_output=True)
        code = int(subprocess.run(["docker", "wait", name], capture_output=True, text=True, timeout=60).stdout.strip())
        out = subprocess.run(["docker", "logs", name], capture_output=True, text=True).stdout
        return code, out
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


@pytest.mark.docker
@pytest.mark.parametrize("lib", ["rsl_rl", "skrl", "rl_games", "sb3"])
def test_sigint_saves_checkpoint_and_exits_130(standin_image, tmp_path, lib):
    pattern = {
        "rsl_rl": r"Learning iteration 3/",
        "skrl": r"\| 64/",
        "rl_games": r"epoch: 4/",
        "sb3": r"iterations +\| 4 ",
    }[lib]
    code, out = _signal_run(
        tmp_path,
        f"./isaaclab.sh -p {RL}/{lib}/train.py --task Isaac-Cartpole-v0 --headless --max_iterations 1000",
        pattern,
        "INT",
    )
    assert code == 130, out
    assert "[INFO] Interrupted: saving checkpoint" in out
    files = [p.name for p in (tmp_path / lib).rglob("*") if p.is_file()]
    if lib == "rsl_rl":
        # the interrupt saves the iteration it landed in (3 or later); the regular saves are 0, 50
        assert any(re.fullmatch(r"model_[1-9]\d*\.pt", f) for f in files), files
    elif lib == "skrl":
        assert any(re.fullmatch(r"agent_\d+\.pt", f) for f in files), files
    elif lib == "rl_games":
        assert any(re.fullmatch(r"last_cartpole_ep_\d+_rew_.*\.pth", f) for f in files), files
    else:
        assert "model.zip" in files


@pytest.mark.docker
def test_sigterm_exits_143(standin_image, tmp_path):
    code, _ = _signal_run(
        tmp_path,
        f"./isaaclab.sh -p {RL}/rsl_rl/train.py --task Isaac-Cartpole-v0 --headless --max_iterations 1000",
        r"Learning iteration 2/",
        "TERM",
    )
    assert code == 143


@pytest.mark.docker
def test_play_without_video_runs_until_sigint(standin_image, tmp_path):
    assert (
        run_standin(
            tmp_path, f"./isaaclab.sh -p {RL}/skrl/train.py --task Isaac-Cartpole-v0 --headless --max_iterations 20"
        ).returncode
        == 0
    )
    code, out = _signal_run(
        tmp_path,
        f"./isaaclab.sh -p {RL}/skrl/play.py --task Isaac-Cartpole-v0 --headless",
        r"play step \d+\n.*play step",
        "INT",
    )
    assert code == 0, out
    assert re.search(r"Loading model checkpoint from: .*/checkpoints/agent_320\.pt", out)


@pytest.mark.docker
def test_distributed_ranks_really_meet_and_rank0_writes_the_run(standin_image, tmp_path):
    """The real torchrun and torch.distributed (gloo): two ranks all-reduce; only rank 0
    writes events, the other its own rank_1/."""
    proc = run_standin(
        tmp_path,
        "./isaaclab.sh -p -m torch.distributed.run --nnodes=1 --nproc_per_node=2 "
        f"{RL}/rsl_rl/train.py --task Isaac-Cartpole-Direct-v0 --headless "
        "--max_iterations 2 --distributed",
    )
    assert proc.returncode == 0, proc.stderr
    assert "rank 1/2 (node 0, local rank 1) joined over gloo: all-reduce sum 3" in proc.stdout
    run = only((tmp_path / "rsl_rl" / "cartpole_direct").iterdir())
    only(run.glob("events.out.tfevents.*"))
    assert json.loads((run / "distributed.json").read_text())["all_reduce_sum"] == 3
    assert json.loads((run / "rank_1" / "distributed.json").read_text())["rank"] == 1
    proc = run_standin(
        tmp_path, f"./isaaclab.sh -p {RL}/rsl_rl/train.py --task Isaac-Cartpole-Direct-v0 --headless --distributed"
    )
    assert proc.returncode == 1


@pytest.mark.docker
def test_list_envs(standin_image, tmp_path):
    proc = run_standin(tmp_path, "./isaaclab.sh -p scripts/environments/list_envs.py --keyword Anymal")
    assert proc.returncode == 0, proc.stderr
    assert "Isaac-Velocity-Rough-Anymal-D-v0" in proc.stdout
    assert "Isaac-Cartpole-v0" not in proc.stdout


@pytest.mark.docker
def test_pip_installs_local_extension_offline(standin_image, tmp_path):
    ext = tmp_path / "ext"
    (ext / "standin_ext").mkdir(parents=True)
    (ext / "standin_ext" / "__init__.py").write_text("VALUE = 42\n")
    (ext / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "standin-ext"\nversion = "0.1.0"\n'
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    proc = run_standin(
        logs,
        "./isaaclab.sh -p -m pip install -e /ext && "
        "./isaaclab.sh -p -c 'import standin_ext; print(\"VALUE\", standin_ext.VALUE)'",
        volumes=(f"{ext}:/ext",),
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "VALUE 42" in proc.stdout


# ---------------------------------------------------------------------------
# Isaac Lab 3 mode (the `isaaclab` command), checked against the 3.0.0 wheel's answers


def run_isaaclab3(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        STANDIN_ITERATION_SECONDS="0",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONPATH=str(ISAACLAB / "_standin_site"),
    )
    return subprocess.run(
        [sys.executable, "-m", "isaaclab", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_3x_train_layout_run_json_and_latest(tmp_path):
    done = run_isaaclab3(
        tmp_path,
        "train",
        "--task",
        "Isaac-Cartpole",
        "--max_iterations",
        "3",
        "--run_timestamp",
        "2026-01-02_03-04-05",
        "--device",
        "cpu",
        "agent.device=cpu",
    )
    assert done.returncode == 0, done.stderr
    run = tmp_path / "logs" / "rsl_rl" / "cartpole" / "2026-01-02_03-04-05"
    assert sorted(p.name for p in run.glob("model_*.pt")) == ["model_0.pt", "model_2.pt"]
    manifest = __import__("json").loads((run / "run.json").read_text())
    assert set(manifest) == {"created_at", "library", "metadata", "task", "version"}
    assert manifest["metadata"] == {"agent": "rsl_rl_cfg_entry_point"} and manifest["task"] == "Isaac-Cartpole"
    assert {"Loss/value", "Policy/mean_std", "Perf/collection_time"} <= set(scalars(only(run.glob("events.*"))))
    assert "Training time:" in done.stdout and "[1/3] Launching simulation" in done.stdout
    play = run_isaaclab3(
        tmp_path,
        "play",
        "--rl_library",
        "rsl_rl",
        "--task",
        "Isaac-Cartpole",
        "--checkpoint",
        "latest",
        "--video",
        "--video_length",
        "5",
        "--viz",
        "newton_gl",
    )
    assert play.returncode == 0, play.stderr
    check_mp4(run / "videos" / "play" / "clip_model_2_0000.mp4")
    assert (run / "exported" / "policy.onnx").exists()


@pytest.mark.parametrize(
    "args, code, said",
    [
        (
            ["train", "--rl_library", "rsl_rl", "--task", "Isaac-Cartpole", "--headless"],
            2,
            "unrecognized arguments: --headless",
        ),
        (
            ["train", "--rl_library", "sb3", "--task", "Isaac-Cartpole", "--run_timestamp", "x"],
            2,
            "unrecognized arguments",
        ),
        (["train", "--rl_library", "rsl_rl", "--task", "Isaac-Cartpole-v0"], 1, "gymnasium.error.DeprecatedEnv"),
        (["train", "--rl_library", "rsl_rl", "--task", "Isaac-Lift-Cube-Franka-v0"], 1, "gymnasium.error.NameNotFound"),
        (["train", "--task", "Isaac-Cartpole-v0"], 2, "the following argument is required: --rl_library"),
        (["play", "--rl_library", "rsl_rl", "--task", "Isaac-Cartpole", "--video"], 1, "needs Isaac Sim"),
    ],
)
def test_3x_refusals_and_exit_codes(tmp_path, args, code, said):
    result = run_isaaclab3(tmp_path, *args)
    assert result.returncode == code and said in result.stderr, result.stderr


def test_3x_list_envs_table(tmp_path):
    result = run_isaaclab3(tmp_path, "list_envs", "--keyword", "Cartpole")
    assert result.returncode == 0
    header = next(line for line in result.stdout.splitlines() if "Task Name" in line)
    assert [cell.strip() for cell in header.strip("|").split("|")] == [
        "S. No.",
        "Task Name",
        "Entry Point",
        "Config",
        "RL Libraries",
    ]
    assert "Available Environments in Isaac Lab" in result.stdout and "-v0" not in result.stdout


@pytest.mark.docker
def test_3x_image_user_version_and_entry_point(tmp_path):
    if not _docker_ok():
        pytest.skip("Docker engine not available")
    image = "isaacctl-standin3:test"
    built = subprocess.run(
        ["bash", str(STANDIN / "build_image.sh"), "--generation", "3", image],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert built.returncode == 0, built.stderr
    probe = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--network",
            "none",
            image,
            "bash",
            "-c",
            "id -u; cat VERSION; python -c 'import importlib.metadata as m; print(m.version(\"isaaclab\"))';"
            " command -v isaaclab; test -e /isaac-sim/python.sh || echo kitless",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.stdout.split() == ["1000", "3.0.0", "3.0.0", "/usr/local/bin/isaaclab", "kitless"], probe.stderr
