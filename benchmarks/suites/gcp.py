"""GCP control plane against the fake Compute Engine on loopback (in this process), driven by
the real google-cloud-compute client: API calls and the time isaacctl itself spends (local work
plus API round trips; waits on the cloud excluded) to plan and create a workstation (deploy
--skip-bootstrap without the SSH wait) and to destroy it, for one node and for two.

The fake's operations finish when first asked about and its instances run at once; the cycle
is deploy_calls.cycle, shared with the other clouds' suites.
"""

from __future__ import annotations

from suites.common import row
from suites.deploy_calls import EMULATORS, describe, measure, running


def run(repeat: int | None = None) -> list[dict]:
    repeat = repeat or 5
    emulator = EMULATORS["gcp"]
    rows = []
    with running(emulator) as (server, work):
        for nodes in (1, 2):
            label = "1 node" if nodes == 1 else "2 nodes"
            figures = measure(emulator, server, work, repeat, nodes)
            for phase in ("deploy", "destroy"):
                calls = figures[f"{phase}_calls"]
                rows += [
                    row(f"{phase}: Compute Engine API calls ({label})", sum(calls.values()), "calls"),
                    row(f"{phase}: control-plane time ({label})", figures[f"{phase}_s"]),
                ]
                print(f"  {phase} calls ({label}): {describe(calls)}", flush=True)
    return rows
