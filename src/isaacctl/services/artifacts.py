"""Bringing results home: fetch-logs lays a job out as the AWS pipeline's outputs

    <dest>/<job>/checkpoints/   the checkpoints (hard links into logs/)
    <dest>/<job>/metrics.csv    every scalar tag of the TensorBoard events, a row per step
    <dest>/<job>/config.json    the job configuration (pipeline JSON, plus the exact command)
    <dest>/<job>/videos/*.mp4   the videos (hard links into logs/)
    <dest>/<job>/output.txt     the job's output
    <dest>/<job>/logs/          the raw run folder(s) as Isaac Lab wrote them (rank 0's)
    <dest>/<job>/ranks/node<K>/ a job on several nodes: node K's logs/ and output.txt

and moves files with rsync, so a second fetch transfers only what is new or changed; a job
whose folder and record did not change since it was laid out is not laid out again."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from isaacctl.errors import UserError
from isaacctl.remote import sync
from isaacctl.services.jobs.pipeline import PIPELINE_FIELDS

if TYPE_CHECKING:
    from isaacctl.records import JobRecord, NodeRun
    from isaacctl.remote import Remote
    from isaacctl.services.jobs.service import JobService

CHECKPOINT_CHOICES = ("all", "last", "none")
# Exported policies are results, not checkpoints: they come home whatever --checkpoints says.
_KEEP_ALWAYS = ["+ **/exported/**"]
_ALL_CHECKPOINT_NAMES = ["*.pt", "*.pth", "model*.zip"]


@dataclass
class FetchedJob:
    job: str
    folder: str
    checkpoints: int
    videos: int
    metric_rows: int


@dataclass
class FetchResult:
    deployment: str
    files_transferred: int
    bytes_transferred: int
    jobs: list[FetchedJob] = field(default_factory=list)


class ArtifactService:
    def __init__(self, jobs: JobService) -> None:
        self.jobs = jobs
        self.store = jobs.store

    def default_dest(self, deployment: str) -> Path:
        return self.store.paths(deployment).artifacts

    def fetch(
        self,
        deployment: str | None,
        job_refs: list[str],
        dest: Path | None,
        checkpoints: str = "all",
        on_progress: Callable[[int, int], None] | None = None,
    ) -> FetchResult:
        if checkpoints not in CHECKPOINT_CHOICES:
            raise UserError(f"--checkpoints: expected one of {', '.join(CHECKPOINT_CHOICES)}, got {checkpoints!r}")
        selected = self._select(deployment, job_refs)
        name = selected[0].deployment
        return fetch_selected(
            selected, dest or self.default_dest(name), checkpoints, self.jobs.deployments.remote, on_progress
        )

    def _select(self, deployment: str | None, job_refs: list[str]) -> list[JobRecord]:
        if job_refs:
            jobs = [self.jobs.get(ref, deployment) for ref in job_refs]
            if len({job.deployment for job in jobs}) > 1:
                raise UserError("JOB: the jobs belong to several deployments; fetch them one deployment at a time")
            return jobs
        record = self.jobs.resolve_deployment(deployment)
        jobs = self.jobs.refresh(record.name)
        if not jobs:
            raise UserError(f"JOB: {record.name} has no jobs yet")
        return jobs


def fetch_selected(
    selected: list[JobRecord],
    dest: Path,
    checkpoints: str,
    open_remote: Callable[[str, int], Remote],
    on_progress: Callable[[int, int], None] | None = None,
) -> FetchResult:
    """The jobs chosen (of one deployment) brought into dest and laid out. Apart from
    ArtifactService so that cli/fetch_shortcut.py runs this same code on records read without
    pydantic and a remote made without the provider registry."""
    name = selected[0].deployment
    target = dest.expanduser().absolute()
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    jobs_dir = str(Path(selected[0].host_dir).parent)
    with open_remote(name, 0) as remote:
        filters = ["- /*/run.sh"]
        if checkpoints == "none":
            filters += _KEEP_ALWAYS + [f"- {pattern}" for pattern in _ALL_CHECKPOINT_NAMES]
        elif checkpoints == "last":
            filters += _KEEP_ALWAYS + _all_but_last(remote, selected)
        stats = sync.pull(
            remote, jobs_dir, [job.id for job in selected], target, filters=filters, on_progress=on_progress
        )
    files, transferred = stats.files_transferred, stats.bytes_transferred
    for job in selected:
        for run in job.node_runs[1:]:
            pulled = _pull_node(open_remote, job, run, target / job.id / "ranks")
            files, transferred = files + pulled.files_transferred, transferred + pulled.bytes_transferred
    result = FetchResult(name, files, transferred)
    for job in selected:
        result.jobs.append(_lay_out(job, target / job.id))
    return result


def _pull_node(open_remote: Callable[[str, int], Remote], job: JobRecord, run: NodeRun, ranks: Path) -> sync.SyncStats:
    """Node K's folder (its ranks' logs: rank 0 writes the run, the others their own files,
    in 3.x under rank_<n>/) into ranks/node<K>/. Its checkpoints, if a library wrote any
    there, are only copies of rank 0's model and are not laid out as the job's."""
    with open_remote(job.deployment, run.index) as remote:
        return sync.pull(remote, run.host_dir, ["logs", "output.txt"], ranks / f"node{run.index}")


def _all_but_last(remote: Remote, jobs: list[JobRecord]) -> list[str]:
    from isaacctl.services.jobs.checkpoints import checkpoints_to_keep, is_checkpoint
    from isaacctl.services.jobs.host_files import list_files

    rules = []
    for job in jobs:
        files = [f.path for f in list_files(remote, f"{job.host_dir}/logs")]
        keep = checkpoints_to_keep(job.rl_library, files, "last")
        rules += [
            f"- /{job.id}/logs/{path}"
            for path in files
            if is_checkpoint(job.rl_library, path) and path not in keep and "/exported/" not in path
        ]
    return rules


def _lay_out(job: JobRecord, folder: Path) -> FetchedJob:
    """Lays the job out, unless nothing it is made from changed since the last time: a
    re-fetch with nothing new then reads no checkpoint rules, events or metrics."""
    config = json.dumps(pipeline_config(job), indent=2) + "\n"
    marker = folder / LAYOUT_MARKER
    signature = _signature(folder, config, job.rl_library)
    try:
        said = json.loads(marker.read_text())
        if said.pop("signature") == signature:
            return FetchedJob(**said)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    fetched = _lay_out_again(job, folder, config)
    marker.write_text(json.dumps({"signature": _signature(folder, config, job.rl_library), **asdict(fetched)}))
    return fetched


def _lay_out_again(job: JobRecord, folder: Path, config: str) -> FetchedJob:
    from isaacctl.services.jobs.checkpoints import is_checkpoint

    logs = folder / "logs"
    files = _regular_files(logs)
    checkpoints = [p for p in files if is_checkpoint(job.rl_library, p.relative_to(logs).as_posix())]
    videos = [p for p in files if p.suffix == ".mp4"]
    _link_all(checkpoints, folder / "checkpoints")
    _link_all(videos, folder / "videos")
    rows = _metrics(logs, folder / "metrics.csv", files)
    _write_if_changed(folder / "config.json", config)
    return FetchedJob(job.id, str(folder), len(checkpoints), len(videos), rows)


def _metrics(logs: Path, target: Path, files: list[Path]) -> int:
    from isaacctl.services.metrics import write_metrics_csv

    events = sorted(p for p in files if p.name.startswith("events.out.tfevents."))
    signature = json.dumps([[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in events])
    marker = target.with_name(".metrics-source")
    if target.exists() and marker.exists() and marker.read_text() == signature:
        with open(target) as handle:
            return max(sum(1 for _ in handle) - 1, 0)
    rows = write_metrics_csv(logs, target) if logs.is_dir() else 0
    marker.write_text(signature)
    return rows


def pipeline_config(job: JobRecord) -> dict[str, Any]:
    """The job as the AWS Isaac Lab pipeline's job JSON, with isaacctl's exact command."""
    reverse = {field: key for key, field in PIPELINE_FIELDS.items()}
    training = {reverse[key]: value for key, value in job.spec.items() if key in reverse and value is not None}
    training["mode"] = job.mode
    return {
        "trainingConfig": training,
        "computeConfig": {"numNodes": job.spec.get("num_nodes", 1), "gpus": job.spec.get("gpus") or 1},
        "isaacctl": {
            "job": job.id,
            "deployment": job.deployment,
            "status": job.status,
            "exit_code": job.exit_code,
            "command": job.command,
            "spec": job.spec,
        },
    }


LAYOUT_MARKER = ".layout.json"


def _signature(folder: Path, config: str, library: str | None) -> str:
    """Every file under the job's folder (name, size, modification time: rsync sets the
    remote's), what config.json says and the library whose checkpoint rules apply."""
    entries = []
    for parent, _, names in os.walk(folder):
        for name in names:
            if name == LAYOUT_MARKER:
                continue
            info = os.lstat(os.path.join(parent, name))
            entries.append(f"{os.path.join(parent, name)}\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_ino}")
    payload = "\n".join([config, str(library), *sorted(entries)])
    return hashlib.sha256(payload.encode()).hexdigest()


def _regular_files(folder: Path) -> list[Path]:
    """The regular files under a folder, never through a symbolic link (fetch-logs brings none
    home, but a folder from before it dropped them may hold some), and without rsync's
    temporary files (".name.XXXXXX") that a killed transfer can leave."""
    if folder.is_symlink() or not folder.is_dir():
        return []
    found = []
    for parent, _, names in os.walk(folder):  # does not descend into linked folders
        for name in names:
            path = Path(parent) / name
            if not name.startswith(".") and stat.S_ISREG(path.lstat().st_mode):
                found.append(path)
    return found


def _link_all(sources: list[Path], folder: Path) -> None:
    """Hard links (no second copy of GBs of checkpoints); names made unique per run. Each link
    is made under a temporary name and renamed over the old one, so an interrupted fetch leaves
    either the old file or the new one, never a missing or partial one."""
    if not sources:
        return
    if folder.is_symlink():
        folder.unlink()
    folder.mkdir(exist_ok=True)
    names: dict[str, int] = {}
    for source in sorted(sources):
        names[source.name] = names.get(source.name, 0) + 1
    for source in sorted(sources):
        name = source.name if names[source.name] == 1 else f"{source.parent.name}-{source.name}"
        target = folder / name
        if not target.is_symlink() and target.exists() and target.stat().st_ino == source.stat().st_ino:
            continue
        temporary = folder / f".{name}.isaacctl-tmp"
        temporary.unlink(missing_ok=True)
        try:
            os.link(source, temporary, follow_symlinks=False)
        except OSError:  # another file system, or links not allowed: copy
            import shutil

            shutil.copy2(source, temporary, follow_symlinks=False)
        os.replace(temporary, target)


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
