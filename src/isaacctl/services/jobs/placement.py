"""Where a job's ranks go: how many nodes of the deployment and how many processes (one per
GPU) on each, decided and checked before anything starts. A deployment with fewer nodes or GPUs
than asked is refused with the flag (or job JSON field) named, exit 2."""

from __future__ import annotations

from typing import TYPE_CHECKING

from isaacctl.errors import UserError

if TYPE_CHECKING:
    from isaacctl.isaaclab import Generation
    from isaacctl.records import DeploymentRecord, Node
    from isaacctl.services.jobs.spec import JobSpec

# Clouds without InfiniBand (every instance type isaacctl makes): NCCL over TCP sockets. NCCL
# chooses the interface itself (NCCL_SOCKET_IFNAME is not forced: names differ per image and
# cloud). A job's own --env wins over these.
MULTI_NODE_ENV = {"NCCL_IB_DISABLE": "1"}


def gpu_capacity(record: DeploymentRecord, node: Node) -> int | None:
    """How many ranks a node can take: its GPUs; on a host bootstrapped with --gpus none, its
    CPUs (ranks then run on the CPU, as the stand-in's gloo runs do); None when not known."""
    facts = node.facts
    if record.gpus == "none":
        return facts.cpus if facts is not None and facts.cpus else None
    return len(facts.gpus) if facts is not None else None


def place(
    spec: JobSpec, record: DeploymentRecord, generation: Generation, sources: dict[str, str] | None = None
) -> JobSpec:
    """The spec with its GPUs per node decided (all of each node's GPUs by default where the
    library trains on several), after checking the deployment has what it asks for."""
    sources = sources or {}
    nodes_flag, gpus_flag = sources.get("num_nodes", "--nodes"), sources.get("gpus", "--gpus")
    have = sorted(record.nodes, key=lambda node: node.index)
    if spec.num_nodes > len(have):
        raise UserError(
            f"{nodes_flag}: {record.name} has {len(have)} node(s), {spec.num_nodes} asked",
            hint=f"deploy a deployment with --nodes {spec.num_nodes}, or ask for fewer",
        )
    used = have[: spec.num_nodes]
    if spec.num_nodes > 1:
        if spec.resume:
            raise UserError(f"--resume: not with {nodes_flag} {spec.num_nodes}: only node 0 would have the checkpoint")
        missing = [node.index for node in used[:1] if not (node.private_ip or node.public_ip)]
        if missing:
            raise UserError(f"{nodes_flag}: node 0 of {record.name} has no address the other nodes can reach")
    library = generation.library(spec.rl_library or "")
    distributed = library is not None and library.distributed and spec.mode == "train"
    capacities = [gpu_capacity(record, node) for node in used]
    if spec.gpus is None:
        known = [capacity for capacity in capacities if capacity]
        # a CPU host's ranks are CPU processes: one unless asked, as before several GPUs existed
        every_gpu = min(known) if distributed and record.gpus != "none" and len(known) == len(used) else 1
        return spec.model_copy(update={"gpus": max(every_gpu, 1)})
    if spec.gpus > 1:
        for node, capacity in zip(used, capacities, strict=True):
            what = "CPUs" if record.gpus == "none" else "GPUs"
            if capacity is None:
                raise UserError(
                    f"{gpus_flag}: node {node.index} of {record.name} has not said how many {what} it has",
                    hint=f"isaacctl bootstrap {record.name} (its facts step)",
                )
            if capacity < spec.gpus:
                raise UserError(
                    f"{gpus_flag}: node {node.index} of {record.name} has {capacity} {what}, {spec.gpus} asked"
                )
    return spec
