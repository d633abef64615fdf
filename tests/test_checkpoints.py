"""Checkpoint choice by number per library: where upstream's text sort goes wrong."""

from __future__ import annotations

import pytest

from isaacctl.services.jobs.checkpoints import checkpoints_to_keep, newest_checkpoint

RUN_OLD = "rsl_rl/cartpole/2026-01-01_10-00-00"
RUN_NEW = "rsl_rl/cartpole/2026-01-02_09-00-00"


def test_rsl_rl_takes_the_highest_iteration_of_the_newest_run():
    files = [
        f"{RUN_OLD}/model_5000.pt",
        f"{RUN_NEW}/model_999.pt",
        f"{RUN_NEW}/model_1000.pt",
        f"{RUN_NEW}/model_50.pt",
        f"{RUN_NEW}/params/agent.yaml",
    ]
    assert newest_checkpoint("rsl_rl", files) == f"{RUN_NEW}/model_1000.pt"
    assert sorted(files)[-2].endswith("model_999.pt")  # what a text sort would pick


def test_skrl_ignores_best_agent_for_the_newest():
    run = "skrl/cartpole/2026-01-01_10-00-00_ppo_torch/checkpoints"
    files = [f"{run}/agent_800.pt", f"{run}/agent_1600.pt", f"{run}/best_agent.pt", f"{run}/agent_16000.pt"]
    assert newest_checkpoint("skrl", files) == f"{run}/agent_16000.pt"


def test_rl_games_prefers_the_last_epoch_over_best():
    run = "rl_games/cartpole/2026-01-01_10-00-00/nn"
    files = [f"{run}/cartpole.pth", f"{run}/last_cartpole_ep_90_rew_4.2.pth", f"{run}/last_cartpole_ep_150_rew_4.9.pth"]
    assert newest_checkpoint("rl_games", files) == f"{run}/last_cartpole_ep_150_rew_4.9.pth"
    assert newest_checkpoint("rl_games", [f"{run}/cartpole.pth"]) == f"{run}/cartpole.pth"


def test_sb3_final_model_beats_step_snapshots():
    run = "sb3/Isaac-Cartpole-v0/2026-01-01_10-00-00"
    files = [f"{run}/model_90000_steps.zip", f"{run}/model_100000_steps.zip", f"{run}/model.zip"]
    assert newest_checkpoint("sb3", files) == f"{run}/model.zip"
    assert newest_checkpoint("sb3", files[:2]) == f"{run}/model_100000_steps.zip"


def test_a_named_checkpoint_and_a_missing_one():
    files = [f"{RUN_NEW}/model_50.pt", f"{RUN_NEW}/model_100.pt"]
    assert newest_checkpoint("rsl_rl", files, "model_50.pt") == f"{RUN_NEW}/model_50.pt"
    assert newest_checkpoint("rsl_rl", files, "model_7.pt") is None
    assert newest_checkpoint("rsl_rl", [f"{RUN_NEW}/params/env.yaml"]) is None


@pytest.mark.parametrize(
    "which, expected",
    [
        ("all", {f"{RUN_OLD}/model_10.pt", f"{RUN_OLD}/model_9.pt", f"{RUN_NEW}/model_3.pt"}),
        ("last", {f"{RUN_OLD}/model_10.pt", f"{RUN_NEW}/model_3.pt"}),
        ("none", set()),
    ],
)
def test_checkpoints_to_keep_per_run(which, expected):
    files = [
        f"{RUN_OLD}/model_9.pt",
        f"{RUN_OLD}/model_10.pt",
        f"{RUN_NEW}/model_3.pt",
        f"{RUN_NEW}/events.out.tfevents.1",
    ]
    assert checkpoints_to_keep("rsl_rl", files, which) == expected
