"""Checkpoints leave the workstation as they are written: a managed job's checkpoint files
(and the run folder files a resume needs) are pulled home by rsync while it runs, so a lost
disk never loses more than one save interval. They land where fetch-logs puts the job's raw
run folders (state/<name>/artifacts/<job>/logs/), so a later fetch-logs transfers only the rest.

rsync writes each file under a temporary name and renames it when it is complete: a transfer
cut by a preemption never leaves a truncated checkpoint under its real name here."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from isaacctl.remote import sync
from isaacctl.services.jobs.checkpoints import newest_checkpoint

if TYPE_CHECKING:
    from isaacctl.records import JobRecord
    from isaacctl.remote import Remote
    from isaacctl.state import StateStore

# What a resume needs from a run folder: the checkpoints, the configs rsl_rl and Isaac Lab 3
# read back (params/, run.json). Events and videos stay for fetch-logs.
FILTERS = ("+ */", "+ *.pt", "+ *.pth", "+ model*.zip", "+ params/**", "+ run.json", "- *")


def home_logs(store: StateStore, job: JobRecord) -> Path:
    return store.paths(job.deployment).artifacts / job.id / "logs"


def pull_checkpoints(store: StateStore, remote: Remote, job: JobRecord) -> sync.SyncStats:
    """One pass: whatever is new in the job's logs/ comes home. Never deletes here, so the
    run folders of earlier attempts (on disks that are gone) stay."""
    target = home_logs(store, job).parent
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    return sync.pull(remote, job.host_dir, ["logs"], target, filters=FILTERS)


def relative_files(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    # rsync's own temporary names (.model_100.pt.Xy12Ab) are not checkpoints yet
    return sorted(
        str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file() and not path.name.startswith(".")
    )


def newest_at_home(store: StateStore, job: JobRecord) -> str | None:
    """The newest complete checkpoint synced home, relative to the job's logs/."""
    return newest_checkpoint(job.rl_library, relative_files(home_logs(store, job)))


def restore(store: StateStore, remote: Remote, job: JobRecord, relative: str) -> None:
    """Put the run folder of a checkpoint synced home back into the job's logs/ on a host
    that lost it (a new instance), so the library's resume finds it where it left it."""
    from isaacctl.errors import RemoteError

    library, experiment, run_folder = relative.split("/")[:3]
    parent = f"{job.host_dir}/logs/{library}/{experiment}"
    made = remote.run(["mkdir", "-p", parent])
    if not made.ok:
        raise RemoteError(f"cannot make {parent} to restore {relative}: {made.tail(3)}")
    sync.push(remote, home_logs(store, job) / library / experiment / run_folder, parent)
