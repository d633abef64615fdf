"""`fetch-logs`, `metrics`, `upload`, `download`."""

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional

import typer

from isaacctl.cli.context import App, app_of, complete_deployment, complete_job
from isaacctl.cli.jobs import DEPLOYMENT, JSON, job_service


@contextmanager
def transfer_bar(app: App, label: str) -> Iterator:
    """A byte progress bar on a terminal, nothing otherwise."""
    if not app.terminal.interactive:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    with Progress(
        TextColumn(label),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=app.terminal.err,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=100)

        def update(done_bytes: int, percent: int) -> None:
            total = done_bytes * 100 // percent if percent else None
            progress.update(task, completed=done_bytes, total=total)

        yield update


def fetch_logs_command(
    ctx: typer.Context,
    jobs: Optional[List[str]] = typer.Argument(
        None, help="Job ids or prefixes [default: every job of the deployment].", autocompletion=complete_job
    ),
    deployment: Optional[str] = DEPLOYMENT,
    dest: Optional[Path] = typer.Option(
        None, "--dest", help="Folder to put <job>/ folders in [default: state/<name>/artifacts]."
    ),
    checkpoints: str = typer.Option("all", "--checkpoints", help="all, last (the newest of each run) or none."),
    as_json: bool = JSON,
) -> None:
    """Bring jobs' results home: checkpoints/, metrics.csv, config.json, videos/, output.txt and
    the raw run folder. Only what is new or changed is transferred.

    \b
    Example:  isaacctl fetch-logs
              isaacctl fetch-logs train-20261122-031500-a1b2 --checkpoints last --dest ./results
    """
    from isaacctl.services.artifacts import ArtifactService

    app = app_of(ctx)
    service = ArtifactService(job_service(app))
    with transfer_bar(app, "fetching") as bar:
        result = service.fetch(deployment, list(jobs or []), dest, checkpoints, on_progress=bar)
    if as_json:
        app.terminal.json(
            "FetchResult",
            {
                "deployment": result.deployment,
                "files_transferred": result.files_transferred,
                "bytes_transferred": result.bytes_transferred,
                "jobs": [vars(job) for job in result.jobs],
            },
        )
        return
    app.terminal.table(
        ["JOB", "CHECKPOINTS", "VIDEOS", "METRIC ROWS", "FOLDER"],
        [[j.job, str(j.checkpoints), str(j.videos), str(j.metric_rows), j.folder] for j in result.jobs],
    )
    app.terminal.info(f"{result.files_transferred} file(s), {result.bytes_transferred / 1e6:.1f} MB transferred")


def metrics_command(
    ctx: typer.Context,
    job: str = typer.Argument("last", help="Job id (or a unique prefix, or 'last').", autocompletion=complete_job),
    deployment: Optional[str] = DEPLOYMENT,
    plot: Optional[Path] = typer.Option(None, "--plot", help="Also draw reward and episode length to this PNG."),
    as_json: bool = JSON,
) -> None:
    """Summarise a job's metrics (fetching them first when needed) and optionally plot them.

    \b
    Example:  isaacctl metrics train-20261122-031500-a1b2 --plot reward.png
    """
    from isaacctl.errors import UserError
    from isaacctl.services.artifacts import ArtifactService
    from isaacctl.services.metrics import plot as draw
    from isaacctl.services.metrics import summarize

    app = app_of(ctx)
    jobs = job_service(app)
    record = jobs.get(job, deployment)
    service = ArtifactService(jobs)
    folder = service.default_dest(record.deployment) / record.id
    if not record.finished or not (folder / "metrics.csv").exists():
        service.fetch(record.deployment, [record.id], None, checkpoints="none")
    csv_path = folder / "metrics.csv"
    summaries = summarize(csv_path)
    if plot is not None:
        try:
            draw(csv_path, plot, f"{record.task} ({record.rl_library}) {record.id}")
        except ImportError:
            raise UserError("--plot: needs matplotlib: pip install 'isaacctl[plot]'") from None
    if as_json:
        app.terminal.json("Metrics", {"job": record.id, "csv": str(csv_path), "tags": [vars(s) for s in summaries]})
        return
    app.terminal.table(
        ["TAG", "POINTS", "FIRST", "LAST", "BEST", "LAST STEP"],
        [
            [s.tag, str(s.points), f"{s.first:.4g}", f"{s.last:.4g}", f"{s.best:.4g}", str(s.last_step)]
            for s in summaries
        ],
    )
    app.terminal.info(f"all values: {csv_path}" + (f"; plot: {plot}" if plot else ""))


def _host_path(app: App, name: str, path: str, argument: str = "REMOTE") -> str:
    from isaacctl.errors import UserError

    # '' or '.' would be the whole deployment folder; a newline or NUL no path on the host has
    if not path.strip() or (path.strip("/.") == "" and not path.startswith("/")) or any(c in path for c in "\n\r\0"):
        raise UserError(f"{argument}: expected a file or folder on the host, got {path!r}")
    record = app.store.load(name)
    if path.startswith("/"):
        return path
    if not record.host_root:
        raise UserError(f"{name}: not bootstrapped yet; give an absolute path on the host")
    return f"{record.host_root}/{path}"


def upload_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name.", autocompletion=complete_deployment),
    local: Path = typer.Argument(..., help="Local file or folder."),
    remote: str = typer.Argument(
        "uploads", help="Folder on the host to put it in (relative: under the deployment's folder)."
    ),
) -> None:
    """Copy a local file or folder into a folder on the workstation (rsync: only changes travel).

    \b
    Example:  isaacctl upload ws1 ./my_assets uploads
    """
    from isaacctl.errors import UserError
    from isaacctl.remote import sync

    app = app_of(ctx)
    if not local.exists():
        raise UserError(f"LOCAL: expected an existing file or folder, got {str(local)!r}")
    target = _host_path(app, name, remote)
    with app.deployments().remote(name) as host, transfer_bar(app, "uploading") as bar:
        host.run(["mkdir", "-p", target])
        stats = sync.push(host, Path(str(local).rstrip("/")), target, on_progress=bar)
    app.terminal.success(f"{local} -> {name}:{target} ({stats.files_transferred} file(s) sent)")


def download_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name.", autocompletion=complete_deployment),
    remote: str = typer.Argument(..., help="File or folder on the host (relative: under the deployment's folder)."),
    local: Path = typer.Argument(Path("."), help="Local folder to put it in."),
) -> None:
    """Copy a file or folder from the workstation into a local folder (rsync: only changes travel).

    \b
    Example:  isaacctl download ws1 jobs/train-20261122-031500-a1b2/output.txt .
    """
    from isaacctl.errors import UserError
    from isaacctl.remote import sync

    app = app_of(ctx)
    if local.exists() and not local.is_dir():
        raise UserError(f"LOCAL: expected a folder to put it in, {str(local)!r} is a file")
    if any(part.exists() and not part.is_dir() for part in local.absolute().parents):
        raise UserError(f"LOCAL: expected a folder to put it in, {str(local)!r} is under a file")
    source = _host_path(app, name, remote)
    with app.deployments().remote(name) as host, transfer_bar(app, "downloading") as bar:
        local.mkdir(parents=True, exist_ok=True)
        stats = sync.pull_path(host, source.rstrip("/"), local, on_progress=bar)
    app.terminal.success(f"{name}:{source} -> {local} ({stats.files_transferred} file(s) received)")
