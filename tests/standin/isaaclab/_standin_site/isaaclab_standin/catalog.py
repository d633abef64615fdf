"""Tasks the stand-in knows, with the facts isaacctl relies on.

experiment: rsl_rl experiment_name == skrl experiment.directory == rl_games config.name
iterations: the rsl_rl max_iterations / rl_games max_epochs default
horizon:    steps per env per iteration (rsl_rl num_steps_per_env, skrl rollouts,
            rl_games horizon_length, sb3 n_steps)
reward:     the mean reward the fake learning curve approaches
episode:    the maximum episode length (steps)
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALL = ("rsl_rl", "skrl", "rl_games", "sb3")
NO_SB3 = ("rsl_rl", "skrl", "rl_games")
LEGGED = ("rsl_rl", "skrl")

DIRECT = "isaaclab.envs:DirectRLEnv"
MANAGER = "isaaclab.envs:ManagerBasedRLEnv"


@dataclass(frozen=True)
class Task:
    name: str
    experiment: str
    iterations: int
    libraries: tuple[str, ...]
    entry_point: str
    config: str
    horizon: int = 16
    reward: float = 5.0
    episode: int = 300
    num_envs: int = 4096
    reward_terms: tuple[str, ...] = field(default=("alive", "terminating"))

    @property
    def direct(self) -> bool:
        return self.entry_point == DIRECT


def _t(*args, **kwargs) -> Task:
    task = Task(*args, **kwargs)
    return task


_TASKS = [
    _t(
        "Isaac-Cartpole-Direct-v0",
        "cartpole_direct",
        150,
        ALL,
        DIRECT,
        "isaaclab_tasks.direct.cartpole.cartpole_env:CartpoleEnvCfg",
        horizon=16,
        reward=4.9,
        episode=300,
    ),
    _t(
        "Isaac-Cartpole-v0",
        "cartpole",
        150,
        ALL,
        MANAGER,
        "isaaclab_tasks.manager_based.classic.cartpole.cartpole_env_cfg:CartpoleEnvCfg",
        horizon=16,
        reward=4.9,
        episode=300,
        reward_terms=("alive", "terminating", "pole_pos"),
    ),
    _t(
        "Isaac-Ant-Direct-v0",
        "ant_direct",
        1000,
        NO_SB3,
        DIRECT,
        "isaaclab_tasks.direct.ant.ant_env:AntEnvCfg",
        horizon=32,
        reward=62.0,
        episode=1000,
    ),
    _t(
        "Isaac-Ant-v0",
        "ant",
        1000,
        ALL,
        MANAGER,
        "isaaclab_tasks.manager_based.classic.ant.ant_env_cfg:AntEnvCfg",
        horizon=32,
        reward=58.0,
        episode=1000,
        reward_terms=("progress", "alive", "upright", "move_to_target", "action_l2", "energy"),
    ),
    _t(
        "Isaac-Humanoid-Direct-v0",
        "humanoid_direct",
        1000,
        NO_SB3,
        DIRECT,
        "isaaclab_tasks.direct.humanoid.humanoid_env:HumanoidEnvCfg",
        horizon=32,
        reward=95.0,
        episode=1000,
    ),
    _t(
        "Isaac-Humanoid-v0",
        "humanoid",
        1000,
        ALL,
        MANAGER,
        "isaaclab_tasks.manager_based.classic.humanoid.humanoid_env_cfg:HumanoidEnvCfg",
        horizon=32,
        reward=90.0,
        episode=1000,
        reward_terms=("progress", "alive", "upright", "move_to_target", "action_l2", "energy"),
    ),
    _t(
        "Isaac-Velocity-Flat-Anymal-D-v0",
        "anymal_d_flat",
        300,
        LEGGED,
        MANAGER,
        "isaaclab_tasks.manager_based.locomotion.velocity.config.anymal_d.flat_env_cfg:AnymalDFlatEnvCfg",
        horizon=24,
        reward=24.0,
        episode=1000,
        reward_terms=("track_lin_vel_xy_exp", "track_ang_vel_z_exp", "lin_vel_z_l2", "feet_air_time"),
    ),
    _t(
        "Isaac-Velocity-Flat-Anymal-D-Play-v0",
        "anymal_d_flat",
        300,
        LEGGED,
        MANAGER,
        "isaaclab_tasks.manager_based.locomotion.velocity.config.anymal_d.flat_env_cfg:AnymalDFlatEnvCfg_PLAY",
        horizon=24,
        reward=24.0,
        episode=1000,
        num_envs=50,
        reward_terms=("track_lin_vel_xy_exp", "track_ang_vel_z_exp", "lin_vel_z_l2", "feet_air_time"),
    ),
    _t(
        "Isaac-Velocity-Rough-Anymal-D-v0",
        "anymal_d_rough",
        1500,
        LEGGED,
        MANAGER,
        "isaaclab_tasks.manager_based.locomotion.velocity.config.anymal_d.rough_env_cfg:AnymalDRoughEnvCfg",
        horizon=24,
        reward=18.0,
        episode=1000,
        reward_terms=("track_lin_vel_xy_exp", "track_ang_vel_z_exp", "lin_vel_z_l2", "feet_air_time"),
    ),
    _t(
        "Isaac-Velocity-Rough-Anymal-D-Play-v0",
        "anymal_d_rough",
        1500,
        LEGGED,
        MANAGER,
        "isaaclab_tasks.manager_based.locomotion.velocity.config.anymal_d.rough_env_cfg:AnymalDRoughEnvCfg_PLAY",
        horizon=24,
        reward=18.0,
        episode=1000,
        num_envs=50,
        reward_terms=("track_lin_vel_xy_exp", "track_ang_vel_z_exp", "lin_vel_z_l2", "feet_air_time"),
    ),
    _t(
        "Isaac-Reach-Franka-v0",
        "franka_reach",
        1000,
        NO_SB3,
        MANAGER,
        "isaaclab_tasks.manager_based.manipulation.reach.config.franka.joint_pos_env_cfg:FrankaReachEnvCfg",
        horizon=24,
        reward=0.9,
        episode=360,
        reward_terms=("end_effector_position_tracking", "end_effector_orientation_tracking", "action_rate"),
    ),
    _t(
        "Isaac-Reach-Franka-Play-v0",
        "franka_reach",
        1000,
        NO_SB3,
        MANAGER,
        "isaaclab_tasks.manager_based.manipulation.reach.config.franka.joint_pos_env_cfg:FrankaReachEnvCfg_PLAY",
        horizon=24,
        reward=0.9,
        episode=360,
        num_envs=50,
        reward_terms=("end_effector_position_tracking", "end_effector_orientation_tracking", "action_rate"),
    ),
    _t(
        "Isaac-Lift-Cube-Franka-v0",
        "franka_lift",
        1500,
        ALL,
        MANAGER,
        "isaaclab_tasks.manager_based.manipulation.lift.config.franka.joint_pos_env_cfg:FrankaCubeLiftEnvCfg",
        horizon=24,
        reward=140.0,
        episode=250,
        reward_terms=("reaching_object", "lifting_object", "object_goal_tracking", "action_rate"),
    ),
    _t(
        "Isaac-Lift-Cube-Franka-Play-v0",
        "franka_lift",
        1500,
        ALL,
        MANAGER,
        "isaaclab_tasks.manager_based.manipulation.lift.config.franka.joint_pos_env_cfg:FrankaCubeLiftEnvCfg_PLAY",
        horizon=24,
        reward=140.0,
        episode=250,
        num_envs=50,
        reward_terms=("reaching_object", "lifting_object", "object_goal_tracking", "action_rate"),
    ),
]

TASKS: dict[str, Task] = {t.name: t for t in _TASKS}


def get(name: str) -> Task | None:
    return TASKS.get(name)


# Isaac Lab 3 registers ids without "-v0"; some were renamed (legged robots lost the dash in
# their name, the Franka lift task its "Cube"). Cartpole gained torchrl agents; one task exists
# only here, so a catalog read from list_envs can be told from isaacctl's shipped one.
RENAMED3 = {
    "Isaac-Velocity-Flat-Anymal-D-v0": "Isaac-Velocity-Flat-AnymalD",
    "Isaac-Velocity-Flat-Anymal-D-Play-v0": "Isaac-Velocity-Flat-AnymalD-Play",
    "Isaac-Velocity-Rough-Anymal-D-v0": "Isaac-Velocity-Rough-AnymalD",
    "Isaac-Velocity-Rough-Anymal-D-Play-v0": "Isaac-Velocity-Rough-AnymalD-Play",
    "Isaac-Lift-Cube-Franka-v0": "Isaac-Lift-Franka",
    "Isaac-Lift-Cube-Franka-Play-v0": "Isaac-Lift-Franka-Play",
}


def _as3(task: Task) -> Task:
    from dataclasses import replace

    name = RENAMED3.get(task.name) or task.name.removesuffix("-v0")
    libraries = task.libraries + (("torchrl",) if name.startswith("Isaac-Cartpole") else ())
    return replace(task, name=name, libraries=libraries)


TASKS3: dict[str, Task] = {t.name: t for t in map(_as3, _TASKS)}
TASKS3["Isaac-Cartpole-Showcase-Box-Box-Direct"] = Task(
    "Isaac-Cartpole-Showcase-Box-Box-Direct",
    "cartpole_showcase_box_box",
    150,
    ("rsl_rl", "skrl"),
    DIRECT,
    "isaaclab_tasks.direct.cartpole_showcase.cartpole.cartpole_env_cfg:BoxBoxEnvCfg",
    horizon=16,
    reward=4.9,
)
