"""The real CLI as a user meets it: help, versions, bad input, empty lists, JSON envelopes."""

from __future__ import annotations

import json

import pytest

COMMANDS = [
    ["deploy", "local"],
    ["deploy", "ssh"],
    ["deploy", "aws"],
    ["list"],
    ["status"],
    ["ssh"],
    ["destroy"],
    ["version"],
    ["bootstrap"],
    ["train"],
    ["evaluate"],
    ["jobs"],
    ["logs"],
    ["cancel"],
    ["tasks"],
    ["tensorboard"],
    ["fetch-logs"],
    ["metrics"],
    ["upload"],
    ["download"],
    ["stop"],
    ["start"],
    ["check"],
    ["gc"],
]


def test_the_lazy_command_table_matches_the_commands():
    """cli/lazy.py lists commands without importing them: its help lines must be their own."""
    from isaacctl.cli import lazy

    for name in lazy.COMMANDS:
        command = lazy.build(name)
        assert command.name == name
        assert command.get_short_help_str(limit=1000) == lazy.COMMANDS[name][2], name


def test_help_imports_no_command_module():
    import subprocess
    import sys

    probe = (
        "import sys; from isaacctl.cli import main; main(['--help']); "
        "print(sorted(m for m in sys.modules if m.startswith('isaacctl.')))"
    )
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout
    loaded = shown.strip().splitlines()[-1]
    for module in ("isaacctl.cli.jobs", "isaacctl.cli.deploy", "isaacctl.records", "isaacctl.services"):
        assert f"'{module}" not in loaded


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(cli, command):
    result = cli(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Example" in result.stdout


def test_deploy_help_lists_the_installed_providers(cli):
    text = cli("deploy", "--help").stdout
    for provider in ("local", "ssh", "aws"):
        assert f"isaacctl deploy {provider} --help" in text
    assert "Example" in text


def test_deploy_help_imports_no_provider_module():
    import subprocess
    import sys

    probe = (
        "import sys; from isaacctl.cli import main; main(['deploy', '--help']); "
        "print(sorted(m for m in sys.modules if m.startswith(('isaacctl.', 'pydantic'))))"
    )
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout
    loaded = shown.strip().splitlines()[-1]
    assert "isaacctl.providers.aws" not in loaded and "isaacctl.providers.ssh" not in loaded
    assert "'pydantic" not in loaded


def test_version(cli):
    result = cli("version")
    assert result.returncode == 0
    assert result.stdout.startswith("isaacctl 0.")


@pytest.mark.parametrize(
    "args, expected",
    [
        (["deploy", "local", "--name", "../x"], "name: expected a lowercase letter"),
        (["deploy", "local", "--name", "Bad_Name"], "name: expected a lowercase letter"),
        (["deploy", "local", "--name", "a" * 33], "name: expected a lowercase letter"),
        (["deploy", "ssh", "--name", "ws1"], "Missing option '--host'"),
        (["deploy", "ssh", "--name", "ws1", "--host", "h", "--port", "70000"], "--port:"),
        (["deploy", "ssh", "--name", "ws1", "--host", "h", "--port", "x"], "--port"),
        (["deploy", "ssh", "--name", "ws1", "--host", "h", "-i", "/nonexistent/key"], "--identity-file:"),
        (["deploy", "ssh", "--name", "ws1", "--host", "h; rm -rf /"], "--host:"),
        (["deploy", "ssh", "--name", "ws1", "--host", "h", "--user", "-oProxyCommand=x"], "--user:"),
        (["deploy", "gcp-nope", "--name", "ws1"], "No such command"),
        (["deploy", "local", "--name", "ws1", "--nodes", "0"], "--nodes:"),
        (["deploy", "local", "--name", "ws1", "--nodes", "x"], "'--nodes'"),
        (["deploy", "local", "--name", "ws1", "--nodes", "2"], "--nodes:"),
        (["deploy", "ssh", "--name", "ws1", "--host", "h", "--spot"], "--spot"),
        (["status", "ghost"], "no deployment named 'ghost'"),
        (["destroy", "ghost", "--yes"], "no deployment named 'ghost'"),
        (["ssh", "ghost", "--", "true"], "no deployment named 'ghost'"),
        (["status", "../etc"], "name: expected"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_creates_nothing(cli, state_dir, args, expected):
    result = cli(*args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if not line.startswith(("hint:", "…"))]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert expected in lines[0]
    assert "Traceback" not in result.stderr
    assert list(state_dir.iterdir()) == []


def test_list_empty_and_json_envelope(cli):
    human = cli("list")
    assert human.returncode == 0
    assert "No deployments yet" in human.stderr
    machine = cli("list", "--json")
    assert json.loads(machine.stdout) == {"api_version": 1, "kind": "DeploymentList", "data": []}


def test_state_dir_flag_beats_the_environment(cli, tmp_path):
    chosen = tmp_path / "elsewhere"
    result = cli(
        "--state-dir",
        str(chosen),
        "deploy",
        "local",
        "--name",
        "desk",
        "--host-dir",
        str(tmp_path / "host"),
        "--skip-bootstrap",
    )
    assert result.returncode == 0, result.stderr
    assert (chosen / "desk" / "deployment.json").is_file()
    assert list(cli.state_dir.iterdir()) == []


def test_destroy_without_yes_and_without_a_terminal_refuses(cli, tmp_path):
    cli("deploy", "local", "--name", "desk", "--host-dir", str(tmp_path / "h"), "--skip-bootstrap", check=True)
    result = cli("destroy", "desk")
    assert result.returncode == 2
    assert "--yes" in result.stderr
    assert (cli.state_dir / "desk" / "deployment.json").is_file()


def test_unexpected_errors_are_short_unless_verbose(cli, state_dir):
    # A record that is not JSON at all is not a user error: exit 1, no traceback without -v.
    (state_dir / "desk").mkdir(mode=0o700)
    (state_dir / "desk" / "deployment.json").write_text("{not json")
    quiet = cli("status", "desk")
    assert quiet.returncode == 1
    assert "Traceback" not in quiet.stderr
    assert "not a valid deployment record" in quiet.stderr
