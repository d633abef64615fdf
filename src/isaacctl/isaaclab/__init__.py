"""Isaac Lab generations (2.x, 3.x) as data: one Generation object per generation, read from
templates/isaaclab/, owns everything that differs between them (command lines, flags, task
ids, libraries and their checkpoints, container user and mounts, GPU rules). Callers pick one
with `generation_for(version)` (a deployment's isaaclab_version) and never branch on versions.

    generation_for("3.0").job_argv(JobRequest(mode="train", task="Isaac-Ant-Direct", library="rsl_rl"))
    -> ["isaaclab", "train", "--rl_library", "rsl_rl", "--task", "Isaac-Ant-Direct"]
"""

from isaacctl.isaaclab.generation import (
    CheckpointRef,
    ContainerLayout,
    Generation,
    JobRequest,
    Library,
    Rendezvous,
    Resume,
    generation,
    generations,
)
from isaacctl.isaaclab.hardware import GpuRule, gpu_rule, judge_gpu
from isaacctl.isaaclab.libraries import library, library_names
from isaacctl.isaaclab.versions import (
    VersionInfo,
    default_version,
    generation_for,
    image_for,
    isaaclab_version,
    known_versions,
    major_minor,
    version_info,
    versions,
)

__all__ = [
    "CheckpointRef",
    "ContainerLayout",
    "Generation",
    "GpuRule",
    "JobRequest",
    "Library",
    "Rendezvous",
    "Resume",
    "VersionInfo",
    "default_version",
    "generation",
    "generation_for",
    "generations",
    "gpu_rule",
    "image_for",
    "isaaclab_version",
    "judge_gpu",
    "known_versions",
    "major_minor",
    "library",
    "library_names",
    "version_info",
    "versions",
]
