"""The one owner of `state/<name>/`: paths, validation, atomic writes, locks and the event log.

Layout of a deployment folder (0700):
    deployment.json   the record (pydantic-validated, schema-versioned, written atomically)
    events.jsonl      append-only log of operations and of every cloud resource before and
                      after its creation; `destroy` reads it when a deploy died half-way
    known_hosts       host keys pinned on first contact
    id_ed25519        a private key isaacctl generated (0600), when it made one
    info.txt          how to connect, for people
    .lock             held by every mutating command
No secret (NGC key, cloud credential) is ever written here.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from isaacctl.errors import (
    DeploymentBusy,
    DeploymentExists,
    DeploymentNotFound,
    InvalidName,
    IsaacctlError,
    JobNotFound,
    UserError,
)

if TYPE_CHECKING:  # pydantic costs ~100 ms to import: only commands that read records pay it
    from isaacctl.records import DeploymentRecord, JobRecord
    from isaacctl.records_read import Reader

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
NAME_RULE = "a lowercase letter, then lowercase letters, digits or hyphens, at most 32 characters"
DEFAULT_STATE_DIR = "state"
LOCK_TIMEOUT_SECONDS = 30.0
BENCHMARK_ID = re.compile(r"^bench-\d{8}-\d{6}-[0-9a-f]{4}$")


def validate_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name or ""):
        raise InvalidName(f"name: expected {NAME_RULE}, got {name!r}")
    return name


def _check_root(root: Path) -> None:
    """A state folder that is a file (or under one) would read as empty, and every write
    would fail half-way: refuse it before anything is asked."""
    if "\n" in str(root) or "\0" in str(root):
        raise UserError(f"--state-dir: expected a folder path, got {str(root)!r}")
    for folder in (root, *root.parents):
        if folder.exists():
            if not folder.is_dir():
                what = "is a file" if folder == root else f"is under {str(folder)!r}, a file"
                raise UserError(f"--state-dir: expected a folder, {str(root)!r} {what}")
            return


@dataclass(frozen=True)
class DeploymentPaths:
    root: Path

    @property
    def record(self) -> Path:
        return self.root / "deployment.json"

    @property
    def events(self) -> Path:
        return self.root / "events.jsonl"

    @property
    def known_hosts(self) -> Path:
        return self.root / "known_hosts"

    @property
    def private_key(self) -> Path:
        return self.root / "id_ed25519"

    @property
    def info(self) -> Path:
        return self.root / "info.txt"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    @property
    def bootstrap_log(self) -> Path:
        return self.root / "bootstrap.log"

    @property
    def jobs(self) -> Path:
        return self.root / "jobs"

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"


def atomic_write(path: Path, data: str | bytes, mode: int = 0o600) -> None:
    """Write via a temp file, fsync and rename, so a reader sees the old or the new file whole."""
    import tempfile  # not at the top: it costs read-only commands ~3 ms of start-up

    payload = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class StateStore:
    def __init__(self, root: Path | str | None = None) -> None:
        chosen = root or os.environ.get("ISAACCTL_STATE_DIR") or DEFAULT_STATE_DIR
        self.root = Path(chosen).expanduser().absolute()
        _check_root(self.root)

    # -- paths -------------------------------------------------------------------------------
    def paths(self, name: str) -> DeploymentPaths:
        return DeploymentPaths(self.root / validate_name(name))

    def exists(self, name: str) -> bool:
        return self.paths(name).record.is_file()

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            entry.name
            for entry in self.root.iterdir()
            if NAME_PATTERN.fullmatch(entry.name) and (entry / "deployment.json").is_file()
        )

    def ensure_folder(self, name: str) -> DeploymentPaths:
        paths = self.paths(name)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        paths.root.mkdir(mode=0o700, exist_ok=True)
        os.chmod(paths.root, 0o700)  # mkdir's mode is masked by umask
        return paths

    # -- records -----------------------------------------------------------------------------
    def _not_found(self, name: str) -> DeploymentNotFound:
        return DeploymentNotFound(
            f"deployment: no deployment named {name!r} in {self.root}",
            hint="'isaacctl list' shows the deployments here",
        )

    def require(self, name: str) -> DeploymentPaths:
        """The deployment's paths; a name with no record is refused rather than read as empty."""
        if not self.exists(name):
            raise self._not_found(name)
        return self.paths(name)

    def load(self, name: str) -> DeploymentRecord:
        from pydantic import ValidationError

        from isaacctl.records import DeploymentRecord, migrate

        paths = self.paths(name)
        try:
            text = paths.record.read_text()
        except FileNotFoundError:
            raise DeploymentNotFound(
                f"deployment: no deployment named {name!r} in {self.root}",
                hint="'isaacctl list' shows the deployments here",
            ) from None
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            raise IsaacctlError(f"state: {paths.record} is not a valid deployment record (not JSON: {exc})") from exc
        try:
            return DeploymentRecord.model_validate(migrate(data))
        except ValidationError as exc:
            raise IsaacctlError(
                f"state: {paths.record} is not a valid deployment record ({exc.error_count()} errors)"
            ) from exc

    def load_all(self) -> list[DeploymentRecord]:
        return [self.load(name) for name in self.names()]

    def read_all(self) -> list[DeploymentRecord]:
        """load_all for commands that only show records (`list`): the same records (or the same
        error), read without pydantic when each is in the form this release writes
        (records_read says why). They are read-only views: never save one."""
        from isaacctl import records_read

        reader = records_read.cached_reader()
        if reader is None:
            records = self.load_all()
            records_read.remember_shapes()  # pydantic is loaded now: the next run needs none
            return records
        return [self._read(name, reader) for name in self.names()]

    def read(self, name: str) -> DeploymentRecord:
        """load, as read_all reads (`status` without --refresh)."""
        from isaacctl import records_read

        reader = records_read.cached_reader()
        if reader is None:
            record = self.load(name)
            records_read.remember_shapes()
            return record
        return self._read(name, reader)

    def _read(self, name: str, reader: Reader) -> DeploymentRecord:
        try:
            data = json.loads(self.paths(name).record.read_text())
        except (OSError, ValueError):
            data = None  # load() says what is wrong with it
        quick = reader.deployment(data)
        # the view answers every attribute a reader of DeploymentRecord uses
        return self.load(name) if quick is None else quick  # type: ignore[return-value]

    def save(self, record: DeploymentRecord) -> None:
        from isaacctl.records import utc_now

        paths = self.ensure_folder(record.name)
        record.updated_at = utc_now()
        atomic_write(paths.record, record.model_dump_json(indent=2) + "\n")

    def create(self, record: DeploymentRecord) -> None:
        """Save a new record; refuse when the name is taken. Call with the lock held."""
        if self.exists(record.name):
            raise DeploymentExists(f"name: a deployment named {record.name!r} already exists")
        self.save(record)

    def update(self, name: str, change: Callable[[DeploymentRecord], Any]) -> DeploymentRecord:
        """Read, change and write a record under its lock."""
        with self.lock(name):
            record = self.load(name)
            change(record)
            self.save(record)
            return record

    def remove(self, name: str) -> None:
        paths = self.paths(name)
        # Rename first so a crash half-way never leaves a folder that looks like a live deployment.
        import shutil  # not at the top, like tempfile

        graveyard = self.root / f".removed-{name}-{os.getpid()}-{time.time_ns()}"
        os.replace(paths.root, graveyard)
        shutil.rmtree(graveyard, ignore_errors=True)

    # -- locking -----------------------------------------------------------------------------
    @contextmanager
    def lock(self, name: str, *, create: bool = False, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
        """Hold the deployment's lock. Only a deploy may create the folder to lock it."""
        from filelock import FileLock, Timeout

        if create:
            paths = self.ensure_folder(name)
        else:
            paths = self.paths(name)
            if not paths.root.is_dir():
                raise DeploymentNotFound(
                    f"deployment: no deployment named {name!r} in {self.root}",
                    hint="'isaacctl list' shows the deployments here",
                )
        file_lock = FileLock(str(paths.lock), timeout=timeout, mode=0o600)
        try:
            file_lock.acquire()
        except Timeout:
            raise DeploymentBusy(f"deployment {name!r} is busy: another isaacctl command holds {paths.lock}") from None
        try:
            yield
        finally:
            file_lock.release()

    # -- event log ---------------------------------------------------------------------------
    def append_event(self, name: str, event: str, **fields: Any) -> None:
        """Append one JSON line and fsync it: it must survive a SIGKILL right after."""
        paths = self.ensure_folder(name)
        entry = {"ts": time.time(), "event": event, **fields}
        line = (json.dumps(entry, default=str, sort_keys=True) + "\n").encode()
        fd = os.open(paths.events, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def events(self, name: str) -> list[dict[str, Any]]:
        try:
            lines = self.paths(name).events.read_text().splitlines()
        except FileNotFoundError:
            return []
        entries = []
        for line in lines:
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line torn by a crash mid-write carries nothing we can act on
        return entries

    def write_info(self, name: str, text: str) -> None:
        atomic_write(self.paths(name).info, text)

    # -- jobs --------------------------------------------------------------------------------
    def save_job(self, job: JobRecord) -> None:
        folder = self.paths(job.deployment).jobs
        folder.mkdir(mode=0o700, exist_ok=True)
        atomic_write(folder / f"{job.id}.json", job.model_dump_json(indent=2) + "\n")

    def load_job(self, name: str, job_id: str) -> JobRecord:
        from isaacctl.records import JobRecord

        path = self.paths(name).jobs / f"{job_id}.json"
        try:
            return JobRecord.model_validate_json(path.read_text())
        except FileNotFoundError:
            raise JobNotFound(f"job: no job {job_id!r} on deployment {name!r}") from None

    def remove_job(self, name: str, job_id: str) -> None:
        """A job record folded into another (a managed job's resumed run takes over its record)."""
        (self.paths(name).jobs / f"{job_id}.json").unlink(missing_ok=True)

    @property
    def watch_folder(self) -> Path:
        """`isaacctl watch`'s lock, pid file and log: a dot-folder, as 'watch' is a valid
        deployment name whose destroy would remove them."""
        path = self.root / ".watch"
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path

    def jobs(self, name: str) -> list[JobRecord]:
        from isaacctl.records import JobRecord

        folder = self.require(name).jobs
        if not folder.is_dir():
            return []
        found = [JobRecord.model_validate_json(path.read_text()) for path in folder.glob("*.json")]
        return sorted(found, key=lambda job: (job.created_at, job.id))

    # -- what an Isaac Lab image (or install) says of itself -----------------------------------
    def _image_facts_path(self, key: str) -> Path:
        import hashlib

        return self.root / ".isaaclab" / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"

    def image_facts(self, key: str) -> dict[str, Any]:
        """What was read from an image (key: its id, sha256:...) or an installed Isaac Lab: its
        version, whether Isaac Sim is in it, its task list. Asked of the host once per key."""
        try:
            data = json.loads(self._image_facts_path(key).read_text())
        except (OSError, ValueError):
            return {}
        return data.get("facts", {}) if isinstance(data, dict) and data.get("key") == key else {}

    def save_image_facts(self, key: str, facts: dict[str, Any]) -> None:
        path = self._image_facts_path(key)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.parent.mkdir(mode=0o700, exist_ok=True)
        merged = {**self.image_facts(key), **facts}
        atomic_write(path, json.dumps({"key": key, "facts": merged}, indent=2) + "\n")

    def find_job(self, job_ref: str, deployment: str | None = None) -> JobRecord:
        """A job by id, unique id prefix, or "last" (the newest), on one or every deployment."""
        if not job_ref.strip() or job_ref != job_ref.strip():
            # an empty prefix would match every job
            raise JobNotFound(f"job: expected a job id, a unique prefix of one, or 'last', got {job_ref!r}")
        names = [deployment] if deployment is not None else self.names()
        candidates = [job for name in names for job in self.jobs(name)]
        if job_ref == "last":
            matches = sorted(candidates, key=lambda job: job.created_at)[-1:]
        else:
            matches = [job for job in candidates if job.id == job_ref] or [
                job for job in candidates if job.id.startswith(job_ref)
            ]
        if not matches:
            raise JobNotFound(f"job: no job matching {job_ref!r}", hint="'isaacctl jobs' lists them")
        if len(matches) > 1:
            shown = ", ".join(job.id for job in matches[:5])
            raise JobNotFound(f"job: {job_ref!r} matches several jobs ({shown}); give more of the id")
        return matches[0]

    # -- benchmark runs ------------------------------------------------------------------------
    @property
    def benchmarks_folder(self) -> Path:
        # A dot-folder, not state/benchmarks/: that is a valid deployment name, and destroying
        # such a deployment removes its folder, which would take every kept benchmark with it.
        return self.root / ".benchmarks"

    def save_benchmark(self, run_id: str, data: dict[str, Any]) -> Path:
        """One `isaacctl benchmark` run (its conditions and every deployment's figures)."""
        if not BENCHMARK_ID.fullmatch(run_id):
            raise IsaacctlError(f"state: {run_id!r} is not a benchmark run id")
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.benchmarks_folder.mkdir(mode=0o700, exist_ok=True)
        path = self.benchmarks_folder / f"{run_id}.json"
        atomic_write(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
        return path

    def benchmarks(self) -> list[dict[str, Any]]:
        """Every kept benchmark run, oldest first; a file that is not one is passed over."""
        found = []
        for path in sorted(self.benchmarks_folder.glob("bench-*.json")):
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and data.get("id") == path.stem:
                found.append(data)
        return sorted(found, key=lambda run: (str(run.get("created_at")), run["id"]))
