"""Shared pieces of the fake train/play scripts."""

from __future__ import annotations

import difflib
import math
import os
import pickle
import random
import re
import signal
import struct
import sys
import time
import zipfile
from datetime import datetime

from . import catalog
from .cli import UsageError

VERSION = "1.0"
CFG_ENTRY_POINTS = {
    "rsl_rl": "rsl_rl_cfg_entry_point",
    "skrl": "skrl_cfg_entry_point",
    "rl_games": "rl_games_cfg_entry_point",
    "sb3": "sb3_cfg_entry_point",
    "torchrl": "torchrl_cfg_entry_point",
}

# Which Isaac Lab the scripts answer as: 2 (per-library scripts) or 3 (the `isaaclab` command,
# set by isaaclab_standin.v3). Module state, as each process runs one command.
GENERATION = 2
# Isaac Lab 3's --run_timestamp: the run folder's name instead of the current time.
RUN_TIMESTAMP: str | None = None
RUN_MANIFEST = "run.json"


class Terminated(Exception):
    """SIGTERM arrived."""


def _on_sigterm(signum, frame):
    raise Terminated()


def install_signal_handlers() -> None:
    # Explicit, so SIGINT works even when started with SIGINT ignored (e.g. `cmd &`).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _on_sigterm)


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def env_float(name: str, default: float) -> float:
    try:
        return max(0.0, float(os.environ.get(name, default)))
    except ValueError:
        return default


def iteration_seconds() -> float:
    return env_float("STANDIN_ITERATION_SECONDS", 0.02)


def standin_fps() -> float:
    """The steps/s a run reports (STANDIN_FPS): what a benchmark test sets per host."""
    return env_float("STANDIN_FPS", 52000.0) or 52000.0


def play_step_seconds() -> float:
    return env_float("STANDIN_PLAY_STEP_SECONDS", 0.01)


def timestamp() -> str:
    return RUN_TIMESTAMP or datetime.now().strftime("%Y-%m-%d_%H-%M-%S")


def fail(exc_line: str, code: int = 1) -> UsageError:
    """An error printed like an uncaught Python exception."""
    return UsageError("Traceback (most recent call last):\n  (isaacctl stand-in: traceback elided)\n" + exc_line, code)


_ENV_ID = re.compile(r"^(?:(?P<namespace>[\w:-]+)\/)?(?:(?P<name>[\w:.-]+?))(?:-v(?P<version>\d+))?$")


def lookup_task(name: str | None) -> catalog.Task:
    if not name:
        raise UsageError("[ERROR] Please provide a task name with --task (e.g. --task Isaac-Cartpole-Direct-v0).")
    name = name.split(":")[-1]
    if GENERATION == 3:
        return _lookup_task3(name)
    task = catalog.get(name)
    if task is not None:
        return task
    match = _ENV_ID.match(name)
    base = match.group("name") if match else name
    bases = {t.rsplit("-v", 1)[0]: t for t in catalog.TASKS}
    if match and base in bases:
        raise fail(
            f"gymnasium.error.VersionNotFound: Environment version `v{match.group('version')}` "
            f"for environment `{base}` doesn't exist. It provides the default version `{base}-v0`."
        )
    hint = difflib.get_close_matches(base, list(bases), n=1)
    suffix = f" Did you mean: `{hint[0]}`?" if hint else ""
    raise fail(f"gymnasium.error.NameNotFound: Environment `{base}` doesn't exist.{suffix}")


def _lookup_task3(name: str) -> catalog.Task:
    """gymnasium's answers on 3.x, where ids are registered without a version: an old `-v0` id
    of a task that still exists is a DeprecatedEnv, any other unknown id NameNotFound."""
    task = catalog.TASKS3.get(name)
    if task is not None:
        return task
    match = _ENV_ID.match(name)
    base = match.group("name") if match else name
    if match and match.group("version") is not None and base in catalog.TASKS3:
        raise fail(
            f"gymnasium.error.DeprecatedEnv: Environment version `v{match.group('version')}` for "
            f"environment `{base}` doesn't exist. It provides the default version `{base}`."
        )
    hint = difflib.get_close_matches(base, list(catalog.TASKS3), n=1)
    suffix = f" Did you mean: `{hint[0]}`?" if hint else ""
    raise fail(f"gymnasium.error.NameNotFound: Environment `{base}` doesn't exist.{suffix}")


def write_run_manifest(run_dir: str, library: str, task: str, agent: str) -> None:
    """Isaac Lab 3's run.json, as isaaclab_rl.entrypoints.common.write_run_manifest writes it."""
    import json
    from datetime import timezone

    os.makedirs(run_dir, exist_ok=True)
    manifest = {
        "version": 1,
        "library": library,
        "task": task.split(":")[-1],
        "created_at": datetime.now(timezone.utc).isoformat(),
        "metadata": {"agent": agent},
    }
    temporary = os.path.join(run_dir, f".{RUN_MANIFEST}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.replace(temporary, os.path.join(run_dir, RUN_MANIFEST))


def _natural(value: str) -> list:
    return [int(token) if token.isdigit() else token for token in re.split(r"(\d+)", value)]


def resolve_checkpoint_selector(
    log_root: str,
    selector: str,
    *,
    library: str,
    task: str,
    pattern: str,
    other_dirs: list[str] | None = None,
    preferred: str | None = None,
    recursive: bool = False,
) -> str:
    """Isaac Lab 3's --checkpoint latest|best: the newest run (run.json created_at) of this
    library and task, then its naturally last checkpoint (best: the preferred file first)."""
    import json

    runs = []
    if os.path.isdir(log_root):
        for entry in os.scandir(log_root):
            try:
                with open(os.path.join(entry.path, RUN_MANIFEST), encoding="utf-8") as handle:
                    manifest = json.load(handle)
                created = datetime.fromisoformat(manifest["created_at"])
            except (OSError, KeyError, TypeError, ValueError):
                continue
            if (
                manifest.get("version") == 1
                and manifest.get("library") == library
                and manifest.get("task") == task.split(":")[-1]
            ):
                runs.append((created, entry.path))
    for _, run_dir in sorted(runs, reverse=True):
        folder = os.path.join(run_dir, *(other_dirs or []))
        if not os.path.isdir(folder):
            continue
        if recursive:
            found = [os.path.join(d, f) for d, _, files in os.walk(folder) for f in files]
        else:
            found = [os.path.join(folder, f) for f in os.listdir(folder)]
        found = [p for p in found if os.path.isfile(p) and re.fullmatch(pattern, os.path.basename(p))]
        if not found:
            continue
        if selector == "best" and preferred is not None:
            found = [p for p in found if re.fullmatch(preferred, os.path.basename(p))] or found
        found.sort(key=lambda p: _natural(os.path.relpath(p, folder)))
        return os.path.realpath(found[-1])
    raise fail(
        f"ValueError: No compatible manifested run with a checkpoint was found in '{log_root}'. "
        f"Run training with the current unified training entrypoint before using '--checkpoint {selector}'."
    )


def check_library(task: catalog.Task, library: str, agent_entry: str | None, algorithm: str = "PPO") -> str:
    default = CFG_ENTRY_POINTS[library]
    if library == "skrl" and algorithm.lower() != "ppo":
        default = f"skrl_{algorithm.lower()}_cfg_entry_point"
    entry = agent_entry or default
    if library not in task.libraries or entry != CFG_ENTRY_POINTS[library]:
        available = ", ".join(CFG_ENTRY_POINTS[lib] for lib in task.libraries)
        raise fail(
            f"ValueError: Could not find configuration for the environment: '{task.name}'.\n"
            f"Please check that the gym registry has the entry point: '{entry}'.\n"
            f"Existing RL library (and RL algorithm) configurations for the task '{task.name}':\n"
            f"  {available}"
        )
    return entry


def seeded(seed: int | None) -> int:
    if seed is None:
        return 42
    if seed == -1:
        return random.randint(0, 10000)
    return seed


def app_launcher_lines(args, local_rank: int = 0) -> list[str]:
    device = args.device
    if getattr(args, "distributed", False):
        device = f"cuda:{local_rank}"
    if getattr(args, "video", False):
        args.enable_cameras = True
    if args.livestream not in (-1, 0):
        kit = "isaaclab.python.headless.rendering.kit" if args.enable_cameras else "isaaclab.python.headless.kit"
    elif args.headless or not os.environ.get("DISPLAY"):
        kit = "isaaclab.python.headless.rendering.kit" if args.enable_cameras else "isaaclab.python.headless.kit"
    else:
        kit = "isaaclab.python.rendering.kit" if args.enable_cameras else "isaaclab.python.kit"
    lines = [
        f"[INFO][AppLauncher]: Using device: {device}",
        f"[INFO][AppLauncher]: Loading experience file: /isaac-sim/apps/{args.experience or kit}",
    ]
    if not args.headless and args.livestream in (-1, 0) and not os.environ.get("DISPLAY"):
        lines.append("[WARN][AppLauncher]: No display available: running headless (isaacctl stand-in).")
    if args.livestream in (1, 2):
        lines.append(
            f"[INFO][AppLauncher]: Livestream mode {args.livestream} requested (stand-in: nothing is streamed)."
        )
    return lines


def banner(library: str, mode: str, task: catalog.Task) -> str:
    return (
        f"[STANDIN] isaacctl Isaac Lab stand-in {VERSION}: no simulation, no GPU ({library} {mode}, task {task.name})"
    )


class Curve:
    """A noisy, rising fake learning curve (deterministic for a given seed)."""

    def __init__(self, task: catalog.Task, seed: int, total_iters: int, world_size: int = 1):
        self.task = task
        self.total = max(1, total_iters)
        self.rng = random.Random(seed * 1_000_003 + len(task.name))
        self.world = max(1, world_size)

    def at(self, it: int) -> dict:
        task, rng = self.task, self.rng
        p = min(1.0, (it + 1) / self.total)
        shape = 1.0 - math.exp(-4.0 * p)
        scale = abs(task.reward) or 1.0
        reward = task.reward * (0.05 + 0.95 * shape) + rng.gauss(0.0, 0.03 * scale)
        ep_len = max(1.0, task.episode * (0.08 + 0.87 * shape) + rng.gauss(0.0, 0.02 * task.episode))
        fps = max(1.0, standin_fps() * self.world * (1.0 + rng.gauss(0.0, 0.03)))
        terms = {}
        for i, term in enumerate(task.reward_terms):
            terms[term] = reward / max(1, len(task.reward_terms)) * (1.0 if i % 3 else 1.1)
        return {
            "reward": reward,
            "episode_length": ep_len,
            "value_loss": 0.6 * math.exp(-3.0 * p) + abs(rng.gauss(0.0, 0.02)),
            "surrogate_loss": -0.012 * (1.0 - p) + rng.gauss(0.0, 0.002),
            "entropy": 1.42 - 0.9 * shape + rng.gauss(0.0, 0.01),
            "learning_rate": min(0.01, max(1e-5, 0.001 * math.exp(rng.gauss(0.0, 0.3)))),
            "noise_std": 1.0 - 0.6 * shape + rng.gauss(0.0, 0.005),
            "fps": fps,
            "kl": abs(rng.gauss(0.008, 0.002)),
            "terms": terms,
        }


def f32_str(value: float) -> str:
    """str() of a numpy float32 (shortest repr that round-trips in float32)."""
    (f32,) = struct.unpack("<f", struct.pack("<f", value))
    if math.isinf(f32):
        return "-inf" if f32 < 0 else "inf"
    for digits in range(1, 10):
        text = f"{f32:.{digits}g}"
        if struct.unpack("<f", struct.pack("<f", float(text)))[0] == f32:
            return repr(float(text))
    return repr(f32)


def checkpoint_iteration(path: str, key: str) -> int | None:
    """Read `key` from a stand-in checkpoint's data.pkl, or None."""
    try:
        with zipfile.ZipFile(path) as zf:
            name = next(n for n in zf.namelist() if n.endswith("data.pkl"))
            return int(pickle.loads(zf.read(name)).get(key))
    except Exception:  # noqa: BLE001 - not a stand-in checkpoint
        nums = re.findall(r"\d+", os.path.basename(path))
        return int(nums[0]) if nums else None


def get_checkpoint_path(
    log_path: str, run_dir: str = ".*", checkpoint: str = ".*", other_dirs: list[str] | None = None
) -> str:
    """Upstream's resolution: alphabetically last run, last file by zero-padded name."""
    try:
        runs = sorted(
            os.path.join(log_path, e.name) for e in os.scandir(log_path) if e.is_dir() and re.match(run_dir, e.name)
        )
        run_path = os.path.join(runs[-1], *(other_dirs or []))
    except FileNotFoundError as exc:
        raise fail(f"FileNotFoundError: [Errno 2] No such file or directory: '{exc.filename}'") from None
    except IndexError:
        raise fail(f"ValueError: No runs present in the directory: '{log_path}' match: '{run_dir}'.") from None
    try:
        files = [f for f in os.listdir(run_path) if re.match(checkpoint, f)]
    except FileNotFoundError:
        files = []
    if not files:
        raise fail(f"ValueError: No checkpoints in the directory: '{run_path}' match '{checkpoint}'.")
    files.sort(key=lambda m: f"{m:0>15}")
    return os.path.join(run_path, files[-1])


def retrieve_file_path(path: str) -> str:
    if not os.path.isfile(path):
        raise fail(f"FileNotFoundError: Unable to find the file: {path}")
    return os.path.abspath(path)


def fmt_hms(seconds: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(max(0.0, seconds)))
