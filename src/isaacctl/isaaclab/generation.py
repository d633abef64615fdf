"""One object per Isaac Lab generation, built from templates/isaaclab/generations.yaml: how a
train / play / list_envs / benchmark command is written, its flags, the task id form, which
libraries exist and how each resumes, and the container's user, environment and mounts.

A runtime (the job container today, a pip virtual environment later) asks it for argv and
environment; nothing outside this package compares version numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from isaacctl.isaaclab.libraries import Library, library, library_names
from isaacctl.isaaclab.tables import table

if TYPE_CHECKING:
    from isaacctl.services.jobs.spec import JobSpec

__all__ = [
    "CheckpointRef",
    "ContainerLayout",
    "Generation",
    "JobRequest",
    "Library",
    "Rendezvous",
    "Resume",
    "generation",
    "generations",
]

# rsl_rl's run folder name, which --run_timestamp replaces: jobs keep sorting by name.
RUN_TIMESTAMP_FORMAT = "%Y-%m-%d_%H-%M-%S"


@dataclass(frozen=True)
class Resume:
    """Where a resumed run's files are, as the new job sees them."""

    run_folder: str  # e.g. 2026-11-22_03-10-00 (rsl_rl --load_run)
    checkpoint_file: str  # e.g. model_149.pt (rsl_rl --checkpoint)
    container_path: str  # full path (--checkpoint everywhere else)


# A checkpoint as play is given it: a path, or a keyword the generation resolves itself
# (3.x: latest, best).
CheckpointRef = str


@dataclass(frozen=True)
class Rendezvous:
    """Where the nodes of one job meet (torchrun's static rendezvous on the head node)."""

    master_addr: str  # the head node's private address
    master_port: int
    rdzv_id: str  # the same on every node: the job id
    node_rank: int = 0


@dataclass(frozen=True)
class JobRequest:
    """What one train or evaluate run is asked to do, free of any generation's spelling."""

    mode: Literal["train", "evaluate"]
    task: str  # already in this generation's form
    library: str
    num_envs: int | None = None
    seed: int | None = None
    max_iterations: int | None = None
    video: bool = False
    video_length: int = 200
    video_interval: int = 2000
    gpus: int = 1  # processes (ranks) on each node
    nodes: int = 1
    rendezvous: Rendezvous | None = None  # several nodes: where they meet, and this node's rank
    run_name: str | None = None
    checkpoint: CheckpointRef | None = None  # evaluate
    resume: Resume | None = None  # train
    run_timestamp: str | None = None  # the run folder's name, where the generation takes one
    overrides: tuple[str, ...] = ()
    cpu: bool = False  # the host has no GPU (bootstrapped with --gpus none)

    @classmethod
    def from_spec(
        cls,
        spec: JobSpec,
        *,
        checkpoint: CheckpointRef | None = None,
        resume: Resume | None = None,
        run_timestamp: str | None = None,
        cpu: bool = False,
        rendezvous: Rendezvous | None = None,
    ) -> JobRequest:
        assert spec.rl_library is not None, "build_spec resolves the library"
        return cls(
            mode=spec.mode,
            task=spec.task,
            library=spec.rl_library,
            num_envs=spec.num_envs,
            seed=spec.seed,
            max_iterations=spec.max_iterations,
            video=spec.video,
            video_length=spec.video_length,
            video_interval=spec.video_interval,
            gpus=spec.gpus or 1,
            nodes=spec.num_nodes,
            rendezvous=rendezvous,
            run_name=spec.run_name,
            checkpoint=checkpoint,
            resume=resume,
            run_timestamp=run_timestamp,
            overrides=tuple(spec.overrides),
            cpu=cpu,
        )

    @property
    def distributed(self) -> bool:
        return self.gpus > 1 or self.nodes > 1


@dataclass(frozen=True)
class ContainerLayout:
    user: str | None  # docker run --user; None: the image's own (root for 2.x)
    host_uid: int  # who must own the host folders mounted into the container
    workdir: str
    logs: str  # where Isaac Lab writes logs/ (relative to the working directory)
    env: tuple[str, ...]
    video_env: tuple[str, ...]
    pip: tuple[str, ...]  # argv prefix that installs into Isaac Lab's Python
    mounts: tuple[tuple[str, str], ...]  # host folder under the deployment root -> container path
    python: tuple[str, ...] = ("python",)  # argv prefix that runs Isaac Lab's Python (tensorboard)

    @property
    def runner_env(self) -> tuple[str, ...]:
        return _runner_env({"workdir": self.workdir, "pip": self.pip})

    def hand_over_argv(self, image: str, folder: str, labels: tuple[str, ...] = ()) -> list[str] | None:
        """A host folder the login user made (a job's), given to the image's user (3.x: uid
        1000) so the job can write its logs: by a root container of the image itself, as the
        login user may have no sudo but can run Docker. None where the image runs as root."""
        if self.host_uid == 0:
            return None
        label_args = [part for label in labels for part in ("--label", label)]
        return [
            "docker",
            "run",
            "--pull",  # never an implicit pull: images come from image-pull (with the key)
            "never",
            "--rm",
            "--network",
            "none",
            "--user",
            "0:0",
            *label_args,
            "--volume",
            f"{folder}:/isaacctl-folder",
            "--entrypoint",
            "chown",
            image,
            "-R",
            f"{self.host_uid}:{self.host_uid}",
            "/isaacctl-folder",
        ]


def _runner_env(box: dict[str, Any]) -> tuple[str, ...]:
    """What templates/jobs/run.sh needs to know of the image: where Isaac Lab runs from (its
    logs/ are relative to it) and how an --extension is installed (space-separated argv)."""
    return (f"ISAACCTL_WORKDIR={box['workdir']}", f"ISAACCTL_PIP={' '.join(box['pip'])}")


@dataclass(frozen=True)
class PrewarmRun:
    """A short training whose only use is what it leaves in the host's caches."""

    task: str
    num_envs: int
    max_iterations: int


# eq=False: one object per generation, compared (and cached) by identity
@dataclass(frozen=True, eq=False)
class Generation:
    name: str  # "2", "3"
    label: str  # "2.x"
    default_library: str | None  # None: the task's own default agent
    task_suffix: str
    commands: dict[str, tuple[str, ...]]
    always: tuple[str, ...]
    video_extra: tuple[str, ...]
    distributed_flag: str | None
    run_timestamp_flag: str | None
    rendezvous_flags: tuple[str, ...]
    benchmark_flags: tuple[str, ...]
    benchmark_output_flag: str | None
    resume_styles: dict[str, str]
    checkpoint_keywords: tuple[str, ...]
    selectors: tuple[str, ...]
    container: ContainerLayout
    cpu_flags: tuple[str, ...] = ()  # a job on a host without GPU: flags, then Hydra overrides
    cpu_overrides: tuple[str, ...] = ()
    renamed: dict[str, str] = field(default_factory=dict)  # 2.x id -> this generation's id
    list_all: tuple[str, ...] = ()
    prewarm: PrewarmRun | None = None  # what bootstrap runs to fill the caches (None: nothing)

    # -- libraries ---------------------------------------------------------------------------
    @property
    def library_names(self) -> tuple[str, ...]:
        return tuple(name for name in library_names() if self.name in library(name).generations)  # type: ignore[union-attr]

    def library(self, name: str) -> Library | None:
        found = library(name)
        return found if found is not None and self.name in found.generations else None

    @property
    def distributed_libraries(self) -> tuple[str, ...]:
        return tuple(name for name in self.library_names if library(name).distributed)  # type: ignore[union-attr]

    def library_for(self, requested: str | None, task_default: str) -> str:
        """The library a job runs with: the one asked for, else this generation's default,
        else the task's default agent."""
        return requested or self.default_library or task_default

    # -- task ids ----------------------------------------------------------------------------
    def task_id(self, catalog_id: str) -> str:
        """A task id of the catalog (2.x form, templates/tasks.yaml) as this generation spells it."""
        if catalog_id in self.renamed:
            return self.renamed[catalog_id]
        if not self.task_suffix:
            return catalog_id.removesuffix("-v0")
        return catalog_id

    # -- commands ----------------------------------------------------------------------------
    def _command(self, kind: str, rendezvous: Rendezvous | None = None, **values: Any) -> list[str]:
        argv = []
        for part in self.commands[kind]:
            if part == "{rendezvous}":
                argv += self.rendezvous_argv(rendezvous, values.get("nodes", 1)) if rendezvous else []
            else:
                argv.append(part.format(**values))
        return argv

    def rendezvous_argv(self, rendezvous: Rendezvous, nodes: int) -> list[str]:
        return [
            part.format(
                nodes=nodes,
                node_rank=rendezvous.node_rank,
                master_addr=rendezvous.master_addr,
                master_port=rendezvous.master_port,
                rdzv_id=rendezvous.rdzv_id,
            )
            for part in self.rendezvous_flags
        ]

    def job_argv(self, request: JobRequest) -> list[str]:
        """The command that runs the job in Isaac Lab's working directory."""
        r = request
        args = ["--task", r.task, *self.always]
        if r.num_envs is not None:
            args += ["--num_envs", str(r.num_envs)]
        if r.seed is not None:
            args += ["--seed", str(r.seed)]
        if r.mode == "train":
            if r.max_iterations is not None:
                args += ["--max_iterations", str(r.max_iterations)]
            if r.video:
                args += [
                    "--video",
                    "--video_length",
                    str(r.video_length),
                    "--video_interval",
                    str(r.video_interval),
                    *self.video_extra,
                ]
            if r.run_name:
                args += ["--run_name", r.run_name]
            # Isaac Lab 3.0 registers --run_timestamp with --distributed only: sb3 and torchrl
            # train would refuse it as an unrecognized argument. train_multigpu keeps a given
            # one, so every node names the run folder alike.
            if r.run_timestamp and self.run_timestamp_flag and self._distributed(r.library):
                args += [self.run_timestamp_flag, r.run_timestamp]
            if r.resume is not None:
                if self.resume_styles.get(r.library) == "load_run":
                    args += ["--resume", "--load_run", r.resume.run_folder, "--checkpoint", r.resume.checkpoint_file]
                else:
                    args += ["--checkpoint", r.resume.container_path]
            if r.distributed and self.distributed_flag:
                args.append(self.distributed_flag)
        else:
            if r.checkpoint is None:
                raise ValueError("evaluate needs a checkpoint (a path or one of the generation's keywords)")
            args += ["--checkpoint", r.checkpoint]
            if r.video:
                # play simulates until closed; with --video it stops after video_length steps.
                args += ["--video", "--video_length", str(r.video_length), *self.video_extra]
        cpu = r.cpu and not self.device_chosen(r.overrides)
        args += self.cpu_flags if cpu else ()
        args += r.overrides
        args += self.cpu_overrides if cpu else ()
        kind = "train_multigpu" if r.mode == "train" and r.distributed else r.mode
        rendezvous = r.rendezvous if r.nodes > 1 else None
        return [*self._command(kind, rendezvous, library=r.library, gpus=r.gpus, nodes=r.nodes), *args]

    @staticmethod
    def _distributed(name: str) -> bool:
        found = library(name)
        return found is not None and found.distributed

    def device_chosen(self, overrides: tuple[str, ...]) -> bool:
        """The user chose a device in an override (agent.device=...): a CPU host's defaults
        then stay out of the command."""
        keys = {override.lstrip("+").split("=", 1)[0] for override in overrides}
        return any(override.split("=", 1)[0] in keys for override in self.cpu_overrides)

    def list_envs_argv(self, keyword: str | None = None) -> list[str]:
        """Every registered task (3.x lists only a project's own when run inside one, unless
        --all), or those whose id contains keyword."""
        if keyword:
            return [*self._command("list_envs"), "--keyword", keyword]
        return [*self._command("list_envs"), *self.list_all]

    def benchmark_argv(
        self,
        task: str,
        *,
        library: str = "rsl_rl",
        num_envs: int | None = None,
        max_iterations: int | None = None,
        output_path: str | None = None,
    ) -> list[str]:
        """A training benchmark (step FPS, startup times) as KPI JSON."""
        args = ["--task", task, *self.always]
        if num_envs is not None:
            args += ["--num_envs", str(num_envs)]
        if max_iterations is not None:
            args += ["--max_iterations", str(max_iterations)]
        args += self.benchmark_flags
        if output_path and self.benchmark_output_flag:
            args += [self.benchmark_output_flag, output_path]
        return [*self._command("benchmark", library=library), *args]

    def run_timestamp(self, when: datetime) -> str | None:
        """The run folder name to ask for (None where the generation takes none)."""
        return when.strftime(RUN_TIMESTAMP_FORMAT) if self.run_timestamp_flag else None

    # -- runtime -----------------------------------------------------------------------------
    def environment(self, *, video: bool) -> list[str]:
        """KEY=VALUE settings every job of this generation runs with."""
        return [*self.container.env, *(self.container.video_env if video else ())]

    def selector_of(self, override: str) -> str | None:
        """The selector an override sets (physics=, presets=), if it is one of this generation's."""
        key = override.lstrip("+").split("=", 1)[0]
        return key if key in self.selectors else None


def _generation(name: str, entry: dict[str, Any], renamed: dict[str, str]) -> Generation:
    flags, box = entry["flags"], entry["container"]
    return Generation(
        name=name,
        label=entry["label"],
        default_library=entry.get("default_library"),
        task_suffix=entry.get("task_suffix") or "",
        commands={kind: tuple(argv) for kind, argv in entry["commands"].items()},
        always=tuple(flags["always"]),
        video_extra=tuple(flags["video_extra"]),
        distributed_flag=flags.get("distributed"),
        run_timestamp_flag=flags.get("run_timestamp"),
        rendezvous_flags=tuple(flags.get("rendezvous") or ()),
        benchmark_flags=tuple(flags.get("benchmark") or ()),
        benchmark_output_flag=flags.get("benchmark_output"),
        resume_styles=dict(entry.get("resume") or {}),
        checkpoint_keywords=tuple(entry.get("checkpoint_keywords") or ()),
        selectors=tuple(entry.get("selectors") or ()),
        cpu_flags=tuple((entry.get("cpu") or {}).get("flags") or ()),
        cpu_overrides=tuple((entry.get("cpu") or {}).get("overrides") or ()),
        container=ContainerLayout(
            user=box.get("user"),
            host_uid=int(box["host_uid"]),
            workdir=box["workdir"],
            logs=box["logs"],
            # run.sh's settings (ISAACCTL_WORKDIR, ISAACCTL_PIP) travel with the image's own
            env=tuple(box["env"]) + _runner_env(box),
            video_env=tuple(box.get("video_env") or ()),
            pip=tuple(box["pip"]),
            mounts=tuple((host, inside) for host, inside in box["mounts"]),
            python=tuple(box["python"]),
        ),
        list_all=tuple(flags.get("list_all") or ()),
        prewarm=PrewarmRun(**entry["prewarm"]) if entry.get("prewarm") else None,
        # the renames exist only where ids lost their -v0 suffix
        renamed={} if entry.get("task_suffix") else dict(renamed),
    )


@lru_cache(maxsize=1)
def generations() -> dict[str, Generation]:
    renamed = table("task_ids")["renamed"]
    return {
        str(name): _generation(str(name), entry, renamed) for name, entry in table("generations")["generations"].items()
    }


def generation(name: str) -> Generation:
    return generations()[name]
