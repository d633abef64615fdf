"""What Isaac Lab asks of a host (see shared/reference/isaaclab.md), and how a host measures up."""

from __future__ import annotations

from dataclasses import dataclass

from isaacctl.isaaclab import default_version, gpu_rule, judge_gpu
from isaacctl.isaaclab import isaaclab_version as isaaclab_version
from isaacctl.isaaclab.hardware import GpuRule
from isaacctl.records import HostFacts

# The version -> image table and the GPU rules are data: templates/isaaclab/versions.yaml.
DEFAULT_IMAGE = default_version().image
DRIVER_BRANCH_TO_INSTALL = "580"

IMAGE_GIB = 25  # the Isaac Lab image, unpacked
CACHE_GIB = 15  # shader, kit and pip caches, logs, checkpoints of a few jobs


@dataclass(frozen=True)
class Verdict:
    problems: list[str]
    hint: str | None = None


def host_gpu_rule(version: str | None, image: str | None = None) -> GpuRule:
    """What the host's GPUs must have for this Isaac Lab version and image: RT cores where
    Isaac Sim runs (2.x, 3.x images with Kit), compute capability >= 7.5 and a 580.65.06+
    driver for kit-less 3.x. For bootstrap's host check."""
    from isaacctl.isaaclab import version_info

    return gpu_rule(version, isaac_sim=version_info(version, image).isaac_sim)


def judge_gpus(
    facts: HostFacts, version: str | None, *, image: str | None = None, isaac_sim: bool | None = None
) -> Verdict:
    """isaac_sim: whether Isaac Sim will run (None: whatever the version's image carries)."""
    if not facts.gpus:
        return Verdict(
            ["no NVIDIA GPU visible (nvidia-smi found none)"],
            "use a host with an RTX-class GPU, or --gpus none for a CPU-only smoke run",
        )
    rule = host_gpu_rule(version, image) if isaac_sim is None else gpu_rule(version, isaac_sim=isaac_sim)
    if version is None:
        # an image whose tag does not say: its RT-core needs are the default's, its driver unknown
        rule = GpuRule(rule.version, rule.isaac_sim, rule.rt_cores, rule.min_compute_capability, ())
    problems = []
    for gpu in facts.gpus:
        problems += judge_gpu(rule, gpu.model, None)
    for driver in sorted({gpu.driver_version for gpu in facts.gpus if gpu.driver_version}):
        problems += judge_gpu(rule, "", driver, label=version)
    return Verdict(problems, "pass --allow-unsupported-gpu to go on anyway" if problems else None)


def judge_disk(facts: HostFacts, image_present: bool) -> Verdict:
    needed = CACHE_GIB + (0 if image_present else IMAGE_GIB)
    if facts.free_disk_gib is not None and facts.free_disk_gib < needed:
        return Verdict(
            [f"only {facts.free_disk_gib:.0f} GiB free where isaacctl keeps its files; {needed} GiB needed"],
            "free some space, use a bigger disk, or pass --allow-low-disk",
        )
    return Verdict([])
