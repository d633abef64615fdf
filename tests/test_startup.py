"""Start-up shortcuts, through the real CLI in subprocesses, against a state folder holding
deployments of every provider (aws, gcp, azure, alibaba, ssh, local):

- `--help`, `isaacctl` alone, `list` and `status NAME` (with --json) answered by a shortcut
  (cli/shortcuts.py, the start-up cache) print exactly what the full typer path prints
  (ISAACCTL_NO_SHORTCUTS=1),
  on a cold cache and on a warm one; records not in this release's form, and broken ones, too;
- `list`, `status`, `jobs` and `logs` import no cloud SDK (read from `-X importtime`), and a warm
  `list` or `status` imports neither typer, click, pydantic nor PyYAML.
Speed itself is measured by benchmarks/suites/startup.py, not asserted here."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from harness.cli import Cli, run_guarded
from isaacctl.records import (
    AutostopDecision,
    AutostopSettings,
    DeploymentRecord,
    GpuFact,
    HostFacts,
    JobRecord,
    Node,
    SshEndpoint,
    StepRecord,
)
from isaacctl.state import StateStore

CLOUD_TYPES = {
    "aws": "g6e.xlarge",
    "gcp": "g2-standard-4",
    "azure": "Standard_NV36ads_A10_v5",
    "alibaba": "ecs.gn7i-c8g1.2xlarge",
}
PROVIDERS = (*CLOUD_TYPES, "ssh", "local")
SDKS = ("boto3", "botocore", "google.cloud", "google.auth", "azure", "alibabacloud", "Tea")
HEAVY = ("typer", "click", "pydantic", "yaml", "rich")
# Hours ago, not "now": what list shows must not change between the runs compared.
MADE = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=3, hours=2)


def _node(provider: str, index: int, name: str) -> Node:
    facts = HostFacts(os="Ubuntu 22.04", cpus=8, gpus=[GpuFact(model="NVIDIA L40S", memory_mib=46068)] * (index + 1))
    steps = {
        "reach": StepRecord(status="ok", digest="d1", finished_at=MADE, duration_s=1.5),
        "docker": StepRecord(status="skipped", digest="d2", finished_at=MADE, duration_s=0.25, message="present"),
    }
    if provider == "local":
        return Node(index=index, facts=facts, bootstrap=steps)
    # a closed loopback port: jobs and logs try the host and fail fast, inside the guard
    ssh = SshEndpoint(host="127.0.0.1", port=1, user="ubuntu", host_key_alias=f"{name}-{index}")
    return Node(
        index=index,
        role="head" if index == 0 else "worker",
        instance_id=f"i-{name}-{index}" if provider in CLOUD_TYPES else None,
        public_ip="127.0.0.1",
        private_ip=f"10.0.0.{index + 4}",
        ssh=ssh,
        state="stopped" if provider in CLOUD_TYPES else None,
        state_at=MADE,
        facts=facts,
        bootstrap=steps,
    )


def _events(record: DeploymentRecord) -> list[dict]:
    """An instance made (per node) and stopped later: a cost that does not grow meanwhile."""
    made = MADE.timestamp()
    events: list[dict] = []
    for node in record.nodes:
        events.append({"ts": made, "event": "resource.creating", "kind": "instance", "id": f"tok-{node.index}"})
        events.append(
            {
                "ts": made + 60,
                "event": "resource.created",
                "kind": "instance",
                "id": node.instance_id,
                "client_token": f"tok-{node.index}",
                "instance_type": record.instance_type,
                "market": record.market,
            }
        )
    events.append({"ts": made + 3 * 3600, "event": "stop.done"})
    return events


def fill(state: Path, count: int) -> list[DeploymentRecord]:
    """`count` deployments, the providers in turn; clouds with 1-2 nodes, prices and autostop."""
    store = StateStore(state)
    records = []
    for index in range(count):
        provider = PROVIDERS[index % len(PROVIDERS)]
        name = f"{provider}-{index:02d}"
        cloud = provider in CLOUD_TYPES
        record = DeploymentRecord(
            name=name,
            provider=provider,
            status="stopped" if cloud else "ready",
            region="region-1" if cloud else None,
            instance_type=CLOUD_TYPES.get(provider),
            market=("spot" if index % 2 else "on-demand") if cloud else None,
            image="nvcr.io/nvidia/isaac-lab:2.2.0",
            host_root="/home/ubuntu/isaacctl",
            options={"region": "region-1", "nodes": 1 + index % 2} if cloud else {},
            nodes=[_node(provider, n, name) for n in range(1 + (index % 2 if cloud else 0))],
            created_at=MADE,
            autostop=AutostopSettings(idle_seconds=1800, set_at=MADE) if cloud else None,
            autostop_decision=AutostopDecision(at=MADE, decision="active", read_at=MADE) if cloud else None,
        )
        store.save(record)
        if cloud:
            events = "".join(json.dumps(event) + "\n" for event in _events(record))
            store.paths(name).events.write_text(events)
        records.append(record)
    return records


def add_open_job(state: Path, record: DeploymentRecord) -> JobRecord:
    job = JobRecord(
        id=f"train-{record.name}",
        deployment=record.name,
        mode="train",
        task="Isaac-Cartpole-Direct-v0",
        rl_library="rsl_rl",
        spec={},
        command=["true"],
        container=f"isaacctl-{record.name}-train",
        host_dir=f"/home/ubuntu/isaacctl/jobs/train-{record.name}",
        status="running",
        created_at=MADE,
        started_at=MADE,
    )
    StateStore(state).save_job(job)
    return job


@pytest.fixture
def every_provider(cli: Cli, tmp_path) -> Cli:
    """The cli fixture over 12 deployments (two of each provider), with its own start-up cache."""
    fill(cli.state_dir, 12)
    cli.env["ISAACCTL_CACHE_DIR"] = str(tmp_path / "cache")
    return cli


def _same_as_full_path(cli: Cli, *args: str) -> None:
    full = cli(*args, env={"ISAACCTL_NO_SHORTCUTS": "1"})
    for attempt in ("cold cache", "warm cache"):
        quick = cli(*args)
        assert (quick.returncode, _steady(quick.stdout), quick.stderr) == (
            full.returncode,
            _steady(full.stdout),
            full.stderr,
        ), attempt


def _steady(text: str) -> str:
    """status counts the seconds since the watchdog's last decision: a second may pass between runs."""
    return re.sub(r"\b\d+s ago\)", "Ns ago)", text)


@pytest.mark.parametrize("args", [["--help"], ["-h"], []], ids=["--help", "-h", "no-arguments"])
def test_the_cached_help_is_typers_own(every_provider, args):
    _same_as_full_path(every_provider, *args)
    cached = list((Path(every_provider.env["ISAACCTL_CACHE_DIR"])).glob("help-*"))
    assert len(cached) == 1, "the help is answered from the cache once it is there"


def test_no_arguments_prints_the_help_and_exits_2(every_provider):
    result = every_provider()
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("Usage: isaacctl [OPTIONS] COMMAND [ARGS]...\n")
    assert "\nCommands:\n" in result.stderr


def test_the_help_cache_follows_the_terminal_width(every_provider):
    wide = every_provider("--help", env={"COLUMNS": "200"})
    narrow = every_provider("--help", env={"COLUMNS": "60"})
    narrow_again = every_provider("--help", env={"COLUMNS": "60"})
    full_narrow = every_provider("--help", env={"COLUMNS": "60", "ISAACCTL_NO_SHORTCUTS": "1"})
    assert narrow.stdout == narrow_again.stdout == full_narrow.stdout
    assert max(map(len, narrow.stdout.splitlines())) <= 60 < max(map(len, wide.stdout.splitlines()))


@pytest.mark.parametrize(
    "args",
    [["list"], ["list", "--json"], ["-v", "list"], ["--ssh-config", "/nonexistent", "list", "--json"]],
    ids=" ".join,
)
def test_list_by_the_shortcut_prints_what_the_full_path_prints(every_provider, args):
    _same_as_full_path(every_provider, *args)
    shown = every_provider(*args).stdout
    for provider in PROVIDERS:
        assert f"{provider}-" in shown


def test_state_dir_flag_in_the_shortcut(every_provider, tmp_path):
    other = tmp_path / "other"
    fill(other, 3)
    _same_as_full_path(every_provider, "--state-dir", str(other), "list")
    _same_as_full_path(every_provider, f"--state-dir={other}", "list", "--json")
    assert "alibaba-03" not in every_provider("--state-dir", str(other), "list").stdout


def test_records_in_another_form_are_read_by_pydantic_with_the_same_result(every_provider):
    """An older record (no runtime field, a v1 schema) and a hand-edited one (an int where a float
    is written) are not in this release's form: read the slow way, shown the same."""
    state = every_provider.state_dir
    older = json.loads((state / "aws-00" / "deployment.json").read_text())
    del older["runtime"]
    (state / "aws-00" / "deployment.json").write_text(json.dumps(older))
    edited = json.loads((state / "gcp-01" / "deployment.json").read_text())
    edited["nodes"][0]["bootstrap"]["reach"]["duration_s"] = 2
    (state / "gcp-01" / "deployment.json").write_text(json.dumps(edited))
    v1 = {
        "name": "old-one",
        "provider": "ssh",
        "status": "ready",
        "options": {},
        "nodes": [{"index": 0, "ssh": {"host": "127.0.0.1", "host_key_alias": "old-one"}}],
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }
    (state / "old-one").mkdir(mode=0o700)
    (state / "old-one" / "deployment.json").write_text(json.dumps(v1))
    _same_as_full_path(every_provider, "list")
    _same_as_full_path(every_provider, "list", "--json")
    assert "old-one" in every_provider("list").stdout


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data.update(status="exploded"),
        lambda data: data.update(id="NOT-HEX"),
        lambda data: data.update(id="0123abcd\n"),
        lambda data: data.update(created_at="2026-02-30T00:00:00Z"),
        lambda data: data.update(unknown_key=1),
        lambda data: data["nodes"][0]["ssh"].update(port="22"),
        lambda data: data["nodes"][0].update(index=True),
    ],
    ids=["literal", "pattern", "pattern-newline", "date", "extra-key", "str-for-int", "bool-for-int"],
)
def test_a_broken_record_fails_the_same_way(every_provider, damage):
    every_provider("list", check=True)  # the shapes are cached now
    path = every_provider.state_dir / "azure-02" / "deployment.json"
    data = json.loads(path.read_text())
    damage(data)
    path.write_text(json.dumps(data))
    full = every_provider("list", env={"ISAACCTL_NO_SHORTCUTS": "1"})
    quick = every_provider("list")
    if full.returncode == 0:  # pydantic's lax mode accepted it: then the shortcut must agree
        assert (quick.returncode, quick.stdout) == (0, full.stdout)
    else:
        assert (quick.returncode, quick.stdout, quick.stderr) == (full.returncode, full.stdout, full.stderr)
        assert "is not a valid deployment record" in quick.stderr


def test_an_empty_state_folder_and_a_bad_one(every_provider, tmp_path):
    empty = tmp_path / "empty"
    _same_as_full_path(every_provider, "--state-dir", str(empty), "list")
    _same_as_full_path(every_provider, "--state-dir", str(empty), "list", "--json")
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    _same_as_full_path(every_provider, "--state-dir", str(a_file), "list")
    assert every_provider("--state-dir", str(a_file), "list").returncode == 2


@pytest.mark.parametrize("provider", PROVIDERS)
def test_status_by_the_shortcut_prints_what_the_full_path_prints(every_provider, provider):
    name = f"{provider}-{PROVIDERS.index(provider) + len(PROVIDERS):02d}"  # the second of each provider
    _same_as_full_path(every_provider, "status", name)
    _same_as_full_path(every_provider, "status", "--json", name)
    _same_as_full_path(every_provider, "-v", "status", name, "--json")
    assert re.search(rf"^name +{name}$", every_provider("status", name).stdout, re.MULTILINE)


def test_status_of_a_missing_or_bad_name_fails_the_same_way(every_provider):
    for args in (["status", "ghost"], ["status", "../etc"], ["status", "Bad_Name", "--json"]):
        _same_as_full_path(every_provider, *args)
        assert every_provider(*args).returncode == 2


def test_a_reader_that_went_away_is_a_quiet_exit_1(every_provider):
    """`isaacctl list | head -1`: click's main exits 1 quietly on a broken pipe; so do the
    shortcuts (here the pipe is closed before the first write, so it always breaks)."""
    every_provider("list", check=True)
    every_provider("--help", check=True)
    for args in (["list"], ["status", "aws-00"], ["--help"]):
        for env in ({"ISAACCTL_NO_SHORTCUTS": "1"}, {}):
            read_end, write_end = os.pipe()
            os.close(read_end)
            argv = [sys.executable, "-m", "isaacctl", *args]
            result = subprocess.run(argv, env=every_provider.full_env(env), stdout=write_end, stderr=subprocess.PIPE)
            os.close(write_end)
            assert (result.returncode, result.stderr) == (1, b""), (args, env)


def test_other_arguments_take_the_full_path(every_provider):
    """What the shortcut does not recognise is left to click: same errors as ever."""
    for args in (["list", "--bogus"], ["--bogus", "list"], ["list", "extra"], ["--state-dir"]):
        _same_as_full_path(every_provider, *args)
        assert every_provider(*args).returncode == 2


# -- imports -------------------------------------------------------------------------------------


def imported(cli: Cli, *args: str, env: dict | None = None, timeout: float = 120) -> set[str]:
    """The modules a run of the real CLI imported, as `python -X importtime` reports them (so
    far, when it is still running after `timeout`)."""
    argv = [sys.executable, "-X", "importtime", "-m", "isaacctl", *args]
    try:
        report = subprocess.run(argv, env=cli.full_env(env), capture_output=True, timeout=timeout).stderr
    except subprocess.TimeoutExpired as running:
        report = running.stderr or b""
    return _modules(report.decode(errors="replace"))


def _modules(report: str) -> set[str]:
    return {line.rsplit("|", 1)[1].strip() for line in report.splitlines() if line.startswith("import time:")}


def _of(modules: set[str], packages: tuple[str, ...]) -> set[str]:
    return {m for m in modules if any(m == p or m.startswith(p + ".") for p in packages)}


def test_the_import_report_does_see_a_cloud_sdk():
    """The check below can fail: importing boto3 or the Azure SDK shows in the same report."""
    for module in ("boto3", "azure.mgmt.compute", "google.cloud.compute_v1", "alibabacloud_ecs20140526.client"):
        result = run_guarded([sys.executable, "-X", "importtime", "-c", f"import {module}"], timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
        assert _of(_modules(result.stderr), SDKS), module


@pytest.mark.parametrize(
    "args",
    [
        ["list"],
        ["list", "--json"],
        *[["status", f"{provider}-{index:02d}"] for index, provider in enumerate(PROVIDERS)],
        *[["status", f"{provider}-{index:02d}", "--json"] for index, provider in enumerate(PROVIDERS)],
        ["jobs"],
        ["jobs", "--json"],
    ],
    ids=" ".join,
)
def test_no_cloud_sdk_is_imported_without_refresh(every_provider, args):
    for index, provider in enumerate(PROVIDERS):
        add_open_job(every_provider.state_dir, StateStore(every_provider.state_dir).load(f"{provider}-{index:02d}"))
    for attempt in ("cold cache", "warm cache", "no shortcuts"):
        env = {"ISAACCTL_NO_SHORTCUTS": "1"} if attempt == "no shortcuts" else None
        modules = imported(every_provider, *args, env=env)
        assert "isaacctl.cli" in modules  # the report is there
        assert not _of(modules, SDKS), (attempt, sorted(_of(modules, SDKS)))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_logs_imports_no_cloud_sdk(every_provider, provider):
    """logs of a running job reaches the host over SSH through the provider (it keeps
    reconnecting to the closed port: what it imported by then is what it needs)."""
    index = PROVIDERS.index(provider)
    record = StateStore(every_provider.state_dir).load(f"{provider}-{index:02d}")
    job = add_open_job(every_provider.state_dir, record)
    modules = imported(every_provider, "logs", job.id, timeout=20)
    reached = "isaacctl.remote.local" if provider == "local" else "isaacctl.remote.ssh"
    assert reached in modules, "logs got as far as the host"
    assert not _of(modules, SDKS), sorted(_of(modules, SDKS))


def test_a_warm_list_needs_neither_typer_nor_pydantic(every_provider):
    every_provider("list", check=True)  # fills the start-up cache, as any first run does
    every_provider("--help", check=True)
    for args in (["list"], ["list", "--json"], ["status", "aws-06"], ["status", "local-05", "--json"]):
        modules = imported(every_provider, *args)
        assert "isaacctl.cli.listing" in modules
        assert not _of(modules, HEAVY), sorted(_of(modules, HEAVY))
    help_modules = imported(every_provider, "--help")
    assert not _of(help_modules, HEAVY), sorted(_of(help_modules, HEAVY))
