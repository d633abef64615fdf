"""`isaacctl benchmark`: which GPU to rent, in dollars per result."""

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, List, Optional

import typer

from isaacctl.cli import bootstrap as bootstrap_options
from isaacctl.cli.context import app_of, confirm_or_refuse
from isaacctl.errors import UserError

if TYPE_CHECKING:
    from isaacctl.services.benchmark import Result, Run

# A guess, shown as one: the setup before the run (create, bootstrap with an image pull).
SETUP_HOURS = 0.5
METHODS = ("auto", "isaaclab", "training")
CSV_COLUMNS = (
    "rank",
    "deployment",
    "provider",
    "instance_type",
    "market",
    "gpu",
    "gpu_count",
    "driver",
    "isaaclab_version",
    "method",
    "status",
    "reason",
    "iterations",
    "env_steps_per_s",
    "iterations_per_s",
    "startup_s",
    "time_to_iterations_s",
    "peak_gpu_memory_mib",
    "usd_per_hour",
    "price_source",
    "usd_run",
    "usd_per_million_steps",
    "reward_target",
    "time_to_target_s",
    "usd_to_target",
    "job",
)


def _names(value: Optional[str]) -> list[str]:
    from isaacctl.state import validate_name

    names = [part.strip() for part in (value or "").split(",") if part.strip()]
    for name in names:
        try:
            validate_name(name)
        except UserError:
            raise UserError(f"--on: expected deployment names separated by commas, got {name!r}") from None
    if len(set(names)) != len(names):
        raise UserError(f"--on: {value!r} names a deployment twice")
    return names


def _prices(values: List[str]) -> dict[str, float]:
    prices = {}
    for value in values:
        for part in value.split(","):
            name, sep, amount = part.strip().partition("=")
            try:
                price = float(amount)
            except ValueError:
                price = float("nan")
            if not sep or not name or not math.isfinite(price) or price < 0:
                raise UserError(f"--price: expected NAME=USD_PER_HOUR like ws1=1.20, got {part.strip()!r}")
            prices[name] = price
    return prices


def _positive(flag: str, value: Optional[float], *, integer: bool = False, limit: float = 1e9) -> None:
    if value is None:
        return
    if not (math.isfinite(value) and 0 < value <= limit) or (integer and value != int(value)):
        raise UserError(f"{flag}: expected a positive {'whole ' if integer else ''}number up to {limit:g}, got {value}")


def _figure(value: Optional[float], digits: int = 0, prefix: str = "") -> str:
    if value is None:
        return "-"
    if prefix == "$" and value < 0.01:
        return f"${value:.4f}"
    return f"{prefix}{value:,.{digits}f}"


def _row(rank: int, result: "Result", iterations: int) -> list[str]:
    where = result.provider + (f" {result.instance_type}" if result.instance_type else "")
    gpu = "-" if not result.gpu else (result.gpu if result.gpu_count <= 1 else f"{result.gpu_count}x {result.gpu}")
    if result.status != "ok":
        return [str(rank), result.deployment, where, gpu, *["-"] * 8, f"{result.status}: {result.reason}"]
    return [
        str(rank),
        result.deployment,
        where,
        gpu,
        _figure(result.env_steps_per_s),
        _figure(result.iterations_per_s, 2),
        _figure(result.startup_s, 1),
        _figure(result.time_to_iterations_s, 1),
        "-" if result.peak_gpu_memory_mib is None else f"{result.peak_gpu_memory_mib} MiB",
        _figure(result.usd_per_hour, 3, "$"),
        _figure(result.usd_per_million_steps, 4, "$"),
        _figure(result.usd_to_target, 4, "$"),
        "ok" if result.usd_per_hour is not None else "ok (no price: --price NAME=USD)",
    ]


def render_run(app: Any, run: "Run") -> None:
    columns = [
        "#",
        "deployment",
        "where",
        "gpu",
        "env steps/s",
        "it/s",
        "start-up s",
        f"time to {run.iterations} it s",
        "peak gpu mem",
        "$/h",
        "$/M steps",
        "$ to target" if run.reward_target is not None else "$ to target (none set)",
        "status",
    ]
    app.terminal.table(columns, [_row(n, r, run.iterations) for n, r in enumerate(run.ranked, 1)])
    app.terminal.text(f"conditions: {run.conditions}")
    app.terminal.text(f"run: {run.id} (isaacctl benchmark --report compares runs)")


def write_csv(run: "Run", target: Path) -> None:
    import csv
    from dataclasses import asdict

    with open(target, "w", newline="") as handle:
        handle.write(f"# {run.conditions}\n")
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for rank, result in enumerate(run.ranked, 1):
            row = {key: ("" if value is None else value) for key, value in asdict(result).items()}
            writer.writerow({**row, "rank": rank})


def plot(run: "Run", target: Path) -> None:
    """Bars of $ per result, cheapest first, the conditions under them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    to_target = run.reward_target is not None and any(r.usd_to_target is not None for r in run.results)
    key = "usd_to_target" if to_target else "usd_per_million_steps"
    label = f"$ to reach reward {run.reward_target:g}" if to_target else "$ per million environment steps"
    rows = [r for r in run.ranked if getattr(r, key) is not None]
    figure, axis = plt.subplots(figsize=(8, 1.2 + 0.5 * max(len(rows), 1)))
    names = [f"{r.deployment}\n{r.gpu or '-'}" for r in rows]
    values = [getattr(r, key) for r in rows]
    axis.barh(names, values, color="#4c72b0")
    axis.invert_yaxis()
    for y, value in enumerate(values):
        axis.text(value, y, f" ${value:.4f}", va="center", fontsize="small")
    axis.set_xlabel(label)
    left_out = [r.deployment for r in run.results if getattr(r, key) is None]
    note = f"\nnot shown (no figure or no price): {', '.join(left_out)}" if left_out else ""
    figure.text(0.01, 0.01, run.conditions + note, fontsize="x-small", wrap=True)
    axis.set_title(f"isaacctl benchmark {run.id}")
    figure.tight_layout(rect=(0, 0.08, 1, 1))
    figure.savefig(target, dpi=110)
    plt.close(figure)


def render_report(app: Any, runs: list["Run"], as_json: bool) -> None:
    if as_json:
        app.terminal.json("BenchmarkReport", [run.to_dict() for run in runs])
        return
    if not runs:
        app.terminal.info("no benchmark runs kept yet: isaacctl benchmark --task ... --on ...")
        return
    rows = []
    for run in runs:
        for rank, result in enumerate(run.ranked, 1):
            rows.append(
                [
                    run.id,
                    run.created_at[:16].replace("T", " "),
                    run.task,
                    str(run.num_envs),
                    str(rank),
                    result.deployment,
                    result.gpu or "-",
                    result.isaaclab_version or "-",
                    _figure(result.env_steps_per_s),
                    _figure(result.usd_per_million_steps, 4, "$"),
                    _figure(result.usd_to_target, 4, "$"),
                    "ok" if result.status == "ok" else f"{result.status}: {result.reason}",
                ]
            )
    app.terminal.table(
        [
            "run",
            "date (UTC)",
            "task",
            "envs",
            "#",
            "deployment",
            "gpu",
            "isaac lab",
            "env steps/s",
            "$/M steps",
            "$ to target",
            "status",
        ],
        rows,
    )


@bootstrap_options.with_bootstrap_flags
def benchmark_command(
    ctx: typer.Context,
    task: Optional[str] = typer.Option(
        None, "--task", help="Isaac Lab task, e.g. Isaac-Cartpole (either generation's id)."
    ),
    num_envs: int = typer.Option(4096, "--num-envs", help="Parallel environments (per GPU)."),
    iterations: int = typer.Option(50, "--iterations", help="Training iterations to time."),
    on: Optional[str] = typer.Option(None, "--on", help="Existing deployments, comma-separated: ws1,ws2."),
    create: Optional[str] = typer.Option(
        None,
        "--create",
        help="Deploy each PROVIDER:TYPE (comma-separated, e.g. aws:g6e.2xlarge,gcp:g2-standard-8), benchmark, destroy; asks first with the estimated cost.",
    ),
    reward_target: Optional[float] = typer.Option(
        None, "--reward-target", help="Mean reward that counts as solved: adds the time and $ to reach it."
    ),
    price: List[str] = typer.Option(
        [], "--price", help="NAME=USD per hour of an adopted host (local, ssh), whose price isaacctl cannot know."
    ),
    method: str = typer.Option(
        "auto",
        "--method",
        help="auto (Isaac Lab's own benchmark where isaacctl can read its results, else a timed training), isaaclab, or training.",
    ),
    timeout: float = typer.Option(
        1800.0, "--timeout", help="Seconds one deployment's run may take before it is cancelled."
    ),
    csv_path: Optional[Path] = typer.Option(None, "--csv", help="Also write the table as CSV here."),
    plot_path: Optional[Path] = typer.Option(None, "--plot", help="Also draw a bar chart of $ per result (PNG)."),
    report: bool = typer.Option(
        False, "--report", help="Compare the runs kept in state instead of running one (with --task: that task's)."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Create (and pay for) --create's machines without asking."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (a versioned envelope)."),
    bootstrap: Optional[dict] = None,
) -> None:
    """Benchmark Isaac Lab on several deployments at once and rank them by dollars per result.

    The same training runs everywhere in parallel (Isaac Lab's own benchmark where isaacctl can
    read its results, else a timed training): environment steps per second, start-up, time to
    N iterations, peak GPU memory, $/h, $ per million environment steps and $ to a reward
    target. Runs are kept in state; --report compares them over time.

    \b
    Example:  isaacctl benchmark --task Isaac-Cartpole --num-envs 4096 --iterations 50 --on ws1,ws2
              isaacctl benchmark --task Isaac-Cartpole --create aws:g6e.2xlarge,gcp:g2-standard-8
              isaacctl benchmark --report
    """
    app = app_of(ctx)
    for target_path, flag in ((csv_path, "--csv"), (plot_path, "--plot")):
        if target_path is not None and (target_path.is_dir() or not target_path.parent.is_dir()):
            raise UserError(f"{flag}: expected a file path in an existing folder, got {str(target_path)!r}")
    if report:
        if on or create:
            raise UserError(
                f"--report: compares kept runs; it runs nothing, so {'--on' if on else '--create'} has no place"
            )
        from isaacctl.services.benchmark import BenchmarkService
        from isaacctl.services.jobs.service import JobService

        deployments = app.deployments()
        runs = BenchmarkService(deployments, JobService(deployments)).report(task)
        render_report(app, runs, as_json)
        if runs and csv_path is not None:
            _write_report_csv(runs, csv_path)
        return
    if not task or not task.strip():
        raise UserError("--task: expected an Isaac Lab task, e.g. Isaac-Cartpole")
    _positive("--num-envs", num_envs, integer=True, limit=1_000_000)
    _positive("--iterations", iterations, integer=True, limit=1_000_000)
    _positive("--timeout", timeout, limit=7 * 24 * 3600)
    if reward_target is not None and not math.isfinite(reward_target):
        raise UserError(f"--reward-target: expected a finite number, got {reward_target}")
    if method not in METHODS:
        raise UserError(f"--method: expected one of {', '.join(METHODS)}, got {method!r}")
    given = {key: value for key, value in (bootstrap or {}).items() if value not in (None, False, 600.0)}
    if given and not create:
        flag = "--" + next(iter(given)).replace("_", "-").replace("key-file", "ngc-api-key-file")
        raise UserError(f"{flag}: only with --create (deployments given with --on are already set up)")
    names = _names(on)
    prices = _prices(price)
    if not names and not create:
        raise UserError("--on: expected deployments to benchmark (or --create PROVIDER:TYPE,...)")
    for name in names:
        if not app.store.exists(name):
            raise UserError(f"--on: no deployment named {name!r} in {app.store.root}")
    for name in prices:
        if name not in names:
            raise UserError(f"--price: {name!r} is not one of --on's deployments")
    _run(
        app,
        task,
        num_envs,
        iterations,
        names,
        create,
        reward_target,
        prices,
        method,
        timeout,
        csv_path,
        plot_path,
        yes,
        as_json,
        bootstrap or {},
    )


def _run(
    app: Any,
    task: str,
    num_envs: int,
    iterations: int,
    names: list[str],
    create: Optional[str],
    reward_target: Optional[float],
    prices: dict[str, float],
    method: str,
    timeout: float,
    csv_path: Optional[Path],
    plot_path: Optional[Path],
    yes: bool,
    as_json: bool,
    flags: dict[str, Any],
) -> None:
    import signal

    from isaacctl.services.benchmark import BenchmarkService, Creator, Request, Result, parse_create
    from isaacctl.services.jobs.service import JobService

    deployments = app.deployments(app.terminal.info)
    jobs = JobService(deployments, app.terminal.info)
    service = BenchmarkService(deployments, jobs, app.terminal.info)
    creator = Creator(deployments, app.terminal.info)
    skipped: list[Result] = []
    request = Request(
        task=task,
        num_envs=num_envs,
        iterations=iterations,
        on=list(names),
        reward_target=reward_target,
        prices=prices,
        method=method,
        timeout_s=timeout,
    )
    plans = []
    if create:
        pairs = parse_create(create)
        flags = dict(flags)
        skip_bootstrap = flags.pop("skip_bootstrap", False)
        from isaacctl.cli.progress import BootstrapView
        from isaacctl.isaaclab import version_info

        view = BootstrapView(app.terminal)
        bootstrap = None if skip_bootstrap else bootstrap_options.bootstrap_request(view, None, **flags)
        image = flags.get("image") or (bootstrap.settings.image if bootstrap else None)
        info = version_info(flags.get("isaaclab_version"), image)
        plans = creator.plan(pairs, info.isaac_sim)
        for plan in plans:
            if plan.skip:
                skipped.append(
                    Result(
                        deployment=plan.name,
                        provider=plan.provider,
                        instance_type=plan.instance_type,
                        status="skipped",
                        reason=plan.skip,
                        isaaclab_version=info.version,
                    )
                )
        made = [plan for plan in plans if not plan.skip]
        hourly = sum(plan.hourly_usd or 0.0 for plan in made)
        hours = SETUP_HOURS + timeout / 3600.0
        for plan in plans:
            shown = (
                "skipped: " + plan.skip
                if plan.skip
                else (f"about ${plan.hourly_usd:.3f}/h" if plan.hourly_usd is not None else "price unknown")
            )
            app.terminal.info(f"{plan.name}: {plan.provider} {plan.instance_type}, {shown}")
        unknown = [plan.name for plan in made if plan.hourly_usd is None]
        app.terminal.info(
            f"estimated total: ${hourly * hours:.2f} (${hourly:.3f}/h for about {hours:.1f} h: "
            f"{SETUP_HOURS:g} h to create and bootstrap, up to --timeout {timeout:g} s to run)"
            + (f"; not priced: {', '.join(unknown)}" if unknown else "")
        )
        if made:
            confirm_or_refuse(
                app,
                yes,
                "create billable machines for the benchmark",
                f"Create {len(made)} machine(s) and run the benchmark?",
            )
    run = None
    try:
        for plan in plans:
            if plan.skip:
                continue
            try:
                creator.create(plan, bootstrap)
                request.on.append(plan.name)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001 - the others are still made and compared
                from isaacctl.errors import failure_reason

                skipped.append(
                    Result(
                        deployment=plan.name,
                        provider=plan.provider,
                        instance_type=plan.instance_type,
                        status="failed",
                        reason=f"deploy: {failure_reason(exc)}",
                        created=True,
                    )
                )
        run = service.run(request, created=set(creator.made), skipped=skipped)
    finally:
        if creator.made:
            # a second Ctrl-C must not stop the clean-up half-way: these machines cost money
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                left = creator.destroy()
            finally:
                signal.signal(signal.SIGINT, previous)
            for line in left:
                app.terminal.error(f"could not destroy {line}", hint="isaacctl destroy NAME --yes")
    if as_json:
        app.terminal.json(
            "BenchmarkRun",
            {**run.to_dict(), "ranked": [r.deployment for r in run.ranked], "conditions": run.conditions},
        )
    else:
        render_run(app, run)
    if csv_path is not None:
        write_csv(run, csv_path)
    if plot_path is not None:
        plot(run, plot_path)
    if not any(result.status == "ok" for result in run.results):
        raise typer.Exit(1)


def _write_report_csv(runs: list["Run"], target: Path) -> None:
    import csv
    from dataclasses import asdict

    with open(target, "w", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=("run", "created_at", "task", "num_envs", *CSV_COLUMNS), extrasaction="ignore"
        )
        writer.writeheader()
        for run in runs:
            for rank, result in enumerate(run.ranked, 1):
                row = {key: ("" if value is None else value) for key, value in asdict(result).items()}
                writer.writerow(
                    {
                        **row,
                        "rank": rank,
                        "run": run.id,
                        "created_at": run.created_at,
                        "task": run.task,
                        "num_envs": run.num_envs,
                    }
                )
