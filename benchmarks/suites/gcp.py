"""GCP control plane against the fake Compute Engine on loopback (in this process), driven by
the real google-cloud-compute client: API calls and the time isaacctl itself spends (local work
plus API round trips; waits on the cloud excluded) to plan and create a workstation (deploy
--skip-bootstrap without the SSH wait) and to destroy it, for one node and for two, beside the
AWS suite's figures.

The fake's operations finish when first asked about and its instances run at once, so there
are no cloud waits to exclude; time.sleep is still metered and subtracted. Only loopback is
reached: the tests' loopback guard is installed first.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from suites.aws import _guard_and_harness, _SleepMeter
from suites.common import row


def _one_cycle(fake, state_dir: str, name: str, nodes: int = 1) -> dict:
    from isaacctl.records import DeploymentRecord
    from isaacctl.services.deployments import DeploymentService
    from isaacctl.state import StateStore

    fake.reset()
    service = DeploymentService(StateStore(state_dir))
    figures: dict = {}
    with _SleepMeter() as meter:
        start = time.perf_counter()
        prepared = service.prepare("gcp", name, {"ingress_cidr": "198.51.100.7/32", "nodes": nodes})
        record = DeploymentRecord(name=name, provider="gcp", options=prepared.options.model_dump(mode="json"))
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
    from harness.fake_gcp import FakeGce

    with tempfile.TemporaryDirectory(prefix="isaacctl-bench-gcp-") as work:
        fake = FakeGce(Path(work)).start()
        saved = dict(os.environ)
        for key, value in fake.env().items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        try:
            rows = []
            for nodes in (1, 2):
                label = "1 node" if nodes == 1 else "2 nodes"
                _one_cycle(fake, f"{work}/state", "bench", nodes)  # warm-up: imports, clients
                cycles = [_one_cycle(fake, f"{work}/state", "bench", nodes) for _ in range(repeat)]
                last = cycles[-1]
                rows += [
                    row(f"deploy: Compute Engine API calls ({label})", sum(last["deploy_calls"].values()), "calls"),
                    row(f"deploy: control-plane time ({label})", statistics.median(c["deploy_s"] for c in cycles)),
                    row(f"destroy: Compute Engine API calls ({label})", sum(last["destroy_calls"].values()), "calls"),
                    row(f"destroy: control-plane time ({label})", statistics.median(c["destroy_s"] for c in cycles)),
                ]
                for phase in ("deploy_calls", "destroy_calls"):
                    detail = ", ".join(
                        f"{action.removeprefix('compute.')} {count}" for action, count in sorted(last[phase].items())
                    )
                    print(f"  {phase.split('_')[0]} calls ({label}): {detail}", flush=True)
            return rows
        finally:
            os.environ.clear()
            os.environ.update(saved)
            fake.stop()
