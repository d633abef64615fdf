"""Isaac Lab 3's `isaaclab` command (= `python -m isaaclab`): train, play, train_multigpu,
list_envs, benchmark. The argument surface follows the isaaclab 3.0.0 wheel
(isaaclab/cli/__init__.py, isaaclab_rl/entrypoints/): one parser per library behind a
`--rl_library` dispatcher, no --headless or --enable_cameras (an "unrecognized argument",
exit 2), `--checkpoint FILE|latest|best`, `--run_timestamp`, `--viz`, run.json in every run."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from datetime import datetime

from . import catalog, cli, common

LIBRARIES = ("rl_games", "rlinf", "rsl_rl", "sb3", "skrl", "torchrl")
STANDIN_LIBRARIES = ("rl_games", "rsl_rl", "sb3", "skrl", "torchrl")  # rlinf's layout is not imitated
NO_DISTRIBUTED = ("sb3", "torchrl")  # their train has neither --distributed nor --run_timestamp
VIZ = ("kit", "newton_gl", "newton_rtx", "rerun", "viser", "none")
PHYSICS = ("physx", "isaacsim_physx", "newton_mjwarp", "newton_vbd", "ovphysx")
KIT_ONLY_PHYSICS = ("isaacsim_physx",)
SELECTORS = ("physics", "renderer", "presets")
SUBCOMMANDS = (
    "train",
    "play",
    "train_multigpu",
    "list_envs",
    "benchmark",
    "zero_agent",
    "random_agent",
    "demo",
    "example",
    "teleop",
    "leapp",
)


def isaac_sim_installed() -> bool:
    """The kit-less image has no Isaac Sim; the 2.x stand-in image's /isaac-sim stands for it."""
    return os.path.exists("/isaac-sim/python.sh") or os.environ.get("STANDIN_ISAAC_SIM") == "1"


def add_launcher_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("launcher arguments")
    group.add_argument("--device", type=str, default="cuda:0")
    group.add_argument("--viz", type=str, default="none", choices=VIZ)
    group.add_argument("--livestream", type=int, default=-1, choices={-1, 0, 1, 2})
    group.add_argument("--kit_args", type=str, default="")
    group.add_argument("--experience", type=str, default="")
    group.add_argument("--verbose", action="store_true")
    group.add_argument("--info", action="store_true")
    group.add_argument("--deterministic", action="store_true")


def build_parser(library: str, mode: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"isaaclab {mode}", description=f"{'Train' if mode == 'train' else 'Play'} an RL agent with {library}."
    )
    parser.add_argument("--video", action="store_true", default=False)
    parser.add_argument("--video_length", type=int, default=None)
    parser.add_argument("--video_interval", type=int, default=None)
    parser.add_argument("--num_envs", type=int, default=None)
    parser.add_argument("--task", type=str, default=None)
    parser.add_argument("--frontend", type=str, choices=["torch", "warp"], default="torch")
    parser.add_argument("--agent", type=str, default=None)
    parser.add_argument("--seed", type=int, default=None)
    if mode == "train":
        if library not in NO_DISTRIBUTED:
            parser.add_argument("--distributed", action="store_true", default=False)
            parser.add_argument("--run_timestamp", type=str, default=None)
        parser.add_argument("--max_iterations", type=int, default=None)
        parser.add_argument("--export_io_descriptors", action="store_true", default=False)
    else:
        parser.add_argument("--disable_fabric", action="store_true", default=False)
        parser.add_argument("--real-time", action="store_true", default=False)
        parser.add_argument("--train_env_cfg", action="store_true", default=False)
    parser.add_argument("--checkpoint", type=str, default=None, help="Checkpoint path, or latest/best.")
    if library in ("rsl_rl", "torchrl"):
        parser.add_argument("--experiment_name", type=str, default=None)
        parser.add_argument("--run_name", type=str, default=None)
        parser.add_argument("--logger", type=str, default=None, choices={"wandb", "tensorboard", "neptune"})
        parser.add_argument("--log_project_name", type=str, default=None)
    elif library == "skrl":
        parser.add_argument("--ml_framework", type=str, default="torch", choices=["torch", "jax", "jax-numpy"])
        parser.add_argument("--algorithm", type=str, default="PPO", choices=["AMP", "PPO", "IPPO", "MAPPO"])
    elif library == "rl_games" and mode == "train":
        parser.add_argument("--sigma", type=str, default=None)
    elif library == "sb3" and mode == "train":
        parser.add_argument("--log_interval", type=int, default=100_000)
        parser.add_argument("--keep_all_info", action="store_true", default=False)
    add_launcher_args(parser)
    return parser


def split_selectors(rest: list[str]) -> tuple[dict[str, str], list[str]]:
    """physics=, renderer=, presets= pick a configuration (setup_preset_cli); the rest is Hydra's."""
    chosen, hydra = {}, []
    for arg in rest:
        key, sep, value = arg.partition("=")
        if sep and key in SELECTORS:
            chosen[key] = value
        else:
            hydra.append(arg)
    physics = chosen.get("physics")
    if physics is not None and physics not in PHYSICS:
        raise common.fail(
            f"ValueError: Invalid physics config: {physics!r} (expected "
            + ", ".join(f"'{name}'" for name in PHYSICS[:-1])
            + f", or '{PHYSICS[-1]}')."
        )
    return chosen, hydra


def needs_isaac_sim(args, selectors: dict[str, str]) -> str | None:
    """What in this run needs Isaac Sim (Kit), if anything."""
    if selectors.get("physics") in KIT_ONLY_PHYSICS:
        return f"physics={selectors['physics']}"
    if args.viz == "kit":
        return "--viz kit"
    if args.livestream in (1, 2):
        return "--livestream"
    if args.video and args.viz == "none":
        return "--video without a visualizer (pass --viz newton_gl)"
    return None


def _prepare(library: str, mode: str, argv: list[str]):
    parser = build_parser(library, mode)
    args, rest = parser.parse_known_args(argv)
    unknown = [a for a in rest if a.startswith("-")]
    if unknown:
        raise cli.hydra_usage_error(f"unrecognized arguments: {' '.join(unknown)}")
    selectors, hydra = split_selectors(rest)
    task = common.lookup_task(args.task)
    kit = needs_isaac_sim(args, selectors)
    if kit and not isaac_sim_installed():
        raise common.fail(
            f"RuntimeError: {kit} needs Isaac Sim, which is not installed "
            "(kit-less Isaac Lab: pip install 'isaaclab[isaacsim]')"
        )
    # the stand-in's shared code reads these 2.x attributes
    for name, value in (
        ("headless", True),
        ("enable_cameras", args.video),
        ("use_pretrained_checkpoint", False),
        ("use_last_checkpoint", False),
        ("load_run", None),
        ("resume", False),
    ):
        setattr(args, name, value)
    if args.video_length is None:
        args.video_length = 200
    if mode == "train" and args.video_interval is None:
        args.video_interval = 2000
    common.RUN_TIMESTAMP = getattr(args, "run_timestamp", None)
    return args, task, selectors, hydra


def _summary(library: str, mode: str, args, task, selectors: dict[str, str]) -> None:
    common.out("+" + "-" * 58 + "+")
    common.out(f"| Isaac Lab {mode} (isaacctl stand-in): {task.name} with {library}".ljust(59) + "|")
    for key in SELECTORS:
        if key in selectors:
            common.out(f"|   {key}: {selectors[key]}".ljust(59) + "|")
    common.out(f"|   viz: {args.viz}, device: {args.device}".ljust(59) + "|")
    common.out("+" + "-" * 58 + "+")


def _library(argv: list[str]) -> tuple[str | None, list[str]]:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--rl_library", choices=LIBRARIES)
    parser.add_argument("--task")
    selected, rest = parser.parse_known_args(argv)
    if selected.rl_library:
        return selected.rl_library, [a for a in argv if a not in ("--rl_library", selected.rl_library)]
    # the task's default agent; an id gymnasium does not know leaves no default
    task = catalog.TASKS3.get((selected.task or "").split(":")[-1])
    return ("rsl_rl" if task is not None and "rsl_rl" in task.libraries else None), list(argv)


def run_rl(mode: str, argv: list[str]) -> int:
    try:
        library, rest = _library(argv)
    except SystemExit as exc:  # argparse's own message, exit 2
        return int(exc.code or 0)
    if library is None:
        sys.stderr.write(
            f"usage: isaaclab {mode} --rl_library {{{','.join(LIBRARIES)}}} ...\n\n"
            f"{mode}: error: the following argument is required: --rl_library\n"
        )
        return 2
    if library not in STANDIN_LIBRARIES:
        common.err(f"[STANDIN] --rl_library {library} is not imitated by the isaacctl stand-in")
        return 1
    if mode == "train":
        from . import train

        return train.main_v3(library, rest)
    from . import play

    return play.main_v3(library, rest)


TORCHRUN_ARGS = (
    "nnodes",
    "node_rank",
    "master_addr",
    "master_port",
    "rdzv_backend",
    "rdzv_endpoint",
    "rdzv_id",
    "max_restarts",
    "monitor_interval",
    "start_method",
    "role",
    "tee",
    "redirects",
    "local_ranks_filter",
    "log_dir",
)


def train_multigpu(argv: list[str]) -> int:
    """As isaaclab 3.0.0's (isaaclab/cli/multigpu.py, isaaclab_rl/entrypoints/multigpu.py): the
    real torchrun with the rendezvous options passed on, one --run_timestamp for every rank
    unless given (so nodes given the same one share a run folder name), console output of local
    rank 0 only, and a supervisor that forwards SIGINT/SIGTERM to the whole worker group."""
    parser = argparse.ArgumentParser(prog="train_multigpu", allow_abbrev=False)
    parser.add_argument("--rl_library", choices=LIBRARIES, default="rsl_rl")
    parser.add_argument("--num_gpus", "--nproc_per_node", dest="nproc_per_node", default="gpu")
    for name in TORCHRUN_ARGS:
        parser.add_argument(f"--{name}", default=None)
    parser.add_argument("--log_all_ranks", action="store_true")
    parser.add_argument("--dry_run", action="store_true")
    try:
        args, rest = parser.parse_known_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.rl_library in NO_DISTRIBUTED:
        sys.stderr.write(f"train_multigpu: error: argument --rl_library: invalid choice: '{args.rl_library}'\n")
        return 2
    if not any(a == "--run_timestamp" or a.startswith("--run_timestamp=") for a in rest):
        rest.append(f"--run_timestamp={datetime.now().strftime('%Y-%m-%d_%H-%M-%S')}")
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(args.nproc_per_node)]
    for name in TORCHRUN_ARGS:
        if getattr(args, name) is not None:
            command += [f"--{name}", str(getattr(args, name))]
    if not args.log_all_ranks and args.local_ranks_filter is None:
        command += ["--local_ranks_filter", "0"]
    command += ["-m", "isaaclab", "train", "--rl_library", args.rl_library, *rest]
    if "--distributed" not in rest:
        command.append("--distributed")
    if args.dry_run:
        print(shlex.join(command))
        return 0
    print(f"[INFO] Launching distributed workers with: {shlex.join(command)}", flush=True)
    return _supervise(command)


def _supervise(command: list[str]) -> int:
    proc = subprocess.Popen(command, start_new_session=True)
    group = os.getpgid(proc.pid)

    def forward(signum, frame):
        try:
            os.killpg(group, signum)
        except (ProcessLookupError, PermissionError):
            pass

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, forward)
    code = proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # workers that outlived torchrun
        try:
            os.killpg(group, 0)
        except (ProcessLookupError, PermissionError):
            break
        time.sleep(0.2)
    else:
        forward(signal.SIGKILL, None)
    return code


def benchmark(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="isaaclab benchmark")
    parser.add_argument(
        "kind",
        choices=[
            "runtime",
            "startup",
            "training",
            "play",
            "runtime_multigpu",
            "startup_multigpu",
            "training_multigpu",
            "play_multigpu",
        ],
    )
    parser.add_argument("--task", required=True)
    parser.add_argument("--num_envs", type=int, default=4096)
    parser.add_argument("--rl_library", choices=LIBRARIES, default="rsl_rl")
    parser.add_argument("--max_iterations", type=int, default=10)
    parser.add_argument("--output_path", default=".")
    try:
        args, rest = parser.parse_known_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if any(a.startswith("-") for a in rest):
        common.err(f"isaaclab benchmark: error: unrecognized arguments: {' '.join(rest)}")
        return 2
    try:
        task = common.lookup_task(args.task)
    except cli.UsageError as exc:
        common.err(str(exc))
        return exc.code
    os.makedirs(args.output_path, exist_ok=True)
    name = args.kind.removesuffix("_multigpu") + ".json"
    fps = common.standin_fps() * args.num_envs / 4096
    with open(os.path.join(args.output_path, name), "w", encoding="utf-8") as handle:
        json.dump(_kpi_phases(args, task.name, fps), handle, indent=4)
    common.out(f"[INFO] Benchmark results written to {os.path.join(args.output_path, name)}")
    return 0


def _kpi_phases(args, task: str, fps: float) -> list:
    """Isaac Lab's JSONFileMetrics file: test phases, every measurement and metadata name
    prefixed "<workflow> <phase> " when the session ends."""
    workflow = f"benchmark_{args.rl_library}_train"

    def phase(name: str, measurements: list, metadata: list) -> dict:
        return {
            "phase_name": name,
            "measurements": [
                {"name": f"{workflow} {name} {m}", "value": v, "unit": u, "type": "single"} for m, v, u in measurements
            ],
            "metadata": [
                {"name": f"{workflow} {name} {k}", "data": d}
                for k, d in [("workflow_name", workflow), ("phase", name), *metadata]
            ],
        }

    run = [("task", task), ("seed", 42), ("num_envs", args.num_envs), ("max_iterations", args.max_iterations)]
    return [
        phase("benchmark_info", [], run),
        phase(
            "startup",
            [
                ("App Launch Time", 1200.0, "ms"),
                ("Python Imports Time", 300.0, "ms"),
                ("Task Creation and Start Time", 500.0, "ms"),
                ("Total Start Time (Launch to Train)", 2000.0, "ms"),
            ],
            [],
        ),
        phase(
            "runtime",
            [
                ("Min Total FPS", fps * 0.98, "FPS"),
                ("Mean Total FPS", fps, "FPS"),
                ("Max Total FPS", fps * 1.02, "FPS"),
            ],
            [],
        ),
        phase("train", [("Max Rewards", 4.5, "float"), ("Last Reward", 4.4, "float")], []),
    ]


def usage() -> str:
    return (
        "usage: isaaclab [-h] {" + ",".join(SUBCOMMANDS) + "} ...\n\n"
        "Isaac Lab command line (isaacctl stand-in of isaaclab 3.0.0)"
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command in ("train", "play"):
        return run_rl(command, rest)
    if command == "train_multigpu":
        return train_multigpu(rest)
    if command == "list_envs":
        from . import list_envs

        return list_envs.main_v3(rest)
    if command == "benchmark":
        return benchmark(rest)
    if command in SUBCOMMANDS:
        common.err(f"[STANDIN] isaaclab {command} is not imitated by the isaacctl stand-in")
        return 1
    sys.stderr.write(usage() + f"\nisaaclab: error: argument command: invalid choice: '{command}'\n")
    return 2


def enter() -> None:
    common.GENERATION = 3
    sys.exit(main())
