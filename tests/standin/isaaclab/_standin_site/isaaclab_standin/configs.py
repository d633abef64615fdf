"""Default env and agent configurations (the shape Hydra overrides address)."""

from __future__ import annotations

from .catalog import Task


def env_cfg(task: Task) -> dict:
    return {
        "viewer": {"eye": [8.0, 0.0, 5.0], "lookat": [0.0, 0.0, 0.0], "resolution": [1280, 720]},
        "sim": {
            "dt": 1 / 120,
            "render_interval": 2,
            "device": "cuda:0",
            "gravity": [0.0, 0.0, -9.81],
            "use_fabric": True,
        },
        "ui_window_class_type": None,
        "seed": None,
        "decimation": 2,
        "is_finite_horizon": False,
        "episode_length_s": round(task.episode * 2 / 120, 3),
        "scene": {
            "num_envs": task.num_envs,
            "env_spacing": 4.0,
            "lazy_sensor_update": True,
            "replicate_physics": True,
            "filter_collisions": True,
        },
        "rewards": {term: {"weight": 1.0} for term in task.reward_terms},
        "wait_for_textures": True,
    }


def agent_cfg(library: str, task: Task) -> dict:
    cfg = _agent_cfg(library, task)
    # every 3.x agent config has a device (a CPU host passes agent.device=cpu)
    cfg.setdefault("device", "cuda:0")
    return cfg


def _agent_cfg(library: str, task: Task) -> dict:
    if library in ("rsl_rl", "torchrl"):  # torchrl's agent config is shaped like rsl_rl's
        return {
            "seed": 42,
            "device": "cuda:0",
            "num_steps_per_env": task.horizon,
            "max_iterations": task.iterations,
            "empirical_normalization": False,
            "policy": {
                "class_name": "ActorCritic",
                "init_noise_std": 1.0,
                "noise_std_type": "scalar",
                "actor_hidden_dims": [32, 32],
                "critic_hidden_dims": [32, 32],
                "activation": "elu",
            },
            "algorithm": {
                "class_name": "PPO",
                "num_learning_epochs": 5,
                "num_mini_batches": 4,
                "learning_rate": 0.001,
                "schedule": "adaptive",
                "gamma": 0.99,
                "lam": 0.95,
                "entropy_coef": 0.005,
                "desired_kl": 0.01,
                "max_grad_norm": 1.0,
                "value_loss_coef": 1.0,
                "use_clipped_value_loss": True,
                "clip_param": 0.2,
            },
            "clip_actions": None,
            "save_interval": 50,
            "experiment_name": task.experiment,
            "run_name": "",
            "logger": "tensorboard",
            "neptune_project": "isaaclab",
            "wandb_project": "isaaclab",
            "resume": False,
            "load_run": ".*",
            "load_checkpoint": "model_.*.pt",
        }
    if library == "skrl":
        return {
            "seed": 42,
            "models": {
                "separate": False,
                "policy": {"class": "GaussianMixin", "clip_actions": False, "initial_log_std": 0.0},
                "value": {"class": "DeterministicMixin", "clip_actions": False},
            },
            "memory": {"class": "RandomMemory", "memory_size": -1},
            "agent": {
                "class": "PPO",
                "rollouts": task.horizon,
                "learning_epochs": 8,
                "mini_batches": 8,
                "discount_factor": 0.99,
                "lambda": 0.95,
                "learning_rate": 0.0005,
                "ratio_clip": 0.2,
                "value_clip": 0.2,
                "entropy_loss_scale": 0.0,
                "value_loss_scale": 2.0,
                "experiment": {
                    "directory": task.experiment,
                    "experiment_name": "",
                    "write_interval": "auto",
                    "checkpoint_interval": "auto",
                },
            },
            "trainer": {
                "class": "SequentialTrainer",
                "timesteps": task.iterations * task.horizon,
                "environment_info": "log",
            },
        }
    if library == "rl_games":
        return {
            "params": {
                "seed": 42,
                "algo": {"name": "a2c_continuous"},
                "model": {"name": "continuous_a2c_logstd"},
                "network": {"name": "actor_critic", "separate": False, "mlp": {"units": [32, 32], "activation": "elu"}},
                "load_checkpoint": False,
                "load_path": "",
                "config": {
                    "name": task.experiment,
                    "env_name": "rlgpu",
                    "device": "cuda:0",
                    "device_name": "cuda:0",
                    "multi_gpu": False,
                    "ppo": True,
                    "mixed_precision": False,
                    "normalize_input": True,
                    "normalize_value": True,
                    "value_bootstrap": True,
                    "num_actors": -1,
                    "reward_shaper": {"scale_value": 0.1},
                    "normalize_advantage": True,
                    "gamma": 0.99,
                    "tau": 0.95,
                    "learning_rate": 0.0005,
                    "lr_schedule": "adaptive",
                    "kl_threshold": 0.008,
                    "score_to_win": 20000,
                    "max_epochs": task.iterations,
                    "save_best_after": 50,
                    "save_frequency": 25,
                    "grad_norm": 1.0,
                    "entropy_coef": 0.0,
                    "truncate_grads": True,
                    "e_clip": 0.2,
                    "horizon_length": task.horizon,
                    "minibatch_size": 8192,
                    "mini_epochs": 8,
                    "critic_coef": 4,
                    "clip_value": True,
                    "seq_length": 4,
                    "bounds_loss_coef": 0.0001,
                },
            }
        }
    if library == "sb3":
        return {
            "seed": 42,
            "n_timesteps": task.iterations * task.horizon * task.num_envs,
            "policy": "MlpPolicy",
            "n_steps": task.horizon,
            "batch_size": 4096,
            "gae_lambda": 0.95,
            "gamma": 0.99,
            "n_epochs": 20,
            "ent_coef": 0.01,
            "learning_rate": 0.0003,
            "clip_range": 0.2,
            "policy_kwargs": "dict(activation_fn=nn.ELU, net_arch=[32, 32], squash_output=False)",
            "vf_coef": 1.0,
            "max_grad_norm": 1.0,
            "device": "cuda:0",
        }
    raise ValueError(library)
