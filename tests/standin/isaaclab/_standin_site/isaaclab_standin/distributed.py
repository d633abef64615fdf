"""The stand-in's --distributed path, on the REAL torch.distributed (the CPU wheel in the image).

Each rank started by torchrun joins the process group from the environment torchrun gives it
(RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), all-reduces one tensor and writes what it got,
and then all-reduces every iteration's reward as data-parallel training all-reduces its
gradients: ranks stay in step, and a rank that dies makes the others fail. gloo without a GPU
(nccl with one, as Isaac Lab uses). A wrong address, port, rank or world size never meets, or
meets with the wrong sum, which the tests read from the files written here."""

from __future__ import annotations

import json
import os
import socket
from datetime import timedelta

from .common import out

RESULT_FILE = "distributed.json"


class Group:
    def __init__(self) -> None:
        import torch
        import torch.distributed as dist

        self.torch, self.dist = torch, dist
        self.backend = "nccl" if torch.cuda.is_available() else "gloo"
        timeout = float(os.environ.get("STANDIN_DIST_TIMEOUT", "120"))
        dist.init_process_group(self.backend, timeout=timedelta(seconds=timeout))
        self.rank, self.world = dist.get_rank(), dist.get_world_size()
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.node_rank = int(os.environ.get("GROUP_RANK", "0"))
        # 1 + 2 + ... + world: a rank that counted itself twice, or a group of the wrong size, shows
        value = torch.tensor([float(self.rank + 1)])
        dist.all_reduce(value)
        self.sum = value.item()
        self.result = {
            "rank": self.rank,
            "world_size": self.world,
            "local_rank": self.local_rank,
            "node_rank": self.node_rank,
            "local_world_size": int(os.environ.get("LOCAL_WORLD_SIZE", "1")),
            "env_rank": int(os.environ.get("RANK", "-1")),
            "env_world_size": int(os.environ.get("WORLD_SIZE", "-1")),
            "master": f"{os.environ.get('MASTER_ADDR')}:{os.environ.get('MASTER_PORT')}",
            "run_id": os.environ.get("TORCHELASTIC_RUN_ID"),
            "backend": self.backend,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "all_reduce_sum": self.sum,
            "expected_sum": self.world * (self.world + 1) / 2,
            "nccl_ib_disable": os.environ.get("NCCL_IB_DISABLE"),
        }
        out(
            f"[STANDIN] rank {self.rank}/{self.world} (node {self.node_rank}, local rank {self.local_rank}) "
            f"joined over {self.backend}: all-reduce sum {self.sum:g}"
        )

    def mean(self, value: float) -> float:
        tensor = self.torch.tensor([float(value)])
        self.dist.all_reduce(tensor)
        return tensor.item() / self.world

    def write(self, run_dir: str) -> None:
        """Rank 0 into the run folder, the others into rank_<n>/ (where Isaac Lab 3 puts them)."""
        folder = run_dir if self.rank == 0 else os.path.join(run_dir, f"rank_{self.rank}")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, RESULT_FILE), "w", encoding="utf-8") as handle:
            json.dump(self.result, handle, indent=2)

    def close(self) -> None:
        try:
            self.dist.destroy_process_group()
        except Exception:  # noqa: BLE001 - a peer already gone: nothing left to close
            pass
