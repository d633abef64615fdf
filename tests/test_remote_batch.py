"""remote/batch.py: several commands in one session, on the loopback sshd and on this machine."""

from __future__ import annotations

import pytest

from isaacctl.records import SshEndpoint
from isaacctl.remote.batch import Command, run_batch
from isaacctl.remote.local import LocalRemote
from isaacctl.remote.ssh import SshRemote


@pytest.fixture(params=["ssh", "local"])
def remote(request, tmp_path):
    if request.param == "local":
        yield LocalRemote()
        return
    config = request.getfixturevalue("sshd").write_ssh_config(tmp_path / "ssh_config", ["box"])
    with SshRemote(SshEndpoint(host="box", host_key_alias="box"), tmp_path / "known_hosts", ssh_config=config) as host:
        yield host


def test_each_command_gets_its_own_status_output_stdin_and_environment(remote):
    commands = [
        Command.of(["true"]),
        Command.of(["bash", "-s", "--", "a b"], stdin=b'echo "$1"; echo to-stderr >&2; exit 3'),
        Command.of(["sh", "-c", "printf '\\377\\000x'; cat"]),  # bytes that are not UTF-8; no stdin: EOF
        Command.of(["sh", "-c", 'echo "$ISAACCTL_X"'], env={"ISAACCTL_X": 'it\'s "quoted" $HOME'}),
        Command.of(["cat"], stdin=bytes(range(256))),
    ]
    results = run_batch(remote, commands)
    assert [r.exit_status for r in results if r] == [0, 3, 0, 0, 0]
    assert (results[1].stdout, results[1].stderr) == ("a b\n", "to-stderr\n")
    assert results[2].stdout == "\ufffd\x00x"
    assert results[3].stdout == 'it\'s "quoted" $HOME\n'
    assert results[4].stdout == bytes(range(256)).decode(errors="replace")
    assert [r.argv for r in results if r] == [c.argv for c in commands]


def test_the_first_commands_run_in_order_and_the_rest_at_once(remote):
    commands = [Command.of(["sh", "-c", "sleep 0.5; date +%s.%N"])] + [
        Command.of(["sh", "-c", "date +%s.%N; sleep 1.5; date +%s.%N"]) for _ in range(3)
    ]
    results = run_batch(remote, commands, in_order=1)
    first_done = float(results[0].stdout)
    starts = [float(r.stdout.split()[0]) for r in results[1:]]
    ends = [float(r.stdout.split()[1]) for r in results[1:]]
    assert min(starts) >= first_done  # the ordered one finished before the others began
    assert max(starts) < min(ends)  # the three were running at the same time


def test_a_host_that_cannot_run_the_batch_answers_nothing_rather_than_wrongly(tmp_path):
    class NoShell(LocalRemote):
        def run(self, argv, **kwargs):  # a login shell that cannot start sh: nothing useful back
            return super().run(["sh", "-c", "echo garbage; exit 127"], timeout=kwargs.get("timeout"))

    assert run_batch(NoShell(), [Command.of(["true"]), Command.of(["false"])]) == [None, None]
