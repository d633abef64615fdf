"""Alibaba Cloud control plane against the fake ECS/VPC server on loopback (in this process,
driven by the real alibabacloud SDK, every request signed and checked): API calls and the time
isaacctl itself spends (local work plus API round trips, waits on the cloud excluded) to plan
and create a workstation (deploy --skip-bootstrap without the SSH wait) and to destroy it, for
one node and for two (one RunInstances for both, a deployment set, a rule between them), with
the region's default VPC and without one (a VPC and vSwitch made and deleted).

The fake shows a new VPC and a new instance as Pending once, so each deploy polls once:
time.sleep is wrapped and its total subtracted. Only loopback is reached: the tests' loopback
guard is installed first.
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


def _one_cycle(fake, state_dir: str, name: str, default_vpc: bool, nodes: int = 1) -> dict:
    from isaacctl.records import DeploymentRecord
    from isaacctl.services.deployments import DeploymentService
    from isaacctl.state import StateStore

    fake.reset()
    if not default_vpc:
        fake.delete_default_vpc()
    service = DeploymentService(StateStore(state_dir))
    figures: dict = {}

    with _SleepMeter() as meter:
        start = time.perf_counter()
        prepared = service.prepare("alibaba", name, {"ingress_cidr": "198.51.100.7/32", "nodes": nodes})
        record = DeploymentRecord(name=name, provider="alibaba", options=prepared.options.model_dump(mode="json"))
        with service.store.lock(name, create=True):
            service.store.create(record)
            record.nodes = prepared.provider.create(service.context(record, prepared.options, prepared.plan))
            service.store.save(record)
        figures["deploy_s"] = time.perf_counter() - start - meter.slept
    figures["deploy_calls"] = Counter(fake.actions())
    fake.calls.clear()

    with _SleepMeter() as meter:
        start = time.perf_counter()
        service.destroy(name)
        figures["destroy_s"] = time.perf_counter() - start - meter.slept
    figures["destroy_calls"] = Counter(fake.actions())
    return figures


def run(repeat: int | None = None) -> list[dict]:
    repeat = repeat or 5
    _guard_and_harness()
    from harness.fake_alibaba import FakeAlibaba

    with tempfile.TemporaryDirectory(prefix="isaacctl-bench-alibaba-") as work:
        fake = FakeAlibaba().start()
        saved = dict(os.environ)
        os.environ.update({k: v for k, v in fake.env().items() if v is not None})
        for key in [k for k, v in fake.env().items() if v is None]:
            os.environ.pop(key, None)
        try:
            rows = []
            for default_vpc, nodes in ((True, 1), (False, 1), (True, 2)):
                label = ("2 nodes, " if nodes > 1 else "") + ("default VPC" if default_vpc else "no default VPC")
                _one_cycle(fake, f"{work}/state", "bench", default_vpc, nodes)  # warm-up: imports, SDK models
                cycles = [_one_cycle(fake, f"{work}/state", "bench", default_vpc, nodes) for _ in range(repeat)]
                last = cycles[-1]
                rows += [
                    row(f"deploy: ECS/VPC API calls ({label})", sum(last["deploy_calls"].values()), "calls"),
                    row(f"deploy: control-plane time ({label})", statistics.median(c["deploy_s"] for c in cycles)),
                    row(f"destroy: ECS/VPC API calls ({label})", sum(last["destroy_calls"].values()), "calls"),
                    row(f"destroy: control-plane time ({label})", statistics.median(c["destroy_s"] for c in cycles)),
                ]
                for phase in ("deploy_calls", "destroy_calls"):
                    detail = ", ".join(f"{action} {count}" for action, count in sorted(last[phase].items()))
                    print(f"  {phase.split('_')[0]} calls ({label}): {detail}", flush=True)
            return rows
        finally:
            os.environ.clear()
            os.environ.update(saved)
            fake.stop()
