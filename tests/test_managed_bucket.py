"""`train --managed --checkpoint-bucket s3://BUCKET[/PREFIX]` on moto (issue 15): the controller
uploads each checkpoint it syncs home to S3 under PREFIX/<deployment-id>/<job-id>/, and a
recovery whose home copy is gone (another controller machine, a lost home folder) resumes from
the bucket's newest checkpoint. Bad buckets are refused before anything starts.

Preemptions are simulated as in tests/test_managed.py (see tests/harness/managed.py)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from harness.managed import (
    NAME,
    SAVE,
    TOTAL,
    check_resumed_from_home,
    home_checkpoints,
    iterations,
    job_of,
    outputs_of,
    slow_image_fixture,  # noqa: F401 - the fixtures this module's tests use
    start_managed,
    status,
    take_machine,
    until_finished,
    until_synced,
    workstation_fixture,  # noqa: F401
)

pytestmark = pytest.mark.docker

BUCKET = "isaacctl-checkpoints"


def keys_under(s3, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def checkpoints_in(keys: list[str]) -> list[int]:
    return sorted(int(m.group(1)) for key in keys if (m := re.search(r"/model_(\d+)\.pt$", key)))


def test_checkpoints_are_uploaded_and_a_lost_home_copy_resumes_from_the_bucket(workstation, cli):
    aws, record = workstation
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    job_id = start_managed(cli, "--checkpoint-bucket", f"s3://{BUCKET}/runs/")
    until_synced(cli, job_id, 2 * SAVE)

    root = f"runs/{record['id']}/{job_id}/"
    keys = keys_under(s3, root)
    # what came home went up in the same pass, with the configs a resume reads back
    assert checkpoints_in(keys) == home_checkpoints(cli, job_id) and max(checkpoints_in(keys)) >= 2 * SAVE
    assert any("/params/" in key for key in keys), keys
    assert all(key.startswith(f"{root}rsl_rl/") for key in keys), keys
    assert keys_under(s3, "") == keys  # the write check left nothing behind

    job = job_of(cli, job_id)
    aws.client().terminate_instances(InstanceIds=[record["nodes"][0]["instance_id"]])
    take_machine(job, record["host_root"], disk_gone=True)
    newest = max(checkpoints_in(keys_under(s3, root)))
    # the controller's machine lost its home copy too: only the bucket has the checkpoints
    shutil.rmtree(cli.state_dir / NAME / "artifacts" / job_id)

    finished = until_finished(cli, job_id)
    assert finished["status"] == "succeeded" and finished["managed"]["state"] == "succeeded", finished
    attempt = finished["attempts"][0]
    assert attempt["action"] == "redeploy" and attempt["from_iteration"] == newest
    assert attempt["checkpoint"].endswith(f"model_{newest}.pt")
    now = status(cli)
    assert now["nodes"][0]["instance_id"] != record["nodes"][0]["instance_id"]
    seen = iterations(outputs_of(now["host_root"], finished))
    check_resumed_from_home(seen, newest)  # every iteration from the bucket's checkpoint, once
    # the resumed run's checkpoints went up too, to the last one
    assert TOTAL - 1 in checkpoints_in(keys_under(s3, root))
    events = [json.loads(line) for line in (cli.state_dir / NAME / "events.jsonl").read_text().splitlines() if line]
    enrolled = next(e for e in events if e.get("event") == "managed.enrolled")
    assert enrolled["checkpoint_bucket"] == f"s3://{BUCKET}/runs/"
    # credentials never reach the state folder
    assert "testing" not in "".join(p.read_text(errors="replace") for p in cli.state_dir.rglob("*.json*"))


def test_bad_buckets_exit_2_naming_the_flag_before_anything_starts(workstation, cli):
    aws, record = workstation
    cases = [
        ("s3://no-such-bucket/runs", "does not exist"),
        ("gs://bucket/runs", "S3 only"),
        ("az://container/runs", "S3 only"),
        ("oss://bucket", "S3 only"),
        ("s3://Not_A_Bucket", "bucket name"),
        ("ftp://bucket", "s3://"),
    ]
    for value, why in cases:
        result = cli(
            "train",
            "-d",
            NAME,
            "--task",
            "Isaac-Cartpole-Direct-v0",
            "--managed",
            "--max-iterations",
            "10",
            "--checkpoint-bucket",
            value,
        )
        assert result.returncode == 2, (value, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and "--checkpoint-bucket" in lines[0] and why in lines[0], (value, result.stderr)
    jobs = cli.state_dir / NAME / "jobs"
    assert not jobs.exists() or not list(jobs.iterdir())
    running = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=isaacctl.deployment-id={record['id']}"],
        capture_output=True,
        text=True,
    )
    assert running.returncode == 0 and not running.stdout.strip()
    assert aws.client("s3").list_buckets()["Buckets"] == []  # nothing was made on the user's behalf


def test_an_s3_bucket_on_a_host_that_is_not_on_aws_is_refused(cli, sshd, standin_image_local):
    sshd.write_ssh_config(cli.ssh_config, ["gpu-box"])
    made = cli.deploy_ssh(NAME, "gpu-box", sshd.home / "isaacctl", "--image", standin_image_local, timeout=600)
    assert made.returncode == 0, made.stderr
    result = cli(
        "train",
        "--task",
        "Isaac-Cartpole-Direct-v0",
        "--managed",
        "--max-iterations",
        "10",
        "--checkpoint-bucket",
        f"s3://{BUCKET}",
    )
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "--checkpoint-bucket" in lines[0] and "AWS" in lines[0], result.stderr
    assert not (cli.state_dir / NAME / "jobs").exists() or not list((cli.state_dir / NAME / "jobs").iterdir())
