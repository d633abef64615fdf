"""The pip runtime's bootstrap steps (listed in steps.py with the others): Isaac Lab 3.x from
PyPI in a virtual environment under the deployment's folder, or a researcher's own adopted
with --isaaclab-python, checked by a real import. No Docker, no image, no NGC key."""

from __future__ import annotations

import json
from typing import Any

from isaacctl.remote.batch import Command
from isaacctl.services.bootstrap.context import StepContext, StepFailed

DEFAULT_PIP_VERSION = "3.0.0"  # isaaclab on PyPI; 2.x is not there (it needs Isaac Sim's image)
VENV_FOLDER = "isaaclab-venv"

# Prints what the Python has: its version and isaaclab's, as JSON (no Isaac Lab import: cheap).
_ASK = (
    "import json, sys, importlib.metadata as m\n"
    "try: v = m.version('isaaclab')\nexcept Exception: v = None\n"
    "print(json.dumps({'python': '%d.%d' % sys.version_info[:2], 'isaaclab': v}))"
)
# The real import, as a job would do it; reports where the package was found.
_IMPORT = (
    "import json, importlib.metadata as m, isaaclab\n"
    "print(json.dumps({'isaaclab': m.version('isaaclab'), 'path': list(isaaclab.__path__)}))"
)


def wanted_version(ctx: StepContext) -> str:
    """The pip requirement's version: --isaaclab-version (3.0 means the newest 3.0.x)."""
    # --isaaclab-version is the container side's flag; settings without it: the default
    return getattr(ctx.settings, "isaaclab_version", None) or DEFAULT_PIP_VERSION


def _matches(installed: str, wanted: str) -> bool:
    return installed == wanted or installed.startswith(wanted + ".")


def python_path(ctx: StepContext) -> str:
    return ctx.settings.isaaclab_python or f"{ctx.host_root}/{VENV_FOLDER}/bin/python"


def ask_probe(ctx: StepContext) -> tuple[Command]:
    """What environment_ready asks, for the runner to ask with the other checks."""
    return (Command.of([python_path(ctx), "-c", _ASK]),)


def _ask(ctx: StepContext, python: str) -> dict[str, Any] | None:
    result = ctx.run([python, "-c", _ASK], timeout=120)
    if not result.ok:
        return None
    try:
        answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
        return answer
    except (ValueError, IndexError):
        return None


def environment_ready(ctx: StepContext) -> bool:
    said = _ask(ctx, python_path(ctx))
    if said is None or not said.get("isaaclab"):
        return False
    ctx.memo["isaaclab_package_version"] = said["isaaclab"]
    # An adopted environment is the researcher's: whatever version it holds is the one.
    return bool(ctx.settings.isaaclab_python) or _matches(said["isaaclab"], wanted_version(ctx))


def make_environment(ctx: StepContext) -> None:
    if ctx.settings.isaaclab_python:
        python = ctx.settings.isaaclab_python
        said = _ask(ctx, python)
        if said is None:
            raise StepFailed(
                f"--isaaclab-python: {python} does not run on the host",
                hint="give the path of the environment's python (e.g. ~/venv/bin/python made absolute)",
            )
        raise StepFailed(
            f"--isaaclab-python: {python} (Python {said['python']}) has no isaaclab package",
            hint=f"pip install isaaclab=={wanted_version(ctx)} into it (Python 3.12), "
            "or leave out --isaaclab-python and bootstrap makes an environment",
        )
    venv = f"{ctx.host_root}/{VENV_FOLDER}"
    found = ctx.run(
        [
            "sh",
            "-c",
            'for p in python3.12 python3; do command -v "$p" >/dev/null && '
            '"$p" -c "import sys, venv; sys.exit(sys.version_info[:2] != (3, 12))" 2>/dev/null && '
            '{ command -v "$p"; exit 0; }; done; exit 1',
        ],
        timeout=60,
    )
    if not found.ok:
        raise StepFailed(
            "Isaac Lab 3 needs Python 3.12 (with venv) on the host, and there is none",
            hint="install it (e.g. apt-get install python3.12-venv, or uv python install 3.12), "
            "or pass --isaaclab-python PATH of an environment that has isaaclab",
        )
    base = found.stdout.strip().splitlines()[-1]
    version = wanted_version(ctx)
    requirement = f"isaaclab=={version}" if version.count(".") >= 2 else f"isaaclab=={version}.*"
    ctx.need(ctx.run([base, "-m", "venv", venv], timeout=300), f"cannot make a virtual environment with {base}")
    # pip's cache is the deployment's, so a re-made environment does not download 5 GB again
    ctx.need(
        ctx.run(
            [
                f"{venv}/bin/python",
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--progress-bar",
                "off",
                requirement,
            ],
            timeout=7200,
            env={"PIP_CACHE_DIR": f"{ctx.host_root}/cache/pip"},
        ),
        f"pip could not install {requirement}",
        hint="the host needs PyPI (or a mirror configured in pip.conf); or adopt an environment with --isaaclab-python",
    )


def _major_minor(version: str) -> str | None:
    """'3.0' for 3.0.0 (the record holds major.minor, as the version table does)."""
    import re

    match = re.match(r"(\d+)\.(\d+)", version.strip())
    return f"{match.group(1)}.{match.group(2)}" if match else None


def import_stands(ctx: StepContext) -> bool:
    """The last real import holds: the same Python, and (through the step's digest) the same
    isaaclab and asset root. A real import costs seconds; a re-run on a ready host skips it."""
    version = ctx.memo.get("isaaclab_package_version")
    if ctx.record.isaaclab_python != python_path(ctx) or version is None:
        return False
    ctx.record.isaaclab_version = _major_minor(version)
    return bool(ctx.record.isaaclab_version and ctx.record.isaaclab_version.startswith("3."))


def import_isaaclab(ctx: StepContext) -> None:
    python = python_path(ctx)
    if ctx.settings.asset_root:
        ctx.need(
            ctx.run(["test", "-d", ctx.settings.asset_root], timeout=60),
            f"--asset-root: {ctx.settings.asset_root} is not a folder on the host",
        )
    env = {"ISAACSIM_ASSET_ROOT": ctx.settings.asset_root} if ctx.settings.asset_root else None
    result = ctx.need(ctx.run([python, "-c", _IMPORT], timeout=600, env=env), f"import isaaclab failed with {python}")
    try:
        said = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise StepFailed(f"import isaaclab with {python} said nothing readable", output_tail=result.tail(5)) from None
    version = _major_minor(said["isaaclab"])
    if version is None or not version.startswith("3."):
        raise StepFailed(
            f"{python} has isaaclab {said['isaaclab']}; the pip runtime runs Isaac Lab 3.x",
            hint="Isaac Lab 2.x runs in its container: --runtime container",
        )
    ctx.record.isaaclab_python = python
    ctx.record.isaaclab_version = version
    ctx.memo["isaaclab_package_version"] = said["isaaclab"]
    ctx.write_log(f"isaaclab {said['isaaclab']} imported from {', '.join(said['path'])}")
