"""Deployments of several nodes, end to end: a test-only provider (tests/plugins/labcloud.py,
installed as a real distribution with an entry point) whose two nodes are two real loopback
sshd servers. Parallel bootstrap, per-node status and ssh, a failure on one node, the record
keeping up with changes made outside isaacctl, and names another deployment holds."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest

from harness.sshd import SshServer

PLUGIN = Path(__file__).resolve().parent / "plugins" / "labcloud.py"


@pytest.fixture(scope="module")
def sshd2():
    server = SshServer().start()
    yield server
    server.close()


@pytest.fixture
def site(tmp_path):
    site = tmp_path / "site"
    (site / "isaacctl_labcloud").mkdir(parents=True)
    shutil.copy(PLUGIN, site / "isaacctl_labcloud" / "__init__.py")
    dist = site / "isaacctl_labcloud-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: isaacctl-labcloud\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[isaacctl.providers]\nlabcloud = isaacctl_labcloud:LabCloud\n")
    return site


@pytest.fixture
def lab(cli, sshd, sshd2, site, tmp_path):
    """The cli fixture with the plugin on its path and ssh_config routing node-a (and node-a2,
    a "new address" of the same machine) to one sshd and node-b to the other."""
    first, second = tmp_path / "cfg-a", tmp_path / "cfg-b"
    sshd.write_ssh_config(first, ["node-a", "node-a2"])
    sshd2.write_ssh_config(second, ["node-b"])
    cli.ssh_config.write_text(first.read_text() + "\n" + second.read_text())
    cli.env["PYTHONPATH"] = str(site)
    cli.cloud = tmp_path / "cloud"
    return cli


def deploy(cli, name="ws1", *extra, state_dir=None):
    env = {"ISAACCTL_STATE_DIR": str(state_dir)} if state_dir else None
    return cli(
        "deploy",
        "labcloud",
        "--name",
        name,
        "--hosts",
        "node-a,node-b",
        "--cloud-dir",
        str(cli.cloud),
        "--yes",
        "--skip-bootstrap",
        *extra,
        env=env,
    )


def status(cli, name="ws1", *extra):
    result = cli("status", name, "--json", *extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["data"]


def instance_file(cli, instance_id) -> Path:
    return cli.cloud / "lab-1" / f"{instance_id}.json"


def test_two_nodes_bootstrap_at_once_and_show_per_node(lab, sshd, sshd2):
    made = deploy(lab)
    assert made.returncode == 0, made.stderr
    data = status(lab)
    assert [(n["index"], n["role"]) for n in data["nodes"]] == [(0, "head"), (1, "worker")]
    assert [n["ssh"]["host"] for n in data["nodes"]] == ["node-a", "node-b"]

    booted = lab("bootstrap", "ws1", "--gpus", "none", "--isaaclab-version", "2.3", "--only", "host-folders")
    assert booted.returncode == 0, booted.stderr
    assert "on 2 nodes" in booted.stderr
    assert "node 1 host-folders" in booted.stderr  # plain progress lines name the node
    data = status(lab)
    for node, home in zip(data["nodes"], (sshd.home, sshd2.home), strict=True):
        assert node["bootstrap"]["host-folders"]["status"] == "ok"
        assert node["facts"]["cpus"] >= 1
        assert (home / "isaacctl" / "cache" / "kit").is_dir()
    assert data["bootstrap"] == data["nodes"][0]["bootstrap"]  # the head's, as one-node views show
    log = (lab.state_dir / "ws1" / "bootstrap.log").read_text()
    assert "[node 0]" in log and "[node 1]" in log

    shown = lab("status", "ws1").stdout
    assert "NODE" in shown and "worker" in shown and "node-b" in shown and "10.0.0.11" in shown
    assert lab("ssh", "ws1", "--node", "1", "--", "id", "-un").stdout.strip() == sshd2.user
    assert lab("ssh", "ws1", "--", "id", "-un").stdout.strip() == sshd.user
    missing = lab("ssh", "ws1", "--node", "5", "--", "true")
    assert missing.returncode == 2 and "--node:" in missing.stderr and "0, 1" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    assert lab("destroy", "ws1", "--yes").returncode == 0
    assert list((lab.cloud / "lab-1").glob("i-*.json")) == []


def test_nodes_run_in_parallel(lab, sshd, sshd2, monkeypatch):
    """In process: node 0's first question to its host waits until node 1 has asked its own.
    Run one after the other, node 1 would never ask while node 0 waits (timing alone, on a
    loaded machine, said nothing either way)."""
    import os
    import threading

    from isaacctl.services.bootstrap.context import StepContext

    assert deploy(lab).returncode == 0
    node1_asked = threading.Event()
    node0_saw_node1: list[bool] = []
    ask = StepContext.ask_at_once

    def ask_in_turn(ctx, *args, **kwargs):
        if ctx.node_index == 1:
            node1_asked.set()
        elif not node0_saw_node1:
            node0_saw_node1.append(node1_asked.wait(60))
        return ask(ctx, *args, **kwargs)

    monkeypatch.setattr(StepContext, "ask_at_once", ask_in_turn)
    os.environ["ISAACCTL_SSH_CONFIG"] = str(lab.ssh_config)
    import sys

    sys.path.insert(0, str(lab.env["PYTHONPATH"]))
    try:
        from importlib.metadata import entry_points  # noqa: F401

        from isaacctl.providers import registry
        from isaacctl.services.bootstrap import BootstrapSettings
        from isaacctl.services.deployments import BootstrapRequest, DeploymentService
        from isaacctl.state import StateStore

        registry._registered.cache_clear()
        request = BootstrapRequest(
            BootstrapSettings(
                image="isaacctl-test/none:1", gpus="none", isaaclab_version="2.3", only=("host-folders",)
            ),
            registry_key=lambda: None,
        )
        result = DeploymentService(StateStore(lab.state_dir)).bootstrap("ws1", request)
    finally:
        sys.path.remove(str(lab.env["PYTHONPATH"]))
        registry._registered.cache_clear()
        os.environ.pop("ISAACCTL_SSH_CONFIG", None)
    assert {event.node for event in result.steps} == {0, 1}
    assert node0_saw_node1 == [True]  # node 1 asked while node 0 was still at its first step


def test_a_failure_on_one_node_gives_a_table_per_node(lab, sshd, sshd2):
    assert deploy(lab, "ws1", "--host-dir", "~/lab-fail").returncode == 0
    # Each node's facts on record first: in the failing run node 1 may fail before node 0 has
    # even connected, and a node stopped before its first step records nothing of that run.
    facts = lab("bootstrap", "ws1", "--gpus", "none", "--isaaclab-version", "2.3", "--only", "facts")
    assert facts.returncode == 0, facts.stderr
    blocker = sshd2.home / "lab-fail"
    blocker.write_text("a file where the folder should be\n")  # mkdir -p fails on node 1 only
    try:
        result = lab("bootstrap", "ws1", "--gpus", "none", "--isaaclab-version", "2.3", "--only", "host-folders")
    finally:
        blocker.unlink()
    assert result.returncode == 1
    assert "bootstrap step 'host-folders' failed on node 1" in result.stderr
    table = [line for line in result.stderr.splitlines() if line.startswith("  | ")]
    assert "NODE" in table[0] and "STEP" in table[0] and "STATE" in table[0] and "MESSAGE" in table[0]
    rows = {line.split()[1]: line for line in table[1:3]}
    assert set(rows) == {"0", "1"}
    assert "failed" in rows["1"] and "host-folders" in rows["1"]
    assert rows["1"].split()[3] == "failed"
    assert rows["0"].split()[3] in ("done", "stopped")  # it finished the step it was in
    data = status(lab)
    assert data["status"] == "failed"
    assert data["nodes"][1]["bootstrap"]["host-folders"]["status"] == "failed"
    assert data["nodes"][0]["bootstrap"]["facts"]["status"] == "ok"
    assert "failed at host-folders" in lab("status", "ws1").stdout
    again = lab(
        "bootstrap", "ws1", "--gpus", "none", "--isaaclab-version", "2.3", "--only", "host-folders"
    )  # resumes, now fine
    assert again.returncode == 0, again.stderr
    assert lab("destroy", "ws1", "--yes").returncode == 0


def test_status_refresh_and_list_refresh_keep_the_record_up_to_date(lab, tmp_path):
    assert deploy(lab, "ws1").returncode == 0
    data = status(lab)
    head, worker = data["nodes"]
    # outside isaacctl: the head got a new address, the worker was terminated
    path = instance_file(lab, head["instance_id"])
    instance = json.loads(path.read_text())
    instance["public_ip"] = "node-a2"
    path.write_text(json.dumps(instance))
    path = instance_file(lab, worker["instance_id"])
    instance = json.loads(path.read_text())
    instance["state"] = "terminated"
    path.write_text(json.dumps(instance))

    refreshed = status(lab, "ws1", "--refresh")
    head, worker = refreshed["nodes"]
    assert head["public_ip"] == "node-a2" and head["ssh"]["host"] == "node-a2" and head["state"] == "running"
    assert head["state_at"] is not None
    assert worker["state"] == "terminated"
    assert refreshed["status"] == "failed" and "terminated outside isaacctl" in refreshed["last_error"]
    saved = status(lab)  # without --refresh: what the refresh learnt was saved
    assert saved["nodes"][0]["ssh"]["host"] == "node-a2" and saved["nodes"][1]["state"] == "terminated"
    assert "terminated" in lab("status", "ws1").stdout
    assert lab("ssh", "ws1", "--", "true").returncode == 0  # through the new address

    # list --refresh: every deployment at once, a broken one reported on its own row
    assert (
        lab("deploy", "local", "--name", "desk", "--host-dir", str(tmp_path / "desk"), "--skip-bootstrap").returncode
        == 0
    )
    assert deploy(lab, "ws2").returncode == 0
    shutil.rmtree(lab.cloud / "lab-1")  # ws1 and ws2's cloud is gone...
    (lab.cloud / "lab-1").write_text("not a folder")  # ...and answers with an error
    listed = lab("list", "--refresh", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)["data"]}
    assert rows["desk"]["refresh_error"] is None and rows["desk"]["nodes"][0]["state"] == "running"
    assert rows["ws2"]["refresh_error"] and rows["ws1"]["refresh_error"]
    human = lab("list", "--refresh")
    assert human.returncode == 0 and "refresh failed" in human.stdout


def test_a_name_held_by_another_deployment_is_refused(lab, tmp_path):
    other_state = tmp_path / "other-state"
    other_state.mkdir(mode=0o700)
    assert deploy(lab, "ws1", state_dir=other_state).returncode == 0
    theirs = json.loads((other_state / "ws1" / "deployment.json").read_text())
    before = sorted(p.name for p in (lab.cloud / "lab-1").iterdir())

    refused = deploy(lab, "ws1")
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    line = lines[-1]  # one line, after progress lines
    assert line.startswith("error: ") and not any(other.startswith("error") for other in lines[:-1])
    assert f"name: 'ws1' is taken in labcloud lab-1 by deployment {theirs['id']} ({theirs['creator']}, created " in line
    assert line.endswith("UTC); choose another name")
    assert not (lab.state_dir / "ws1").exists()  # nothing made here
    assert sorted(p.name for p in (lab.cloud / "lab-1").iterdir()) == before  # nor there

    # a resumed deployment meeting another id under its name stops too
    mine = lab.state_dir / "ws1"
    shutil.copytree(other_state / "ws1", mine)
    record = json.loads((mine / "deployment.json").read_text())
    record["id"] = uuid.uuid4().hex[:8]
    (mine / "deployment.json").write_text(json.dumps(record))
    resumed = deploy(lab, "ws1")
    assert resumed.returncode == 2 and f"deployment {theirs['id']}" in resumed.stderr
    assert "not this state folder's" in resumed.stderr
    assert sorted(p.name for p in (lab.cloud / "lab-1").iterdir()) == before

    # the owner resumes its own deployment freely
    again = deploy(lab, "ws1", state_dir=other_state)
    assert again.returncode == 0, again.stderr
    assert "is ready again" in again.stderr
    assert lab("destroy", "ws1", "--yes", env={"ISAACCTL_STATE_DIR": str(other_state)}).returncode == 0
