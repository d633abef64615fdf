"""Azure control plane against the fake Azure Resource Manager on loopback (in this process;
tests/harness/fake_azure.py, HTTPS with a throwaway CA, driven by the real azure-mgmt clients
and azure-identity): Resource Manager requests and the time isaacctl itself spends (local work
plus round trips, waits on the cloud excluded) to plan and create a workstation (deploy
--skip-bootstrap without the SSH wait) and to destroy it, for one node and for two.

Requests are counted as Azure would bill them against the subscription's read/write limits:
every GET, PUT, POST and DELETE, long-running-operation polls included (listed apart); token
requests are not Resource Manager's and are listed apart too. Each long-running operation
answers "InProgress" once before it succeeds, as small operations often do on Azure; polls are
made at once (ISAACCTL_AZURE_POLL_SECONDS=0) and time.sleep is wrapped and subtracted, so no
wait on the cloud counts. Only loopback is reached: the tests' loopback guard is installed
first."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from suites.aws import _guard_and_harness, _SleepMeter
from suites.common import row


def _counts(server) -> Counter:
    return Counter(server.ops())


def _one_cycle(server, state_dir: str, name: str, nodes: int = 1) -> dict:
    from isaacctl.records import DeploymentRecord
    from isaacctl.services.deployments import DeploymentService
    from isaacctl.state import StateStore

    server.reset()
    service = DeploymentService(StateStore(state_dir))
    figures: dict = {}
    with _SleepMeter() as meter:
        start = time.perf_counter()
        prepared = service.prepare("azure", name, {"ingress_cidr": "198.51.100.7/32", "nodes": nodes})
        record = DeploymentRecord(name=name, provider="azure", options=prepared.options.model_dump(mode="json"))
        with service.store.lock(name, create=True):
            service.store.create(record)
            record.nodes = prepared.provider.create(service.context(record, prepared.options, prepared.plan))
            service.store.save(record)
        figures["deploy_s"] = time.perf_counter() - start - meter.slept
    figures["deploy_calls"] = _counts(server)
    server.calls.clear()
    with _SleepMeter() as meter:
        start = time.perf_counter()
        service.destroy(name)
        figures["destroy_s"] = time.perf_counter() - start - meter.slept
    figures["destroy_calls"] = _counts(server)
    return figures


def _arm(calls: Counter) -> int:
    return sum(count for op, count in calls.items() if op != "token")


def run(repeat: int | None = None) -> list[dict]:
    repeat = repeat or 5
    _guard_and_harness()
    from harness.fake_azure import FakeAzure

    with tempfile.TemporaryDirectory(prefix="isaacctl-bench-azure-") as work:
        server = FakeAzure(Path(work)).start()
        saved = dict(os.environ)
        os.environ.update({k: v for k, v in server.env().items() if v is not None})
        for key in [k for k, v in server.env().items() if v is None]:
            os.environ.pop(key, None)
        try:
            rows = []
            for nodes in (1, 2):
                label = "1 node" if nodes == 1 else "2 nodes"
                _one_cycle(server, f"{work}/state", "bench", nodes)  # warm-up: imports, first token
                cycles = [_one_cycle(server, f"{work}/state", "bench", nodes) for _ in range(repeat)]
                last = cycles[-1]
                for phase in ("deploy", "destroy"):
                    calls = last[f"{phase}_calls"]
                    rows += [
                        row(f"{phase}: Resource Manager requests ({label})", _arm(calls), "calls"),
                        row(f"{phase}: of which operation polls ({label})", calls.get("poll", 0), "calls"),
                        row(
                            f"{phase}: control-plane time ({label})", statistics.median(c[f"{phase}_s"] for c in cycles)
                        ),
                    ]
                    detail = ", ".join(f"{op} {count}" for op, count in sorted(calls.items()))
                    print(f"  {phase} requests ({label}): {detail}", flush=True)
            return rows
        finally:
            os.environ.clear()
            os.environ.update(saved)
            server.stop()
