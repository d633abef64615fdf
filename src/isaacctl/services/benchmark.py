"""`isaacctl benchmark`: the same Isaac Lab training on several deployments at once, and what
each costs per result. The figures come from Isaac Lab's own output (shared/reference/
isaaclab.md): the KPI JSON of 3.x `isaaclab benchmark training` where the generation writes it
somewhere isaacctl can read, otherwise a timed training whose rsl_rl iteration blocks and
`Training time:` line are parsed. Jobs are started and followed through the JobService only.

Prices are $/h: the provider's plan (its dated catalog) for cloud deployments, the user's own
figure (--price NAME=USD) for adopted hosts. Every figure keeps where it came from, and a run
is kept in state (StateStore.save_benchmark) so runs compare over time."""

from __future__ import annotations

import json
import math
import re
import secrets
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from isaacctl.errors import IsaacctlError, UserError, failure_reason

if TYPE_CHECKING:
    from isaacctl.records import DeploymentRecord, JobRecord
    from isaacctl.services.deployments import DeploymentService
    from isaacctl.services.jobs.service import JobService

SCHEMA_VERSION = 1
POLL_SECONDS = 2.0
# The field a provider's options name the machine size with (aws/alibaba, gcp, azure).
TYPE_FIELDS = ("instance_type", "machine_type", "size")
BENCHMARK_LIBRARY = "rsl_rl"  # the one library both generations' benchmarks and parsers share
KPI_FOLDER = "logs/isaacctl-benchmark"

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


# -- parsing Isaac Lab's output -----------------------------------------------------------------
@dataclass
class Iteration:
    index: int
    total: int
    steps_per_s: float | None = None
    mean_reward: float | None = None


@dataclass
class TrainingLog:
    """What rsl_rl prints: one block per iteration, and `Training time: X seconds` at the end."""

    iterations: list[Iteration] = field(default_factory=list)
    training_time_s: float | None = None


def parse_rsl_rl_output(text: str) -> TrainingLog:
    """rsl_rl's console blocks (2.x and 3.x alike): `Learning iteration <it>/<total>`, then
    `Computation: <n> steps/s (...)` and `Mean reward: <x>` right-aligned inside the block."""
    log = TrainingLog()
    current: Iteration | None = None
    for raw in text.splitlines():
        line = _ANSI.sub("", raw).strip()
        head = re.search(r"Learning iteration (\d+)/(\d+)", line)
        if head:
            current = Iteration(int(head.group(1)), int(head.group(2)))
            log.iterations.append(current)
            continue
        ended = re.match(r"Training time: ([0-9.]+) seconds", line)
        if ended:
            log.training_time_s = float(ended.group(1))
            continue
        if current is None:
            continue
        fps = re.match(r"Computation:\s+([0-9.]+) steps/s", line)
        if fps:
            current.steps_per_s = float(fps.group(1))
        reward = re.match(r"Mean reward:\s+(-?[0-9.]+(?:e-?\d+)?|nan|-?inf)", line)
        if reward:
            current.mean_reward = float(reward.group(1))
    return log


@dataclass
class Kpis:
    """Isaac Lab's benchmark KPIs (JSONFileMetrics: a list of test phases, each with
    measurements {name, value, unit} and metadata {name, data})."""

    env_steps_per_s: float | None = None
    startup_s: float | None = None
    max_iterations: int | None = None
    max_reward: float | None = None


def _measurements(data: Any) -> dict[str, tuple[float, str]]:
    found: dict[str, tuple[float, str]] = {}
    for phase in data if isinstance(data, list) else []:
        if not isinstance(phase, dict):
            continue
        for item in phase.get("measurements") or []:
            if isinstance(item, dict) and isinstance(item.get("value"), (int, float)) and "name" in item:
                found[str(item["name"])] = (float(item["value"]), str(item.get("unit") or ""))
    return found


def _metadata(data: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for phase in data if isinstance(data, list) else []:
        for item in (phase.get("metadata") or []) if isinstance(phase, dict) else []:
            if isinstance(item, dict) and "name" in item:
                found[str(item["name"])] = item.get("data")
    return found


def _ending(found: dict[str, Any], name: str) -> Any:
    """A measurement by its own name: at the end of a session JSONFileMetrics prefixes every
    name with "<workflow> <phase> "."""
    for key, value in found.items():
        if key == name or key.endswith(" " + name):
            return value
    return None


def _seconds(measurement: tuple[float, str] | None) -> float | None:
    if measurement is None:
        return None
    value, unit = measurement
    return value / 1000.0 if unit.strip().lower() in ("ms", "") else value


def parse_kpi_json(text: str) -> Kpis:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise IsaacctlError(f"Isaac Lab's benchmark JSON is not JSON ({exc})") from None
    measurements, metadata = _measurements(data), _metadata(data)
    fps = _ending(measurements, "Mean Total FPS")
    startup = _ending(measurements, "Total Start Time (Launch to Train)")
    if startup is None:  # the parts, when the total was not logged
        parts = [
            _ending(measurements, name)
            for name in ("App Launch Time", "Python Imports Time", "Task Creation and Start Time")
        ]
        present = [part for part in parts if part is not None]
        startup = (sum(value for value, _ in present), present[0][1]) if present else None
    reward = _ending(measurements, "Max Rewards")
    iterations = _ending(metadata, "max_iterations")
    return Kpis(
        env_steps_per_s=fps[0] if fps else None,
        startup_s=_seconds(startup),
        max_iterations=int(iterations) if isinstance(iterations, (int, float)) else None,
        max_reward=reward[0] if reward else None,
    )


# -- figures --------------------------------------------------------------------------------------
@dataclass
class Result:
    """One deployment's figures. status: ok, failed (reason says why), skipped (never run)."""

    deployment: str
    provider: str
    status: str = "ok"
    reason: str | None = None
    instance_type: str | None = None
    market: str | None = None
    gpu: str | None = None
    gpu_count: int = 0
    driver: str | None = None
    isaaclab_version: str | None = None
    image: str | None = None
    runtime: str | None = None
    method: str | None = None  # "isaaclab benchmark training" | "timed training"
    job: str | None = None
    iterations: int | None = None
    env_steps_per_s: float | None = None
    iterations_per_s: float | None = None
    startup_s: float | None = None
    time_to_iterations_s: float | None = None
    peak_gpu_memory_mib: int | None = None
    usd_per_hour: float | None = None
    price_source: str | None = None
    usd_run: float | None = None
    usd_per_million_steps: float | None = None
    reward_target: float | None = None
    time_to_target_s: float | None = None
    usd_to_target: float | None = None
    created: bool = False  # made by this run (--create), destroyed at its end


def compute_costs(result: Result) -> None:
    """$ per million environment steps = $/h / 3600 / (steps/s) * 1e6; $ to the target =
    $/h * seconds to reach it / 3600; $ of the run = $/h * wall seconds / 3600."""
    price = result.usd_per_hour
    if price is None:
        return
    if result.env_steps_per_s:
        result.usd_per_million_steps = price / 3600.0 / result.env_steps_per_s * 1e6
    if result.time_to_target_s is not None:
        result.usd_to_target = price * result.time_to_target_s / 3600.0
    if result.time_to_iterations_s is not None:
        result.usd_run = price * result.time_to_iterations_s / 3600.0


def apply_training_log(result: Result, log: TrainingLog, wall_s: float | None, target: float | None) -> None:
    """Figures of a timed training. The first iteration is left out of steps/s when there are
    more: it carries the warm-up (CUDA graphs, caches) that every later one does not."""
    rates = [it.steps_per_s for it in log.iterations if it.steps_per_s is not None]
    if len(rates) > 1:
        rates = rates[1:]
    if rates and result.env_steps_per_s is None:
        result.env_steps_per_s = statistics.fmean(rates)
    count = len(log.iterations) or result.iterations
    result.iterations = count or result.iterations
    training = log.training_time_s
    if training is None and wall_s is not None and result.startup_s is not None:
        training = max(wall_s - result.startup_s, 0.0)
    if training and count:
        result.iterations_per_s = count / training
    if result.startup_s is None and wall_s is not None and training is not None:
        result.startup_s = max(wall_s - training, 0.0)
    result.time_to_iterations_s = wall_s
    if target is not None and log.iterations and training is not None:
        reached = next(
            (n for n, it in enumerate(log.iterations, 1) if it.mean_reward is not None and it.mean_reward >= target),
            None,
        )
        if reached is not None:
            # iterations take about equally long: the n-th ends n/N of the training time in
            result.time_to_target_s = (result.startup_s or 0.0) + training * reached / len(log.iterations)


def sort_key(result: Result) -> tuple[int, float, str]:
    """Cheapest result first: $ to the reward target where there is one, else $ per million
    steps; then rows with figures but no price, then failures and skips."""
    if result.status != "ok":
        return (3, 0.0, result.deployment)
    if result.usd_to_target is not None:
        return (0, result.usd_to_target, result.deployment)
    if result.usd_per_million_steps is not None:
        return (1, result.usd_per_million_steps, result.deployment)
    return (2, -(result.env_steps_per_s or 0.0), result.deployment)


# -- a run ----------------------------------------------------------------------------------------
@dataclass
class Request:
    task: str
    num_envs: int
    iterations: int
    on: list[str]
    reward_target: float | None = None
    prices: dict[str, float] = field(default_factory=dict)  # deployment -> $/h, given by the user
    method: str = "auto"  # auto | isaaclab | training
    timeout_s: float = 3600.0


@dataclass
class Run:
    id: str
    created_at: str
    task: str
    num_envs: int
    iterations: int
    library: str
    reward_target: float | None
    isaacctl_version: str
    results: list[Result]
    finished_at: str | None = None
    interrupted: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["schema_version"] = SCHEMA_VERSION
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Run:
        known = set(Result.__dataclass_fields__)
        results = [Result(**{k: v for k, v in item.items() if k in known}) for item in data.get("results", [])]
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "results"}
        return cls(results=results, **fields)

    @property
    def ranked(self) -> list[Result]:
        return sorted(self.results, key=sort_key)

    @property
    def conditions(self) -> str:
        versions = sorted({r.isaaclab_version for r in self.results if r.isaaclab_version})
        methods = sorted({r.method for r in self.results if r.method})
        target = f", reward target {self.reward_target:g}" if self.reward_target is not None else ""
        return (
            f"{self.task}, {self.num_envs} envs, {self.iterations} iterations, {self.library}{target}; "
            f"Isaac Lab {', '.join(versions) or '?'}; {', '.join(methods) or 'nothing ran'}; "
            f"{self.created_at[:16].replace('T', ' ')} UTC; isaacctl {self.isaacctl_version}"
        )


def new_run_id(now: datetime | None = None) -> str:
    return f"bench-{(now or datetime.now(timezone.utc)):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def hardware_skip(record: DeploymentRecord) -> str | None:
    """Why a deployment cannot run Isaac Lab at all (a GPU without RT cores under Isaac Sim),
    from bootstrap's facts; None when it can, or when nothing is known yet."""
    from isaacctl.isaaclab import gpu_rule, version_info
    from isaacctl.isaaclab.hardware import judge_gpu

    if record.gpus == "none" or record.facts is None:
        return None
    info = version_info(record.isaaclab_version, record.image)
    rule = gpu_rule(info.version, isaac_sim=info.isaac_sim)
    for gpu in record.facts.gpus:
        problems = [p for p in judge_gpu(rule, gpu.model, None) if "RT cores" in p]
        if problems:
            return f"{problems[0]} (Isaac Lab {info.version} with Isaac Sim); a kit-less 3.x image runs on it"
    return None


def type_skip(provider: str, instance_type: str, isaac_sim: bool) -> str | None:
    """The same rule before a machine is made, from the price catalog's GPU name."""
    from isaacctl.isaaclab.hardware import has_rt_cores

    if not isaac_sim:
        return None
    try:
        from isaacctl.providers.toolkit.pricing import load_catalog

        gpu = load_catalog(provider).types[instance_type].gpu
    except (KeyError, FileNotFoundError, OSError):
        return None
    if gpu and not has_rt_cores(gpu):
        return f"{gpu} has no RT cores: Isaac Sim cannot render on it (a kit-less 3.x image runs on it)"
    return None


class BenchmarkService:
    def __init__(
        self, deployments: DeploymentService, jobs: JobService, progress: Callable[[str], None] | None = None
    ) -> None:
        self.deployments = deployments
        self.jobs = jobs
        self.store = deployments.store
        self.progress = progress or (lambda message: None)

    # -- prices ----------------------------------------------------------------------------
    def price(self, record: DeploymentRecord, given: dict[str, float]) -> tuple[float | None, str | None]:
        if record.name in given:
            return given[record.name], "--price"
        try:
            provider, options = self.deployments.provider_for(record)
            if not provider.capabilities.owns_machines:
                return None, None  # an adopted host: only its owner knows what an hour costs
            plan = provider.plan(record.name, options)
        except IsaacctlError as exc:
            return None, f"no price: {exc.message}"
        hourly = plan.hourly_spot_usd if record.market == "spot" and plan.hourly_spot_usd else plan.hourly_usd
        return hourly, plan.price_source

    # -- one deployment --------------------------------------------------------------------
    def describe(self, record: DeploymentRecord, result: Result) -> None:
        facts = record.facts
        gpus = facts.gpus if facts else []
        result.instance_type = (
            record.instance_type
            or record.options.get("instance_type")
            or record.options.get("machine_type")
            or record.options.get("size")
        )
        result.market = record.market
        result.gpu = gpus[0].model if gpus else ("none" if record.gpus == "none" else None)
        result.gpu_count = len(gpus) if record.gpus == "all" else 0
        result.driver = gpus[0].driver_version if gpus else None
        result.isaaclab_version = record.isaaclab_version
        result.image = record.image
        result.runtime = record.runtime

    def method_for(self, record: DeploymentRecord, wanted: str) -> str:
        """Isaac Lab's own benchmark where its results land where isaacctl can read them (3.x
        --output_path); 2.x's script writes into the container's temp folder, which is gone
        with the container, so 2.x gets the timed training."""
        generation = self.jobs.generation(record)
        own = bool(generation.benchmark_output_flag) and "benchmark" in generation.commands
        if wanted == "isaaclab" and not own:
            raise UserError(
                f"--method: Isaac Lab {generation.label} on {record.name} writes its benchmark "
                "results where isaacctl cannot read them; use --method training or auto"
            )
        if wanted == "training" or not own:
            return "timed training"
        return "isaaclab benchmark training"

    def spec(self, record: DeploymentRecord, request: Request) -> Any:
        from isaacctl.services.jobs.spec import build_spec

        return build_spec(
            {
                "mode": "train",
                "task": request.task,
                "rl_library": BENCHMARK_LIBRARY,
                "num_envs": request.num_envs,
                "max_iterations": request.iterations,
            },
            generation=self.jobs.generation(record),
        )

    def run_one(self, record: DeploymentRecord, request: Request, result: Result, stop: threading.Event) -> None:
        generation = self.jobs.generation(record)
        spec = self.spec(record, request)
        command = None
        if result.method == "isaaclab benchmark training":
            # relative: every runtime runs Isaac Lab where ./logs is the job's logs/ folder
            command = generation.benchmark_argv(
                spec.task,
                library=BENCHMARK_LIBRARY,
                num_envs=request.num_envs,
                max_iterations=request.iterations,
                output_path=KPI_FOLDER,
            )
        job = self.jobs.submit(record.name, spec, command=command)
        result.job = job.id
        self.progress(f"{record.name}: started {job.id} ({result.method})")
        job = self._wait(record, job, request, result, stop)
        self._collect(record, job, request, result)

    def _wait(
        self, record: DeploymentRecord, job: JobRecord, request: Request, result: Result, stop: threading.Event
    ) -> JobRecord:
        deadline = time.monotonic() + request.timeout_s
        while not job.finished:
            if stop.is_set():
                self.progress(f"{record.name}: interrupted, cancelling {job.id}")
                self.jobs.cancel(job.id, record.name, grace=10)
                raise KeyboardInterrupt
            if time.monotonic() > deadline:
                self.jobs.cancel(job.id, record.name, grace=10)
                raise IsaacctlError(f"{job.id} ran longer than --timeout {request.timeout_s:g} s; cancelled")
            self._sample_gpu_memory(record, result)
            stop.wait(POLL_SECONDS)
            job = self.jobs.get(job.id, record.name)
        return job

    def _sample_gpu_memory(self, record: DeploymentRecord, result: Result) -> None:
        """Peak memory in use on the host's GPUs, summed, seen at each poll."""
        if record.gpus != "all":
            return
        try:
            with self.deployments.remote(record.name) as remote:
                answer = remote.run(
                    ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"], timeout=20
                )
        except IsaacctlError:
            return
        if not answer.ok:
            return
        try:
            used = sum(int(float(line)) for line in answer.stdout.split() if line.strip())
        except ValueError:
            return
        result.peak_gpu_memory_mib = max(result.peak_gpu_memory_mib or 0, used)

    def _collect(self, record: DeploymentRecord, job: JobRecord, request: Request, result: Result) -> None:
        if job.status != "succeeded":
            raise IsaacctlError(f"{job.id} {job.status}" + (f": {job.error.splitlines()[-1]}" if job.error else ""))
        wall = (job.finished_at - job.started_at).total_seconds() if job.finished_at and job.started_at else None
        with self.deployments.remote(record.name) as remote:
            output = remote.run(["cat", f"{job.host_dir}/output.txt"], timeout=60)
            kpi_text = None
            if result.method == "isaaclab benchmark training":
                found = remote.run(
                    [
                        "sh",
                        "-c",
                        'cat "$1"/training.json 2>/dev/null || cat "$1"/*.json',
                        "sh",
                        f"{job.host_dir}/{KPI_FOLDER}",
                    ],
                    timeout=60,
                )
                kpi_text = found.stdout if found.ok else None
        if result.method == "isaaclab benchmark training":
            if not kpi_text:
                raise IsaacctlError(f"{job.id} wrote no benchmark results under {KPI_FOLDER}/")
            kpis = parse_kpi_json(kpi_text)
            result.env_steps_per_s = kpis.env_steps_per_s
            result.startup_s = kpis.startup_s
            result.iterations = kpis.max_iterations or request.iterations
        log = parse_rsl_rl_output(output.stdout if output.ok else "")
        if result.method == "timed training" and not log.iterations:
            raise IsaacctlError(f"{job.id} printed no rsl_rl iterations to measure")
        apply_training_log(result, log, wall, request.reward_target)
        if result.env_steps_per_s is None:
            raise IsaacctlError(f"{job.id}: no environment steps per second in its output")

    # -- the whole run ---------------------------------------------------------------------
    def run(
        self,
        request: Request,
        *,
        created: set[str] | None = None,
        stop: threading.Event | None = None,
        skipped: list[Result] | None = None,
    ) -> Run:
        """Every deployment at once; one that fails is reported and the others still compared.
        The run is saved as it starts and again as it ends (also when interrupted)."""
        from concurrent.futures import ThreadPoolExecutor

        from isaacctl import __version__

        stop = stop or threading.Event()
        now = datetime.now(timezone.utc)
        run = Run(
            id=new_run_id(now),
            created_at=now.isoformat(),
            task=request.task,
            num_envs=request.num_envs,
            iterations=request.iterations,
            library=BENCHMARK_LIBRARY,
            reward_target=request.reward_target,
            isaacctl_version=__version__,
            results=list(skipped or []),
        )
        work: list[tuple[DeploymentRecord, Result]] = []
        for name in request.on:
            record = self.store.load(name)
            result = Result(
                deployment=name,
                provider=record.provider,
                created=name in (created or set()),
                reward_target=request.reward_target,
            )
            self.describe(record, result)
            run.results.append(result)
            reason = hardware_skip(record)
            if reason:
                result.status, result.reason = "skipped", reason
                continue
            # bad input (a task this generation does not know, --method) stops the run before anything starts
            self.spec(record, request)
            result.method = self.method_for(record, request.method)
            result.usd_per_hour, result.price_source = self.price(record, request.prices)
            try:
                self.jobs.ready_deployment(name)
            except UserError as exc:
                result.status, result.reason = "failed", exc.message.split(": ", 1)[-1]
                continue
            work.append((record, result))
        self.store.save_benchmark(run.id, run.to_dict())

        def one(item: tuple[DeploymentRecord, Result]) -> None:
            record, result = item
            try:
                self.run_one(record, request, result, stop)
                compute_costs(result)
            except KeyboardInterrupt:
                result.status, result.reason = "failed", "interrupted"
            except BaseException as exc:  # noqa: BLE001 - one host's failure is its row, not the run's
                result.status, result.reason = "failed", failure_reason(exc)

        pool = ThreadPoolExecutor(max_workers=max(1, len(work)), thread_name_prefix="benchmark")
        futures = [pool.submit(one, item) for item in work]
        try:
            for future in futures:
                while not future.done():
                    time.sleep(0.2)  # the main thread stays free for Ctrl-C
        except KeyboardInterrupt:
            run.interrupted = True
            stop.set()
            pool.shutdown(wait=True)
            raise
        finally:
            pool.shutdown(wait=not run.interrupted)
            for result in run.results:
                if not math.isfinite(result.env_steps_per_s or 0.0):
                    result.env_steps_per_s = None
            run.finished_at = datetime.now(timezone.utc).isoformat()
            self.store.save_benchmark(run.id, run.to_dict())
        return run

    def report(self, task: str | None = None) -> list[Run]:
        runs = [Run.from_dict(data) for data in self.store.benchmarks()]
        return [run for run in runs if task is None or run.task == task]


# -- deployments made for a benchmark (--create) ----------------------------------------------
@dataclass
class Creation:
    provider: str
    instance_type: str
    name: str
    hourly_usd: float | None = None
    price_source: str | None = None
    skip: str | None = None  # why it is not made at all
    prepared: Any = None  # DeploymentService.prepare's answer: exactly what was approved


CREATE_ITEM = re.compile(r"^([a-z][a-z0-9_-]*):([A-Za-z0-9][A-Za-z0-9._-]*)$")


def parse_create(value: str) -> list[tuple[str, str]]:
    items = [part.strip() for part in value.split(",") if part.strip()]
    if not items:
        raise UserError("--create: expected PROVIDER:TYPE[,PROVIDER:TYPE...], e.g. aws:g6e.2xlarge,gcp:g2-standard-8")
    pairs = []
    for item in items:
        match = CREATE_ITEM.fullmatch(item)
        if match is None:
            raise UserError(f"--create: expected PROVIDER:TYPE like aws:g6e.2xlarge, got {item!r}")
        pairs.append((match.group(1), match.group(2)))
    if len(set(pairs)) != len(pairs):
        raise UserError(f"--create: {value!r} names a type twice")
    return pairs


def creation_name(provider: str, instance_type: str, taken: set[str]) -> str:
    """bench-<provider>-<type>, made a valid deployment name, unique in this state folder."""
    base = re.sub(r"[^a-z0-9-]+", "-", f"bench-{provider}-{instance_type}".lower()).strip("-")[:27].rstrip("-")
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


class Creator:
    """Plans, makes and destroys the deployments of `--create`. destroy() is safe to call
    whatever happened before it: it destroys what exists in state, by name."""

    def __init__(self, deployments: DeploymentService, progress: Callable[[str], None]) -> None:
        self.deployments = deployments
        self.progress = progress
        self.made: list[str] = []

    def plan(self, pairs: list[tuple[str, str]], isaac_sim: bool) -> list[Creation]:
        from isaacctl.providers.registry import get_provider

        taken = set(self.deployments.store.names())
        plans = []
        for provider_name, instance_type in pairs:
            try:
                provider = get_provider(provider_name)
            except UserError as exc:
                raise UserError(f"--create: {exc.message}") from None
            if not provider.capabilities.owns_machines:
                raise UserError(f"--create: {provider_name} adopts machines that exist; give them with --on")
            field_name = next((f for f in TYPE_FIELDS if f in provider.options_model.model_fields), None)
            if field_name is None:
                raise UserError(f"--create: the {provider_name} provider has no instance type option")
            creation = Creation(provider_name, instance_type, creation_name(provider_name, instance_type, taken))
            creation.skip = type_skip(provider_name, instance_type, isaac_sim)
            if creation.skip is None:
                try:
                    creation.prepared = self.deployments.prepare(
                        provider_name, creation.name, {field_name: instance_type}
                    )
                except UserError as exc:
                    raise UserError(f"--create: {provider_name}:{instance_type}: {exc.message}") from None
                creation.hourly_usd = creation.prepared.plan.hourly_usd
                creation.price_source = creation.prepared.plan.price_source
            plans.append(creation)
        return plans

    def create(self, creation: Creation, bootstrap: Any) -> None:
        # recorded before the deploy starts: an interrupted deploy leaves state to destroy
        self.made.append(creation.name)
        self.progress(f"creating {creation.name} ({creation.provider} {creation.instance_type})")
        self.deployments.deploy(creation.provider, creation.name, {}, bootstrap, prepared=creation.prepared)

    def destroy(self) -> list[str]:
        """Every deployment this run made, destroyed; the ones that could not be, named."""
        left = []
        for name in self.made:
            if not self.deployments.store.exists(name):
                continue
            self.progress(f"destroying {name}")
            try:
                self.deployments.destroy(name)
            except BaseException as exc:  # noqa: BLE001 - the next one is still destroyed
                left.append(f"{name}: {failure_reason(exc)}")
        return left
