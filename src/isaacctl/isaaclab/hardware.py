"""What a GPU must have to run Isaac Lab, per version and per whether Isaac Sim runs
(templates/isaaclab/versions.yaml): RT cores for Isaac Sim, compute capability >= 7.5 and a
recent driver for kit-less 3.x. Bootstrap's host check calls `judge_gpu` for each GPU."""

from __future__ import annotations

import re
from dataclasses import dataclass

from isaacctl.isaaclab.tables import table
from isaacctl.isaaclab.versions import version_info, versions


@dataclass(frozen=True)
class GpuRule:
    version: str
    isaac_sim: bool
    rt_cores: bool
    min_compute_capability: tuple[int, ...] | None
    min_driver: tuple[int, ...]

    @property
    def min_driver_text(self) -> str:
        return ".".join(map(str, self.min_driver))


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


def gpu_rule(version: str | None, *, isaac_sim: bool | None = None) -> GpuRule:
    """The rule for a version; isaac_sim None: whatever that version's image carries (a 3.x
    job that asks for Kit, e.g. physics=isaacsim_physx, passes isaac_sim=True)."""
    info = version_info(version)
    if isaac_sim is None:
        isaac_sim = info.isaac_sim
    else:
        # the minimum driver of that version's image of this kind, when it has one
        info = next((row for row in versions() if row.version == info.version and row.isaac_sim == isaac_sim), info)
    needs = table("versions")["hardware"]["isaac_sim" if isaac_sim else "kitless"]
    capability = needs.get("min_compute_capability")
    return GpuRule(
        version=info.version,
        isaac_sim=isaac_sim,
        rt_cores=bool(needs["rt_cores"]),
        min_compute_capability=_numbers(str(capability)) if capability else None,
        min_driver=_numbers(info.min_driver),
    )


def _named(model: str, name: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\b", model) is not None


def has_rt_cores(model: str) -> bool:
    return not any(_named(model, name) for name in table("versions")["no_rt_cores"])


def compute_capability(model: str) -> tuple[int, ...] | None:
    """Known only for the pre-Turing GPUs listed; None means "not older than Turing as far as
    isaacctl knows" (nvidia-smi's model name is all bootstrap's facts carry)."""
    for name, capability in table("versions")["compute_capability"].items():
        if _named(model, str(name)):
            return _numbers(str(capability))
    return None


def judge_gpu(rule: GpuRule, model: str, driver: str | None, *, label: str | None = None) -> list[str]:
    """The problems of one GPU under a rule, each a sentence; [] when it is fine."""
    problems = []
    if rule.rt_cores and not has_rt_cores(model):
        problems.append(f"GPU {model} has no RT cores: Isaac Sim cannot render on it")
    capability = compute_capability(model)
    if rule.min_compute_capability and capability and capability < rule.min_compute_capability:
        need = ".".join(map(str, rule.min_compute_capability))
        have = ".".join(map(str, capability))
        problems.append(f"GPU {model} has compute capability {have}; Isaac Lab {rule.version} needs {need} or newer")
    if driver and _numbers(driver)[: len(rule.min_driver)] < rule.min_driver:
        problems.append(
            f"NVIDIA driver {driver} is older than {rule.min_driver_text}, "
            f"which Isaac Lab {label or rule.version} needs"
        )
    return problems
