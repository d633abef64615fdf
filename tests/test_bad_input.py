"""Bad input, command by command, as a careful user types it: every case must exit 2 with one
`error:` line that names the flag, argument or field (at most one `hint:` line after it), print
nothing before it (stdout stays empty), and leave the state folder and the home folder exactly as
they were (paths, modes and contents hashed before and after).

The table is the point: a new flag gets its bad values here. Placeholders in a case: {file} is
an existing regular file, {dir} an existing folder, {missing} a path that does not exist, {json}
a job JSON file that is not valid; "desk" is a local deployment in the state folder (bootstrapped
on the stand-in image when Docker has it, so job flags are checked past "not bootstrapped")."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from harness.cli import Cli

NAME_RULE = "name: expected a lowercase letter"


def case(*args: str, expect: str, needs_bootstrap: bool = False):
    return pytest.param(list(args), expect, needs_bootstrap, id=" ".join(a if a else "''" for a in args)[:90])


def deploy_cases(provider: str, required: tuple[str, ...] = ()) -> list:
    """What every deploy command shares: the name, --nodes, --host-dir, the bootstrap flags."""
    base = ("deploy", provider, *required)
    named = (*base, "--name", "ws9")
    return [
        case(*base, "--name", "", expect=NAME_RULE),
        case(*base, "--name", "Ws9", expect=NAME_RULE),
        case(*base, "--name", "9ws", expect=NAME_RULE),
        case(*base, "--name", "ws_9", expect=NAME_RULE),
        case(*base, "--name", "../ws9", expect=NAME_RULE),
        case(*base, "--name", "a" * 33, expect=NAME_RULE),
        case(*named, "--nodes", "0", expect="--nodes:"),
        case(*named, "--nodes", "-1", expect="--nodes:"),
        case(*named, "--nodes", "65", expect="--nodes:"),
        case(*named, "--nodes", "two", expect="'--nodes'"),
        case(*named, "--host-dir", "", expect="--host-dir:"),
        case(*named, "--host-dir", "relative/dir", expect="--host-dir:"),
        case(*named, "--host-dir", "/a:b", expect="--host-dir:"),
        case(*named, "--host-dir", "/a\nb", expect="--host-dir:"),
        case(*named, "--host-dir", "/a\tb", expect="--host-dir:"),
        case(*named, "--host-dir", "/a,b", expect="--host-dir:"),
        case(*named, "--host-dir", "~bob/x", expect="--host-dir:"),
        case(*named, "--reach-timeout", "0", expect="--reach-timeout:"),
        case(*named, "--reach-timeout", "-5", expect="--reach-timeout:"),
        case(*named, "--reach-timeout", "nan", expect="--reach-timeout:"),
        case(*named, "--reach-timeout", "inf", expect="--reach-timeout:"),
        case(*named, "--reach-timeout", "soon", expect="'--reach-timeout'"),
        case(*named, "--gpus", "2", expect="--gpus:"),
        case(*named, "--image", "-oops", expect="--image:"),
        case(*named, "--image", "a b", expect="--image:"),
        case(*named, "--ngc-api-key-file", "{missing}", expect="--ngc-api-key-file:"),
        case(*named, "--ngc-api-key-file", "{dir}", expect="--ngc-api-key-file:"),
        case(*named, "--runtime", "conda", expect="--runtime:"),
        case(*named, "--isaaclab-version", "1.0", expect="--isaaclab-version:"),
        case(*named, "--registry", "evil.example.org", expect="--registry:"),
        case(*named, "--no-such-flag", expect="--no-such-flag"),
    ]


CASES = [
    # -- global options -----------------------------------------------------------------------
    case("--state-dir", "{file}", "list", expect="--state-dir:"),
    case("--state-dir", "{file}", "list", "--json", expect="--state-dir:"),
    case("--state-dir", "{file}/sub", "list", expect="--state-dir:"),
    case("--state-dir", "{file}", "deploy", "local", "--name", "ws9", "--skip-bootstrap", expect="--state-dir:"),
    case("--state-dir", "{file}", "status", "desk", expect="--state-dir:"),
    case("--state-dir", "{file}", "jobs", expect="--state-dir:"),
    case("--bogus", "list", expect="--bogus"),
    case("no-such-command", expect="No such command"),
    # -- deploy -------------------------------------------------------------------------------
    case("deploy", "nowhere", "--name", "ws9", expect="No such command"),
    case("deploy", "local", expect="--name"),
    *deploy_cases("local"),
    case("deploy", "local", "--name", "desk", "--nodes", "2", expect="--nodes:"),
    case("deploy", "local", "--name", "desk", "--host-dir", "/elsewhere", "--skip-bootstrap", expect="name:"),
    case("deploy", "ssh", "--name", "ws9", expect="--host"),
    *deploy_cases("ssh", ("--host", "gpu-box")),
    case("deploy", "ssh", "--name", "ws9", "--host", "", expect="--host:"),
    case("deploy", "ssh", "--name", "ws9", "--host", "-oProxyCommand=x", expect="--host:"),
    case("deploy", "ssh", "--name", "ws9", "--host", "-gpu-box", expect="--host:"),
    case("deploy", "ssh", "--name", "ws9", "--host", "gpu box", expect="--host:"),
    case("deploy", "ssh", "--name", "ws9", "--host", "h;reboot", expect="--host:"),
    case("deploy", "ssh", "--name", "ws9", "--host", "h", "--port", "0", expect="--port:"),
    case("deploy", "ssh", "--name", "ws9", "--host", "h", "--port", "65536", expect="--port:"),
    case("deploy", "ssh", "--name", "ws9", "--host", "h", "--port", "ssh", expect="'--port'"),
    case("deploy", "ssh", "--name", "ws9", "--host", "h", "--user", "-oX", expect="--user:"),
    case("deploy", "ssh", "--name", "ws9", "--host", "h", "--user", "a b", expect="--user:"),
    case("deploy", "ssh", "--name", "ws9", "--host", "h", "-i", "{missing}", expect="--identity-file:"),
    case("deploy", "ssh", "--name", "ws9", "--host", "h", "-i", "{dir}", expect="--identity-file:"),
    case("deploy", "ssh", "--name", "ws9", "--host", "h", "--spot", expect="--spot"),
    case("deploy", "ssh", "--name", "desk", "--host", "h", "--skip-bootstrap", expect="name:"),
    *deploy_cases("aws"),
    case("deploy", "aws", "--name", "ws9", "--disk-gb", "0", expect="--disk-gb:"),
    case("deploy", "aws", "--name", "ws9", "--disk-gb", "big", expect="'--disk-gb'"),
    case("deploy", "aws", "--name", "ws9", "--ingress-cidr", "0.0.0.0/0x", expect="--ingress-cidr:"),
    case("deploy", "aws", "--name", "ws9", "--ingress-cidr", "10.0.0.1/33", expect="--ingress-cidr:"),
    case("deploy", "aws", "--name", "ws9", "--region", "", expect="--region:"),
    # -- list, status, destroy ------------------------------------------------------------------
    case("list", "extra", expect="unexpected extra argument"),
    case("list", "--refresh", "--bogus", expect="--bogus"),
    case("status", expect="NAME"),
    case("status", "ghost", expect="no deployment named 'ghost'"),
    case("status", "", expect=NAME_RULE),
    case("status", "../etc", expect=NAME_RULE),
    case("status", "Desk", expect=NAME_RULE),
    case("status", "desk", "--bogus", expect="--bogus"),
    case("destroy", "ghost", "--yes", expect="no deployment named 'ghost'"),
    case("destroy", "", "--yes", expect=NAME_RULE),
    case("destroy", "desk", expect="--yes"),
    case("destroy", "desk/..", "--yes", expect=NAME_RULE),
    # -- ssh, bootstrap, stop/start ---------------------------------------------------------------
    case("ssh", "ghost", "--", "true", expect="no deployment named 'ghost'"),
    case("ssh", "", expect=NAME_RULE),
    case("ssh", "desk", "--node", "1", "--", "true", expect="--node:"),
    case("ssh", "desk", "--node", "-1", "--", "true", expect="--node:"),
    case("ssh", "desk", "--node", "x", expect="'--node'"),
    case("bootstrap", "ghost", expect="no deployment named 'ghost'"),
    case("bootstrap", "", expect=NAME_RULE),
    case("bootstrap", "desk", "--reach-timeout", "nan", expect="--reach-timeout:"),
    case("bootstrap", "desk", "--reach-timeout", "inf", expect="--reach-timeout:"),
    case("bootstrap", "desk", "--reach-timeout", "-1", expect="--reach-timeout:"),
    case("bootstrap", "desk", "--gpus", "some", expect="--gpus:"),
    case("bootstrap", "desk", "--image", "-x", expect="--image:"),
    case("bootstrap", "desk", "--image", "", expect="--image:"),
    case("bootstrap", "desk", "--ngc-api-key-file", "{missing}", expect="--ngc-api-key-file:"),
    case("bootstrap", "desk", "--only", "no-such-step", expect="--only:"),
    case("bootstrap", "desk", "--runtime", "nix", expect="--runtime:"),
    case("bootstrap", "desk", "--isaaclab-python", "/usr/bin/python3", expect="--isaaclab-python:"),
    case("bootstrap", "desk", "--asset-root", "relative", expect="--asset-root:"),
    case("bootstrap", "desk", "--registry", "other.example.org", expect="--registry:"),
    case("stop", "ghost", "--yes", expect="no deployment named 'ghost'"),
    case("stop", "desk", "--yes", expect="stop"),
    case("stop", "", expect=NAME_RULE),
    case("start", "ghost", expect="no deployment named 'ghost'"),
    case("start", "desk", expect="start"),
    # -- check, gc ------------------------------------------------------------------------------
    case("check", "nowhere", expect="provider: expected one of"),
    case("check", "local", expect="local"),
    case("gc", "--provider", "nowhere", expect="provider: expected one of"),
    case("gc", "--provider", "ssh", expect="--provider:"),
    # -- jobs -----------------------------------------------------------------------------------
    case("jobs", "-d", "ghost", expect="no deployment named 'ghost'"),
    case("jobs", "-d", "", expect=NAME_RULE),
    case("jobs", "-d", "Bad", expect=NAME_RULE),
    case("logs", "", expect="job:"),
    case("logs", " ", expect="job:"),
    case("logs", "no-such-job", expect="job:"),
    case("logs", "last", "--tail", "-1", expect="--tail:"),
    case("logs", "last", "--tail", "99999999999999999999", expect="--tail:"),
    case("logs", "last", "--tail", "x", expect="'--tail'"),
    case("logs", "last", "-d", "ghost", expect="no deployment named 'ghost'"),
    case("cancel", "", expect="job:"),
    case("cancel", "no-such-job", expect="job:"),
    case("cancel", "last", "--grace", "-1", expect="--grace:"),
    case("cancel", "last", "--grace", "nan", expect="--grace:"),
    case("cancel", "last", "--grace", "inf", expect="--grace:"),
    case("cancel", "last", "--grace", "3601", expect="--grace:"),
    case("cancel", expect="JOB"),
    case("metrics", "", expect="job:"),
    case("metrics", "no-such-job", expect="job:"),
    case("fetch-logs", "-d", "ghost", expect="no deployment named 'ghost'"),
    case("fetch-logs", "", "-d", "desk", expect="job:"),
    case("fetch-logs", "-d", "desk", "--checkpoints", "some", expect="--checkpoints:"),
    case("tasks", "-d", "ghost", expect="no deployment named 'ghost'"),
    case("tasks", "--bogus", expect="--bogus"),
    case("tensorboard", "-d", "desk", "--port", "0", expect="--port:"),
    case("tensorboard", "-d", "desk", "--port", "70000", expect="--port:"),
    case("tensorboard", "-d", "desk", "--local-port", "-1", expect="--local-port:"),
    case("tensorboard", "-d", "ghost", expect="no deployment named 'ghost'"),
    # -- train, evaluate ------------------------------------------------------------------------
    case("train", "-d", "ghost", "--task", "Isaac-Cartpole-v0", expect="no deployment named 'ghost'"),
    case("train", "--task", "Isaac-Cartpole-v0", "--num-envs", "x", expect="'--num-envs'"),
    case("train", "--task", "Isaac-Cartpole-v0", "--config", "{missing}", expect="--config"),
    case("train", "--task", "Isaac-Cartpole-v0", "--extension", "{missing}", expect="--extension"),
    case("train", "--task", "Isaac-Cartpole-v0", "--num-envs", "0", expect="--num-envs", needs_bootstrap=True),
    case("train", "--task", "Isaac-Cartpole-v0", "--num-envs", "-4", expect="--num-envs", needs_bootstrap=True),
    case(
        "train", "--task", "Isaac-Cartpole-v0", "--max-iterations", "0", expect="--max-iterations", needs_bootstrap=True
    ),
    case(
        "train", "--task", "Isaac-Cartpole-v0", "--rl-library", "tf_agents", expect="--rl-library", needs_bootstrap=True
    ),
    case("train", "--task", "", expect="--task", needs_bootstrap=True),
    case("train", "--task", "Isaac-No-Such-Task-v0", expect="--task", needs_bootstrap=True),
    case("train", "--task", "Isaac-Cartpole-v0", "--video-length", "0", expect="--video-length", needs_bootstrap=True),
    case("train", "--task", "Isaac-Cartpole-v0", "--gpus", "0", expect="--gpus", needs_bootstrap=True),
    case("train", "--task", "Isaac-Cartpole-v0", "--resume", "no-such-job", expect="job", needs_bootstrap=True),
    case(
        "train",
        "--task",
        "Isaac-Cartpole-v0",
        "--config",
        "{json}",
        expect="trainingConfig.numEnvs",
        needs_bootstrap=True,
    ),
    case(
        "evaluate",
        "--task",
        "Isaac-Cartpole-v0",
        "--checkpoint",
        "{missing}",
        expect="--checkpoint",
        needs_bootstrap=True,
    ),
    case(
        "evaluate", "--task", "Isaac-Cartpole-v0", "--video-length", "-1", expect="--video-length", needs_bootstrap=True
    ),
    case("evaluate", "--task", "Isaac-Cartpole-v0", "--num-envs", "0", expect="--num-envs", needs_bootstrap=True),
    # -- upload, download -----------------------------------------------------------------------
    case("upload", "desk", "{missing}", expect="LOCAL:"),
    case("upload", "ghost", "{file}", expect="no deployment named 'ghost'"),
    case("upload", "desk", "{file}", "", expect="REMOTE:"),
    case("upload", "desk", "{file}", ".", expect="REMOTE:"),
    case("upload", "desk", "{file}", "a\nb", expect="REMOTE:"),
    case("download", "desk", "", expect="REMOTE:"),
    case("download", "desk", " ", expect="REMOTE:"),
    case("download", "desk", ".", expect="REMOTE:"),
    case("download", "desk", "./", expect="REMOTE:"),
    case("download", "desk", "jobs", "{file}", expect="LOCAL:"),
    case("download", "desk", "jobs", "{file}/under", expect="LOCAL:"),
    case("download", "ghost", "jobs", expect="no deployment named 'ghost'"),
    case("download", "", "jobs", expect=NAME_RULE),
    case("metrics", "last", "-d", "ghost", expect="no deployment named 'ghost'"),
]


def tree_digest(root: Path) -> dict[str, tuple]:
    """Every path under root with its type, mode and content hash (or link target)."""
    found: dict[str, tuple] = {}
    if not root.exists():
        return found
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(folder) / name
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                found[str(path.relative_to(root))] = ("link", os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                found[str(path.relative_to(root))] = (
                    "file",
                    info.st_mode,
                    hashlib.sha256(path.read_bytes()).hexdigest(),
                )
            else:
                found[str(path.relative_to(root))] = ("other", info.st_mode)
    return found


@pytest.fixture(scope="module")
def world(tmp_path_factory, request):
    """A state folder with the local deployment `desk`, and the paths the placeholders name."""
    root = tmp_path_factory.mktemp("bad-input")
    state = root / "state"
    state.mkdir(mode=0o700)
    ssh_config = root / "ssh_config"
    ssh_config.touch(mode=0o600)
    cli = Cli(state_dir=state, ssh_config=ssh_config)
    bootstrapped = False
    try:
        image = request.getfixturevalue("standin_image_local")
    except pytest.skip.Exception:
        image = None
    if image:
        cli(
            "deploy",
            "local",
            "--name",
            "desk",
            "--host-dir",
            str(root / "host"),
            "--gpus",
            "none",
            "--image",
            image,
            check=True,
        )
        bootstrapped = True
    else:
        cli("deploy", "local", "--name", "desk", "--host-dir", str(root / "host"), "--skip-bootstrap", check=True)
    (root / "a-file").write_text("not a folder\n")
    (root / "a-dir").mkdir()
    (root / "bad-job.json").write_text('{"trainingConfig": {"numEnvs": "many"}}\n')
    places = {
        "file": str(root / "a-file"),
        "dir": str(root / "a-dir"),
        "missing": str(root / "missing" / "x"),
        "json": str(root / "bad-job.json"),
    }
    return cli, places, bootstrapped


def test_the_table_is_large_enough():
    assert len(CASES) >= 150, len(CASES)


@pytest.mark.parametrize("args, expect, needs_bootstrap", CASES)
def test_bad_input_exits_2_with_one_error_line_and_changes_nothing(world, args, expect, needs_bootstrap):
    cli, places, bootstrapped = world
    if needs_bootstrap and not bootstrapped:
        pytest.skip("needs the stand-in image for a bootstrapped deployment")
    args = [arg.format(**places) for arg in args]
    expect = expect.format(**places)
    home = Path(os.environ["HOME"])
    before = tree_digest(cli.state_dir), tree_digest(home), tree_digest(Path(places["dir"]))
    result = cli(*args, timeout=60)
    after = tree_digest(cli.state_dir), tree_digest(home), tree_digest(Path(places["dir"]))
    shown = f"exit {result.returncode}\n--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    assert result.returncode == 2, shown
    assert result.stdout == "", shown
    lines = result.stderr.splitlines()
    assert lines and lines[0].startswith("error: "), shown
    assert len(lines) <= 2 and all(line.startswith("hint: ") for line in lines[1:]), shown
    assert expect in lines[0], shown
    assert "Traceback" not in result.stderr
    assert before == after, "the state folder, home or a given folder changed"
