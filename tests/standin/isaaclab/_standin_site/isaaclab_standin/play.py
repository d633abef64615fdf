"""Fake play.py for the four RL libraries."""

from __future__ import annotations

import os
import sys
import time

from . import artifacts, cli, common, configs, mp4
from .common import out


def _resolve_checkpoint(library: str, task, args, agent_cfg) -> tuple[str, str]:
    """Return (checkpoint path, run folder) like upstream's play.py."""
    if args.use_pretrained_checkpoint:
        raise cli.UsageError(
            f"[ERROR] Pre-trained checkpoints are not available offline: the isaacctl stand-in cannot "
            f"download one for '{task.name}' ({library}). Pass --checkpoint PATH."
        )
    if library == "rsl_rl":
        log_root = os.path.abspath(os.path.join("logs", "rsl_rl", str(agent_cfg["experiment_name"])))
        out(f"[INFO] Loading experiment from directory: {log_root}")
        if args.checkpoint:
            path = common.retrieve_file_path(args.checkpoint)
        else:
            path = common.get_checkpoint_path(
                log_root, args.load_run or agent_cfg["load_run"], agent_cfg["load_checkpoint"]
            )
        return path, os.path.dirname(path)
    if library == "skrl":
        log_root = os.path.abspath(os.path.join("logs", "skrl", str(agent_cfg["agent"]["experiment"]["directory"])))
        out(f"[INFO] Loading experiment from directory: {log_root}")
        if args.checkpoint:
            path = os.path.abspath(args.checkpoint)
            common.retrieve_file_path(path)
        else:
            path = common.get_checkpoint_path(
                log_root,
                f".*_{args.algorithm.lower()}_{args.ml_framework}",
                r"agent_\d+\.pt",
                other_dirs=["checkpoints"],
            )
        return path, os.path.dirname(os.path.dirname(path))
    if library == "rl_games":
        name = str(agent_cfg["params"]["config"]["name"])
        log_root = os.path.abspath(os.path.join("logs", "rl_games", name))
        out(f"[INFO] Loading experiment from directory: {log_root}")
        if args.checkpoint:
            path = common.retrieve_file_path(args.checkpoint)
        else:
            pattern = f"last_{name}_ep_.*.pth" if args.use_last_checkpoint else f"{name}.pth"
            path = common.get_checkpoint_path(log_root, ".*", pattern, other_dirs=["nn"])
        return path, os.path.dirname(os.path.dirname(path))
    log_root = os.path.abspath(os.path.join("logs", "sb3", task.name.replace("-Play", "")))
    if args.checkpoint:
        path = common.retrieve_file_path(args.checkpoint)
    else:
        pattern = r"model_.*\.zip" if args.use_last_checkpoint else r"model\.zip"
        path = common.get_checkpoint_path(log_root, ".*", pattern)
    return path, os.path.dirname(path)


def _resolve_checkpoint_v3(library: str, task, args, agent_cfg) -> tuple[str, str]:
    """3.x: --checkpoint FILE|latest|best|pretrained (omitted: latest), run folder next to it."""
    from .train import DRIVERS

    selector = args.checkpoint or "latest"
    if selector == "pretrained":
        raise cli.UsageError(
            f"[ERROR] Pre-trained checkpoints are not available offline: the isaacctl stand-in "
            f"cannot download one for '{task.name}' ({library}). Pass --checkpoint PATH."
        )
    if selector in ("latest", "best"):
        if library in ("rsl_rl", "torchrl"):
            experiment = agent_cfg["experiment_name"]
        elif library == "skrl":
            experiment = agent_cfg["agent"]["experiment"]["directory"]
        elif library == "rl_games":
            experiment = agent_cfg["params"]["config"]["name"]
        else:
            experiment = task.name
        log_root = os.path.abspath(os.path.join("logs", library, str(experiment)))
        driver = DRIVERS[library](task, args, {"scene": {"num_envs": 1}}, agent_cfg, True, 1)
        path = common.resolve_checkpoint_selector(
            log_root, selector, library=library, task=task.name, **driver.checkpoint_lookup()
        )
    else:
        path = common.retrieve_file_path(selector)
    up = 2 if library in ("skrl", "rl_games") else 1
    run_dir = path
    for _ in range(up):
        run_dir = os.path.dirname(run_dir)
    return path, run_dir


def main_v3(library: str, argv: list[str]) -> int:
    """Isaac Lab 3's `isaaclab play --rl_library LIB ...`."""
    from . import v3

    def prepare():
        args, task, selectors, hydra_args = v3._prepare(library, "play", argv)
        v3._summary(library, "play", args, task, selectors)
        return args, task, hydra_args

    return main(library, prepare=prepare)


def main(library: str, argv: list[str] | None = None, prepare=None) -> int:
    common.install_signal_handlers()
    step = 0
    try:
        if prepare is None:
            parser = cli.build_parser(library, "play")
            args, hydra_args = parser.parse_known_args(argv)
            task = common.lookup_task(args.task)
        else:
            args, task, hydra_args = prepare()
        common.check_library(task, library, args.agent, getattr(args, "algorithm", "PPO"))
        env_cfg = configs.env_cfg(task)
        agent_cfg = configs.agent_cfg(library, task)
        cli.apply_hydra_overrides(hydra_args, {"env": env_cfg, "agent": agent_cfg})
        if args.num_envs is not None:
            env_cfg["scene"]["num_envs"] = args.num_envs
        out(common.banner(library, "play", task))
        if common.GENERATION == 3:
            path, run_dir = _resolve_checkpoint_v3(library, task, args, agent_cfg)
        else:
            for line in common.app_launcher_lines(args):
                out(line)
            path, run_dir = _resolve_checkpoint(library, task, args, agent_cfg)
        out(f"[INFO]: Loading model checkpoint from: {path}")

        export_dir = os.path.join(run_dir, "exported")
        artifacts.write_torchscript_policy(os.path.join(export_dir, "policy.pt"), 4, 1)
        artifacts.write_onnx_policy(os.path.join(export_dir, "policy.onnx"), 4)
        out(f"[INFO]: Exported policy to: {export_dir} (policy.pt, policy.onnx)")

        video_dir = os.path.join(run_dir, "videos", "play")
        if args.video:
            out("[INFO] Recording videos during play.")
            out(f"\tvideo_folder: {video_dir}")
            out(f"\tvideo_length: {args.video_length}")
        step_s = common.play_step_seconds()
        last_print = 0.0
        while True:
            if step_s:
                time.sleep(step_s)
            step += 1
            now = time.time()
            if now - last_print >= 0.5:
                out(f"[STANDIN] play step {step}")
                last_print = now
            if args.video and step >= args.video_length:
                os.makedirs(video_dir, exist_ok=True)
                # 3.x names a play clip after the checkpoint it plays
                stem = os.path.splitext(os.path.basename(path))[0]
                name = f"clip_{stem}_0000.mp4" if common.GENERATION == 3 else "rl-video-step-0.mp4"
                target = os.path.join(video_dir, name)
                mp4.write_mp4(target, frames=min(args.video_length, 8), duration_frames=args.video_length)
                out(f"[INFO] Video saved: {target}")
                return 0
    except KeyboardInterrupt:
        out(f"[INFO] Interrupted after {step} steps: closing the app")
        return 0
    except common.Terminated:
        out("[INFO] Terminated (SIGTERM)")
        return 143
    except cli.UsageError as exc:
        common.err(str(exc))
        return exc.code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
