"""Deploy and destroy against every cloud's emulator, in one table: API calls (by operation
name, from the emulator's own request log) and the time isaacctl itself spends (local work plus
API round trips; waits on the cloud excluded) for 1 and 2 nodes.

Each cloud runs in this process against its loopback emulator (moto for AWS, the fakes under
tests/harness for GCP, Azure and Alibaba), driven by the real SDKs. A "deploy" is what
`deploy --skip-bootstrap` does before the SSH wait: prepare (credentials, the check that the
name is not another deployment's, the plan), then create. The emulators answer at once, but
some polls still sleep; time.sleep is metered and its total subtracted. Every time is also
shown as a ratio against AWS's 1-node figure of the same run, since the seconds move with the
machine's load. Only loopback is reached: the tests' loopback guard is installed first.

The per-cloud suites (aws, gcp, azure, alibaba) reuse `Emulator` and `cycle` for the cases
only they cover (no default VPC, Azure's operation polls).
"""

from __future__ import annotations

import atexit
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from suites.common import row

REPO = Path(__file__).resolve().parents[2]
INGRESS = "198.51.100.7/32"


def guard_and_harness() -> None:
    """The tests' harness on the path, and nothing but loopback reachable."""
    for folder in (REPO / "tests" / "guard", REPO / "tests"):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    import loopback_guard

    loopback_guard.install()


class SleepMeter:
    """Counts the seconds spent in time.sleep (waits on the cloud) while active."""

    def __init__(self) -> None:
        self.slept = 0.0
        self._real = time.sleep

    def __enter__(self) -> SleepMeter:
        def sleep(seconds: float) -> None:
            self.slept += seconds
            self._real(seconds)

        time.sleep = sleep  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep = self._real  # type: ignore[assignment]


@dataclass(frozen=True)
class Emulator:
    """How to start one cloud's emulator and read its request log."""

    provider: str
    api: str  # what its calls are, in the cloud's words
    start: Callable[[Path], Any]
    operations: Callable[[Any], list[str]]  # the log since the last clear, billable calls only
    clear: Callable[[Any], None]
    without_default_vpc: Callable[[Any], None] | None = None


def _aws(work: Path) -> Any:
    from harness.moto_server import MotoServer

    return MotoServer(work).start()


def _gcp(work: Path) -> Any:
    from harness.fake_gcp import FakeGce

    return FakeGce(work).start()


def _azure(work: Path) -> Any:
    from harness.fake_azure import FakeAzure

    return FakeAzure(work).start()


def _alibaba(work: Path) -> Any:
    from harness.fake_alibaba import FakeAlibaba

    return FakeAlibaba().start()


EMULATORS = {
    "aws": Emulator(
        "aws",
        "EC2 calls",
        _aws,
        lambda s: s.faults.actions("ec2"),
        lambda s: s.faults.calls.clear(),
        lambda s: s.delete_default_vpc(),
    ),
    "gcp": Emulator(
        "gcp",
        "Compute Engine calls",
        _gcp,
        lambda s: [a.removeprefix("compute.") for a in s.actions()],
        lambda s: s.calls.clear(),
    ),
    # Resource Manager requests as Azure counts them against the subscription's limits: every
    # GET/PUT/POST/DELETE, operation polls included; token requests are Entra ID's, not ARM's.
    "azure": Emulator(
        "azure",
        "Resource Manager requests",
        _azure,
        lambda s: [op for op in s.ops() if op != "token"],
        lambda s: s.calls.clear(),
    ),
    "alibaba": Emulator(
        "alibaba",
        "ECS/VPC calls",
        _alibaba,
        lambda s: s.actions(),
        lambda s: s.calls.clear(),
        lambda s: s.delete_default_vpc(),
    ),
}


# One emulator per cloud for the whole process: the SDK clients, sessions and credentials
# isaacctl caches per process would still point at an emulator stopped and started again.
_STARTED: dict[str, tuple[Any, str]] = {}


def _started(emulator: Emulator) -> tuple[Any, str]:
    if emulator.provider not in _STARTED:
        work = tempfile.mkdtemp(prefix=f"isaacctl-bench-{emulator.provider}-")
        server = emulator.start(Path(work))

        def stop() -> None:
            server.stop()
            shutil.rmtree(work, ignore_errors=True)

        atexit.register(stop)
        _STARTED[emulator.provider] = (server, work)
    return _STARTED[emulator.provider]


@contextmanager
def running(emulator: Emulator) -> Iterator[tuple[Any, str]]:
    """The cloud's emulator (started on first use), this process's environment pointed at it;
    yields (server, an empty folder for state)."""
    guard_and_harness()
    server, work = _started(emulator)
    saved = dict(os.environ)
    for key, value in server.env().items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield server, tempfile.mkdtemp(dir=work)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def cycle(emulator: Emulator, server: Any, state_dir: str, nodes: int = 1, default_vpc: bool = True) -> dict:
    """One deploy and destroy from an empty cloud: their seconds and Counters of calls."""
    from isaacctl.records import DeploymentRecord
    from isaacctl.services.deployments import DeploymentService
    from isaacctl.state import StateStore

    server.reset()
    if not default_vpc and emulator.without_default_vpc is not None:
        emulator.without_default_vpc(server)
    emulator.clear(server)
    service = DeploymentService(StateStore(state_dir))
    figures: dict = {}
    with SleepMeter() as meter:
        start = time.perf_counter()
        prepared = service.prepare(emulator.provider, "bench", {"ingress_cidr": INGRESS, "nodes": nodes})
        options = prepared.options.model_dump(mode="json")
        record = DeploymentRecord(name="bench", provider=emulator.provider, options=options)
        with service.store.lock("bench", create=True):
            service.store.create(record)
            record.nodes = prepared.provider.create(service.context(record, prepared.options, prepared.plan))
            service.store.save(record)
        figures["deploy_s"] = time.perf_counter() - start - meter.slept
    figures["deploy_calls"] = Counter(emulator.operations(server))
    emulator.clear(server)
    with SleepMeter() as meter:
        start = time.perf_counter()
        service.destroy("bench")
        figures["destroy_s"] = time.perf_counter() - start - meter.slept
    figures["destroy_calls"] = Counter(emulator.operations(server))
    return figures


def measure(emulator: Emulator, server: Any, work: str, repeat: int, nodes: int, default_vpc: bool = True) -> dict:
    """Median seconds over `repeat` cycles after two warm-up ones (imports, first token, SDK
    models, the emulator's own first requests: the second cycle is still slower than the
    rest); the calls of the last cycle (they are the same every time)."""
    for _ in range(2):
        cycle(emulator, server, f"{work}/state", nodes, default_vpc)
    cycles = [cycle(emulator, server, f"{work}/state", nodes, default_vpc) for _ in range(repeat)]
    return {
        "deploy_s": statistics.median(c["deploy_s"] for c in cycles),
        "destroy_s": statistics.median(c["destroy_s"] for c in cycles),
        "deploy_calls": cycles[-1]["deploy_calls"],
        "destroy_calls": cycles[-1]["destroy_calls"],
    }


def describe(calls: Counter) -> str:
    return ", ".join(f"{operation} {count}" for operation, count in sorted(calls.items()))


def run(repeat: int | None = None) -> list[dict]:
    repeat = repeat or 3
    rows: list[dict] = []
    reference: dict[str, float] = {}
    for provider, emulator in EMULATORS.items():
        with running(emulator) as (server, work):
            for nodes in (1, 2):
                figures = measure(emulator, server, work, repeat, nodes)
                label = f"{provider}, {nodes} node{'s' if nodes > 1 else ''}"
                for phase in ("deploy", "destroy"):
                    calls = figures[f"{phase}_calls"]
                    seconds = figures[f"{phase}_s"]
                    reference.setdefault(phase, seconds)  # AWS, 1 node: the first measured
                    rows.append(
                        row(f"{label}: {phase} {emulator.api}", sum(calls.values()), "calls")
                        | {"calls": dict(sorted(calls.items())), "table": {"row": label, "column": f"{phase} calls"}}
                    )
                    rows.append(
                        row(
                            f"{label}: {phase} control-plane time",
                            seconds,
                            reference=reference[phase],
                            against=f"aws, 1 node {phase}",
                        )
                        | {"table": {"row": label, "column": f"{phase} s"}}
                    )
                    print(f"  {label} {phase}: {describe(calls)}", flush=True)
    return rows
