"""Isaac Lab generations as data: pinned command lines per generation, library and mode
(tests/data/generation_commands.yaml), task ids across generations, the one library table,
container layouts and GPU rules. Pure unit tests: no Docker, no host."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from isaacctl import tfevents
from isaacctl.errors import UserError
from isaacctl.isaaclab import (
    JobRequest,
    Rendezvous,
    Resume,
    generation,
    generation_for,
    generations,
    gpu_rule,
    isaaclab_version,
    library,
    library_names,
    versions,
)
from isaacctl.records import GpuFact, HostFacts
from isaacctl.runtimes.container import docker_run_argv
from isaacctl.services.bootstrap.requirements import DEFAULT_IMAGE, judge_gpus
from isaacctl.services.jobs.checkpoints import best_checkpoint, newest_checkpoint
from isaacctl.services.jobs.command import isaaclab_argv
from isaacctl.services.jobs.spec import build_spec

DATA = Path(__file__).resolve().parent / "data"
TEMPLATES = Path(__file__).resolve().parents[1] / "src" / "isaacctl" / "templates"
CASES = yaml.safe_load((DATA / "generation_commands.yaml").read_text())["cases"]
G2, G3 = generation("2"), generation("3")


def _request(fields: dict) -> JobRequest:
    fields = dict(fields)
    if "resume" in fields:
        fields["resume"] = Resume(**fields["resume"])
    if "rendezvous" in fields:
        fields["rendezvous"] = Rendezvous(**fields["rendezvous"])
    fields["overrides"] = tuple(fields.get("overrides", ()))
    return JobRequest(**fields)


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_pinned_command_lines(case):
    assert generation(case["generation"]).job_argv(_request(case["request"])) == case["argv"]


def test_the_pinned_table_covers_every_generation_library_and_mode():
    seen = {(c["generation"], c["request"]["mode"]) for c in CASES}
    assert seen == {(g, m) for g in generations() for m in ("train", "evaluate")}
    for name, gen in generations().items():
        asked = {c["request"]["library"] for c in CASES if c["generation"] == name}
        assert asked <= set(gen.library_names)
    assert any(c["request"].get("gpus", 1) > 1 for c in CASES if c["generation"] == "3")


def _spec(generation_, notices=None, config=None, **flags):
    flags.setdefault("mode", "train")
    return build_spec(flags, config, generation=generation_, notice=(notices if notices is not None else []).append)


def test_a_2x_job_builds_what_it_always_did():
    spec = _spec(G2, task="Isaac-Cartpole-v0", max_iterations=4, seed=3)
    assert spec.rl_library == "rsl_rl" and spec.task == "Isaac-Cartpole-v0"
    assert isaaclab_argv(spec, generation=G2) == CASES[0]["argv"]
    argv = docker_run_argv(
        deployment="ws1",
        job_id="j1",
        spec=spec,
        image="img",
        host_root="/h",
        host_job_dir="/h/jobs/j1",
        use_gpus=True,
        command=["x"],
        generation=G2,
    )
    assert argv == [
        "docker",
        "run",
        "--pull",  # the one change since 2.x jobs began: an image is never pulled implicitly
        "never",
        "--detach",
        "--name",
        "isaacctl-ws1-j1",
        "--label",
        "isaacctl.deployment=ws1",
        "--label",
        "isaacctl.job=j1",
        "--label",
        "isaacctl.mode=train",
        "--label",
        "isaacctl.task=Isaac-Cartpole-v0",
        "--network=host",
        "--env",
        "ACCEPT_EULA=Y",
        "--env",
        "PRIVACY_CONSENT=Y",
        "--env",
        "HEADLESS=1",
        # run.sh's: where Isaac Lab runs from, and its pip
        "--env",
        "ISAACCTL_WORKDIR=/workspace/isaaclab",
        "--env",
        "ISAACCTL_PIP=./isaaclab.sh -p -m pip",
        "--gpus",
        "all",
        "--volume",
        "/h/cache/kit:/isaac-sim/kit/cache",
        "--volume",
        "/h/cache/ov:/root/.cache/ov",
        "--volume",
        "/h/cache/pip:/root/.cache/pip",
        "--volume",
        "/h/cache/glcache:/root/.cache/nvidia/GLCache",
        "--volume",
        "/h/cache/computecache:/root/.nv/ComputeCache",
        "--volume",
        "/h/omniverse/logs:/root/.nvidia-omniverse/logs",
        "--volume",
        "/h/omniverse/data:/root/.local/share/ov/data",
        "--volume",
        "/h/omniverse/documents:/root/Documents",
        "--volume",
        "/h/jobs/j1/logs:/workspace/isaaclab/logs",
        "--volume",
        "/h/jobs/j1:/isaacctl/job",
        "--entrypoint",
        "bash",
        "img",
        "/isaacctl/job/run.sh",
        "x",
    ]


def test_a_3x_container_runs_as_uid_1000_with_warp_and_compute_caches():
    spec = _spec(G3, task="Isaac-Cartpole", video=True)
    argv = docker_run_argv(
        deployment="ws1",
        job_id="j1",
        spec=spec,
        image="img",
        host_root="/h",
        host_job_dir="/h/jobs/j1",
        use_gpus=True,
        command=["x"],
        generation=G3,
    )
    assert argv[argv.index("--user") + 1] == "1000:1000"
    volumes = {argv[i + 1] for i, part in enumerate(argv) if part == "--volume"}
    assert {"/h/cache/warp:/root/.cache/warp", "/h/cache/computecache:/root/.nv/ComputeCache"} <= volumes
    assert "HEADLESS=1" not in argv and "ENABLE_CAMERAS=1" not in argv
    assert G3.container.host_uid == 1000 and G2.container.user is None


def test_v0_ids_run_on_3x_under_their_new_name_with_one_notice():
    notices: list[str] = []
    spec = _spec(G3, notices, task="Isaac-Ant-Direct-v0")
    assert spec.task == "Isaac-Ant-Direct" and spec.rl_library == "rsl_rl"
    assert len(notices) == 1 and "Isaac-Ant-Direct" in notices[0] and "\n" not in notices[0]
    assert G3.job_argv(JobRequest.from_spec(spec))[:6] == [
        "isaaclab",
        "train",
        "--rl_library",
        "rsl_rl",
        "--task",
        "Isaac-Ant-Direct",
    ]


@pytest.mark.parametrize(
    "old, new",
    [
        ("Isaac-Velocity-Flat-Anymal-D-v0", "Isaac-Velocity-Flat-AnymalD"),
        ("Isaac-Lift-Cube-Franka-v0", "Isaac-Lift-Franka"),
        ("Isaac-Velocity-Flat-Anymal-C-v0", "IsaacContrib-Velocity-Flat-AnymalC"),
    ],
)
def test_renamed_ids_follow_the_table(old, new):
    assert _spec(G3, task=old).task == new
    assert _spec(G2, task=new).task == old  # and back, on a 2.x deployment


def test_the_pipeline_job_json_with_v0_ids_runs_unchanged_on_3x():
    notices: list[str] = []
    spec = _spec(G3, notices, config=TEMPLATES / "jobs" / "train-cartpole.json")
    assert not spec.task.endswith("-v0") and notices


@pytest.mark.parametrize(
    "gen, task, expected",
    [
        (G3, "Isaac-Antt-Direct-v0", "did you mean Isaac-Ant-Direct"),
        (G2, "Isaac-Cartpol-v0", "did you mean Isaac-Cartpole-v0"),
    ],
)
def test_an_unknown_id_names_task_and_the_nearest_real_ones(gen, task, expected):
    with pytest.raises(UserError) as caught:
        _spec(gen, task=task)
    message = caught.value.message
    assert message.startswith("--task: ") and expected in message and "\n" not in message
    assert caught.value.exit_code == 2


def test_rl_library_is_optional_on_3x_and_torchrl_exists_only_there():
    assert _spec(G3, task="Isaac-Cartpole").rl_library == "rsl_rl"  # the task's default agent
    notices: list[str] = []
    assert _spec(G3, notices, task="Isaac-Cartpole", rl_library="torchrl").rl_library == "torchrl"
    assert notices  # the catalog does not say which tasks have a torchrl agent
    with pytest.raises(UserError, match=r"^--rl-library: expected one of rsl_rl, skrl, rl_games, sb3 "):
        _spec(G2, task="Isaac-Cartpole-v0", rl_library="torchrl")


@pytest.mark.parametrize("lib", ["sb3", "torchrl"])
def test_sb3_and_torchrl_refuse_several_gpus(lib):
    with pytest.raises(UserError, match=rf"^--gpus: {lib} cannot train on several GPUs"):
        _spec(G3, task="Isaac-Cartpole", rl_library=lib, gpus=2)


def test_3x_selectors_are_refused_on_2x_and_passed_through_on_3x():
    with pytest.raises(UserError, match=r"^HYDRA_OVERRIDES: physics= selects"):
        _spec(G2, task="Isaac-Cartpole-v0", overrides=["physics=newton"])
    spec = _spec(G3, task="Isaac-Cartpole", overrides=["physics=newton", "presets=a,b"])
    assert G3.job_argv(JobRequest.from_spec(spec))[-2:] == ["physics=newton", "presets=a,b"]


def test_list_envs_and_benchmark_per_generation():
    assert G2.list_envs_argv("Ant") == ["./isaaclab.sh", "-p", "scripts/environments/list_envs.py", "--keyword", "Ant"]
    assert G3.list_envs_argv() == ["isaaclab", "list_envs", "--all"]  # not only a project's own tasks
    assert G2.benchmark_argv("Isaac-Ant-v0", num_envs=4096, max_iterations=10) == [
        "./isaaclab.sh",
        "-p",
        "scripts/benchmarks/benchmark_rsl_rl.py",
        "--task",
        "Isaac-Ant-v0",
        "--headless",
        "--num_envs",
        "4096",
        "--max_iterations",
        "10",
        "--benchmark_backend",
        "JSONFileMetrics",
    ]
    assert G3.benchmark_argv("Isaac-Ant", num_envs=4096, max_iterations=10, output_path="/out") == [
        "isaaclab",
        "benchmark",
        "training",
        "--rl_library",
        "rsl_rl",
        "--task",
        "Isaac-Ant",
        "--num_envs",
        "4096",
        "--max_iterations",
        "10",
        "--output_path",
        "/out",
    ]


# -- the tables --------------------------------------------------------------------------------
def test_one_library_table_and_every_reward_tag_is_read_on_the_host():
    # tfevents.py runs on the host with the stdlib only, so it keeps its own copy: it must agree.
    tags = {library(name).reward_tag for name in library_names()} - {None}
    assert tags <= set(tfevents.REWARD_TAGS)
    catalog = yaml.safe_load((TEMPLATES / "tasks.yaml").read_text())
    assert {lib for task in catalog["tasks"].values() for lib in task["libraries"]} <= set(library_names())


def test_versions_table_matches_image_tags_and_new_deployments_get_3x():
    for row in versions():
        assert isaaclab_version(row.image) == row.version
        assert generation_for(row.version, row.image).name == row.generation
    assert generation_for(isaaclab_version(DEFAULT_IMAGE)).name == "3"
    assert generation_for(None).name == "3"
    # a record from before versions were kept: its image's tag says which
    assert generation_for(None, "nvcr.io/nvidia/isaac-lab:2.3.2").name == "2"
    assert generation_for("3.0", "nvcr.io/nvidia/isaac-lab:3.0.0-rc1-kitless").name == "3"


def _facts(model: str, driver: str = "580.95.05") -> HostFacts:
    return HostFacts(gpus=[GpuFact(model=model, driver_version=driver)])


@pytest.mark.parametrize(
    "version, isaac_sim, model, driver, problem",
    [
        ("2.3", None, "NVIDIA H100 80GB HBM3", "580.95.05", "no RT cores"),
        ("3.0", True, "NVIDIA H100 80GB HBM3", "580.95.05", "no RT cores"),
        ("3.0", False, "NVIDIA H100 80GB HBM3", "580.95.05", None),
        ("3.0", False, "Tesla V100-SXM2-16GB", "580.95.05", "compute capability 7.0"),
        ("3.0", False, "NVIDIA L40S", "580.65.05", "older than 580.65.6"),
        ("3.0", False, "NVIDIA L40S", "580.65.06", None),
        ("2.3", None, "NVIDIA L40S", "580.65.05", None),
        ("2.2", None, "NVIDIA L40S", "550.54.15", None),
    ],
)
def test_gpu_rules_per_generation_and_mode(version, isaac_sim, model, driver, problem):
    problems = judge_gpus(_facts(model, driver), version, isaac_sim=isaac_sim).problems
    assert (problem is None and problems == []) or (problem is not None and problem in problems[0]), problems


def test_gpu_rule_is_data():
    assert gpu_rule("3.0", isaac_sim=False).min_compute_capability == (7, 5)
    assert gpu_rule("3.0", isaac_sim=False).rt_cores is False
    assert gpu_rule("2.3").rt_cores is True and gpu_rule("2.3").min_driver == (580, 65)


# -- checkpoints -------------------------------------------------------------------------------
def test_best_checkpoint_per_library_and_3x_rank_folders_are_not_checkpoints():
    skrl = "skrl/cartpole/2026-01-01_10-00-00_ppo_torch/checkpoints"
    files = [f"{skrl}/agent_800.pt", f"{skrl}/best_agent.pt"]
    assert best_checkpoint("skrl", files) == f"{skrl}/best_agent.pt"
    run = "rsl_rl/cartpole/2026-01-01_10-00-00"
    files = [f"{run}/model_5.pt", f"{run}/model_10.pt", f"{run}/rank_1/model_99.pt"]
    assert best_checkpoint("rsl_rl", files) == f"{run}/model_10.pt"  # no best file: the newest
    assert newest_checkpoint("rsl_rl", files) == f"{run}/model_10.pt"
    torchrl = "torchrl/cartpole/2026-01-01_10-00-00"
    assert newest_checkpoint("torchrl", [f"{torchrl}/model_9.pt", f"{torchrl}/model_10.pt"]) == f"{torchrl}/model_10.pt"


def test_a_job_record_spec_keeps_its_2x_shape():
    spec = _spec(G2, task="Isaac-Cartpole-v0")
    dumped = json.loads(json.dumps(spec.model_dump(mode="json")))
    assert dumped["rl_library"] == "rsl_rl" and dumped["task"] == "Isaac-Cartpole-v0"
