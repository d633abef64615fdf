"""Jobs: the time from `train` to the job's first output line, and fetch-logs of ~1 GiB of
checkpoints (200 files of 5 MiB) beside `rsync -a -e ssh` of the same tree, plus a re-fetch."""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from suites.common import median_seconds, row
from suites.station import docker_env, run, station  # run: a checked subprocess

FILES, FILE_MIB = 200, 5


def _first_output_seconds(place) -> float:
    start = time.perf_counter()
    process = subprocess.Popen(
        place.isaacctl_argv("train", "--task", "Isaac-Cartpole-Direct-v0", "--max-iterations", "3", "--follow"),
        env=place.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    elapsed = None
    for line in process.stdout:
        if line.startswith("[isaacctl] running"):  # the first line the job itself prints
            elapsed = time.perf_counter() - start
    process.wait()
    assert elapsed is not None, "the job printed nothing"
    return elapsed


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
        first_line = statistics.median(_first_output_seconds(place) for _ in range(repeat))
        container_start = median_seconds(
            place.ssh_argv("docker", "run", "--rm", "--entrypoint", "echo", image, "hi"), repeat
        )
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
        reference_refetch = median_seconds(["rsync", "-a", "-e", rsh, f"gpu-box:{job_dir}/", f"{dest}/{job}/"], 5)
    fetch, reference = min(ours), min(theirs)
    gib = size / 2**30
    return [
        row("ssh host docker run echo (reference)", container_start),
        row("train -> first output line of the job", first_line, reference=container_start, against="ssh+docker run"),
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
            goal="< 0.5 s",
        ),
    ]


def _owner(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_uid, stat.st_gid
