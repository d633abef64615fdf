"""Distributed training (issue 13): the time from `train --nodes 2` to the first logged
iteration with every node training, beside single-node jobs on the same deployment in the same
run: one rank (no torch.distributed at all) and two ranks on one node (the same torch start-up
and rendezvous, without a second node). Two nodes are two loopback sshd servers sharing the Docker engine (tests/plugins/labcloud.py,
as tests/test_distributed.py), the stand-in image with the real torch.distributed (gloo).

Rank 0 (node 0) logs the iterations; every iteration ends in an all-reduce over all ranks, so
its first logged iteration is also the moment every node has run one. "Joined" is when the last
rank's rendezvous completed (the stand-in's line, each node's own output)."""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from suites.common import row
from suites.station import docker_env

TESTS = Path(__file__).resolve().parents[2] / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from harness.cli import Cli  # noqa: E402
from harness.sshd import SshServer, TwinSshServer  # noqa: E402

PLUGIN = TESTS / "plugins" / "labcloud.py"
ITERATION = re.compile(r"Learning iteration \d+/")
JOINED = re.compile(r"\[STANDIN\] rank \d+/\d+ .* joined")


def _site(root: Path) -> Path:
    site = root / "site"
    (site / "isaacctl_labcloud").mkdir(parents=True)
    shutil.copy(PLUGIN, site / "isaacctl_labcloud" / "__init__.py")
    dist = site / "isaacctl_labcloud-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: isaacctl-labcloud\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[isaacctl.providers]\nlabcloud = isaacctl_labcloud:LabCloud\n")
    return site


def _first(path: Path, pattern: re.Pattern[str], count: int = 1) -> bool:
    try:
        return len(pattern.findall(path.read_text(errors="replace"))) >= count
    except OSError:
        return False


def _one(cli: Cli, host_dir: Path, nodes: int, gpus: int) -> dict[str, float]:
    """One job: seconds from `train` to the job id, to every rank joined, to the first iteration."""
    start = time.perf_counter()
    result = cli(
        "train",
        "-d",
        "duo",
        "--task",
        "Isaac-Cartpole-Direct",
        "--nodes",
        str(nodes),
        "--gpus",
        str(gpus),
        "--max-iterations",
        "3",
        timeout=300,
    )
    submitted = time.perf_counter() - start
    job = re.search(r"started (train-\S+)", result.stderr)
    assert result.returncode == 0 and job, result.stderr
    job_id = job.group(1)
    outputs = [host_dir / "jobs" / (job_id if k == 0 else f"{job_id}-node{k}") / "output.txt" for k in range(nodes)]
    joined = first = None
    while time.perf_counter() - start < 300 and first is None:
        now = time.perf_counter() - start
        if joined is None and all(_first(path, JOINED) for path in outputs):
            joined = now
        if _first(outputs[0], ITERATION):
            first = now
            joined = joined if joined is not None else now
        time.sleep(0.05)
    assert first is not None, f"no iteration logged by {job_id}"
    return {"submitted": submitted, "joined": joined or first, "first": first}


def run(repeat: int | None = None) -> list[dict]:
    repeat = repeat or 3
    docker_env.ensure_docker()
    image = os.environ.get("ISAACCTL_TEST_IMAGE3_LOCAL") or "isaacctl-test/isaac-lab:3.0.0"
    with tempfile.TemporaryDirectory(prefix="isaacctl-bench-dist-") as scratch, SshServer() as sshd:
        twin = TwinSshServer(sshd).start()
        try:
            root = Path(scratch)
            (root / "state").mkdir(mode=0o700)
            first, second = root / "cfg-a", root / "cfg-b"
            sshd.write_ssh_config(first, ["node-a"])
            twin.write_ssh_config(second, ["node-b"])
            ssh_config = root / "ssh_config"
            ssh_config.write_text(first.read_text() + "\n" + second.read_text())
            cli = Cli(state_dir=root / "state", ssh_config=ssh_config)
            cli.env["PYTHONPATH"] = str(_site(root))
            host_dir = sshd.home / f"isaacctl-bench-{uuid.uuid4().hex[:6]}"
            cli(
                "deploy",
                "labcloud",
                "--name",
                "duo",
                "--hosts",
                "node-a,node-b",
                "--cloud-dir",
                str(root / "cloud"),
                "--private-ips",
                "127.0.0.1,127.0.0.1",
                "--host-dir",
                str(host_dir),
                "--yes",
                "--skip-bootstrap",
                check=True,
            )
            cli("bootstrap", "duo", "--gpus", "none", "--image", image, "--allow-low-disk", check=True, timeout=600)
            shapes = [(1, 1), (1, 2), (2, 1)]
            runs: dict[tuple[int, int], list[dict]] = {shape: [] for shape in shapes}
            for attempt in range(repeat):  # rotating which goes first
                for shape in shapes[attempt % 3 :] + shapes[: attempt % 3]:
                    runs[shape].append(_one(cli, host_dir, *shape))
            deployment_id = json.loads(cli("status", "duo", "--json", check=True).stdout)["data"]["id"]
            ids = subprocess.run(
                ["docker", "ps", "-aq", "--filter", f"label=isaacctl.deployment-id={deployment_id}"],
                capture_output=True,
                text=True,
            ).stdout.split()
            if ids:
                subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)
        finally:
            twin.close()

    def median(runs: list[dict], key: str) -> float:
        return statistics.median(run[key] for run in runs)

    single, local, double = runs[(1, 1)], runs[(1, 2)], runs[(2, 1)]
    return [
        row("train --nodes 1 --gpus 1: command returns (reference)", median(single, "submitted")),
        row("train --nodes 1 --gpus 1: first logged iteration (no torch.distributed)", median(single, "first")),
        row("train --nodes 1 --gpus 2: first logged iteration (2 ranks, one node)", median(local, "first")),
        row(
            "train --nodes 2 --gpus 1: command returns (both nodes started)",
            median(double, "submitted"),
            reference=median(single, "submitted"),
            against="--nodes 1",
        ),
        row("train --nodes 2 --gpus 1: every rank joined the rendezvous", median(double, "joined")),
        row(
            "train --nodes 2 --gpus 1: first logged iteration, every node past it",
            median(double, "first"),
            reference=median(local, "first"),
            against="2 ranks on one node",
            goal="< 1.5x 2 ranks on one node",
        ),
    ]
