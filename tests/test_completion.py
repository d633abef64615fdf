"""Shell completion offers what is in the state folder: deployment names and job ids, not only
commands and flags (bash and zsh, through the scripts `isaacctl --show-completion` prints)."""

from __future__ import annotations

import pytest


def complete(cli, words: str, shell: str = "bash") -> list[str]:
    if shell == "bash":
        env = {"_ISAACCTL_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1)}
    else:
        env = {"_ISAACCTL_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": words}
    result = cli(env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.fixture
def two_desks(cli, tmp_path):
    for name in ("desk", "deep"):
        cli("deploy", "local", "--name", name, "--host-dir", str(tmp_path / name), "--skip-bootstrap", check=True)
    # job records as the store keeps them; completion reads only their names
    jobs = cli.state_dir / "desk" / "jobs"
    jobs.mkdir(mode=0o700)
    for job in ("train-20260101-000000-aaaa", "evaluate-20260102-000000-bbbb"):
        (jobs / f"{job}.json").write_text("{}\n")
    return cli


def test_deployment_names_complete(two_desks):
    assert complete(two_desks, "isaacctl status de") == ["deep", "desk"]
    assert complete(two_desks, "isaacctl destroy des") == ["desk"]
    assert complete(two_desks, "isaacctl logs -d d") == ["deep", "desk"]
    assert complete(two_desks, "isaacctl ssh x") == []


def test_job_ids_complete(two_desks):
    assert set(complete(two_desks, "isaacctl logs ")) == {
        "last",
        "train-20260101-000000-aaaa",
        "evaluate-20260102-000000-bbbb",
    }
    assert complete(two_desks, "isaacctl cancel tr") == ["train-20260101-000000-aaaa"]
    assert complete(two_desks, "isaacctl metrics ev") == ["evaluate-20260102-000000-bbbb"]
    assert complete(two_desks, "isaacctl fetch-logs -d deep ") == ["last"]  # deep has no jobs
    assert complete(two_desks, "isaacctl fetch-logs -d desk tr") == ["train-20260101-000000-aaaa"]


def test_zsh_gets_the_same_names(two_desks):
    assert "desk" in " ".join(complete(two_desks, "isaacctl status de", shell="zsh"))


def test_a_bad_state_dir_completes_nothing_rather_than_failing(cli, tmp_path):
    afile = tmp_path / "a-file"
    afile.write_text("x")
    assert complete(cli, "isaacctl status d") == []
    cli.env["ISAACCTL_STATE_DIR"] = str(afile)
    assert complete(cli, "isaacctl logs t") == []


def test_completion_script_is_only_the_script(cli):
    result = cli("--show-completion", "bash")
    assert result.returncode == 0
    assert result.stdout.rstrip().endswith("complete -o default -F _isaacctl_completion isaacctl")
    assert "_ISAACCTL_COMPLETE=complete_bash" in result.stdout
