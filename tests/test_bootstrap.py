"""Bootstrap against the loopback sshd, the real Docker engine and the password-protected
loopback registry serving the stand-in Isaac Lab image."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker


def docker(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=300)


class ArgvWatcher:
    """Scans every process's argv on this machine (the remote host is this machine too)
    while a command runs, looking for a secret."""

    def __init__(self, secret: str) -> None:
        self.secret = secret.encode()
        self.seen: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    argv = (entry / "cmdline").read_bytes()
                    environ = (entry / "environ").read_bytes() if entry.name != str(os.getpid()) else b""
                except OSError:
                    continue
                if self.secret in argv:
                    self.seen.append(argv.replace(b"\0", b" ").decode(errors="replace"))
                del environ  # the environment is allowed to hold NGC_API_KEY; argv is not
            time.sleep(0.005)

    def __enter__(self) -> ArgvWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def files_containing(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


@pytest.fixture
def ssh_deployment(cli, sshd):
    """An ssh deployment of the loopback host, not bootstrapped yet."""
    sshd.write_ssh_config(cli.ssh_config, ["gpu-box"])
    cli(
        "deploy",
        "ssh",
        "--name",
        "ws1",
        "--host",
        "gpu-box",
        "--host-dir",
        str(sshd.home / "isaacctl"),
        "--skip-bootstrap",
        check=True,
    )
    return "ws1"


@pytest.fixture
def fresh_image(registry, standin_image):
    """The stand-in's registry tag removed from the engine, so a bootstrap must really pull it."""
    docker("rmi", standin_image)
    yield standin_image
    docker("rmi", standin_image)


def bootstrap_args(registry, image, *extra):
    return [
        "bootstrap",
        "ws1",
        "--image",
        image,
        "--gpus",
        "none",
        "--registry-user",
        registry.user,
        "--registry",
        registry.address,
        "--ngc-api-key-file",
        str(registry.password_file),
        *extra,
    ]


def test_first_run_pulls_with_the_key_on_stdin_only_then_everything_is_up_to_date(
    cli, sshd, registry, fresh_image, ssh_deployment
):
    with ArgvWatcher(registry.password) as watcher:
        first = cli(*bootstrap_args(registry, fresh_image), timeout=600)
    assert first.returncode == 0, first.stderr
    assert watcher.seen == []
    assert "image-pull" in first.stderr and "ok" in first.stderr
    assert docker("image", "inspect", fresh_image).returncode == 0
    record = json.loads(cli("status", "ws1", "--json").stdout)["data"]
    steps = record["bootstrap"]
    assert steps["image-pull"]["status"] == "ok"
    assert steps["smoke"]["status"] == "ok"
    assert steps["nvidia-driver"]["status"] == "skipped"
    assert record["image"] == fresh_image and record["image_id"].startswith("sha256:")
    assert record["facts"]["cpus"] >= 1
    for folder in ("cache/kit", "cache/glcache", "jobs", "uploads"):
        assert (sshd.home / "isaacctl" / folder).is_dir()
    log = cli.state_dir / "ws1" / "bootstrap.log"
    assert oct(log.stat().st_mode & 0o777) == "0o600"
    assert "docker_api.py pull" in log.read_text()
    assert files_containing(cli.state_dir, registry.password) == []

    shown = cli("status", "ws1").stdout
    assert "BOOTSTRAP STEP" in shown and re.search(r"image-pull\s+ok", shown)

    # a key file that does not exist is refused up front (issue 17), even when no step would read it
    refused = cli("bootstrap", "ws1", "--ngc-api-key-file", "/nonexistent/never-read")
    assert refused.returncode == 2 and "--ngc-api-key-file" in refused.stderr
    second = cli("bootstrap", "ws1")  # nothing to pull: no key is asked for
    assert second.returncode == 0, second.stderr
    # reach and facts always run; every other step (however many later features add) is up to date
    assert re.search(r"\(2 step\(s\) run, [6-9] up to date\)", second.stderr), second.stderr
    for step in ("docker", "registry-login", "image-pull", "host-folders", "smoke"):
        assert f"{step}" in second.stderr
    # what the first run recorded is what the second found (same image, not pulled again)
    assert json.loads(cli("status", "ws1", "--json").stdout)["data"]["bootstrap"]["image-pull"] == steps["image-pull"]


def test_a_forced_step_runs_alone(cli, registry, standin_image_local, ssh_deployment):
    cli("bootstrap", "ws1", "--image", standin_image_local, "--gpus", "none", check=True)
    before = json.loads(cli("status", "ws1", "--json").stdout)["data"]["bootstrap"]
    forced = cli("bootstrap", "ws1", "--only", "smoke", "--force")
    assert forced.returncode == 0, forced.stderr
    after = json.loads(cli("status", "ws1", "--json").stdout)["data"]["bootstrap"]
    assert after["smoke"]["finished_at"] >= before["smoke"]["finished_at"]
    assert after["smoke"] != before["smoke"]
    assert after["host-folders"] == before["host-folders"]
    assert "not selected" in forced.stderr


def test_a_wrong_key_is_refused_and_written_nowhere(cli, registry, fresh_image, ssh_deployment, tmp_path):
    wrong = "wrong-" + os.urandom(12).hex()
    key_file = tmp_path / "key"
    key_file.write_text(wrong + "\n")
    with ArgvWatcher(wrong) as watcher:
        result = cli(
            "bootstrap",
            "ws1",
            "--image",
            fresh_image,
            "--gpus",
            "none",
            "--registry-user",
            registry.user,
            "--registry",
            registry.address,
            "--ngc-api-key-file",
            str(key_file),
        )
    assert result.returncode == 1
    assert "registry-login" in result.stderr and "refused the key" in result.stderr
    assert "Traceback" not in result.stderr
    assert watcher.seen == []
    assert files_containing(cli.state_dir, wrong) == []
    assert wrong not in result.stderr + result.stdout
    record = json.loads(cli("status", "ws1", "--json").stdout)["data"]
    assert record["status"] == "failed"
    assert record["bootstrap"]["registry-login"]["status"] == "failed"


def test_the_key_from_the_environment_works_too(cli, registry, fresh_image, ssh_deployment):
    result = cli(
        "bootstrap",
        "ws1",
        "--image",
        fresh_image,
        "--gpus",
        "none",
        "--registry-user",
        registry.user,
        "--registry",
        registry.address,
        env={"NGC_API_KEY": registry.password},
    )
    assert result.returncode == 0, result.stderr
    assert files_containing(cli.state_dir, registry.password) == []


def test_an_image_that_does_not_exist(cli, registry, ssh_deployment):
    missing = registry.ref("nvidia/isaac-lab", "0.0.0-missing")
    result = cli(*bootstrap_args(registry, missing))
    assert result.returncode == 1
    assert "image-pull" in result.stderr
    assert "not found" in result.stderr.lower() or "unknown" in result.stderr.lower()
    assert "--image" in result.stderr  # the hint says what to check


def test_a_missing_key_for_a_private_registry_says_how_to_give_one(cli, registry, fresh_image, ssh_deployment):
    result = cli("bootstrap", "ws1", "--image", fresh_image, "--gpus", "none", env={"NGC_API_KEY": None})
    assert result.returncode == 1
    assert "NGC_API_KEY" in result.stderr


def test_an_unreachable_host_times_out_with_a_message(cli, sshd, ssh_deployment):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    cli.ssh_config.write_text(cli.ssh_config.read_text().replace(f"Port {sshd.port}", f"Port {closed_port}"))
    started = time.monotonic()
    result = cli("bootstrap", "ws1", "--gpus", "none", "--reach-timeout", "3", timeout=120)
    assert result.returncode == 1
    assert time.monotonic() - started < 60
    assert "did not accept a login within 3 s" in result.stderr


def test_a_changed_host_key_stops_bootstrap(cli, sshd, ssh_deployment):
    sshd.restart_with_new_host_key()
    result = cli("bootstrap", "ws1", "--gpus", "none", "--reach-timeout", "5")
    assert result.returncode == 1
    assert "host key changed" in result.stderr


def sessions_and_logins(sshd) -> tuple[int, int]:
    """What the loopback sshd logged so far (LogLevel VERBOSE): a line per exec request
    (a round trip) and one per login."""
    text = sshd.log_path.read_text(errors="replace")
    return text.count("Starting session:"), text.count("Accepted publickey")


def last_run(log: Path) -> list[str]:
    return log.read_text().split("== bootstrap ")[-1].splitlines()


def test_a_rerun_on_a_ready_host_asks_every_check_in_one_round_trip(cli, sshd, standin_image_local, ssh_deployment):
    cli("bootstrap", "ws1", "--image", standin_image_local, "--gpus", "none", check=True)
    before = sessions_and_logins(sshd)
    rerun = cli("bootstrap", "ws1")
    assert rerun.returncode == 0, rerun.stderr
    after = sessions_and_logins(sshd)
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)  # one login, one command
    commands = [line.split("$ ", 1)[1] for line in last_run(cli.state_dir / "ws1" / "bootstrap.log") if "$ " in line]
    assert commands[0].endswith("commands in one round trip")
    assert len(commands) > 5 and all(c.endswith("(asked with the others)") for c in commands[1:]), commands

    # a folder removed since: the batch's answer says so, and host-folders makes it again
    subprocess.run(["rm", "-rf", str(sshd.home / "isaacctl" / "cache" / "kit")], check=True)
    repaired = cli("bootstrap", "ws1")
    assert repaired.returncode == 0, repaired.stderr
    assert re.search(r"host-folders\s+ok", repaired.stderr)
    assert (sshd.home / "isaacctl" / "cache" / "kit").is_dir()
    assert "up to date" in cli("bootstrap", "ws1", "--only", "host-folders", check=True).stderr


def test_gpu_steps_detect_a_host_without_gpus(cli, standin_image_local, ssh_deployment):
    result = cli("bootstrap", "ws1", "--image", standin_image_local)  # --gpus all by default
    assert result.returncode == 1
    assert "no NVIDIA GPU on this host" in result.stderr
    assert "--gpus none" in result.stderr


@pytest.mark.skipif(__import__("shutil").which("tmux") is None, reason="tmux is installed by scripts/test.sh")
def test_the_key_typed_at_a_hidden_prompt_in_a_real_terminal(cli, registry, fresh_image, ssh_deployment, tmp_path):
    import shlex

    env = cli.full_env({"NGC_API_KEY": None})
    script = tmp_path / "run.sh"
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items() if k.isidentifier())
    command = shlex.join(
        [
            sys.executable,
            "-m",
            "isaacctl",
            "bootstrap",
            "ws1",
            "--image",
            fresh_image,
            "--gpus",
            "none",
            "--registry-user",
            registry.user,
            "--registry",
            registry.address,
        ]
    )
    script.write_text(f"{exports}{command}\necho EXIT=$?\nsleep 60\n")
    session = f"isaacctl-{os.getpid()}"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "40", f"bash {script}"], check=True)
    try:

        def screen() -> str:
            return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout

        deadline = time.monotonic() + 60
        while "NGC API key (hidden):" not in screen() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "NGC API key (hidden):" in screen()
        subprocess.run(["tmux", "send-keys", "-t", session, registry.password, "Enter"], check=True)
        while "EXIT=" not in screen() and time.monotonic() < deadline + 60:
            time.sleep(0.2)
        shown = screen()
        assert "EXIT=0" in shown, shown
        assert registry.password not in shown  # not echoed
        assert "ready for Isaac Lab" in shown
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    assert files_containing(cli.state_dir, registry.password) == []
