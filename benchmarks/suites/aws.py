"""AWS control plane against moto on loopback (in this process): EC2 API calls and the time
isaacctl itself spends (local work plus API round trips, waits on the cloud excluded) to plan
and create a workstation (deploy --skip-bootstrap without the SSH wait) and to destroy it, for
one node and for two (one RunInstances for both, a placement group, a rule between them), with
the region's default VPC and without one (a VPC, subnet, gateway and route made and deleted).

The cycle itself is deploy_calls.cycle, shared with the other clouds' suites.
"""

from __future__ import annotations

from suites.common import row
from suites.deploy_calls import EMULATORS, describe, measure, running


def run(repeat: int | None = None) -> list[dict]:
    repeat = repeat or 5
    emulator = EMULATORS["aws"]
    rows = []
    with running(emulator) as (server, work):
        for default_vpc, nodes in ((True, 1), (False, 1), (True, 2)):
            label = ("2 nodes, " if nodes > 1 else "") + ("default VPC" if default_vpc else "no default VPC")
            figures = measure(emulator, server, work, repeat, nodes, default_vpc)
            for phase in ("deploy", "destroy"):
                calls = figures[f"{phase}_calls"]
                rows += [
                    row(f"{phase}: EC2 API calls ({label})", sum(calls.values()), "calls"),
                    row(f"{phase}: control-plane time ({label})", figures[f"{phase}_s"]),
                ]
                print(f"  {phase} calls ({label}): {describe(calls)}", flush=True)
    return rows
