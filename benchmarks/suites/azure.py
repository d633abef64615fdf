"""Azure control plane against the fake Azure Resource Manager on loopback (in this process;
tests/harness/fake_azure.py, HTTPS with a throwaway CA, driven by the real azure-mgmt clients
and azure-identity): Resource Manager requests and the time isaacctl itself spends (local work
plus round trips, waits on the cloud excluded) to plan and create a workstation (deploy
--skip-bootstrap without the SSH wait) and to destroy it, for one node and for two.

Requests are counted as Azure would bill them against the subscription's read/write limits:
every GET, PUT, POST and DELETE, long-running-operation polls included (also shown apart);
token requests are not Resource Manager's and are not counted. Each long-running operation
answers "InProgress" once before it succeeds, as small operations often do on Azure; polls are
made at once (ISAACCTL_AZURE_POLL_SECONDS=0) and the metered sleep is subtracted
(deploy_calls.cycle, shared with the other clouds' suites)."""

from __future__ import annotations

from suites.common import row
from suites.deploy_calls import EMULATORS, describe, measure, running


def run(repeat: int | None = None) -> list[dict]:
    repeat = repeat or 5
    emulator = EMULATORS["azure"]
    rows = []
    with running(emulator) as (server, work):
        for nodes in (1, 2):
            label = "1 node" if nodes == 1 else "2 nodes"
            figures = measure(emulator, server, work, repeat, nodes)
            for phase in ("deploy", "destroy"):
                calls = figures[f"{phase}_calls"]
                rows += [
                    row(f"{phase}: Resource Manager requests ({label})", sum(calls.values()), "calls"),
                    row(f"{phase}: of which operation polls ({label})", calls.get("poll", 0), "calls"),
                    row(f"{phase}: control-plane time ({label})", figures[f"{phase}_s"]),
                ]
                print(f"  {phase} requests ({label}): {describe(calls)}", flush=True)
    return rows
