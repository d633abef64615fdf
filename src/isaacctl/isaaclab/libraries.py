"""The RL libraries (templates/isaaclab/generations.yaml `libraries`): the one table that job
specs, checkpoint choice, fetch-logs and metrics read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from isaacctl.isaaclab.tables import table

# How a matched checkpoint ranks against the others of its run (higher is newer).
_KIND_RANK = {"best": 0, "numbered": 1, "final": 2}


@dataclass(frozen=True)
class CheckpointRule:
    pattern: re.Pattern[str]
    kind: str  # numbered | best | final


@dataclass(frozen=True)
class Library:
    name: str
    generations: tuple[str, ...]
    distributed: bool
    run_name: bool
    run_folder: str
    checkpoints: tuple[CheckpointRule, ...]
    reward_tag: str | None
    length_tag: str | None

    def checkpoint_rank(self, path: str) -> tuple[int, int] | None:
        """(kind rank, number) of a checkpoint path under logs/, None if it is not one."""
        if _ignored().search(path):
            return None
        for rule in self.checkpoints:
            match = rule.pattern.search(path)
            if match is None:
                continue
            return (_KIND_RANK[rule.kind], int(match.group(2)) if rule.kind == "numbered" else 0)
        return None

    def is_best(self, path: str) -> bool:
        rank = self.checkpoint_rank(path)
        return rank is not None and rank[0] != _KIND_RANK["numbered"]


@lru_cache(maxsize=1)
def _ignored() -> re.Pattern[str]:
    return re.compile(table("generations")["checkpoint_ignore"])


@lru_cache(maxsize=1)
def _libraries() -> dict[str, Library]:
    return {
        name: Library(
            name=name,
            generations=tuple(str(g) for g in entry["generations"]),
            distributed=bool(entry["distributed"]),
            run_name=bool(entry.get("run_name", False)),
            run_folder=entry["run_folder"],
            checkpoints=tuple(
                CheckpointRule(re.compile(rule["pattern"]), rule["kind"]) for rule in entry["checkpoints"]
            ),
            reward_tag=entry.get("reward_tag"),
            length_tag=entry.get("length_tag"),
        )
        for name, entry in table("generations")["libraries"].items()
    }


def library_names() -> tuple[str, ...]:
    return tuple(_libraries())


def library(name: str) -> Library | None:
    return _libraries().get(name)
