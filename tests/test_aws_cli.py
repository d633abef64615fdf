"""The AWS commands' surface: help with examples, and boto3 kept out of start-up."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.cli import guarded_env

COMMANDS = [["deploy", "aws"], ["stop"], ["start"], ["check"], ["gc"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_aws_command_has_help_with_an_example(cli, command):
    result = cli(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Example:" in result.stdout


@pytest.mark.parametrize("args", [["--help"], ["deploy", "aws", "--help"], ["list"]])
def test_help_and_list_do_not_import_boto3(args, state_dir):
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "isaacctl", *args],
        env=guarded_env({"ISAACCTL_STATE_DIR": str(state_dir)}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "isaacctl" in imported
    assert not imported & {"boto3", "botocore", "moto"}, sorted(imported & {"boto3", "botocore"})


def test_deploy_aws_help_lists_every_flag(cli):
    text = cli("deploy", "aws", "--help").stdout
    for flag in (
        "--region",
        "--zone",
        "--instance-type",
        "--disk-gb",
        "--spot",
        "--ingress-cidr",
        "--myip-url",
        "--ami",
        "--image",
        "--profile",
        "--dry-run",
        "--yes",
        "--gpus",
        "--ngc-api-key-file",
        "--registry-user",
        "--skip-bootstrap",
    ):
        assert flag in text, flag


def test_deploy_aws_help_lists_every_options_field(cli):
    """The command is generated from AwsOptions: a field added there is a flag at once."""
    from isaacctl.providers.aws.options import AwsOptions

    text = cli("deploy", "aws", "--help").stdout
    for field in AwsOptions.model_fields:
        assert "--" + field.replace("_", "-") in text, field
    assert "[default: us-east-1]" in text and "ISAACCTL_MYIP_URL" in text


@pytest.mark.parametrize(
    "args, flag",
    [
        (["--nodes", "0"], "--nodes"),
        (["--disk-gb", "abc"], "'--disk-gb'"),
        (["--disk-gb", "10"], "--disk-gb:"),
        (["--region", "mars-north-1"], "--region:"),
        (["--ingress-cidr", "0/0"], "--ingress-cidr:"),
        (["--ami", "ubuntu"], "--ami:"),
        (["--myip-url", "ftp://x"], "--myip-url:"),
    ],
    ids=lambda value: value if isinstance(value, str) else " ".join(value),
)
def test_a_bad_value_for_a_generated_flag_is_one_line_exit_2(cli, state_dir, args, flag):
    result = cli("deploy", "aws", "--name", "ws1", "--yes", *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if not line.startswith(("hint:", "…"))]
    assert len(lines) == 1 and lines[0].startswith("error: ") and flag in lines[0], result.stderr
    assert list(state_dir.iterdir()) == []
