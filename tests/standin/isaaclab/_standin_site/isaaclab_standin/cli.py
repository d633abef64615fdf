"""Argument parsing like Isaac Lab's scripts: argparse + AppLauncher + Hydra overrides."""

from __future__ import annotations

import argparse
import os
import sys

HYDRA_USAGE = (
    "usage: {prog} [--help] [--hydra-help] [--version] [--cfg {{job,hydra,all}}] [--resolve]\n"
    "{pad} [--package PACKAGE] [--run] [--multirun] [--shell-completion]\n"
    "{pad} [--config-path CONFIG_PATH] [--config-name CONFIG_NAME]\n"
    "{pad} [--config-dir CONFIG_DIR] [--experimental-rerun EXPERIMENTAL_RERUN]\n"
    "{pad} [--info [{{all,config,defaults,defaults-tree,plugins,searchpath}}]]\n"
    "{pad} [overrides ...]\n"
)


class UsageError(Exception):
    """Raised to exit like argparse/Hydra: message to stderr, given exit code."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "0").strip().lower() in ("1", "true", "yes")


def add_app_launcher_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("app_launcher arguments")
    group.add_argument(
        "--headless", action="store_true", default=_env_flag("HEADLESS"), help="Force display off at all times."
    )
    group.add_argument(
        "--livestream",
        type=int,
        default=int(os.environ.get("LIVESTREAM", "-1") or -1),
        choices={-1, 0, 1, 2},
        help="Force enable livestreaming.",
    )
    group.add_argument(
        "--enable_cameras",
        action="store_true",
        default=_env_flag("ENABLE_CAMERAS"),
        help="Enable camera sensors and relevant extension dependencies.",
    )
    group.add_argument("--xr", action="store_true", default=False)
    group.add_argument(
        "--device", type=str, default="cuda:0", help='The device to run the simulation on: "cpu", "cuda", "cuda:N".'
    )
    group.add_argument("--verbose", action="store_true")
    group.add_argument("--info", action="store_true")
    group.add_argument("--experience", type=str, default="")
    group.add_argument("--rendering_mode", type=str, default=None, choices={"performance", "balanced", "quality"})
    group.add_argument("--kit_args", type=str, default="")
    group.add_argument("--anim_recording_enabled", action="store_true")


def build_parser(library: str, mode: str) -> argparse.ArgumentParser:
    prog = os.path.basename(sys.argv[0]) or f"{mode}.py"
    if mode == "train":
        desc = f"Train an RL agent with {library.replace('_', '-').upper() if library == 'skrl' else library}."
    else:
        desc = f"Play a checkpoint of an RL agent from {library}."
    parser = argparse.ArgumentParser(prog=prog, description=desc)
    parser.add_argument("--video", action="store_true", default=False, help="Record videos.")
    parser.add_argument("--video_length", type=int, default=200, help="Length of the recorded video (in steps).")
    if mode == "train":
        parser.add_argument(
            "--video_interval", type=int, default=2000, help="Interval between video recordings (in steps)."
        )
    else:
        parser.add_argument("--disable_fabric", action="store_true", default=False)
    parser.add_argument("--num_envs", type=int, default=None, help="Number of environments to simulate.")
    parser.add_argument("--task", type=str, default=None, help="Name of the task.")
    parser.add_argument("--agent", type=str, default=None, help="Name of the RL agent configuration entry point.")
    parser.add_argument("--seed", type=int, default=None, help="Seed used for the environment")
    if mode == "train":
        parser.add_argument("--max_iterations", type=int, default=None, help="RL Policy training iterations.")
        if library != "sb3":
            parser.add_argument(
                "--distributed", action="store_true", default=False, help="Run training with multiple GPUs or nodes."
            )
        parser.add_argument("--export_io_descriptors", action="store_true", default=False)
    else:
        parser.add_argument(
            "--use_pretrained_checkpoint", action="store_true", help="Use the pre-trained checkpoint from Nucleus."
        )
        parser.add_argument("--real-time", action="store_true", default=False, help="Run in real-time, if possible.")
    if library == "rsl_rl":
        group = parser.add_argument_group("rsl_rl", description="Arguments for RSL-RL agent.")
        group.add_argument("--experiment_name", type=str, default=None)
        group.add_argument("--run_name", type=str, default=None)
        group.add_argument("--resume", action="store_true", default=False)
        group.add_argument("--load_run", type=str, default=None)
        group.add_argument("--checkpoint", type=str, default=None)
        group.add_argument("--logger", type=str, default=None, choices={"wandb", "tensorboard", "neptune"})
        group.add_argument("--log_project_name", type=str, default=None)
    elif library == "skrl":
        parser.add_argument("--checkpoint", type=str, default=None, help="Path to model checkpoint.")
        parser.add_argument("--ml_framework", type=str, default="torch", choices=["torch", "jax", "jax-numpy"])
        parser.add_argument("--algorithm", type=str, default="PPO", choices=["AMP", "PPO", "IPPO", "MAPPO"])
    elif library == "rl_games":
        parser.add_argument("--checkpoint", type=str, default=None, help="Path to model checkpoint.")
        if mode == "train":
            parser.add_argument("--sigma", type=str, default=None, help="The policy's initial standard deviation.")
        else:
            parser.add_argument("--use_last_checkpoint", action="store_true")
    elif library == "sb3":
        parser.add_argument("--checkpoint", type=str, default=None, help="Continue the training from checkpoint.")
        if mode == "train":
            parser.add_argument("--log_interval", type=int, default=100_000)
            parser.add_argument("--keep_all_info", action="store_true", default=False)
        else:
            parser.add_argument("--use_last_checkpoint", action="store_true")
    add_app_launcher_args(parser)
    return parser


def hydra_usage_error(message: str) -> UsageError:
    prog = os.path.basename(sys.argv[0]) or "train.py"
    usage = HYDRA_USAGE.format(prog=prog, pad=" " * (len("usage: ") + len(prog)))
    return UsageError(f"{usage}{prog}: error: {message}", code=2)


def _parse_value(text: str):
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("null", "none", "~"):
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1].strip()
        return [_parse_value(x.strip()) for x in inner.split(",")] if inner else []
    return text


def apply_hydra_overrides(args: list[str], cfgs: dict[str, dict]) -> list[str]:
    """Apply `env.a.b=v` / `agent.a=v` / `+agent.new=v` overrides to cfgs in place.

    Mirrors Hydra on Isaac Lab's struct configs: unknown keys need '+', and any
    leftover `--flag` is refused by Hydra's own argparse (exit 2).
    Returns the applied overrides.
    """
    unknown = [a for a in args if a.startswith("-")]
    if unknown:
        raise hydra_usage_error(f"unrecognized arguments: {' '.join(unknown)}")
    applied = []
    for arg in args:
        if "=" not in arg:
            raise UsageError(
                f"Error parsing override '{arg}'\nmissing EQUAL at '<EOF>'\n"
                "See https://hydra.cc/docs/1.2/advanced/override_grammar/basic for details"
            )
        key, _, raw = arg.partition("=")
        append = key.startswith("+")
        key = key.lstrip("+")
        if key.startswith("~"):
            continue
        parts = key.split(".")
        if parts[0] not in cfgs or len(parts) < 2:
            raise UsageError(
                f"Could not override '{key}'.\nTo append to your config use +{key}={raw}\n"
                f"Key '{parts[0]}' is not in struct\n    full_key: {key}\n    object_type=dict"
            )
        node = cfgs[parts[0]]
        for i, part in enumerate(parts[1:-1], start=1):
            if not isinstance(node.get(part), dict):
                if append and part not in node:
                    node[part] = {}
                else:
                    raise UsageError(
                        f"Could not override '{key}'.\nTo append to your config use +{key}={raw}\n"
                        f"Key '{part}' is not in struct\n    full_key: {'.'.join(parts[: i + 1])}\n"
                        "    object_type=dict"
                    )
            node = node[part]
        leaf = parts[-1]
        if leaf not in node and not append:
            raise UsageError(
                f"Could not override '{key}'.\nTo append to your config use +{key}={raw}\n"
                f"Key '{leaf}' is not in struct\n    full_key: {key}\n    object_type=dict"
            )
        value = _parse_value(raw)
        old = node.get(leaf)
        if isinstance(old, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        node[leaf] = value
        applied.append(arg)
    return applied
