"""isaacctl as `pip install` / `pipx install` users get it: a wheel built from this source,
installed offline into fresh virtual environments from a wheelhouse (scripts/build_image.sh
--prepare makes it; scripts/test.sh exports it as ISAACCTL_TEST_WHEELHOUSE).

One environment has no extra at all: each cloud's `deploy`, `check`, `gc` and `status --refresh`
must then say in one line which install command adds it (exit 2), not fail halfway with a
ModuleNotFoundError. The other has `isaacctl[all]`: every provider loads."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from harness.cli import guarded_env

ROOT = Path(__file__).resolve().parents[1]
WHEELHOUSE = os.environ.get("ISAACCTL_TEST_WHEELHOUSE")
V1_RECORD = ROOT / "tests" / "data" / "v1" / "deployment.json"

pytestmark = pytest.mark.skipif(
    not WHEELHOUSE or not Path(WHEELHOUSE).is_dir(),
    reason="no wheelhouse (scripts/build_image.sh --prepare; scripts/test.sh sets it)",
)


def run(argv, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=600, **kw)


def pip_offline(python: Path, *args) -> None:
    result = run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-index",
            "--find-links",
            WHEELHOUSE,
            *args,
        ],
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel of this source, built offline from a copy (the working tree is left alone)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for name in ("src", "templates"):
        shutil.copytree(
            ROOT / name, source / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
        )
    result = run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-index",
            "--find-links",
            WHEELHOUSE,
            "-w",
            work / "dist",
            source,
        ],
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = (work / "dist").glob("isaacctl-*.whl")
    return built


def fresh_venv(where: Path) -> Path:
    result = run([sys.executable, "-m", "venv", where])
    assert result.returncode == 0, result.stderr
    return where / "bin" / "python"


@pytest.fixture(scope="module")
def bare(tmp_path_factory, wheel) -> Path:
    """A venv with isaacctl and no extra."""
    python = fresh_venv(tmp_path_factory.mktemp("bare") / "venv")
    pip_offline(python, wheel)
    return python.parent


@pytest.fixture(scope="module")
def full(tmp_path_factory, wheel) -> Path:
    """A venv with isaacctl[all], as `pipx install 'isaacctl[all]'` makes one."""
    python = fresh_venv(tmp_path_factory.mktemp("full") / "venv")
    pip_offline(python, f"isaacctl[all] @ {wheel.as_uri()}")
    return python.parent


def isaacctl(bin_dir: Path, state: Path, *args) -> subprocess.CompletedProcess:
    env = guarded_env({"ISAACCTL_STATE_DIR": str(state), "NO_COLOR": "1", "COLUMNS": "200", "PYTHONPATH": None})
    # the guard rides on PYTHONPATH; the venv must not see this checkout's sources through it
    env["PYTHONPATH"] = str(ROOT / "tests" / "guard")
    return run([bin_dir / "isaacctl", *args], env=env)


def cloud_extras(wheel: Path) -> list[str]:
    """The providers that have an extra of their own name, read from the wheel's metadata."""
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        extras = re.findall(r"^Provides-Extra: (\S+)$", archive.read(metadata).decode(), re.M)
        points = next(n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt"))
        providers = re.findall(r"^(\w+) = isaacctl\.providers", archive.read(points).decode(), re.M)
    return sorted(set(extras) & set(providers))


def test_the_wheel_carries_every_template(wheel):
    shipped = sorted(str(p.relative_to(ROOT / "templates")) for p in (ROOT / "templates").rglob("*") if p.is_file())
    with zipfile.ZipFile(wheel) as archive:
        inside = sorted(
            n.removeprefix("isaacctl/templates/") for n in archive.namelist() if n.startswith("isaacctl/templates/")
        )
    assert inside == shipped


def test_the_all_extra_is_every_cloud_extra(wheel):
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    (line,) = re.findall(r'^Requires-Dist: isaacctl\[([^\]]+)\].*extra == "all"', metadata, re.M)
    assert sorted(line.split(",")) == cloud_extras(wheel)
    assert "aws" in cloud_extras(wheel)


def test_version_from_the_installed_wheel(bare, wheel, tmp_path):
    version = wheel.name.split("-")[1]
    for args in (["--version"], ["version"]):
        result = isaacctl(bare, tmp_path / "state", *args)
        assert result.returncode == 0, result.stderr
        assert result.stdout == f"isaacctl {version}\n"
    assert not (tmp_path / "state").exists()


def test_templates_are_read_from_the_installed_package(bare, tmp_path):
    """A command that reads templates (the task catalog) works from site-packages."""
    result = isaacctl(bare, tmp_path / "state", "tasks", "-k", "Cartpole", "--json")
    assert result.returncode == 0, result.stderr
    assert any(task["task"].startswith("Isaac-Cartpole") for task in json.loads(result.stdout)["data"])


def one_error_line(result: subprocess.CompletedProcess) -> str:
    shown = result.stdout + result.stderr
    assert result.returncode == 2, shown
    assert result.stdout == "", shown
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), shown
    assert "ModuleNotFoundError" not in shown and "Traceback" not in shown
    return lines[0]


def test_without_an_extra_each_cloud_names_its_install_command(bare, wheel, tmp_path):
    state = tmp_path / "state"
    for cloud in cloud_extras(wheel):
        line = one_error_line(isaacctl(bare, state, "deploy", cloud, "--name", "ws1", "--yes"))
        assert f"pip install 'isaacctl[{cloud}]'" in line
        assert one_error_line(isaacctl(bare, state, "check", cloud)) == line
        assert one_error_line(isaacctl(bare, state, "gc", "--provider", cloud)) == line
        # help and flags need no SDK
        shown = isaacctl(bare, state, "deploy", cloud, "--help")
        assert shown.returncode == 0 and "--name" in shown.stdout, shown.stderr
    assert not state.exists() or list(state.iterdir()) == []


def test_without_the_extra_an_existing_cloud_deployment_says_so_too(bare, tmp_path):
    state = tmp_path / "state"
    record = json.loads(V1_RECORD.read_text())
    record.update(name="ws1", provider="aws", options={"region": "us-east-1"})
    (state / "ws1").mkdir(parents=True, mode=0o700)
    (state / "ws1" / "deployment.json").write_text(json.dumps(record))
    before = (state / "ws1" / "deployment.json").read_bytes()
    plain = isaacctl(bare, state, "status", "ws1")
    assert plain.returncode == 0, plain.stderr  # what is on disk needs no SDK
    line = one_error_line(isaacctl(bare, state, "status", "ws1", "--refresh"))
    assert "pip install 'isaacctl[aws]'" in line
    assert (state / "ws1" / "deployment.json").read_bytes() == before


def test_with_all_every_provider_loads(full, wheel, tmp_path):
    probe = (
        "from isaacctl.providers.registry import get_provider, provider_names\n"
        "for name in provider_names(): get_provider(name)\n"
        "print(' '.join(provider_names()))"
    )
    result = run([full / "python", "-c", probe], env={**os.environ, "PYTHONPATH": ""})
    assert result.returncode == 0, result.stderr
    assert set(cloud_extras(wheel)) <= set(result.stdout.split())
    shown = isaacctl(full, tmp_path / "state", "deploy", "aws", "--help")
    assert shown.returncode == 0 and "--region" in shown.stdout
