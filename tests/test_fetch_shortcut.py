"""`fetch-logs` by its start-up shortcut (cli/fetch_shortcut.py) against a real deployment (the
local provider with the real Docker engine, the ssh provider over the loopback sshd, rsync):
what it prints, its exit status, the files it lays out and the state it leaves are exactly the
full path's (ISAACCTL_NO_SHORTCUTS=1), in every form it answers, on a first fetch and on a
re-fetch; a re-fetch with nothing new imports neither typer, click, pydantic, PyYAML, rich, a
cloud SDK nor the provider registry; forms it does not answer run the full path.
Speed is measured by benchmarks/suites/jobs.py (the fetch-logs re-run row), not asserted here."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

import pytest

from harness.cli import Cli
from harness.own_containers import remove_containers
from test_startup import HEAVY, SDKS, _of, imported

pytestmark = pytest.mark.docker

NAME = "fetchcut"  # a name of its own: other test files remove every container of ws1 when they end
FULL = {"ISAACCTL_NO_SHORTCUTS": "1"}


@pytest.fixture(scope="module", params=["local", "ssh"])
def station(request, tmp_path_factory, sshd, standin_image_local):
    """A bootstrapped deployment with two finished jobs, and a start-up cache of its own."""
    root = tmp_path_factory.mktemp(f"fetch-shortcut-{request.param}")
    state = root / "state"
    state.mkdir(mode=0o700)
    ssh_config = root / "ssh_config"
    ssh_config.touch(mode=0o600)
    cli = Cli(state_dir=state, ssh_config=ssh_config, env={"ISAACCTL_CACHE_DIR": str(root / "cache")})
    where = ["local", "--host-dir", str(root / "host")]
    if request.param == "ssh":
        sshd.write_ssh_config(ssh_config, ["gpu-box"])
        host_dir = str(sshd.home / f"isaacctl-{uuid.uuid4().hex[:6]}")
        where = ["ssh", "--host", "gpu-box", "--host-dir", host_dir]
    cli("deploy", *where, "--name", NAME, "--gpus", "none", "--image", standin_image_local, check=True)
    deployment_id = json.loads(cli("status", NAME, "--json", check=True).stdout)["data"]["id"]
    try:
        for iterations in ("3", "4"):
            cli("train", "--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", iterations, "--follow", check=True)
        jobs = json.loads(cli("jobs", "--json", check=True).stdout)["data"]
        assert len(jobs) == 2 and all(job["status"] == "succeeded" for job in jobs), jobs
        cli.job_ids = sorted(job["id"] for job in jobs)
        yield cli
    finally:
        remove_containers([deployment_id])


def snapshot(*folders: Path) -> dict[str, object]:
    """Every file and link under the folders: its kind, size, content digest, and which files
    are the same inode (the layout's hard links). The inode numbers themselves differ from one
    fetch to the next, and so does the layout marker's signature over them."""
    seen: dict[int, str] = {}
    found: dict[str, object] = {}
    for top in folders:
        for parent, _, names in os.walk(top):
            for name in names:
                path = Path(parent) / name
                info = path.lstat()
                key = str(path)
                if path.is_symlink():
                    found[key] = ("link", os.readlink(path))
                    continue
                first = seen.setdefault(info.st_ino, key)
                content = path.read_bytes()
                if name == ".layout.json":  # its signature holds inode numbers: those of this fetch
                    said = json.loads(content)
                    assert len(said.pop("signature")) == 64
                    content = json.dumps(said).encode()
                found[key] = ("file", info.st_size, hashlib.sha256(content).hexdigest(), first)
    return found


def run_both(cli: Cli, args: list[str], dest: Path) -> None:
    """The full path, then (with dest and the deployment's artifacts removed again) the
    shortcut: the same output, exit status, files and state; then each again with nothing new."""
    state = cli.state_dir / NAME
    artifacts = state / "artifacts"
    outcomes = []
    for env in (FULL, {}):
        for folder in (dest, artifacts):
            shutil.rmtree(folder, ignore_errors=True)
        runs = [cli("fetch-logs", *args, env=env) for _ in range(2)]  # a first fetch, then nothing new
        files = snapshot(dest, artifacts)
        records = snapshot(state / "jobs") | {"deployment.json": (state / "deployment.json").read_text()}
        outcomes.append(([(run.returncode, run.stdout, run.stderr) for run in runs], files, records))
    full, short = outcomes
    assert full[0][0][0] == 0, full[0][0][2]
    assert short == full
    assert "typer" not in imported(cli, "fetch-logs", *args)  # the shortcut did answer


@pytest.mark.parametrize(
    "form",
    [
        [],
        ["-d", NAME],
        [f"--deployment={NAME}", "--json"],
        ["JOB"],
        ["JOB", "--dest", "DEST"],
        ["--dest=DEST", "-d", NAME, "--json"],
    ],
)
def test_the_shortcut_does_what_the_full_path_does(station, tmp_path, form):
    station("list", check=True)  # the records' shapes in the start-up cache
    dest = tmp_path / "dest"
    args = [station.job_ids[0][:-2] if arg == "JOB" else arg for arg in form]  # a prefix of one job
    args = [arg.replace("DEST", str(dest)) for arg in args]
    run_both(station, args, dest)


def test_a_refetch_with_nothing_new_imports_nothing_heavy(station, tmp_path):
    station("list", check=True)
    dest = str(tmp_path / "dest")
    station("fetch-logs", station.job_ids[1], "--dest", dest, check=True)
    modules = imported(station, "fetch-logs", station.job_ids[1], "--dest", dest)
    assert "isaacctl.services.artifacts" in modules  # it did fetch, in this process
    assert not _of(modules, HEAVY + SDKS + ("paramiko", "isaacctl.providers.registry", "importlib.metadata"))
    # the check can fail: the full path imports them
    full = imported(station, "fetch-logs", station.job_ids[1], "--dest", dest, env=FULL)
    assert _of(full, ("typer", "pydantic", "isaacctl.providers.registry")) >= {"typer", "pydantic"}


@pytest.mark.parametrize(
    "form",
    [["--checkpoints", "last"], ["JOB", "JOB"], ["last"], ["--", "JOB"], ["-d", "nosuch"], ["nosuchjob"]],
)
def test_other_forms_run_the_full_path(station, tmp_path, form):
    station("list", check=True)
    args = [station.job_ids[0] if arg == "JOB" else arg for arg in form] + ["--dest", str(tmp_path / "dest")]
    modules = imported(station, "fetch-logs", *args)
    assert "typer" in modules
    full = station("fetch-logs", *args, env=FULL)
    again = station("fetch-logs", *args)
    assert (again.returncode, again.stdout, again.stderr) == (full.returncode, full.stdout, full.stderr)


def test_global_options_before_fetch_logs(station, tmp_path):
    """--state-dir (here naming the folder ISAACCTL_STATE_DIR names too) and -v, as click reads them."""
    station("list", check=True)
    args = ["--state-dir", str(station.state_dir), "-v", "fetch-logs", station.job_ids[1], "--dest", str(tmp_path)]
    station(*args, env=FULL, check=True)  # brought home: both runs below have nothing new
    full = station(*args, env=FULL)
    short = station(*args)
    assert full.returncode == 0, full.stderr
    assert (short.returncode, short.stdout, short.stderr) == (full.returncode, full.stdout, full.stderr)
    assert "typer" not in imported(station, *args)
