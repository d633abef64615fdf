"""`isaacctl benchmark`: figures parsed from both generations' real output formats, the $
arithmetic by hand, and end to end on the stand-in (whose reported steps/s each host's image
sets through STANDIN_FPS) across a local and an ssh deployment, a host that is down, kept runs,
and --create on moto-backed AWS destroyed at the end, also when interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from harness.cli import Cli
from harness.own_containers import deployment_ids, remove_containers_of
from isaacctl.services.benchmark import (
    Result,
    apply_training_log,
    compute_costs,
    parse_create,
    parse_kpi_json,
    parse_rsl_rl_output,
    sort_key,
    type_skip,
)

ROOT = Path(__file__).resolve().parents[1]

# rsl_rl's console block as 2.x and 3.x print it (ANSI bold around the header)
RSL_RL_BLOCK = """################################################################################
                       \x1b[1m Learning iteration {it}/3 \x1b[0m

                       Computation: {fps} steps/s (collection: 0.512s, learning 0.061s)
             Mean action noise std: 0.99
                       Mean reward: {reward}
               Mean episode length: 23.00
--------------------------------------------------------------------------------
                   Total timesteps: 98304
                    Iteration time: 0.57s
                        Time elapsed: 00:00:01
"""


def rsl_rl_output(fps, rewards, training_time):
    text = "[INFO]: Base environment: Isaac-Cartpole-v0\n"
    for it, (rate, reward) in enumerate(zip(fps, rewards, strict=True)):
        text += RSL_RL_BLOCK.format(it=it, fps=rate, reward=reward)
    return text + f"Training time: {training_time} seconds\n"


# Isaac Lab's JSONFileMetrics file, as benchmark_rsl_rl.py / `isaaclab benchmark training` end a session
KPI_JSON = [
    {
        "phase_name": "benchmark_info",
        "measurements": [],
        "metadata": [
            {"name": "benchmark_rsl_rl_train benchmark_info max_iterations", "data": 10},
            {"name": "benchmark_rsl_rl_train benchmark_info num_envs", "data": 4096},
        ],
    },
    {
        "phase_name": "startup",
        "metadata": [],
        "measurements": [
            {"name": "benchmark_rsl_rl_train startup App Launch Time", "value": 9120.5, "unit": "ms"},
            {
                "name": "benchmark_rsl_rl_train startup Total Start Time (Launch to Train)",
                "value": 31250.0,
                "unit": "ms",
            },
        ],
    },
    {
        "phase_name": "runtime",
        "metadata": [],
        "measurements": [
            {"name": "benchmark_rsl_rl_train runtime Min Total FPS", "value": 101000.0, "unit": "FPS"},
            {"name": "benchmark_rsl_rl_train runtime Mean Total FPS", "value": 125000.0, "unit": "FPS"},
        ],
    },
    {
        "phase_name": "train",
        "metadata": [],
        "measurements": [{"name": "benchmark_rsl_rl_train train Max Rewards", "value": 4.92, "unit": "float"}],
    },
]


# -- parsing and arithmetic ---------------------------------------------------------------------
def test_rsl_rl_blocks_give_steps_per_second_without_the_warm_up_iteration():
    log = parse_rsl_rl_output(rsl_rl_output([20000, 50000, 52000, 54000], [0.5, 1.0, 3.0, 4.0], 8.0))
    assert [it.index for it in log.iterations] == [0, 1, 2, 3]
    assert log.iterations[0].total == 3 and log.training_time_s == 8.0
    result = Result(deployment="ws1", provider="local", usd_per_hour=1.80)
    apply_training_log(result, log, wall_s=20.0, target=2.5)
    assert result.env_steps_per_s == 52000.0  # (50000 + 52000 + 54000) / 3: iteration 0 is warm-up
    assert result.iterations == 4 and result.iterations_per_s == 0.5  # 4 iterations in 8 s
    assert result.startup_s == 12.0  # 20 s on the host, 8 s of them training
    assert result.time_to_iterations_s == 20.0
    assert result.time_to_target_s == 18.0  # 3rd of 4 iterations: 12 + 8 * 3/4
    compute_costs(result)
    assert result.usd_per_million_steps == pytest.approx(1.80 / 3600 / 52000 * 1e6)  # $0.009615
    assert result.usd_per_million_steps == pytest.approx(0.0096154, rel=1e-4)
    assert result.usd_to_target == pytest.approx(1.80 * 18 / 3600)  # $0.009
    assert result.usd_run == pytest.approx(0.01)  # 1.80 $/h for 20 s


def test_a_target_never_reached_has_no_dollars_to_it():
    log = parse_rsl_rl_output(rsl_rl_output([1000, 1000], [0.1, 0.2], 2.0))
    result = Result(deployment="ws1", provider="local", usd_per_hour=1.0)
    apply_training_log(result, log, wall_s=3.0, target=5.0)
    compute_costs(result)
    assert result.time_to_target_s is None and result.usd_to_target is None
    assert result.usd_per_million_steps == pytest.approx(1.0 / 3.6)  # 1000 steps/s: $0.2778 per million


def test_isaac_lab_kpi_json_gives_mean_total_fps_and_start_up():
    kpis = parse_kpi_json(json.dumps(KPI_JSON))
    assert kpis.env_steps_per_s == 125000.0
    assert kpis.startup_s == 31.25
    assert kpis.max_iterations == 10 and kpis.max_reward == 4.92


def test_ranking_puts_the_cheapest_result_first_and_failures_last():
    cheap = Result("a", "aws", usd_per_million_steps=0.01)
    dear = Result("b", "gcp", usd_per_million_steps=0.02)
    target = Result("c", "gcp", usd_per_million_steps=0.05, usd_to_target=0.3)
    unpriced = Result("d", "ssh", env_steps_per_s=9e9)
    down = Result("e", "ssh", status="failed", reason="host down")
    assert [r.deployment for r in sorted([down, unpriced, dear, cheap, target], key=sort_key)] == [
        "c",
        "a",
        "b",
        "d",
        "e",
    ]


def test_types_without_rt_cores_are_skipped_only_under_isaac_sim():
    assert "no RT cores" in type_skip("alibaba", "ecs.gn7e-c16g1.4xlarge", isaac_sim=True)
    assert type_skip("alibaba", "ecs.gn7e-c16g1.4xlarge", isaac_sim=False) is None
    assert type_skip("aws", "g6e.2xlarge", isaac_sim=True) is None


def test_create_items_are_provider_and_type():
    assert parse_create("aws:g6e.2xlarge, gcp:g2-standard-8") == [("aws", "g6e.2xlarge"), ("gcp", "g2-standard-8")]


@pytest.mark.parametrize(
    "args,flag",
    [
        (["--on", "ws1"], "--task"),
        (["--task", "Isaac-Cartpole"], "--on"),
        (["--task", "Isaac-Cartpole", "--on", "Bad_Name"], "--on"),
        (["--task", "Isaac-Cartpole", "--on", "nope"], "--on"),
        (["--task", "Isaac-Cartpole", "--on", "ws1", "--num-envs", "0"], "--num-envs"),
        (["--task", "Isaac-Cartpole", "--on", "ws1", "--timeout", "nan"], "--timeout"),
        (["--task", "Isaac-Cartpole", "--on", "ws1", "--price", "ws1=cheap"], "--price"),
        (["--task", "Isaac-Cartpole", "--on", "ws1", "--method", "fast"], "--method"),
        (["--task", "Isaac-Cartpole", "--on", "ws1", "--image", "x:1"], "--image"),
        (["--task", "Isaac-Cartpole", "--create", "aws"], "--create"),
        (["--task", "Isaac-Cartpole", "--create", "nowhere:big"], "--create"),
        (["--report", "--on", "ws1"], "--report"),
        (["--task", "Isaac-Cartpole", "--on", "ws1", "--plot", "/no/such/folder/x.png"], "--plot"),
    ],
)
def test_bad_input_is_one_error_line_naming_the_flag(cli, args, flag, tmp_path):
    cli("deploy", "local", "--name", "ws1", "--host-dir", str(tmp_path / "host"), "--skip-bootstrap", check=True)
    result = cli("benchmark", *args)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("error:") and flag in lines[0], result.stderr
    assert result.stdout == ""


def test_plot_imports_matplotlib_only_when_asked():
    probe = "import sys; import isaacctl.cli.benchmark, isaacctl.services.benchmark; print('matplotlib' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert shown.strip() == "False"


# -- on the stand-in, two hosts, two providers --------------------------------------------------
def fps_image(base: str, fps: int) -> str:
    """The stand-in image with its reported steps/s set (a derived image: one per host)."""
    ref = f"isaacctl-test/bench-fps-{fps}:{base.rsplit(':', 1)[-1]}"
    built = subprocess.run(
        ["docker", "build", "--network", "none", "-t", ref, "-"],
        capture_output=True,
        text=True,
        input=f"FROM {base}\nENV STANDIN_FPS={fps}\n",
        env=dict(os.environ, DOCKER_BUILDKIT="0"),
    )
    assert built.returncode == 0, built.stderr
    return ref


@pytest.fixture(scope="module")
def standin3(docker_ready) -> str:
    ref = os.environ.get("ISAACCTL_TEST_IMAGE3_LOCAL") or "isaacctl-test/isaac-lab:3.0.0"
    if subprocess.run(["docker", "image", "inspect", ref], capture_output=True).returncode != 0:
        built = subprocess.run(
            ["bash", str(ROOT / "tests/standin/build_image.sh"), "--generation", "3", ref],
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert built.returncode == 0, built.stderr[-2000:]
    return ref


@pytest.fixture(scope="module")
def bench(tmp_path_factory, sshd, standin_image_local, standin3):
    """wsa: local, Isaac Lab 2.x stand-in at 40000 steps/s; wsb: ssh, 3.x at 80000."""
    root = tmp_path_factory.mktemp("bench")
    state = root / "state"
    state.mkdir(mode=0o700)
    ssh_config = root / "ssh_config"
    ssh_config.touch(mode=0o600)
    cli = Cli(state_dir=state, ssh_config=ssh_config)
    sshd.write_ssh_config(ssh_config, ["gpu-box"])
    cli(
        "deploy",
        "local",
        "--name",
        "wsa",
        "--host-dir",
        str(root / "host"),
        "--gpus",
        "none",
        "--image",
        fps_image(standin_image_local, 40000),
        check=True,
        timeout=600,
    )
    cli(
        "deploy",
        "ssh",
        "--name",
        "wsb",
        "--host",
        "gpu-box",
        "--gpus",
        "none",
        "--image",
        fps_image(standin3, 80000),
        "--host-dir",
        str(sshd.home / f"isaacctl-{uuid.uuid4().hex[:6]}"),
        check=True,
        timeout=600,
    )
    ours = deployment_ids(cli.state_dir, ["wsa", "wsb"])
    yield cli
    remove_containers_of(cli.state_dir, ["wsa", "wsb"], also=ours)


def by_name(data):
    return {row["deployment"]: row for row in data["results"]}


@pytest.mark.docker
def test_two_hosts_both_generations_ranked_in_dollars(bench, tmp_path):
    csv_path, png = tmp_path / "bench.csv", tmp_path / "bench.png"
    result = bench(
        "benchmark",
        "--task",
        "Isaac-Cartpole",
        "--num-envs",
        "4096",
        "--iterations",
        "6",
        "--on",
        "wsa,wsb",
        "--price",
        "wsa=1.0",
        "--price",
        "wsb=3.0",
        "--reward-target",
        "0.5",
        "--json",
        "--csv",
        str(csv_path),
        "--plot",
        str(png),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)["data"]
    rows = by_name(data)
    a, b = rows["wsa"], rows["wsb"]
    assert a["status"] == b["status"] == "ok", (a["reason"], b["reason"])
    # 2.x: its benchmark script writes into the container's temp folder, so a timed training
    assert a["method"] == "timed training" and a["isaaclab_version"] == "2.3"
    assert b["method"] == "isaaclab benchmark training" and b["isaaclab_version"] == "3.0"
    assert a["env_steps_per_s"] == pytest.approx(40000, rel=0.1)  # the stand-in's +-3 % noise
    assert b["env_steps_per_s"] == 80000.0  # Mean Total FPS of the KPI JSON
    assert b["startup_s"] == 2.0
    assert a["iterations"] == 6 and a["iterations_per_s"] > 0 and a["time_to_iterations_s"] > 0
    # $ per million steps by hand: $/h / 3600 s / (steps/s) * 1e6
    assert b["usd_per_million_steps"] == pytest.approx(3.0 / 3600 / 80000 * 1e6)  # $0.0104167
    assert a["usd_per_million_steps"] == pytest.approx(1.0 / 3600 / a["env_steps_per_s"] * 1e6)
    assert a["time_to_target_s"] is not None
    assert a["usd_to_target"] == pytest.approx(1.0 * a["time_to_target_s"] / 3600)
    assert data["ranked"] == ["wsa", "wsb"]
    assert "Isaac-Cartpole, 4096 envs, 6 iterations" in data["conditions"]
    assert a["price_source"] == "--price" and a["gpu"] == "none"
    lines = csv_path.read_text().splitlines()
    assert lines[0].startswith("# Isaac-Cartpole") and lines[1].startswith("rank,deployment")
    assert lines[2].startswith("1,wsa,local") and lines[3].startswith("2,wsb,ssh")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    table = bench("benchmark", "--task", "Isaac-Cartpole", "--iterations", "4", "--on", "wsa,wsb", timeout=600)
    assert table.returncode == 0, table.stderr
    assert "$/M steps" in table.stdout and "conditions: Isaac-Cartpole, 4096 envs, 4 iterations" in table.stdout
    assert "no price: --price NAME=USD" in table.stdout

    report = bench("benchmark", "--report", "--json")
    runs = json.loads(report.stdout)["data"]
    assert [run["iterations"] for run in runs][-2:] == [6, 4]
    kept = sorted((bench.state_dir / ".benchmarks").glob("bench-*.json"))
    assert len(kept) >= 2 and oct(kept[0].stat().st_mode & 0o777) == "0o600"
    text = bench("benchmark", "--report", "--task", "Isaac-Cartpole")
    assert text.returncode == 0 and "wsa" in text.stdout and "wsb" in text.stdout


@pytest.mark.docker
def test_a_host_that_is_down_is_reported_and_the_rest_still_compared(bench):
    config = bench.ssh_config.read_text()
    # gpu-box now leads to a port where nothing listens
    down = "\n".join("  Port 1" if line.strip().startswith("Port ") else line for line in config.splitlines())
    bench.ssh_config.write_text(down + "\n")
    try:
        result = bench(
            "benchmark",
            "--task",
            "Isaac-Cartpole",
            "--iterations",
            "3",
            "--on",
            "wsa,wsb",
            "--price",
            "wsa=0.5",
            "--json",
            timeout=600,
        )
    finally:
        bench.ssh_config.write_text(config)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)["data"]
    rows = by_name(data)
    assert rows["wsa"]["status"] == "ok" and rows["wsa"]["usd_per_million_steps"] > 0
    assert rows["wsb"]["status"] == "failed" and rows["wsb"]["reason"]
    assert data["ranked"] == ["wsa", "wsb"]


# -- --create on moto-backed AWS ------------------------------------------------------------------
@pytest.fixture
def routed(aws, cli, sshd):
    sshd.write_ssh_config(cli.ssh_config, ["*"])
    return aws


def test_create_asks_first_with_the_total_and_skips_a_type_isaac_sim_cannot_use(routed, cli):
    refused = cli(
        "benchmark",
        "--task",
        "Isaac-Cartpole-v0",
        "--isaaclab-version",
        "2.3",
        "--skip-bootstrap",
        "--create",
        "aws:g6e.2xlarge,alibaba:ecs.gn7e-c16g1.4xlarge",
        "--timeout",
        "1800",
    )
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert "estimated total: $" in refused.stderr
    assert "bench-aws-g6e-2xlarge: aws g6e.2xlarge, about $2.2" in refused.stderr
    assert "skipped: NVIDIA A100 80 GB has no RT cores" in refused.stderr
    assert routed.tagged("bench-aws-g6e-2xlarge") == []


@pytest.mark.docker
def test_created_deployments_are_destroyed_after_the_run(routed, cli):
    result = cli(
        "benchmark",
        "--task",
        "Isaac-Cartpole",
        "--create",
        "aws:g6e.2xlarge",
        "--skip-bootstrap",
        "--yes",
        "--json",
        timeout=600,
    )
    # not bootstrapped: its row says so, and it is gone all the same
    assert result.returncode == 1, result.stderr
    row = by_name(json.loads(result.stdout)["data"])["bench-aws-g6e-2xlarge"]
    assert row["status"] == "failed" and "not ready for jobs" in row["reason"] and row["created"]
    assert routed.tagged("bench-aws-g6e-2xlarge") == []
    assert not (cli.state_dir / "bench-aws-g6e-2xlarge").exists()


@pytest.mark.docker
def test_created_deployments_are_destroyed_when_the_benchmark_is_interrupted(
    routed, cli, tmp_path, standin_image_local
):
    cli(
        "deploy",
        "local",
        "--name",
        "slow",
        "--host-dir",
        str(tmp_path / "host"),
        "--gpus",
        "none",
        "--image",
        fps_image(standin_image_local, 1000),
        check=True,
        timeout=600,
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "isaacctl",
            "benchmark",
            "--task",
            "Isaac-Cartpole",
            "--iterations",
            "100000",
            "--on",
            "slow",
            "--create",
            "aws:g6e.2xlarge",
            "--skip-bootstrap",
            "--yes",
        ],
        env=cli.full_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            jobs = list((cli.state_dir / "slow" / "jobs").glob("*.json"))
            if jobs and json.loads(jobs[0].read_text())["status"] == "running":
                break
            time.sleep(0.5)
        else:
            pytest.fail("the benchmark job never started")
        assert routed.tagged("bench-aws-g6e-2xlarge") != []  # made, and alive mid-run
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "destroying bench-aws-g6e-2xlarge" in stderr
    assert routed.tagged("bench-aws-g6e-2xlarge") == []
    assert not (cli.state_dir / "bench-aws-g6e-2xlarge").exists()
    job = json.loads(next((cli.state_dir / "slow" / "jobs").glob("*.json")).read_text())
    assert job["status"] in ("cancelled", "failed") or job["cancel_requested"]
    kept = json.loads(next((cli.state_dir / ".benchmarks").glob("bench-*.json")).read_text())
    assert kept["interrupted"] is True
    cli("destroy", "slow", "--yes", check=True)
