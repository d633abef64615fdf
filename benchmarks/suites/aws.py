"""AWS control plane against moto on loopback (in this process): EC2 API calls and the time
isaacctl itself spends (local work plus API round trips, waits on the cloud excluded) to plan
and create a workstation (deploy --skip-bootstrap without the SSH wait) and to destroy it, for
one node and for two (one RunInstances for both, a placement group, a rule between them).

moto answers at once and its instances run at once, so there are no cloud waits to exclude
here; time.sleep is still wrapped and its total subtracted, so a poll that slept would not
count. Only loopback is reached: the tests' loopback guard is installed first.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from suites.common import row

REPO = Path(__file__).resolve().parents[2]


def _guard_and_harness() -> None:
    for folder in (REPO / "tests" / "guard", REPO / "tests"):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    import loopback_guard

    loopback_guard.install()


class _SleepMeter:
    """Counts the seconds spent in time.sleep (waits on the cloud) while active."""

    def __init__(self) -> None:
        self.slept = 0.0
        self._real = time.sleep

    def __enter__(self) -> _SleepMeter:
        def sleep(seconds: float) -> None:
            self.slept += seconds
            self._real(seconds)

        time.sleep = sleep  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep = self._real  # type: ignore[assignment]


def _one_cycle(server, state_dir: str, name: str, default_vpc: bool, nodes: int = 1) -> dict:
    from isaacctl.records import DeploymentRecord
    from isaacctl.services.deployments import DeploymentService
    from isaacctl.state import StateStore

    server.reset()
    if not default_vpc:
        server.delete_default_vpc()
    server.faults.calls.clear()
    service = DeploymentService(StateStore(state_dir))
    figures: dict = {}

    with _SleepMeter() as meter:
        start = time.perf_counter()
        prepared = service.prepare("aws", name, {"ingress_cidr": "198.51.100.7/32", "nodes": nodes})
        record = DeploymentRecord(name=name, provider="aws", options=prepared.options.model_dump(mode="json"))
        with service.store.lock(name, create=True):
            service.store.create(record)
            record.nodes = prepared.provider.create(service.context(record, prepared.options, prepared.plan))
            service.store.save(record)
        figures["deploy_s"] = time.perf_counter() - start - meter.slept
    figures["deploy_calls"] = Counter(server.faults.actions("ec2"))
    server.faults.calls.clear()

    with _SleepMeter() as meter:
        start = time.perf_counter()
        service.destroy(name)
        figures["destroy_s"] = time.perf_counter() - start - meter.slept
    figures["destroy_calls"] = Counter(server.faults.actions("ec2"))
    return figures


def run(repeat: int | None = None) -> list[dict]:
    repeat = repeat or 5
    _guard_and_harness()
    from harness.moto_server import MotoServer

    with tempfile.TemporaryDirectory(prefix="isaacctl-bench-aws-") as work:
        server = MotoServer(Path(work)).start()
        saved = dict(os.environ)
        os.environ.update({k: v for k, v in server.env().items() if v is not None})
        for key in [k for k, v in server.env().items() if v is None]:
            os.environ.pop(key, None)
        try:
            rows = []
            for default_vpc in (True, False):
                label = "default VPC" if default_vpc else "no default VPC"
                _one_cycle(server, f"{work}/state", "bench", default_vpc)  # warm-up: imports, moto's first region
                cycles = [_one_cycle(server, f"{work}/state", "bench", default_vpc) for _ in range(repeat)]
                last = cycles[-1]
                rows += [
                    row(f"deploy: EC2 API calls ({label})", sum(last["deploy_calls"].values()), "calls"),
                    row(f"deploy: control-plane time ({label})", statistics.median(c["deploy_s"] for c in cycles)),
                    row(f"destroy: EC2 API calls ({label})", sum(last["destroy_calls"].values()), "calls"),
                    row(f"destroy: control-plane time ({label})", statistics.median(c["destroy_s"] for c in cycles)),
                ]
                if default_vpc:
                    for phase in ("deploy_calls", "destroy_calls"):
                        detail = ", ".join(f"{action} {count}" for action, count in sorted(last[phase].items()))
                        print(f"  {phase.split('_')[0]} calls ({label}): {detail}", flush=True)
            # two nodes, default VPC: beside the one-node figures above
            _one_cycle(server, f"{work}/state", "bench", True, nodes=2)
            cycles = [_one_cycle(server, f"{work}/state", "bench", True, nodes=2) for _ in range(repeat)]
            last = cycles[-1]
            rows += [
                row("deploy: EC2 API calls (2 nodes, default VPC)", sum(last["deploy_calls"].values()), "calls"),
                row(
                    "deploy: control-plane time (2 nodes, default VPC)",
                    statistics.median(c["deploy_s"] for c in cycles),
                ),
                row("destroy: EC2 API calls (2 nodes, default VPC)", sum(last["destroy_calls"].values()), "calls"),
                row(
                    "destroy: control-plane time (2 nodes, default VPC)",
                    statistics.median(c["destroy_s"] for c in cycles),
                ),
            ]
            for phase in ("deploy_calls", "destroy_calls"):
                detail = ", ".join(f"{action} {count}" for action, count in sorted(last[phase].items()))
                print(f"  {phase.split('_')[0]} calls (2 nodes, default VPC): {detail}", flush=True)
            return rows
        finally:
            os.environ.clear()
            os.environ.update(saved)
            server.stop()
