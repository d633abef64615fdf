"""What Isaac Lab asks of a host (see shared/reference/isaaclab.md), and how a host measures up."""

from __future__ import annotations

import re
from dataclasses import dataclass

from isaacctl.records import HostFacts

DEFAULT_IMAGE = "nvcr.io/nvidia/isaac-lab:2.3.2"

# Isaac Sim renders with RT cores even headless: these data-centre GPUs have none.
NO_RT_CORES = ("A100", "A30", "A800", "H100", "H200", "H800", "B100", "B200", "GB200", "V100", "P100", "K80")

# Minimum driver per Isaac Lab minor version.
MIN_DRIVER = {"2.2": (535, 216), "2.3": (580, 65), "3.0": (580, 65)}
DRIVER_BRANCH_TO_INSTALL = "580"

IMAGE_GIB = 25  # the Isaac Lab image, unpacked
CACHE_GIB = 15  # shader, kit and pip caches, logs, checkpoints of a few jobs


def isaaclab_version(image: str) -> str | None:
    """'2.3' for ...isaac-lab:2.3.2, None when the tag does not say."""
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    match = re.match(r"v?(\d+)\.(\d+)", tag)
    return f"{match.group(1)}.{match.group(2)}" if match else None


def _driver_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:2])


@dataclass(frozen=True)
class Verdict:
    problems: list[str]
    hint: str | None = None


def judge_gpus(facts: HostFacts, version: str | None) -> Verdict:
    if not facts.gpus:
        return Verdict(
            ["no NVIDIA GPU visible (nvidia-smi found none)"],
            "use a host with an RTX-class GPU, or --gpus none for a CPU-only smoke run",
        )
    problems = []
    for gpu in facts.gpus:
        if any(re.search(rf"\b{name}\b", gpu.model) for name in NO_RT_CORES):
            problems.append(f"GPU {gpu.model} has no RT cores: Isaac Sim cannot render on it")
    minimum = MIN_DRIVER.get(version or "")
    drivers = {gpu.driver_version for gpu in facts.gpus if gpu.driver_version}
    for driver in drivers:
        if minimum and _driver_tuple(driver) < minimum:
            needed = ".".join(map(str, minimum))
            problems.append(f"NVIDIA driver {driver} is older than {needed}, which Isaac Lab {version} needs")
    return Verdict(problems, "pass --allow-unsupported-gpu to go on anyway" if problems else None)


def judge_disk(facts: HostFacts, image_present: bool) -> Verdict:
    needed = CACHE_GIB + (0 if image_present else IMAGE_GIB)
    if facts.free_disk_gib is not None and facts.free_disk_gib < needed:
        return Verdict(
            [f"only {facts.free_disk_gib:.0f} GiB free where isaacctl keeps its files; {needed} GiB needed"],
            "free some space, use a bigger disk, or pass --allow-low-disk",
        )
    return Verdict([])
