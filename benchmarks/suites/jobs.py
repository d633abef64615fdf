"""Jobs: the time from `train` to the job's first output line (container runtime beside
`ssh host docker run echo`; pip runtime beside `ssh host <python> -c pass`), the real Isaac Lab
3.0 on the CPU (`train --follow` of 3 Cartpole iterations beside the same run through the
upstream CLI alone), and fetch-logs of ~1 GiB of checkpoints (200 files of 5 MiB) beside
`rsync -a -e ssh` of the same tree, plus a re-fetch."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from suites.common import median_seconds, row
from suites.station import (  # run: a checked subprocess
    ISAACLAB_ASSETS,
    ISAACLAB_PYTHON,
    docker_env,
    isaaclab_missing,
    pip_station,
    run,
    station,
)

FILES, FILE_MIB = 200, 5
FIRST_LINE = "[isaacctl] running"  # the first line a job prints, in either runtime's runner
# The real Isaac Lab run: isaacctl's task id and flags, and the upstream CLI's own for the same
# run (what `isaacctl train` passes on a --gpus none deployment).
CARTPOLE_ARGS = ("--task", "Isaac-Cartpole", "--num-envs", "16", "--max-iterations", "3", "--rl-library", "rsl_rl")
UPSTREAM_ARGS = (
    "-m isaaclab train --task Isaac-Cartpole --rl_library rsl_rl --num_envs 16 --max_iterations 3 "
    "--device cpu agent.device=cpu"
)


def _first_output_seconds(place, *train_args: str, cancel: bool = False) -> float:
    """cancel: stop following at the first line and cancel the job (a real Isaac Lab run
    would otherwise train on, for seconds the figure does not need)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        place.isaacctl_argv("train", *train_args, "--follow"),
        env=place.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if cancel else subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    elapsed = None
    for line in process.stdout:
        if elapsed is None and line.startswith(FIRST_LINE):
            elapsed = time.perf_counter() - start
            if cancel:
                process.send_signal(signal.SIGINT)  # the follower lets go; the job runs on
                break
    _, err = process.communicate()
    assert elapsed is not None, f"the job printed nothing ({process.returncode})"
    if cancel:
        job = re.search(r"started (train-\S+)", err or "")
        assert job, err
        run(place.isaacctl_argv("cancel", job.group(1), "--grace", "0"), place.env)
    else:
        assert process.returncode == 0, f"the job failed ({process.returncode})"
    return elapsed


def _close_masters() -> None:
    """End every OpenSSH master isaacctl keeps (ControlPersist): the next `train` starts cold,
    as the first one of a session does. The other rows run `train` back to back, so theirs is
    the master the previous run left, as a user's second command within 60 s finds it."""
    from isaacctl.remote.ssh import control_folder

    folder = control_folder()
    for entry in folder.iterdir() if folder is not None else ():
        if entry.is_socket():
            subprocess.run(["ssh", "-S", str(entry), "-O", "exit", "x"], capture_output=True)


def _seconds(argv: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    run(argv, env)
    return time.perf_counter() - start


def _in_turns(ours: Callable[[], float], reference: Callable[[], float], repeat: int) -> tuple[float, float]:
    """Medians of ours and its reference measured in turns, after one warm-up of each: the
    load of a shared machine comes and goes, and then touches both alike."""
    ours(), reference()
    mine, theirs = [], []
    for attempt in range(repeat):
        pair = [(mine, ours), (theirs, reference)]
        for results, measure in pair if attempt % 2 == 0 else reversed(pair):
            results.append(measure())
    return statistics.median(mine), statistics.median(theirs)


def _container_rows(place, image: str, repeat: int) -> list[dict]:
    first_line, container_start = _in_turns(
        lambda: _first_output_seconds(place, "--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", "3"),
        lambda: _seconds(place.ssh_argv("docker", "run", "--rm", "--entrypoint", "echo", image, "hi")),
        repeat,
    )
    return [
        row("ssh host docker run echo (reference)", container_start),
        row(
            "train -> first output line of the job",
            first_line,
            reference=container_start,
            against="ssh+docker run",
            goal="<= 1.2x",
        ),
    ]


def _isaaclab_rows(repeat: int) -> list[dict]:
    """The pip runtime on the real Isaac Lab 3.0.0 (CPU, offline assets): the first line, and
    a whole 3-iteration Cartpole training beside the upstream CLI run by hand over the same
    SSH, with the same Warp cache (isaacctl's host cache/warp, so both start equally warm)."""
    missing = isaaclab_missing()
    if missing:
        print(missing, flush=True)
        return [
            row(f"pip runtime: train -> first output line ({missing})", 0.0, unit="skipped"),
            row(f"real Isaac Lab CPU: train --follow, 3 Cartpole iterations ({missing})", 0.0, unit="skipped"),
        ]
    with pip_station() as place:
        first_line, python_start = _in_turns(
            lambda: _first_output_seconds(place, *CARTPOLE_ARGS, cancel=True),
            lambda: _seconds(place.ssh_argv(str(ISAACLAB_PYTHON), "-c", "pass")),
            repeat,
        )

        def cold() -> float:
            _close_masters()
            return _first_output_seconds(place, *CARTPOLE_ARGS, cancel=True)

        cold_line, cold_python = _in_turns(
            cold, lambda: _seconds(place.ssh_argv(str(ISAACLAB_PYTHON), "-c", "pass")), repeat
        )
        upstream_dirs = iter(range(1_000_000))

        def upstream() -> float:
            folder = f"{place.host_dir}/upstream-{next(upstream_dirs)}"  # its logs/ land there
            script = (
                f"mkdir -p {folder} && cd {folder} && exec env ISAACSIM_ASSET_ROOT={shlex.quote(str(ISAACLAB_ASSETS))} "
                f"WARP_CACHE_PATH={place.host_dir}/cache/warp {shlex.quote(str(ISAACLAB_PYTHON))} {UPSTREAM_ARGS}"
            )
            return _seconds(place.ssh_argv("sh", "-c", shlex.quote(script)))

        def ours() -> float:
            return _seconds(place.isaacctl_argv("train", *CARTPOLE_ARGS, "--follow"), place.env)

        whole, reference = _in_turns(ours, upstream, max(1, min(repeat, 3)))
    return [
        row("ssh host <venv python> -c pass (reference)", python_start),
        row(
            "pip runtime: train -> first output line of the job",
            first_line,
            reference=python_start,
            against="ssh+python",
            goal="<= 1.2x",
        ),
        row(
            "pip runtime, no SSH master left by an earlier command: train -> first output line",
            cold_line,
            reference=cold_python,
            against="ssh+python",
        ),
        row("upstream `python -m isaaclab train` over ssh, 3 Cartpole iterations, CPU (reference)", reference),
        row(
            "real Isaac Lab CPU: isaacctl train --follow, the same run",
            whole,
            reference=reference,
            against="upstream CLI",
            goal="<= 1.2x",
        ),
    ]


def _job_dir(place) -> tuple[str, str]:
    jobs = run(place.isaacctl_argv("jobs", "--json"), place.env).stdout
    job = re.findall(r'"id": "(train-[^"]+)"', jobs)[-1]
    return job, f"{place.host_dir}/jobs/{job}"


def _fill(job_dir: str, uid: int, gid: int) -> int:
    folder = Path(job_dir) / "logs" / "rsl_rl" / "bench" / "2026-01-01_00-00-00"
    folder.mkdir(parents=True, exist_ok=True)
    block = os.urandom(FILE_MIB * 1024 * 1024)
    for index in range(FILES):
        path = folder / f"model_{index}.pt"
        path.write_bytes(block[index:] + block[:index])  # distinct files, no dedup tricks
        os.chown(path, uid, gid)
    return FILES * FILE_MIB * 1024 * 1024


def run_suite(repeat: int | None = None) -> list[dict]:
    repeat = repeat or 3
    image = docker_env.standin_image_local()
    with station(deploy=True, bootstrap_image=image) as place:
        start_rows = _container_rows(place, image, repeat)
        job, job_dir = _job_dir(place)
        size = _fill(job_dir, *_owner(place.sshd.home))
        ours, theirs = [], []
        rsh = f"ssh -F {place.ssh_config} -o StrictHostKeyChecking=no -o UserKnownHostsFile={place.root}/rk"

        def reference_run(dest: Path) -> float:
            os.sync()  # the previous run's dirty pages must not slow this one down
            start = time.perf_counter()
            run(["rsync", "-a", "-e", rsh, f"gpu-box:{job_dir}/", f"{dest}/"])
            return time.perf_counter() - start

        def our_run(dest: Path) -> float:
            os.sync()
            start = time.perf_counter()
            run(place.isaacctl_argv("fetch-logs", job, "--dest", str(dest)), place.env)
            return time.perf_counter() - start

        for attempt in range(3):  # alternating which goes first
            pair = [(theirs, reference_run, "rsync"), (ours, our_run, "fetch")]
            for results, measure, label in pair if attempt % 2 == 0 else reversed(pair):
                dest = place.root / f"{label}-{attempt}"
                results.append(measure(dest))
                if attempt < 2:
                    shutil.rmtree(dest)
        dest = place.root / "fetch-2"
        refetch = median_seconds(place.isaacctl_argv("fetch-logs", job, "--dest", str(dest)), 5, place.env)
        log = place.sshd.log_path
        sessions_before = log.read_text(errors="replace").count("Starting session:")  # one per exec request
        run(place.isaacctl_argv("fetch-logs", job, "--dest", str(dest)), place.env)
        refetch_trips = log.read_text(errors="replace").count("Starting session:") - sessions_before
        reference_refetch = median_seconds(["rsync", "-a", "-e", rsh, f"gpu-box:{job_dir}/", f"{dest}/{job}/"], 5)
    fetch, reference = min(ours), min(theirs)
    gib = size / 2**30
    return [
        *start_rows,
        *_isaaclab_rows(repeat),
        row(f"rsync -a -e ssh, {gib:.2f} GiB in {FILES} files (reference)", reference),
        row(
            "isaacctl fetch-logs, same tree",
            fetch,
            reference=reference,
            against="rsync time",
            goal=">= 0.9 of rsync's speed",
        ),
        row("fetch-logs speed relative to rsync (1.0 = as fast)", reference / fetch, unit="x"),
        row("rsync re-run, nothing new (reference)", reference_refetch),
        row(
            "isaacctl fetch-logs re-run, nothing new",
            refetch,
            reference=reference_refetch,
            against="rsync re-run",
            goal="<= 0.2 s",
        ),
        row("fetch-logs re-run: SSH round trips", refetch_trips, unit="exec", goal="1"),
    ]


def _owner(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_uid, stat.st_gid
