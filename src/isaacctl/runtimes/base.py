"""The one interface jobs go through to run Isaac Lab on a host, whatever holds it: a container
(the NGC image) or a Python environment on the host (pip). The job service, fetch-logs,
metrics and TensorBoard speak only this; each runtime owns its own commands."""

from __future__ import annotations

import shlex
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from isaacctl.isaaclab import Generation
    from isaacctl.records import DeploymentRecord, JobRecord
    from isaacctl.remote import Remote
    from isaacctl.remote.base import CommandResult

RUNTIME_NAMES = ("container", "pip")

# Port 0 is the kernel's choice among free ports; bound on every address, as the rendezvous is.
_FREE_PORT = "import socket; s = socket.socket(); s.bind(('', 0)); print(s.getsockname()[1])"


@dataclass(frozen=True)
class JobState:
    """What the host says of a job's process now."""

    running: bool
    exit_code: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True)
class Unknown:
    """The host gave no answer about a job, and why: never taken for an ending."""

    reason: str


# None: the host says the job is gone without an exit status (removed, killed with the host)
Answer = JobState | Unknown | None


class JobStates(dict):
    """Answers by job id; `unanswered` stands for every job the host said nothing of."""

    def __init__(self, unanswered: Unknown) -> None:
        super().__init__()
        self.unanswered = unanswered

    def of(self, job_id: str) -> Answer:
        return self.get(job_id, self.unanswered)


# A preparation step that failed exits with this plus its index (above every exit status the
# start commands give themselves: docker run's 125-127, the pip starter's 90 and 91).
FIRST_STEP_STATUS = 200


@dataclass
class Preparation:
    """What readies a job's folder on the host, sent in the same round trip as its start (each
    SSH round trip is a wait in `train`, and a host across the world is ~100 ms away): a tar
    of the job's files unpacked into the jobs folder, then copies made on the host (earlier
    runs' checkpoints)."""

    jobs_folder: str
    archive: bytes
    copies: list[tuple[str, str]] = field(default_factory=list)  # host path -> host folder

    def steps(self) -> list[tuple[list[str], str]]:
        """(argv, what its failure means), in order."""
        steps = [
            (["tar", "-x", "-f", "-", "-C", self.jobs_folder], f"cannot copy the job's files to {self.jobs_folder}")
        ]
        for source, folder in self.copies:
            steps.append(
                (["sh", "-c", 'mkdir -p "$2" && cp -a "$1" "$2/"', "sh", source, folder], f"cannot copy {source}")
            )
        return steps


def run_prepared(
    remote: Remote,
    preparation: Preparation | None,
    steps: list[tuple[list[str], str]],
    start: list[str],
    *,
    env: dict[str, str] | None = None,
    timeout: float,
) -> CommandResult:
    """The preparation's steps, a runtime's own steps, then the start command, in one `sh -c`:
    one round trip. A failed step raises RemoteError with what it means and its output; the
    start's own exit status comes back as it is."""
    from isaacctl.errors import RemoteError

    every = [*(preparation.steps() if preparation else []), *steps]
    if not every:
        return remote.run(start, env=env, timeout=timeout)
    script = "".join(
        f"{shlex.join(argv)} || exit {FIRST_STEP_STATUS + index}\n" for index, (argv, _) in enumerate(every)
    )
    result = remote.run(
        ["sh", "-c", script + f"exec {shlex.join(start)}"],
        stdin=preparation.archive if preparation else None,
        env=env,
        timeout=timeout,
    )
    failed = result.exit_status - FIRST_STEP_STATUS
    if 0 <= failed < len(every):
        raise RemoteError(every[failed][1], details=result.tail(5))
    return result


@dataclass(frozen=True)
class EarlyOutput:
    """The complete lines a job had written when its start returned (sent back with the start
    itself), and the byte offset of its output that a stream carries on from: `train --follow`
    shows the first line without waiting on the stream's own round trip."""

    text: str
    offset: int

    @classmethod
    def of(cls, written: str) -> EarlyOutput:
        complete = written[: written.rfind("\n") + 1]  # a line still being written waits for the stream
        return cls(complete, len(complete.encode()))


@dataclass
class Launch:
    """Everything a runtime needs to start one job: its folder is on the host already, or
    comes with the start as `preparation`."""

    record: DeploymentRecord
    job: JobRecord
    generation: Generation
    command: list[str]  # the generation's Isaac Lab command (argv[0] "isaaclab" on 3.x)
    video: bool
    env: dict[str, str] = field(default_factory=dict)  # settings isaacctl adds (asset root)
    preparation: Preparation | None = None  # the job's folder, made in the start's round trip


class Runtime(ABC):
    name: str

    @abstractmethod
    def ready(self, record: DeploymentRecord) -> bool:
        """Bootstrap left what jobs need (an image, a Python with Isaac Lab)."""

    @abstractmethod
    def handle(self, record: DeploymentRecord, job_id: str) -> str:
        """What names the job on the host (JobRecord.container)."""

    @abstractmethod
    def logs_path(self, generation: Generation, job_dir: str) -> str:
        """The job's logs/ folder as the running job sees it (checkpoint paths are given so)."""

    @abstractmethod
    def runner(self) -> bytes:
        """The job runner script staged as the job folder's run.sh."""

    @abstractmethod
    def start(self, remote: Remote, launch: Launch) -> EarlyOutput | None:
        """Start the job detached from the SSH session; raises IsaacctlError if it did not start.
        What the job wrote meanwhile, where the start can tell at no cost (stream_logs' initial)."""

    @abstractmethod
    def states_argv(self, jobs: list[JobRecord]) -> list[str]:
        """The one command `states` runs on the host (so it can be asked with others at once)."""

    @abstractmethod
    def states(self, remote: Remote, jobs: list[JobRecord]) -> JobStates:
        """Each job's state in one round trip."""

    @abstractmethod
    def interrupt(self, remote: Remote, job: JobRecord) -> bool:
        """SIGINT to the job. True: the host took it; False: the job had already ended.
        Raises RemoteError when the signal could not be delivered."""

    @abstractmethod
    def kill(self, remote: Remote, job: JobRecord) -> None:
        """End the job now (after an interrupt's grace period)."""

    @abstractmethod
    def stream_logs(
        self,
        remote_factory: Callable[[], Remote],
        job: JobRecord,
        emit: Callable[[str], None],
        *,
        follow: bool,
        tail: int | None,
        on_reconnect: Callable[[str], None],
        initial: EarlyOutput | None = None,
    ) -> None:
        """The job's output, to its end with follow, surviving a dropped connection; `initial`
        (its start's early output) is shown first and not read again."""

    def free_port(self, remote: Remote, record: DeploymentRecord) -> int:
        """A TCP port free on the host now, for a job's rendezvous. Asked of the host itself:
        jobs use its network (container jobs run with host networking), so what is free there
        is free for them. Another process may still take it before the job listens."""
        from isaacctl.errors import RemoteError

        result = remote.run(["python3", "-c", _FREE_PORT], timeout=60)
        port = result.stdout.strip()
        if not result.ok or not port.isdigit():
            raise RemoteError(f"cannot find a free port on {record.name} for the rendezvous", details=result.tail(5))
        return int(port)

    @abstractmethod
    def start_tensorboard(self, remote: Remote, record: DeploymentRecord, host_port: int) -> str:
        """TensorBoard over every job of the deployment, on the host's loopback; returns what
        names it (stopped by `stop_tensorboard`)."""

    @abstractmethod
    def stop_tensorboard(self, remote: Remote, record: DeploymentRecord) -> None: ...
