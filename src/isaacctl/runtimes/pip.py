"""The pip runtime: Isaac Lab 3.x installed from PyPI into a Python environment on the host
(made by bootstrap, or a researcher's own adopted with --isaaclab-python). A job is a process
group led by templates/jobs/run_host.sh, started with setsid so it outlives the SSH session;
the job folder is the same as a container job's (logs/, output.txt, spec.json), plus `pid`
and `exit-status`, which are all the state there is. No Docker, no image, no NGC key."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from isaacctl.errors import HostKeyChanged, IsaacctlError, RemoteError
from isaacctl.runtimes.base import EarlyOutput, JobState, JobStates, Launch, Runtime, Unknown, run_prepared

if TYPE_CHECKING:
    from isaacctl.isaaclab import Generation
    from isaacctl.records import DeploymentRecord, JobRecord
    from isaacctl.remote import Remote

RECONNECT_FOR_SECONDS = 300.0
START_WAIT_SECONDS = 30.0
# How often `logs --follow` looks whether the runner has ended: the stream ends (and `train
# --follow` returns) at most this long after the job; a look is two builtin reads, no process.
END_POLL_SECONDS = 0.2

# Caches kept on the host across jobs (under the deployment's cache/): Warp's compiled kernels
# and the CUDA driver's compute cache make a cold start ~97 s and a warm one ~18 s on an H200.
CACHE_ENV = {"WARP_CACHE_PATH": "cache/warp", "CUDA_CACHE_PATH": "cache/computecache", "PIP_CACHE_DIR": "cache/pip"}

# Starts the runner in a new session, detached from this SSH session's descriptors, and waits
# for it to write its pid (so a job that never started is known at once, not later). It looks
# every 10 ms: the runner writes it within milliseconds, and the wait is on `train`'s clock.
# Then it sends back what the job has written (its first line follows the pid by moments; up to
# 0.2 s is waited for it): `train --follow` shows it without the stream's own round trip.
_START = r"""
job=$1; shift
setsid -f "$@" </dev/null >/dev/null 2>&1 || exit 90
i=0
while [ ! -e "$job/pid" ]; do
  i=$((i + 1)); [ "$i" -gt "$ISAACCTL_WAIT" ] && exit 91
  sleep 0.01
done
i=0
while [ ! -s "$job/output.txt" ] && [ "$i" -lt 20 ]; do i=$((i + 1)); sleep 0.01; done
size=$(stat -c %s "$job/output.txt" 2>/dev/null) || size=0
[ "$size" -gt 0 ] && head -c "$size" "$job/output.txt"
exit 0
"""

# One line of JSON per job folder: its exit status, else whether its runner still lives (the
# pid file's start time tells a reused pid apart; a zombie is dead: a host whose PID 1 does
# not reap, such as a container's shell, keeps it).
_STATES = r"""
import json, os, sys
for folder in sys.argv[1:]:
    out = {"dir": folder}
    try:
        out["code"] = int(open(folder + "/exit-status").read().strip())
        out["finished"] = os.stat(folder + "/exit-status").st_mtime
    except (OSError, ValueError):
        pass
    try:
        pid, start = open(folder + "/pid").read().split()
        out["started"] = os.stat(folder + "/pid").st_mtime
        try:
            stat = open("/proc/%s/stat" % pid).read()
            fields = stat.rsplit(")", 1)[1].split()
            out["alive"] = fields[19] == start and fields[0] != "Z"
        except (OSError, IndexError):
            out["alive"] = False
    except (OSError, ValueError):
        out["missing"] = not os.path.isdir(folder)
    print(json.dumps(out))
"""

# Signals the job's process group if its runner is still the process that wrote the pid file.
# Exit 3: it has ended. KILL also writes the exit status the killed runner could not.
_SIGNAL = r"""
job=$1; signal=$2
[ -e "$job/exit-status" ] && exit 3
read -r pid start <"$job/pid" || exit 3
stat=$(cat "/proc/$pid/stat" 2>/dev/null) || exit 3
set -- ${stat##*) }
[ "$1" != Z ] && [ "${20}" = "$start" ] || exit 3
kill -s "$signal" -- "-$pid" || exit 1
if [ "$signal" = KILL ]; then
  sleep 0.2
  [ -e "$job/exit-status" ] || { echo "[isaacctl] killed"; } >>"$job/output.txt"
  [ -e "$job/exit-status" ] || echo 137 >"$job/exit-status"
fi
"""

# The output from a byte offset (or the last N lines), with follow until the runner has ended
# (looked at every $5 seconds; the caller then reads what is left from its offset). The offset
# it starts at goes to stderr first, so a dropped connection resumes exactly there. Not
# `tail --pid`: it takes a zombie runner for a live one.
_OUTPUT = r"""
job=$1; offset=$2; follow=$3; lines=$4; poll=$5
running() {
  [ -e "$job/exit-status" ] && return 1
  read -r pid start <"$job/pid" 2>/dev/null || return 1
  { read -r stat <"/proc/$pid/stat"; } 2>/dev/null || return 1
  set -- ${stat##*) }
  [ "$1" != Z ] && [ "${20}" = "$start" ]
}
file=$job/output.txt
if [ -z "$offset" ]; then
  offset=0
  if [ -n "$lines" ] && [ -e "$file" ]; then
    size=$(stat -c %s "$file")
    offset=$((size - $(tail -n "$lines" "$file" | wc -c)))
    [ "$offset" -lt 0 ] && offset=0
  fi
fi
echo "isaacctl-offset $offset" >&2
if [ "$follow" = 1 ] && running; then
  tail -c "+$((offset + 1))" -F "$file" 2>/dev/null &
  reader=$!
  while running; do sleep "$poll"; done
  kill "$reader" 2>/dev/null
  wait "$reader" 2>/dev/null
  exit 0
fi
[ -e "$file" ] && exec tail -c "+$((offset + 1))" "$file"
exit 0
"""

# TensorBoard as one more detached process group, its pid kept beside the jobs folder.
_TENSORBOARD = r"""
pidfile=$1; python=$2; logdir=$3; port=$4
if read -r pid <"$pidfile" 2>/dev/null; then kill -- "-$pid" 2>/dev/null; fi
rm -f "$pidfile"
setsid -f bash -c 'echo $$ >"$0"; exec "$1" -m tensorboard.main --logdir "$2" --host 127.0.0.1 --port "$3"' \
  "$pidfile" "$python" "$logdir" "$port" </dev/null >>"${pidfile%.pid}.log" 2>&1
for _ in $(seq 300); do
  [ -e "$pidfile" ] && read -r pid <"$pidfile" && kill -0 "$pid" 2>/dev/null || { sleep 0.1; continue; }
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && exit 0
  sleep 0.1
done
tail -n 5 "${pidfile%.pid}.log"
exit 1
"""


def _time(stamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(stamp, timezone.utc).replace(microsecond=0) if stamp else None


class PipRuntime(Runtime):
    name = "pip"

    def ready(self, record: DeploymentRecord) -> bool:
        return bool(record.isaaclab_python)

    def handle(self, record: DeploymentRecord, job_id: str) -> str:
        # the process group has no name; this one is what `ps` and the record show
        return f"isaacctl-{record.name}-{job_id}"

    def logs_path(self, generation: Generation, job_dir: str) -> str:
        return f"{job_dir}/logs"

    def runner(self) -> bytes:
        from isaacctl.resources import template_bytes

        return template_bytes("jobs/run_host.sh")

    @staticmethod
    def command(record: DeploymentRecord, command: list[str]) -> list[str]:
        """The generation's `isaaclab ...` run by the environment's own Python (an adopted
        environment need not be on PATH, nor have its scripts installed)."""
        assert record.isaaclab_python is not None
        if command and command[0] == "isaaclab":
            return [record.isaaclab_python, "-m", "isaaclab", *command[1:]]
        return [record.isaaclab_python, *command]

    @staticmethod
    def environment(
        record: DeploymentRecord, launch_env: dict[str, str], generation: Generation, video: bool
    ) -> dict[str, str]:
        env = dict(setting.split("=", 1) for setting in generation.environment(video=video))
        env["PYTHONUNBUFFERED"] = "1"  # output.txt (and logs --follow) line by line
        for key, folder in CACHE_ENV.items():
            env[key] = f"{record.host_root}/{folder}"
        env.update(launch_env)
        return env

    def start(self, remote: Remote, launch: Launch) -> EarlyOutput:
        record, job = launch.record, launch.job
        env = self.environment(record, launch.env, launch.generation, launch.video)
        argv = [
            "sh",
            "-c",
            _START,
            "sh",
            job.host_dir,
            "env",
            *(f"{key}={value}" for key, value in env.items()),
            "bash",
            f"{job.host_dir}/run.sh",
            job.host_dir,
            *launch.command,
        ]
        result = run_prepared(
            remote,
            launch.preparation,
            [],
            argv,
            env={"ISAACCTL_WAIT": str(int(START_WAIT_SECONDS * 100))},
            timeout=120,
        )
        if not result.ok:
            reason = {90: "setsid could not start it", 91: f"its runner wrote no pid within {START_WAIT_SECONDS:g} s"}
            raise IsaacctlError(
                f"the job did not start on {record.name}: "
                f"{reason.get(result.exit_status, f'exit {result.exit_status}')}",
                details=result.tail(10),
            )
        return EarlyOutput.of(result.stdout)

    def states_argv(self, jobs: list[JobRecord]) -> list[str]:
        return ["python3", "-c", _STATES, *[job.host_dir for job in jobs]]

    def states(self, remote: Remote, jobs: list[JobRecord]) -> JobStates:
        result = remote.run(self.states_argv(jobs), timeout=60)
        states = JobStates(Unknown(f"the host did not say ({result.tail(1) or f'exit {result.exit_status}'})"))
        if not result.ok:
            return states
        by_dir = {job.host_dir: job.id for job in jobs}
        for line in result.stdout.splitlines():
            try:
                said = json.loads(line)
            except json.JSONDecodeError:
                continue
            job_id = by_dir.get(said.get("dir"))
            if job_id is None:
                continue
            started, finished = _time(said.get("started")), _time(said.get("finished"))
            if "code" in said:
                states[job_id] = JobState(False, said["code"], started, finished)
            elif said.get("alive"):
                states[job_id] = JobState(True, None, started)
            elif "started" in said:
                # the runner is gone without an exit status: killed with the host, or by hand
                states[job_id] = None
            elif said.get("missing"):
                states[job_id] = None
        return states

    def _signal(self, remote: Remote, job: JobRecord, signal: str) -> bool:
        result = remote.run(["sh", "-c", _SIGNAL, "sh", job.host_dir, signal], timeout=60)
        if result.exit_status == 3:
            return False
        if not result.ok:
            raise RemoteError(f"could not send SIG{signal} to {job.id} on {job.deployment} ({result.tail(2)})")
        return True

    def interrupt(self, remote: Remote, job: JobRecord) -> bool:
        return self._signal(remote, job, "INT")

    def kill(self, remote: Remote, job: JobRecord) -> None:
        self._signal(remote, job, "KILL")

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
        offset: list[int | None] = [None]
        if initial is not None:
            for line in initial.text.splitlines(keepends=True):
                emit(line)
            offset[0] = initial.offset

        def feed(line: str, stream: str) -> None:
            if stream == "stderr" and line.startswith("isaacctl-offset "):
                offset[0] = int(line.split()[1])
                return
            if stream == "stdout" and offset[0] is not None:
                offset[0] += len(line.encode())
            emit(line)

        remote = remote_factory()
        lost_since: float | None = None
        offset_at_loss: int | None = None
        try:
            while True:
                start = "" if offset[0] is None else str(offset[0])
                argv = [
                    "sh",
                    "-c",
                    _OUTPUT,
                    "sh",
                    job.host_dir,
                    start,
                    "1" if follow else "0",
                    "" if tail is None else str(tail),
                    str(END_POLL_SECONDS),
                ]
                try:
                    remote.run(argv, on_output=feed)
                    if follow:  # the runner has ended: what it wrote after the reader stopped
                        follow = False
                        continue
                    return
                except HostKeyChanged:
                    raise
                except RemoteError as exc:
                    now = time.monotonic()
                    if lost_since is None or offset[0] != offset_at_loss:
                        lost_since, offset_at_loss = now, offset[0]  # output came since: a new loss
                    if now - lost_since > RECONNECT_FOR_SECONDS:
                        raise
                    on_reconnect(f"connection lost ({exc.message}); reconnecting")
                    remote.close()
                    time.sleep(1.0)
                    remote = remote_factory()
        finally:
            remote.close()

    @staticmethod
    def _tensorboard_pidfile(record: DeploymentRecord) -> str:
        return f"{record.host_root}/tensorboard.pid"

    def start_tensorboard(self, remote: Remote, record: DeploymentRecord, host_port: int) -> str:
        assert record.isaaclab_python is not None
        pidfile = self._tensorboard_pidfile(record)
        result = remote.run(
            [
                "bash",
                "-c",
                _TENSORBOARD,
                "bash",
                pidfile,
                record.isaaclab_python,
                f"{record.host_root}/jobs",
                str(host_port),
            ],
            timeout=120,
        )
        if not result.ok:
            raise RemoteError(
                f"TensorBoard did not start on {record.name}",
                details=result.tail(5),
                hint=f"{record.isaaclab_python} needs the tensorboard package (pip install tensorboard)",
            )
        return pidfile

    def stop_tensorboard(self, remote: Remote, record: DeploymentRecord) -> None:
        remote.run(
            [
                "sh",
                "-c",
                'read -r pid <"$1" 2>/dev/null && kill -- "-$pid" 2>/dev/null; rm -f "$1"',
                "sh",
                self._tensorboard_pidfile(record),
            ]
        )
