"""Start-up: `isaacctl --help` and `isaacctl list` over 50 deployments, beside `python -c pass`."""

from __future__ import annotations

import sys
import tempfile

from suites.common import isaacctl_argv, median_seconds, row


def _fifty_deployments(state_dir: str) -> None:
    from isaacctl.records import DeploymentRecord, Node, SshEndpoint
    from isaacctl.state import StateStore

    store = StateStore(state_dir)
    for index in range(50):
        name = f"ws{index:02d}"
        endpoint = SshEndpoint(host=f"198.51.100.{index}", host_key_alias=name)
        store.save(
            DeploymentRecord(
                name=name,
                provider="ssh",
                status="ready",
                options={"host": endpoint.host},
                nodes=[Node(public_ip=endpoint.host, ssh=endpoint)],
            )
        )


def run(repeat: int | None = None) -> list[dict]:
    repeat = repeat or 21
    python = median_seconds([sys.executable, "-c", "pass"], repeat)
    with tempfile.TemporaryDirectory() as state_dir:
        _fifty_deployments(state_dir)
        env = {"ISAACCTL_STATE_DIR": state_dir, "NO_COLOR": "1"}
        help_time = median_seconds(isaacctl_argv("--help"), repeat, env)
        list_time = median_seconds(isaacctl_argv("list"), repeat, env)
    return [
        row("python -c pass (reference)", python),
        row("isaacctl --help", help_time, reference=python, against="python", goal="<= 0.15 s"),
        row("isaacctl list (50 deployments)", list_time, reference=python, against="python", goal="<= 0.30 s"),
    ]
