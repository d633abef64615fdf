"""Autostop: the watchdog on the workstation (templates/autostop/watchdog.py) with idle periods
of seconds, on the loopback host.

The test host has no systemd as PID 1, so `install` falls back to a detached `--loop` process;
the tests end that process and run the same script directly (as a systemd timer would, once per
check), with ISAACCTL_AUTOSTOP_POWEROFF pointing at tests/harness/guest_shutdown.py: what EC2
does on a guest shutdown with shutdown behaviour "stop" (StopInstances on moto)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from harness.azure_fixtures import (  # noqa: F401 - the Azure fixtures the Azure test uses
    azure_fixture,
    fake_azure_server_fixture,
    routed_azure_fixture,
    sshd_twin_fixture,
)

GUEST_SHUTDOWN = Path(__file__).parent / "harness" / "guest_shutdown.py"
SYSTEM_PYTHON = "/usr/bin/python3"  # the watchdog needs nothing but the standard library


@pytest.fixture
def routed(aws, cli, sshd):
    sshd.write_ssh_config(cli.ssh_config, ["*"])
    return aws


def status(cli, name="ws1"):
    return json.loads(cli("status", name, "--json", check=True).stdout)["data"]


def host_dir(sshd) -> str:
    """The sshd (and its home) lives for the whole session: each test gets its own folder there."""
    return str(sshd.home / f"isaacctl-{uuid.uuid4().hex[:8]}")


def deploy_with_autostop(cli, sshd, name="ws1", *autostop):
    cli("deploy", "aws", "--name", name, "--yes", "--skip-bootstrap", "--host-dir", host_dir(sshd), check=True)
    # reach and facts always run (they find the host folder); then only the autostop step
    cli(
        "bootstrap",
        name,
        "--only",
        "autostop",
        "--gpus",
        "none",
        "--allow-low-disk",
        *autostop,
        check=True,
        timeout=300,
    )
    record = status(cli, name)
    folder = Path(record["host_root"]) / "autostop"
    end_loop(folder)
    return record, folder


def end_loop(folder: Path) -> None:
    """The detached watchdog install started (no systemd here): the test runs checks itself."""
    try:
        pid = int((folder / "watchdog.pid").read_text().split()[0])
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(100):
        if not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return
        time.sleep(0.05)


def watchdog_env(aws, instance_id: str, log: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({k: v for k, v in aws.env().items() if v is not None})
    env["ISAACCTL_AUTOSTOP_POWEROFF"] = f"{sys.executable} {GUEST_SHUTDOWN} {instance_id}"
    env["ISAACCTL_TEST_SHUTDOWN_LOG"] = str(log)
    return env


def check_once(folder: Path, env: dict[str, str]) -> dict:
    done = subprocess.run(
        [SYSTEM_PYTHON, str(folder / "watchdog.py"), "--dir", str(folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def checks_until(folder: Path, env: dict[str, str], wanted: str, within: float) -> list[dict]:
    seen = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        seen.append(check_once(folder, env))
        if seen[-1]["decision"] == wanted:
            return seen
        time.sleep(0.5)
    raise AssertionError(f"no {wanted!r} decision within {within} s: {[d['decision'] for d in seen]}")


def ec2_state(aws, instance_id: str) -> str:
    found = aws.client().describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    return found["State"]["Name"]


def test_idle_instance_is_stopped_through_ec2_and_the_controller_notices(routed, cli, sshd, tmp_path):
    aws = routed
    record, folder = deploy_with_autostop(cli, sshd, "ws1", "--autostop", "3s")
    run = [c for c in aws.faults.calls if c.action == "RunInstances"][-1]
    assert run.params["InstanceInitiatedShutdownBehavior"] == "stop"
    assert record["autostop"]["idle_seconds"] == 3 and record["autostop"]["action"] == "stop"
    config = json.loads((folder / "config.json").read_text())
    assert config["route"] == "shutdown" and config["deployment_id"] == record["id"]
    assert config["hourly_usd"] == pytest.approx(2.242)  # g6e.2xlarge on demand, the catalog's
    assert not any(word in json.dumps(config).lower() for word in ("secret", "password", "testing"))
    instance = record["nodes"][0]["instance_id"]
    env = watchdog_env(aws, instance, tmp_path / "shutdowns")

    decisions = checks_until(folder, env, "stop", within=30)
    assert decisions[0]["decision"] in ("active", "idle")  # setting autostop counts as activity
    assert "idle for" in decisions[-1]["reason"] and decisions[-1]["done"].startswith("guest shutdown")
    assert ec2_state(aws, instance) == "stopped"
    assert (tmp_path / "shutdowns").read_text().split() == [instance, "stop"]
    # logged on the host, one line per decision that changed something
    logged = [json.loads(line) for line in (folder / "decisions.log").read_text().splitlines()]
    assert logged[-1]["decision"] == "stop" and logged[-1]["done"]
    assert check_once(folder, env)["decision"] == "waiting"  # asked once, not again and again

    # the controller's next command finds it stopped by autostop, and says so
    live = json.loads(cli("status", "ws1", "--refresh", "--json", check=True).stdout)["data"]
    assert live["live"] == {"nodes": ["stopped"]} and live["status"] == "stopped"
    events = [json.loads(line) for line in (cli.state_dir / "ws1" / "events.jsonl").read_text().splitlines()]
    assert [e["action"] for e in events if e["event"] == "autostop.noticed"] == ["stop"]

    # started again, the host's log gives the stop its own time for `cost`
    cli("start", "ws1", check=True)
    shown = json.loads(cli("status", "ws1", "--refresh", "--json", check=True).stdout)["data"]
    assert shown["autostop"]["last_decision"]["decision"] in ("stop", "waiting", "active", "idle")
    events = [json.loads(line) for line in (cli.state_dir / "ws1" / "events.jsonl").read_text().splitlines()]
    acted = [e for e in events if e["event"] == "autostop.acted"]
    assert len(acted) == 1 and acted[0]["at"] == pytest.approx(logged[-1]["at"], abs=0.01)
    cost = json.loads(cli("cost", "ws1", "--json", check=True).stdout)["data"]["deployments"][0]
    assert [p["state"] for p in cost["pieces"]] == ["running", "stopped", "running"]
    assert cost["pieces"][0]["end"] <= cost["pieces"][1]["start"]


def test_nothing_happens_while_a_job_runs_or_an_ssh_session_is_open(routed, cli, sshd, tmp_path):
    aws = routed
    record, folder = deploy_with_autostop(cli, sshd, "ws1", "--autostop", "2s")
    instance = record["nodes"][0]["instance_id"]
    env = watchdog_env(aws, instance, tmp_path / "shutdowns")
    host_root = Path(record["host_root"])

    # a pip-runtime job: its runner's pid and start time, no exit status yet
    job = host_root / "jobs" / "train-1"
    job.mkdir(parents=True)
    runner = subprocess.Popen(["sleep", "300"])
    try:
        start = Path(f"/proc/{runner.pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
        (job / "pid").write_text(f"{runner.pid} {start}\n")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            decision = check_once(folder, env)
            assert decision["decision"] == "active" and "train-1" in decision["reason"], decision
            time.sleep(0.5)
    finally:
        runner.kill()
        runner.wait()
    (job / "exit-status").write_text("0\n")
    assert ec2_state(aws, instance) == "running"

    # a job queued to start (its spec written, no runner yet) counts too
    queued = host_root / "jobs" / "train-2"
    queued.mkdir()
    (queued / "spec.json").write_text("{}")
    assert "job queued: train-2" in check_once(folder, env)["reason"]
    (queued / "exit-status").write_text("1\n")

    # an interactive SSH session (a pty)
    session = subprocess.Popen(
        [*sshd.ssh_command(), "-tt", "sleep 120"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while "SSH session open" not in check_once(folder, env)["reason"]:
            assert time.monotonic() < deadline, "the pty session was never seen"
            time.sleep(0.3)
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            decision = check_once(folder, env)
            assert decision["decision"] == "active" and f"{sshd.user}@pts/" in decision["reason"], decision
            time.sleep(0.5)
        assert ec2_state(aws, instance) == "running"
    finally:
        session.kill()
        session.wait()

    # nothing open any more: stopped after a whole idle period
    decisions = checks_until(folder, env, "stop", within=30)
    assert decisions[-1]["idle_for_s"] >= 2
    assert ec2_state(aws, instance) == "stopped"


def test_the_idle_clock_survives_a_restart_of_the_service(routed, cli, sshd, tmp_path):
    aws = routed
    record, folder = deploy_with_autostop(cli, sshd, "ws1", "--autostop", "6s")
    instance = record["nodes"][0]["instance_id"]
    env = watchdog_env(aws, instance, tmp_path / "shutdowns")
    (folder / "activity").unlink()  # idle from now on

    first = subprocess.Popen([SYSTEM_PYTHON, str(folder / "watchdog.py"), "--dir", str(folder), "--loop"], env=env)
    deadline = time.monotonic() + 20
    while (
        json.loads((folder / "state.json").read_text() if (folder / "state.json").exists() else "{}").get("idle_since")
        is None
    ):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    idle_since = json.loads((folder / "state.json").read_text())["idle_since"]
    first.send_signal(signal.SIGTERM)
    first.wait(timeout=10)
    time.sleep(2.5)
    restarted_at = time.time()
    second = subprocess.Popen([SYSTEM_PYTHON, str(folder / "watchdog.py"), "--dir", str(folder), "--loop"], env=env)
    try:
        deadline = time.monotonic() + 30
        while ec2_state(aws, instance) != "stopped":
            assert time.monotonic() < deadline, (folder / "decisions.log").read_text()
            time.sleep(0.3)
    finally:
        second.kill()
        second.wait()
    stop = [json.loads(line) for line in (folder / "decisions.log").read_text().splitlines()][-1]
    assert stop["decision"] == "stop"
    # the clock kept counting from before the restart, not from the restart
    assert stop["at"] - idle_since >= 6
    assert stop["at"] < restarted_at + 6


def test_azure_vm_deallocates_itself_with_its_own_identity(routed_azure, cli, sshd):
    from harness.fake_azure import CLIENT_SECRET, IMDS_PATH, VM_CONTRIBUTOR

    fake = routed_azure
    cli(
        "deploy",
        "azure",
        "--name",
        "az1",
        "--yes",
        "--skip-bootstrap",
        "--host-dir",
        host_dir(sshd),
        check=True,
        timeout=600,
    )
    cli(
        "bootstrap",
        "az1",
        "--only",
        "autostop",
        "--gpus",
        "none",
        "--allow-low-disk",
        "--autostop",
        "2s",
        check=True,
        timeout=300,
    )
    record = status(cli, "az1")
    folder = Path(record["host_root"]) / "autostop"
    end_loop(folder)
    [vm] = fake.vms("az1")
    principal = vm["identity"]["principalId"]
    [grant] = fake.role_assignments()
    assert grant["properties"]["principalId"] == principal
    assert grant["properties"]["roleDefinitionId"].endswith(VM_CONTRIBUTOR)
    assert grant["properties"]["scope"].endswith(f"/resourceGroups/{vm['_group']}")
    config = json.loads((folder / "config.json").read_text())
    assert config["route"] == "azure" and config["vm"] == vm["name"]
    assert config["resource_group"].lower() == vm["_group"] and config["subscription"]
    assert CLIENT_SECRET not in (folder / "config.json").read_text()  # the user's credentials never go there

    env = {
        "PATH": os.environ["PATH"],
        "SSL_CERT_FILE": str(fake.ca_file),
        "ISAACCTL_AUTOSTOP_IMDS": f"{fake.side_url}{IMDS_PATH}{vm['properties']['vmId']}",
    }
    before = len(fake.calls)
    decisions = checks_until(folder, env, "stop", within=30)
    assert decisions[-1]["done"] == "deallocation succeeded, asked with the VM's identity"
    assert fake.vms("az1")[0]["_power"] == "deallocated"
    asked = [c for c in fake.calls[before:] if c.op == "vm.deallocate"]
    assert [c.principal for c in asked] == [principal]  # the VM's own identity, not the user's
    live = json.loads(cli("status", "az1", "--refresh", "--json", check=True).stdout)["data"]
    assert live["status"] == "stopped"


def test_destroy_action_is_finished_by_the_controllers_next_command(routed, cli, sshd, tmp_path):
    aws = routed
    record, folder = deploy_with_autostop(cli, sshd, "ws1", "--autostop", "2s", "--autostop-action", "destroy")
    instance = record["nodes"][0]["instance_id"]
    env = watchdog_env(aws, instance, tmp_path / "shutdowns")
    assert json.loads((folder / "config.json").read_text())["action"] == "destroy", (folder / "config.json").read_text()
    checks_until(folder, env, "destroy", within=30)
    assert ec2_state(aws, instance) == "stopped"  # the guest has no credentials: it stops

    listed = cli("list", "--refresh", "--json")
    assert listed.returncode == 0, listed.stderr
    assert not (cli.state_dir / "ws1").exists()
    assert aws.tagged("ws1") == []
    report = json.loads(cli("cost", "--json", check=True).stdout)["data"]
    [gone] = report["deployments"]
    assert gone["name"] == "ws1" and gone["destroyed"] is True and gone["total_usd"] > 0


def test_autostop_command_sets_shows_and_turns_off(routed, cli, sshd):
    record, folder = deploy_with_autostop(cli, sshd, "ws1", "--autostop", "30m")
    listed = cli("list", check=True).stdout
    assert "stop after 30m idle" in listed
    changed = cli("autostop", "ws1", "45m", "--max-hours", "8", "--json", check=True)
    data = json.loads(changed.stdout)["data"]
    assert data["autostop"]["idle_seconds"] == 2700 and data["autostop"]["max_hours"] == 8
    assert data["installed"] == {"0": "loop"}  # no systemd on the test host
    end_loop(folder)
    config = json.loads((folder / "config.json").read_text())
    assert config["idle_seconds"] == 2700 and config["max_hours"] == 8 and config["interval_s"] == 60
    subprocess.run(
        [SYSTEM_PYTHON, str(folder / "watchdog.py"), "--dir", str(folder)],
        check=True,
        capture_output=True,
        env={"PATH": os.environ["PATH"]},
    )
    shown = cli("autostop", "ws1", check=True).stdout
    assert "last decision" in shown and ("active" in shown or "idle" in shown)
    assert "autostop" in cli("status", "ws1", check=True).stdout
    bad = cli("autostop", "ws1", "soon")
    assert bad.returncode == 2 and bad.stderr.startswith("error: IDLE: expected an idle time"), bad.stderr
    off = cli("autostop", "ws1", "off", "--json", check=True)
    assert json.loads(off.stdout)["data"]["autostop"] is None
    assert not (folder / "config.json").exists()
    assert status(cli)["autostop"] is None


def test_over_budget_stops_even_while_busy(routed, cli, sshd, tmp_path):
    aws = routed
    record, folder = deploy_with_autostop(cli, sshd, "ws1", "--max-hours", "0.0005")  # 1.8 s
    instance = record["nodes"][0]["instance_id"]
    env = watchdog_env(aws, instance, tmp_path / "shutdowns")
    decisions = checks_until(folder, env, "stop", within=30)
    assert decisions[-1]["reason"].startswith("over budget: ran")
    assert ec2_state(aws, instance) == "stopped"


def test_adopted_machines_run_only_a_configured_command(cli, sshd, tmp_path):
    sshd.write_ssh_config(cli.ssh_config, ["gpu-box"])
    folder = host_dir(sshd)
    refused = cli(
        "deploy",
        "ssh",
        "--name",
        "box",
        "--host",
        "gpu-box",
        "--host-dir",
        folder,
        "--gpus",
        "none",
        "--autostop",
        "30m",
    )
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [refused.stderr.strip()]
    assert refused.stderr.startswith("error: --autostop:") and "--autostop-command" in refused.stderr
    assert not (cli.state_dir / "box").exists()

    cli("deploy", "ssh", "--name", "box", "--host", "gpu-box", "--host-dir", folder, "--skip-bootstrap", check=True)
    marker = tmp_path / "suspended"
    cli(
        "bootstrap",
        "box",
        "--only",
        "autostop",
        "--gpus",
        "none",
        "--allow-low-disk",
        "--autostop",
        "2s",
        "--autostop-command",
        f"touch {marker}",
        check=True,
    )
    folder = Path(folder) / "autostop"
    end_loop(folder)
    config = json.loads((folder / "config.json").read_text())
    assert config["route"] == "command" and config["hourly_usd"] is None
    (folder / "activity").unlink()
    checks_until(folder, {"PATH": os.environ["PATH"]}, "stop", within=20)
    assert marker.exists()
    # a cloud's own way is not to be replaced by a command; nor a price made up for a machine
    assert cli("autostop", "box", "5m", "--max-cost", "3").returncode == 2
    assert cli("autostop", "box", "5m", "--autostop-action", "destroy").returncode == 2


@pytest.mark.parametrize(
    "flags, named",
    [
        (["--autostop", "0"], "--autostop"),
        (["--autostop", "soon"], "--autostop"),
        (["--autostop", "-5m"], "--autostop"),
        (["--autostop", "30m", "--autostop-action", "delete"], "--autostop-action"),
        (["--max-cost", "-1"], "--max-cost"),
        (["--max-cost", "nan"], "--max-cost"),
        (["--max-hours", "inf"], "--max-hours"),
        (["--autostop", "30m", "--autostop-command", "sudo systemctl suspend"], "--autostop-command"),
        (["--autostop", "30m", "--skip-bootstrap"], "--autostop"),
    ],
)
def test_bad_autostop_flags_are_one_error_line_naming_the_flag(aws, cli, flags, named):
    result = cli("deploy", "aws", "--name", "ws1", "--yes", *flags)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {named}"), result.stderr
    assert not (cli.state_dir / "ws1").exists()
    assert aws.tagged("ws1") == []


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_the_systemd_units_are_valid(tmp_path):
    """The host units as rendered for a deployment pass systemd's own checker (the test host
    runs no systemd, so they are not started here)."""
    from isaacctl.records import DeploymentRecord
    from isaacctl.services.autostop import AutostopFlags, settings_from, units

    record = DeploymentRecord(name="ws1", id="0a1b2c3d", provider="aws")
    folder = tmp_path / "isaacctl" / "autostop"
    folder.mkdir(parents=True)
    (folder / "watchdog.py").write_text("")
    service, timer = units(record, settings_from(AutostopFlags("30m")), str(folder))
    assert "OnUnitActiveSec=60s" in timer and f"--dir {folder}" in service
    (tmp_path / "isaacctl-autostop-0a1b2c3d.service").write_text(service)
    (tmp_path / "isaacctl-autostop-0a1b2c3d.timer").write_text(timer)
    checked = subprocess.run(
        [
            "systemd-analyze",
            "verify",
            "--man=no",
            str(tmp_path / "isaacctl-autostop-0a1b2c3d.service"),
            str(tmp_path / "isaacctl-autostop-0a1b2c3d.timer"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"},
    )
    problems = [line for line in checked.stderr.splitlines() if "isaacctl-autostop" in line]
    assert checked.returncode == 0 and not problems, checked.stderr
