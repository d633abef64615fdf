"""Fake train.py for the four RL libraries."""

from __future__ import annotations

import math
import os
import re
import sys
import time

from . import artifacts, cli, common, configs, mp4
from .common import out
from .tfevents import EventWriter

PAD, WIDTH = 35, 80
RSL_RL5_TAGS = {
    "Loss/value_function": "Loss/value",
    "Policy/mean_noise_std": "Policy/mean_std",
    "Perf/collection time": "Perf/collection_time",
}


class Driver:
    """One library's run-folder layout, stdout format, TensorBoard tags and checkpoint schedule."""

    library = ""

    def __init__(self, task, args, env_cfg, agent_cfg, rank0: bool, world: int):
        self.task, self.args, self.env_cfg, self.agent_cfg = task, args, env_cfg, agent_cfg
        self.rank0, self.world = rank0, world
        self.num_envs = env_cfg["scene"]["num_envs"]
        self.writer: EventWriter | None = None
        self.t_start = time.time()
        self.metrics: dict = {}
        self.last_it: int | None = None

    # -- to override ----------------------------------------------------------
    def seed(self) -> int: ...
    def setup(self) -> None: ...
    def iteration_range(self) -> range: ...
    def horizon(self) -> int: ...
    def log(self, it: int, m: dict, it_time: float) -> None: ...
    def after(self, it: int, m: dict) -> None: ...
    def finish(self) -> None: ...
    def interrupted(self) -> None: ...

    # -- shared ---------------------------------------------------------------
    def event_dir(self) -> str:
        return self.run_dir

    def open_writer(self) -> None:
        if self.rank0:
            self.writer = EventWriter(self.event_dir())

    def scalars(self, step: int, values: dict) -> None:
        if self.writer is not None:
            self.writer.add_scalars(step, values)

    def checkpoint_lookup(self) -> dict:
        """Where Isaac Lab 3's --checkpoint latest|best looks for this library's files."""
        return {"pattern": r"model_\d+\.pt"}

    def log_root(self) -> str:
        return os.path.dirname(self.run_dir)

    def dump_params(self) -> None:
        if self.rank0 and common.GENERATION == 3:
            common.write_run_manifest(
                self.run_dir, self.library, self.task.name, self.args.agent or common.CFG_ENTRY_POINTS[self.library]
            )
        if self.rank0:
            artifacts.write_yaml(os.path.join(self.run_dir, "params", "env.yaml"), self.env_cfg)
            artifacts.write_yaml(os.path.join(self.run_dir, "params", "agent.yaml"), self.agent_cfg)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


# ---------------------------------------------------------------------------
class RslRl(Driver):
    library = "rsl_rl"

    def seed(self):
        return self.agent_cfg["seed"]

    def horizon(self):
        return self.agent_cfg["num_steps_per_env"]

    def setup(self):
        a = self.agent_cfg
        log_root = os.path.abspath(os.path.join("logs", self.library, str(a["experiment_name"])))
        out(f"[INFO] Logging experiment in directory: {log_root}")
        log_dir = common.timestamp()
        if a["run_name"]:
            log_dir += f"_{a['run_name']}"
        out(f"Exact experiment name requested from command line: {log_dir}")
        self.run_dir = os.path.join(log_root, log_dir)
        self.start = 0
        if a["resume"]:
            path = common.get_checkpoint_path(log_root, a["load_run"], a["load_checkpoint"])
            out(f"[INFO]: Loading model checkpoint from: {path}")
            self.start = common.checkpoint_iteration(path, "iter") or 0
        elif common.GENERATION == 3 and self.args.checkpoint:
            # 3.x resumes with --checkpoint FILE|latest|best; the iteration count goes on
            path = checkpoint_path(self, self.args.checkpoint, log_root)
            out(f"[INFO]: Loading model checkpoint from: {path}")
            self.start = common.checkpoint_iteration(path, "iter") or 0
        self.tot_iter = self.start + int(a["max_iterations"])
        self.tot_timesteps = 0
        self.tot_time = 0.0

    def iteration_range(self):
        return range(self.start, self.tot_iter)

    def log(self, it, m, it_time):
        collection, learn = it_time * 0.8, it_time * 0.2
        steps = self.horizon() * self.num_envs * self.world
        self.tot_timesteps += steps
        self.tot_time += it_time
        fps = int(m["fps"])
        tags = {
            "Loss/value_function": m["value_loss"],
            "Loss/surrogate": m["surrogate_loss"],
            "Loss/entropy": m["entropy"],
            "Loss/learning_rate": m["learning_rate"],
            "Policy/mean_noise_std": m["noise_std"],
            "Perf/total_fps": fps,
            "Perf/collection time": collection,
            "Perf/learning_time": learn,
            "Train/mean_reward": m["reward"],
            "Train/mean_episode_length": m["episode_length"],
        }
        if common.GENERATION == 3:  # rsl-rl-lib 5.x's names, as the real 3.0 run writes them
            tags = {RSL_RL5_TAGS.get(tag, tag): value for tag, value in tags.items()}
            tags["Metrics/success_rate"] = 0.0
            tags["Episode_Termination/time_out"] = 0.5
        tags.update({f"Episode_Reward/{k}": v for k, v in m["terms"].items()})
        self.scalars(it, tags)
        if self.writer is not None:  # the /time variants use seconds as step
            self.writer.add_scalars(
                int(self.tot_time),
                {"Train/mean_reward/time": m["reward"], "Train/mean_episode_length/time": m["episode_length"]},
            )
        if not self.rank0:
            return
        head = f" \033[1m Learning iteration {it}/{self.tot_iter} \033[0m "
        s = f"{'#' * WIDTH}\n{head.center(WIDTH, ' ')}\n\n"
        s += f"{'Computation:':>{PAD}} {fps:.0f} steps/s (collection: {collection:.3f}s, learning {learn:.3f}s)\n"
        s += f"{'Mean action noise std:':>{PAD}} {m['noise_std']:.2f}\n"
        s += f"{'Mean value_function loss:':>{PAD}} {m['value_loss']:.4f}\n"
        s += f"{'Mean surrogate loss:':>{PAD}} {m['surrogate_loss']:.4f}\n"
        s += f"{'Mean entropy loss:':>{PAD}} {m['entropy']:.4f}\n"
        s += f"{'Mean reward:':>{PAD}} {m['reward']:.2f}\n"
        s += f"{'Mean episode length:':>{PAD}} {m['episode_length']:.2f}\n"
        for k, v in m["terms"].items():
            s += f"{f'Episode_Reward/{k}:':>{PAD}} {v:.4f}\n"
        s += f"{'-' * WIDTH}\n"
        s += f"{'Total timesteps:':>{PAD}} {self.tot_timesteps}\n"
        s += f"{'Iteration time:':>{PAD}} {it_time:.2f}s\n"
        s += f"{'Time elapsed:':>{PAD}} {common.fmt_hms(self.tot_time)}\n"
        done = it - self.start + 1
        eta = self.tot_time / done * (self.tot_iter - it - 1)
        s += f"{'ETA:':>{PAD}} {common.fmt_hms(eta)}\n"
        out(s)

    def save(self, it):
        if self.rank0:
            artifacts.write_torch_checkpoint(
                os.path.join(self.run_dir, f"model_{it}.pt"),
                {
                    "iter": it,
                    "mean_reward": round(self.metrics.get("reward", 0.0), 4),
                    "model_state_dict": "stand-in",
                    "optimizer_state_dict": "stand-in",
                },
            )

    def after(self, it, m):
        if it % int(self.agent_cfg["save_interval"]) == 0:
            self.save(it)

    def finish(self):
        if self.last_it is not None:
            self.save(self.last_it)

    def interrupted(self):
        self.finish()


# ---------------------------------------------------------------------------
class Skrl(Driver):
    library = "skrl"

    def seed(self):
        return self.agent_cfg["seed"]

    def horizon(self):
        return int(self.agent_cfg["agent"]["rollouts"])

    def setup(self):
        exp = self.agent_cfg["agent"]["experiment"]
        log_root = os.path.abspath(os.path.join("logs", "skrl", str(exp["directory"])))
        out(f"[INFO] Logging experiment in directory: {log_root}")
        log_dir = f"{common.timestamp()}_{self.args.algorithm.lower()}_{self.args.ml_framework}"
        if exp["experiment_name"]:
            log_dir += f"_{exp['experiment_name']}"
        out(f"Exact experiment name requested from command line: {log_dir}")
        exp["directory"], exp["experiment_name"] = log_root, log_dir
        self.run_dir = os.path.join(log_root, log_dir)
        if self.args.checkpoint:
            path = checkpoint_path(self, self.args.checkpoint, log_root)
            out(f"[INFO] Loading model checkpoint from: {path}")
        self.timesteps = int(self.agent_cfg["trainer"]["timesteps"])
        interval = exp["checkpoint_interval"]
        self.ckpt_interval = int(self.timesteps / 10) if interval == "auto" else int(interval)
        self.best = -math.inf
        self.timestep = 0

    def iteration_range(self):
        return range(0, max(1, math.ceil(self.timesteps / self.horizon())))

    def log(self, it, m, it_time):
        self.timestep = min(self.timesteps, (it + 1) * self.horizon())
        self.scalars(
            self.timestep,
            {
                "Reward / Total reward (max)": m["reward"] * 1.3,
                "Reward / Total reward (min)": m["reward"] * 0.5,
                "Reward / Total reward (mean)": m["reward"],
                "Episode / Total timesteps (max)": m["episode_length"] * 1.2,
                "Episode / Total timesteps (min)": m["episode_length"] * 0.6,
                "Episode / Total timesteps (mean)": m["episode_length"],
                "Loss / Policy loss": m["surrogate_loss"],
                "Loss / Value loss": m["value_loss"],
                "Loss / Entropy loss": 0.0,
                "Policy / Standard deviation": m["noise_std"],
                "Learning / Learning rate": m["learning_rate"],
            },
        )
        if not self.rank0:
            return
        elapsed = time.time() - self.t_start
        rate = self.timestep / elapsed if elapsed > 0 else 0.0
        remaining = (self.timesteps - self.timestep) / rate if rate > 0 else 0.0
        frac = self.timestep / self.timesteps
        bar = "#" * int(frac * 10)
        out(
            f"{int(frac * 100):3d}%|{bar:<10}| {self.timestep}/{self.timesteps} "
            f"[{_mmss(elapsed)}<{_mmss(remaining)}, {rate:.2f}it/s]"
        )

    def save(self, timestep, reward):
        if not self.rank0:
            return
        payload = {
            "timestep": timestep,
            "mean_reward": round(reward, 4),
            "policy": "stand-in",
            "value": "stand-in",
            "optimizer": "stand-in",
        }
        ckpt_dir = os.path.join(self.run_dir, "checkpoints")
        artifacts.write_torch_checkpoint(os.path.join(ckpt_dir, f"agent_{timestep}.pt"), payload)
        if reward > self.best:
            self.best = reward
            artifacts.write_torch_checkpoint(os.path.join(ckpt_dir, "best_agent.pt"), payload)

    def after(self, it, m):
        prev = it * self.horizon()
        if self.ckpt_interval > 0:
            for t in range(prev + 1, self.timestep + 1):
                if t % self.ckpt_interval == 0:
                    self.save(t, m["reward"])

    def checkpoint_lookup(self):
        return {
            "pattern": r"agent_\d+\.pt|best_agent\.pt",
            "other_dirs": ["checkpoints"],
            "preferred": r"best_agent\.pt",
        }

    def interrupted(self):
        if self.timestep:
            self.save(self.timestep, self.metrics.get("reward", 0.0))


def _mmss(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


# ---------------------------------------------------------------------------
class RlGames(Driver):
    library = "rl_games"

    def seed(self):
        return self.agent_cfg["params"]["seed"]

    def horizon(self):
        return int(self.agent_cfg["params"]["config"]["horizon_length"])

    def event_dir(self):
        return os.path.join(self.run_dir, "summaries")

    def checkpoint_lookup(self):
        name = str(self.agent_cfg["params"]["config"]["name"])
        return {"pattern": r".*\.pth", "other_dirs": ["nn"], "preferred": rf"{re.escape(name)}\.pth"}

    def setup(self):
        cfg = self.agent_cfg["params"]["config"]
        self.name = str(cfg["name"])
        log_root = os.path.abspath(os.path.join("logs", "rl_games", self.name))
        out(f"[INFO] Logging experiment in directory: {log_root}")
        log_dir = str(cfg.get("full_experiment_name") or common.timestamp())
        out(f"Exact experiment name requested from command line: {log_dir}")
        cfg["train_dir"], cfg["full_experiment_name"] = log_root, log_dir
        self.run_dir = os.path.join(log_root, log_dir)
        self.nn_dir = os.path.join(self.run_dir, "nn")
        self.start = 0
        if self.args.checkpoint:
            path = checkpoint_path(self, self.args.checkpoint, log_root)
            self.agent_cfg["params"]["load_checkpoint"] = True
            self.agent_cfg["params"]["load_path"] = path
            out(f"[INFO]: Loading model checkpoint from: {path}")
            self.start = common.checkpoint_iteration(path, "epoch") or 0
        self.max_epochs = int(cfg["max_epochs"])
        self.best = -math.inf
        self.frame = 0

    def iteration_range(self):
        return range(self.start, max(self.start, self.max_epochs))

    def log(self, it, m, it_time):
        epoch = it + 1
        curr_frames = self.horizon() * self.num_envs * self.world
        self.frame += curr_frames
        total = time.time() - self.t_start
        self.scalars(
            self.frame,
            {
                "performance/step_inference_rl_update_fps": m["fps"] * 0.8,
                "performance/step_inference_fps": m["fps"] * 0.9,
                "performance/step_fps": m["fps"],
                "performance/rl_update_time": it_time * 0.2,
                "performance/step_inference_time": it_time * 0.7,
                "performance/step_time": it_time * 0.6,
                "losses/a_loss": m["surrogate_loss"],
                "losses/c_loss": m["value_loss"],
                "losses/entropy": m["entropy"],
                "info/last_lr": m["learning_rate"],
                "info/e_clip": 0.2,
                "info/kl": m["kl"],
                "info/epochs": epoch,
                "rewards/step": m["reward"],
                "episode_lengths/step": m["episode_length"],
            },
        )
        self.scalars(epoch, {"rewards/iter": m["reward"], "episode_lengths/iter": m["episode_length"]})
        self.scalars(int(total), {"rewards/time": m["reward"], "episode_lengths/time": m["episode_length"]})
        if self.rank0:
            # The simulated throughput (as from a GPU), not the stand-in's wall clock.
            out(
                f"fps step: {m['fps']:.0f} fps step and policy inference: {m['fps'] * 0.9:.0f} "
                f"fps total: {m['fps'] * 0.8:.0f} epoch: {epoch}/{self.max_epochs} frames: {self.frame}"
            )

    def save(self, stem, epoch, reward):
        if not self.rank0:
            return
        path = os.path.join(self.nn_dir, stem + ".pth")
        out(f"=> saving checkpoint '{path}'")
        artifacts.write_torch_checkpoint(
            path,
            {
                "epoch": epoch,
                "frame": self.frame,
                "last_mean_rewards": round(reward, 4),
                "model": "stand-in",
                "optimizer": "stand-in",
            },
        )

    def after(self, it, m):
        cfg = self.agent_cfg["params"]["config"]
        epoch, reward = it + 1, m["reward"]
        rew = common.f32_str(reward)
        freq = int(cfg.get("save_frequency", 0))
        if freq > 0 and epoch % freq == 0:
            self.save(f"last_{self.name}_ep_{epoch}_rew_{rew}", epoch, reward)
        if reward > self.best and epoch >= int(cfg.get("save_best_after", 0)):
            if self.rank0:
                out(f"saving next best rewards:  [{rew}]")
            self.best = reward
            self.save(self.name, epoch, reward)
        if epoch >= self.max_epochs:
            self.save(f"last_{self.name}_ep_{epoch}_rew__{rew}_", epoch, reward)
            if self.rank0:
                out("MAX EPOCHS NUM!")

    def interrupted(self):
        if self.last_it is not None:
            epoch = self.last_it + 1
            reward = self.metrics.get("reward", 0.0)
            self.save(f"last_{self.name}_ep_{epoch}_rew_{common.f32_str(reward)}", epoch, reward)


# ---------------------------------------------------------------------------
class Sb3(Driver):
    library = "sb3"
    SAVE_FREQ = 1000  # CheckpointCallback(save_freq=1000): counted in vec-env steps

    def seed(self):
        return self.agent_cfg["seed"]

    def horizon(self):
        return int(self.agent_cfg["n_steps"])

    def event_dir(self):
        return os.path.join(self.run_dir, "PPO_1")

    def checkpoint_lookup(self):
        return {"pattern": r"model.*\.zip", "preferred": r"model\.zip"}

    def setup(self):
        name = self.task.name
        log_root = os.path.abspath(os.path.join("logs", "sb3", name))
        out(f"[INFO] Logging experiment in directory: {log_root}")
        run_info = common.timestamp()
        out(f"Exact experiment name requested from command line: {run_info}")
        self.run_dir = os.path.join(log_root, run_info)
        if self.args.checkpoint:
            path = checkpoint_path(self, self.args.checkpoint, log_root)
            out(f"Loading checkpoint from: {path}")
        self.total = int(float(self.agent_cfg["n_timesteps"]))
        self.per_iter = self.horizon() * self.num_envs
        self.num_timesteps = 0
        self.n_calls = 0

    def iteration_range(self):
        return range(0, max(1, math.ceil(self.total / self.per_iter)))

    def log(self, it, m, it_time):
        self.num_timesteps += self.per_iter
        self.n_calls += self.horizon()
        elapsed = time.time() - self.t_start
        rows = [
            ("rollout/", None),
            ("ep_len_mean", m["episode_length"]),
            ("ep_rew_mean", m["reward"]),
            ("time/", None),
            ("fps", int(m["fps"])),
            ("iterations", it + 1),
            ("time_elapsed", int(elapsed)),
            ("total_timesteps", self.num_timesteps),
        ]
        tags = {
            "rollout/ep_len_mean": m["episode_length"],
            "rollout/ep_rew_mean": m["reward"],
            "time/fps": int(m["fps"]),
        }
        if it > 0:  # sb3 dumps train/ values of the previous update from the 2nd iteration on
            train = [
                ("approx_kl", m["kl"]),
                ("clip_fraction", 0.12),
                ("clip_range", 0.2),
                ("entropy_loss", -m["entropy"]),
                ("explained_variance", min(0.99, 0.2 + it * 0.01)),
                ("learning_rate", 0.0003),
                ("loss", m["value_loss"] + m["surrogate_loss"]),
                ("n_updates", it * 20),
                ("policy_gradient_loss", m["surrogate_loss"]),
                ("std", m["noise_std"]),
                ("value_loss", m["value_loss"]),
            ]
            rows += [("train/", None)] + train
            tags.update({f"train/{k}": v for k, v in train})
        self.scalars(self.num_timesteps, tags)
        if self.rank0:
            out(_sb3_table(rows))

    def save(self, name):
        if self.rank0:
            path = os.path.join(self.run_dir, name)
            artifacts.write_sb3_zip(
                path, {"num_timesteps": self.num_timesteps, "mean_reward": round(self.metrics.get("reward", 0.0), 4)}
            )
            return path
        return None

    def after(self, it, m):
        prev_calls = self.n_calls - self.horizon()
        for calls in range(prev_calls + 1, self.n_calls + 1):
            if calls % self.SAVE_FREQ == 0:
                steps = calls * self.num_envs
                path = self.save(f"model_{steps}_steps.zip")
                if path:
                    out(f"Saving model checkpoint to {path}")

    def finish(self):
        self.save("model.zip")

    def interrupted(self):
        self.finish()


def _sb3_fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:<8.3g}".strip()
    return str(value)


def _sb3_table(rows) -> str:
    items = []
    for key, value in rows:
        if value is None:
            items.append((key, ""))
        else:
            items.append(("   " + key, _sb3_fmt(value)))
    kw = max(len(k) for k, _ in items)
    vw = max(len(v) for _, v in items)
    dashes = "-" * (kw + vw + 7)
    lines = [dashes] + [f"| {k:<{kw}} | {v:<{vw}} |" for k, v in items] + [dashes]
    return "\n".join(lines)


class TorchRl(RslRl):
    """Isaac Lab 3's torchrl: logs/torchrl/<experiment>/<ts>/model_<it>.pt (isaaclab.md)."""

    library = "torchrl"


DRIVERS = {"rsl_rl": RslRl, "skrl": Skrl, "rl_games": RlGames, "sb3": Sb3, "torchrl": TorchRl}


def checkpoint_path(driver, value: str, log_root: str) -> str:
    """A --checkpoint value as a file: a path, or on 3.x latest/best among the manifested runs."""
    if common.GENERATION == 3 and value in ("latest", "best"):
        return common.resolve_checkpoint_selector(
            log_root, value, library=driver.library, task=driver.task.name, **driver.checkpoint_lookup()
        )
    return common.retrieve_file_path(value)


# ---------------------------------------------------------------------------
def _apply_cli(library, args, env_cfg, agent_cfg, rank: int, local_rank: int):
    if args.num_envs is not None:
        env_cfg["scene"]["num_envs"] = args.num_envs
    seed = args.seed
    if seed == -1:
        seed = common.seeded(-1)
    if library in ("rsl_rl", "torchrl"):
        if seed is not None:
            agent_cfg["seed"] = seed
        if args.max_iterations is not None:
            agent_cfg["max_iterations"] = args.max_iterations
        if getattr(args, "resume", False):  # 2.x only: 3.x resumes with --checkpoint FILE
            agent_cfg["resume"] = True
        if getattr(args, "load_run", None) is not None:
            agent_cfg["load_run"] = args.load_run
        if args.checkpoint is not None and common.GENERATION == 2:
            agent_cfg["load_checkpoint"] = args.checkpoint
        if getattr(args, "run_name", None) is not None:
            agent_cfg["run_name"] = args.run_name
        if getattr(args, "logger", None) is not None:
            agent_cfg["logger"] = args.logger
        if getattr(args, "log_project_name", None):
            agent_cfg["wandb_project"] = agent_cfg["neptune_project"] = args.log_project_name
    elif library == "skrl":
        if seed is not None:
            agent_cfg["seed"] = seed
        if args.max_iterations is not None:
            agent_cfg["trainer"]["timesteps"] = args.max_iterations * agent_cfg["agent"]["rollouts"]
    elif library == "rl_games":
        if seed is not None:
            agent_cfg["params"]["seed"] = seed
        if args.max_iterations is not None:
            agent_cfg["params"]["config"]["max_epochs"] = args.max_iterations
        if args.sigma is not None:
            agent_cfg["params"]["config"]["sigma"] = float(args.sigma)
        agent_cfg["params"]["config"]["num_actors"] = env_cfg["scene"]["num_envs"]
    elif library == "sb3":
        if seed is not None:
            agent_cfg["seed"] = seed
        if args.max_iterations is not None:
            agent_cfg["n_timesteps"] = args.max_iterations * agent_cfg["n_steps"] * env_cfg["scene"]["num_envs"]
    device = args.device
    if getattr(args, "distributed", False):
        device = f"cuda:{local_rank}"
        if library == "rl_games":
            agent_cfg["params"]["seed"] += rank
            agent_cfg["params"]["config"]["device"] = agent_cfg["params"]["config"]["device_name"] = device
            agent_cfg["params"]["config"]["multi_gpu"] = True
        elif library == "skrl":
            agent_cfg["seed"] += rank
        else:
            agent_cfg["seed"] += rank
            agent_cfg["device"] = device
    env_cfg["sim"]["device"] = device
    env_cfg["seed"] = agent_cfg["params"]["seed"] if library == "rl_games" else agent_cfg["seed"]


def main_v3(library: str, argv: list[str]) -> int:
    """Isaac Lab 3's `isaaclab train --rl_library LIB ...`."""
    from . import v3

    def prepare():
        args, task, selectors, hydra_args = v3._prepare(library, "train", argv)
        v3._summary(library, "train", args, task, selectors)
        return args, task, hydra_args

    return main(library, prepare=prepare)


def main(library: str, argv: list[str] | None = None, prepare=None) -> int:
    common.install_signal_handlers()
    driver = group = None
    try:
        if prepare is None:
            parser = cli.build_parser(library, "train")
            args, hydra_args = parser.parse_known_args(argv)
            task = common.lookup_task(args.task)
        else:
            args, task, hydra_args = prepare()
        common.check_library(task, library, args.agent, getattr(args, "algorithm", "PPO"))
        env_cfg = configs.env_cfg(task)
        agent_cfg = configs.agent_cfg(library, task)
        cli.apply_hydra_overrides(hydra_args, {"env": env_cfg, "agent": agent_cfg})

        distributed = getattr(args, "distributed", False)
        rank = local_rank = 0
        world = 1
        if distributed:
            if "LOCAL_RANK" not in os.environ:
                raise common.fail(
                    "TypeError: int() argument must be a string, a bytes-like object or a real "
                    "number, not 'NoneType' (--distributed needs torch.distributed.run)"
                )
            from .distributed import Group

            group = Group()  # the real rendezvous: returns once every rank of every node joined
            local_rank, rank, world = group.local_rank, group.rank, group.world
        rank0 = rank == 0
        out(common.banner(library, "train", task))
        if common.GENERATION == 3:
            for stage, name in enumerate(("Launching simulation", "Creating environment", "Preparing agent"), 1):
                out(f"[{stage}/3] {name}")
        else:
            for line in common.app_launcher_lines(args, local_rank):
                out(line)
        _apply_cli(library, args, env_cfg, agent_cfg, rank, local_rank)
        if args.video:
            args.enable_cameras = True

        driver = DRIVERS[library](task, args, env_cfg, agent_cfg, rank0, world)
        driver.setup()
        if group is not None:
            group.write(driver.run_dir)
        out(f"[INFO]: Base environment: {task.name} ({task.entry_point})")
        out(f"\tEnvironment device    : {env_cfg['sim']['device']}")
        out(f"\tEnvironment seed      : {env_cfg['seed']}")
        out(f"\tNumber of environments: {env_cfg['scene']['num_envs']}")
        out(f"\tEnvironment step-size : {2 / 120:.16f}")
        if args.video:
            out("[INFO] Recording videos during training.")
            out(f"\tvideo_folder: {os.path.join(driver.run_dir, 'videos', 'train')}")
            out(f"\tvideo_length: {args.video_length}")
            out(f"\tvideo_interval: {args.video_interval}")
        driver.dump_params()
        driver.open_writer()

        iterations = driver.iteration_range()
        curve = common.Curve(task, driver.seed(), len(iterations) + iterations.start, world)
        sleep = common.iteration_seconds()
        videos_done: set[int] = set()
        t_train = time.time()
        for it in iterations:
            t0 = time.time()
            if sleep:
                time.sleep(sleep)
            m = curve.at(it)
            if group is not None:  # as gradients are: every rank waits for every other, every iteration
                m["reward"] = group.mean(m["reward"])
            driver.metrics = m
            it_time = max(time.time() - t0, 1e-6)
            driver.log(it, m, it_time)
            driver.last_it = it
            driver.after(it, m)
            if args.video and driver.rank0:
                _train_videos(driver, args, (it + 1) * driver.horizon(), videos_done)
        driver.finish()
        driver.close()
        if group is not None:
            group.close()
        if driver.rank0:
            out(f"Training time: {round(time.time() - t_train, 2)} seconds")
        out(f"[STANDIN] Training finished: {driver.run_dir}")
        return 0
    except KeyboardInterrupt:
        if common.GENERATION == 3:
            # 3.x's train suppresses KeyboardInterrupt around learn(): nothing is saved, exit 0
            if driver is not None:
                driver.close()
            return 0
        out("[INFO] Interrupted: saving checkpoint")
        if driver is not None and driver.last_it is not None:
            try:
                driver.interrupted()
            except KeyboardInterrupt:
                pass
        if driver is not None:
            driver.close()
        return 130
    except common.Terminated:
        out("[INFO] Terminated (SIGTERM): exiting without saving")
        if driver is not None:
            driver.close()
        return 143
    except cli.UsageError as exc:
        common.err(str(exc))
        return exc.code


def _train_videos(driver, args, steps: int, done: set[int]) -> None:
    interval = max(1, args.video_interval)
    start = 0
    while start + args.video_length <= steps:
        if start not in done:
            folder = os.path.join(driver.run_dir, "videos", "train")
            os.makedirs(folder, exist_ok=True)
            mp4.write_mp4(
                os.path.join(folder, f"rl-video-step-{start}.mp4"),
                frames=min(args.video_length, 8),
                duration_frames=args.video_length,
            )
            done.add(start)
        start += interval


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
