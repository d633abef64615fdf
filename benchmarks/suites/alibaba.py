"""Alibaba Cloud control plane against the fake ECS/VPC server on loopback (in this process,
driven by the real alibabacloud SDK, every request signed and checked): API calls and the time
isaacctl itself spends (local work plus API round trips, waits on the cloud excluded) to plan
and create a workstation (deploy --skip-bootstrap without the SSH wait) and to destroy it, for
one node and for two (one RunInstances for both, a deployment set, a rule between them), with
the region's default VPC and without one (a VPC and vSwitch made and deleted).

The fake shows a new VPC and a new instance as Pending once, so each deploy polls once; the
metered sleep is subtracted (deploy_calls.cycle, shared with the other clouds' suites).
"""

from __future__ import annotations

from suites.common import row
from suites.deploy_calls import EMULATORS, describe, measure, running


def run(repeat: int | None = None) -> list[dict]:
    repeat = repeat or 5
    emulator = EMULATORS["alibaba"]
    rows = []
    with running(emulator) as (server, work):
        for default_vpc, nodes in ((True, 1), (False, 1), (True, 2)):
            label = ("2 nodes, " if nodes > 1 else "") + ("default VPC" if default_vpc else "no default VPC")
            figures = measure(emulator, server, work, repeat, nodes, default_vpc)
            for phase in ("deploy", "destroy"):
                calls = figures[f"{phase}_calls"]
                rows += [
                    row(f"{phase}: ECS/VPC API calls ({label})", sum(calls.values()), "calls"),
                    row(f"{phase}: control-plane time ({label})", figures[f"{phase}_s"]),
                ]
                print(f"  {phase} calls ({label}): {describe(calls)}", flush=True)
    return rows
