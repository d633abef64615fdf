"""The parts of bootstrap that cannot run here (driver, Docker CE, toolkit installs) are checked
for what they would do: host facts parsing, the GPU/driver/disk rules, and the scripts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from isaacctl.providers.toolkit.cloudinit import render_user_data
from isaacctl.services.bootstrap.facts import parse_facts
from isaacctl.services.bootstrap.pull_progress import PullProgress
from isaacctl.services.bootstrap.requirements import isaaclab_version, judge_disk, judge_gpus

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"

FACTS_L40S = """\
OS=Ubuntu 22.04.5 LTS
OS_ID=ubuntu
OS_VERSION=22.04
HOME=/home/ubuntu
USER=ubuntu
KERNEL=6.8.0-1019-aws
CPUS=8
MEMORY_KIB=65000000
FREE_DISK_KIB=209715200
NVIDIA_PCI=1
GPU=NVIDIA L40S, 46068, 580.95.05
NVIDIA_SMI=yes
DOCKER=28.0.1
NVIDIA_CTK=NVIDIA Container Toolkit CLI version 1.17.8
PYTHON3=/usr/bin/python3
"""


def test_facts_are_parsed():
    parsed = parse_facts(FACTS_L40S)
    assert parsed.facts.gpus[0].model == "NVIDIA L40S"
    assert parsed.facts.gpus[0].memory_mib == 46068
    assert parsed.facts.gpus[0].driver_version == "580.95.05"
    assert parsed.facts.free_disk_gib == 200.0
    assert parsed.home == "/home/ubuntu" and parsed.container_toolkit and parsed.nvidia_smi
    assert parsed.nvidia_pci_devices == 1


def test_an_rtx_gpu_with_a_new_driver_passes():
    assert judge_gpus(parse_facts(FACTS_L40S).facts, "2.3").problems == []


@pytest.mark.parametrize("model", ["NVIDIA A100-SXM4-80GB", "NVIDIA H100 80GB HBM3", "NVIDIA B200"])
def test_gpus_without_rt_cores_are_refused_with_the_override(model):
    facts = parse_facts(FACTS_L40S.replace("NVIDIA L40S", model)).facts
    verdict = judge_gpus(facts, "2.3")
    assert "no RT cores" in verdict.problems[0]
    assert "--allow-unsupported-gpu" in verdict.hint


def test_an_old_driver_is_refused_for_isaac_lab_2_3_but_not_2_2():
    facts = parse_facts(FACTS_L40S.replace("580.95.05", "550.54.15")).facts
    assert "older than 580.65" in judge_gpus(facts, "2.3").problems[0]
    assert judge_gpus(facts, "2.2").problems == []


def test_too_little_disk_is_refused():
    facts = parse_facts(FACTS_L40S.replace("209715200", "20971520")).facts  # 20 GiB
    assert "GiB free" in judge_disk(facts, image_present=False).problems[0]
    assert judge_disk(parse_facts(FACTS_L40S).facts, image_present=False).problems == []


@pytest.mark.parametrize(
    "image, version",
    [
        ("nvcr.io/nvidia/isaac-lab:2.3.2", "2.3"),
        ("nvcr.io/nvidia/isaac-lab:2.2.0", "2.2"),
        ("nvcr.io/nvidia/isaac-lab:3.0.0-beta2", "3.0"),
        ("127.0.0.1:5000/isaac-lab:latest", None),
    ],
)
def test_isaaclab_version_from_the_image_tag(image, version):
    assert isaaclab_version(image) == version


def test_pull_progress_counts_bytes_and_layers():
    progress = PullProgress()
    lines = [
        '{"status":"Pulling from nvidia/isaac-lab","id":"2.3.2"}',
        '{"status":"Pulling fs layer","progressDetail":{},"id":"a"}',
        '{"status":"Already exists","progressDetail":{},"id":"b"}',
        '{"status":"Downloading","progressDetail":{"current":500,"total":1000},"id":"a"}',
    ]
    for line in lines:
        progress.feed(line)
    assert (progress.bytes_done, progress.bytes_total, len(progress.finished), len(progress.layers)) == (
        500,
        1000,
        1,
        2,
    )
    progress.feed('{"status":"Pull complete","progressDetail":{},"id":"a"}')
    assert progress.bytes_done == 1000 and len(progress.finished) == 2
    progress.feed(
        '{"errorDetail":{"message":"net/http: TLS handshake timeout"},"error":"net/http: TLS handshake timeout"}'
    )
    assert progress.transient


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is installed by scripts/test.sh")
def test_every_shell_script_passes_shellcheck(tmp_path):
    scripts = sorted(TEMPLATES.glob("**/*.sh"))
    assert {p.name for p in scripts} >= {
        "install_docker.sh",
        "install_nvidia_driver.sh",
        "install_container_toolkit.sh",
        "facts.sh",
        "wait_for_host.sh",
    }
    rendered = tmp_path / "user-data.sh"
    rendered.write_text(render_user_data("ws1", "ubuntu", "all"))
    result = subprocess.run(["shellcheck", *map(str, scripts), str(rendered)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_cloud_init_user_data_runs_the_same_install_scripts():
    rendered = render_user_data("ws1", "ubuntu", "all")
    for script in ("install_docker.sh", "install_container_toolkit.sh", "install_nvidia_driver.sh"):
        body = (TEMPLATES / "bootstrap" / script).read_text().rstrip("\n")
        assert body in rendered
    assert "login_user='ubuntu'" in rendered
    assert subprocess.run(["bash", "-n"], input=rendered, text=True).returncode == 0
    assert "gpus='none'" in render_user_data("ws1", "ubuntu", "none")


class ScriptedDocker:
    """A test double for a host whose Docker answers pulls from a script: the one thing the
    real registry here cannot do on demand is fail transiently."""

    description = "scripted host"

    def __init__(self, pulls):
        self.pulls = list(pulls)  # (exit status, [json lines]) per pull attempt
        self.pulled = False
        self.attempts = 0

    def run(self, argv, *, stdin=None, on_output=None, env=None, timeout=None):
        from isaacctl.remote import CommandResult

        if "pull" in argv:
            self.attempts += 1
            status, lines = self.pulls.pop(0)
            for line in lines:
                on_output(line + "\n", "stdout")
            self.pulled = self.pulled or status == 0
            return CommandResult(tuple(argv), status, "\n".join(lines) + "\n", "")
        if argv[:3] == ["docker", "image", "inspect"]:  # as the docker CLI answers
            if not self.pulled:
                return CommandResult(tuple(argv), 1, "", f"Error: No such image: {argv[-1]}\n")
            return CommandResult(tuple(argv), 0, "sha256:abc\n", "")
        if argv[:2] == ["docker", "run"] and "echo probe=done" in argv[-1]:
            # bootstrap reads the pulled image's Isaac Lab version from the image itself
            return CommandResult(tuple(argv), 0, "file=2.3.2\nisaac_sim=1\nprobe=done\n", "")
        raise AssertionError(f"unexpected command {argv}")

    def close(self):
        pass


def _pull_context(host, tmp_path):
    import io

    from isaacctl.records import DeploymentRecord
    from isaacctl.services.bootstrap.context import BootstrapSettings, StepContext

    return StepContext(
        record=DeploymentRecord(name="ws1", provider="ssh"),
        settings=BootstrapSettings(image="registry.example/isaac-lab:2.3.2", gpus="none"),
        remote_factory=lambda: host,
        registry_key=lambda: None,
        log=io.StringIO(),
    )


def test_a_transient_pull_error_is_retried_and_a_permanent_one_is_not(tmp_path):
    from isaacctl.services.bootstrap.context import StepFailed
    from isaacctl.services.bootstrap.steps import pull_image

    flaky = ScriptedDocker(
        [
            (4, ['{"error": "net/http: TLS handshake timeout"}']),
            (0, ['{"status": "Pulling fs layer", "id": "a"}', '{"status": "Pull complete", "id": "a"}']),
        ]
    )
    ctx = _pull_context(flaky, tmp_path)
    pull_image(ctx)
    assert flaky.attempts == 2 and ctx.record.image_id == "sha256:abc"

    missing = ScriptedDocker([(4, ['{"error": "manifest unknown"}'])] * 3)
    with pytest.raises(StepFailed, match="manifest unknown"):
        pull_image(_pull_context(missing, tmp_path))
    assert missing.attempts == 1
