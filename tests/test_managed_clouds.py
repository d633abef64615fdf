"""Managed training on spot (issue 15) on the GCP, Azure and Alibaba fakes: each cloud's own
preemption hook takes the machine back mid-run (GCP `preempt`, Azure `evict`, Alibaba
`reclaim`), and `isaacctl watch --once`, run in a loop, brings the job back to the end.

isaacctl asks every cloud for stop-style preemption (GCP instanceTerminationAction STOP, Azure
evictionPolicy Deallocate, Alibaba SpotInterruptionBehavior Stop), so a preempted machine is
stopped with its disk kept, and recovery starts it again in place. A new instance comes when
the zone has no room to start it again: the cloud refuses the start with its capacity error,
and recovery deletes everything the deployment had by its tags and deploys again in the next
zone from the checkpoint synced home. How the machine itself is taken away (the job's container
killed; its folders deleted when the disk goes): tests/harness/managed.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.azure_fixtures import (  # noqa: F401 - the fixtures this module uses
    azure_fixture,
    fake_azure_server_fixture,
    routed_azure_fixture,
    sshd_twin_fixture,
)
from harness.fake_gcp import capacity
from harness.managed import (
    NAME,
    SAVE,
    TOTAL,
    check_every_iteration_once,
    check_resumed_from_home,
    home_checkpoints,
    iterations,
    job_of,
    outputs_of,
    slow_image_fixture,  # noqa: F401 - the fixture this module's tests use
    start_managed,
    status,
    take_machine,
    until_finished,
    until_synced,
)
from harness.own_containers import remove_containers

pytest_plugins = ["harness.gcp_fixtures", "harness.alibaba_fixtures"]  # gcp_routed; routed (Alibaba)
pytestmark = pytest.mark.docker


class Gcp:
    """Compute Engine: a Spot VM preempted with instanceTerminationAction STOP goes TERMINATED."""

    deploy = ("gcp", "--spot")

    def __init__(self, fake: Any) -> None:
        self.fake = fake

    def _instance(self, instance_id: str) -> dict[str, Any]:
        return next(i for i in self.fake.instances() if i["id"] == instance_id)

    def preempt(self, instance_id: str) -> None:
        self.fake.preempt(self._instance(instance_id)["name"])

    def kept(self, instance_id: str) -> bool:
        return self._instance(instance_id)["status"] == "TERMINATED"

    def no_room_to_start(self, zone: str) -> None:
        self.fake.inject(capacity(zone, action="compute.instances.start"))

    def tagged(self) -> list[tuple[str, str]]:
        return self.fake.labelled(NAME)

    def machines(self) -> list[str]:
        """Each tagged machine's own id: a new one is a new machine, whatever its name."""
        return [i["id"] for i in self.fake.instances() if i.get("labels", {}).get("isaacctl-deployment") == NAME]


class Azure:
    """Azure: a Spot VM evicted with evictionPolicy Deallocate is deallocated, its disk kept."""

    deploy = ("azure", "--spot", "--size", "Standard_NC8as_T4_v3")

    def __init__(self, fake: Any) -> None:
        self.fake = fake

    def _vm(self) -> dict[str, Any]:
        (vm,) = self.fake.vms(NAME)
        return vm

    def preempt(self, instance_id: str) -> None:
        vm = self._vm()
        assert vm["name"] == instance_id
        self.fake.evict(vm["id"])

    def kept(self, instance_id: str) -> bool:
        return self._vm()["_power"] == "deallocated"

    def no_room_to_start(self, zone: str) -> None:
        self.fake.inject("vm.start", "AllocationFailed", zone=zone, asynchronous=True)

    def tagged(self) -> list[tuple[str, str]]:
        return self.fake.tagged(NAME)

    def machines(self) -> list[str]:
        # a redeployed VM has the same name (it comes of the deployment's id): vmId tells them apart
        return [vm["properties"]["vmId"] for vm in self.fake.vms(NAME)]


class Alibaba:
    """ECS: a spot instance reclaimed with SpotInterruptionBehavior Stop is stopped, disk kept."""

    deploy = ("alibaba", "--spot", "--instance-type", "ecs.g7.xlarge")

    def __init__(self, fake: Any) -> None:
        self.fake = fake

    def preempt(self, instance_id: str) -> None:
        self.fake.reclaim(instance_id)

    def kept(self, instance_id: str) -> bool:
        return [i["Status"] for i in self.fake.instances_of(NAME) if i["InstanceId"] == instance_id] == ["Stopped"]

    def no_room_to_start(self, zone: str) -> None:
        self.fake.inject("StartInstances", "OperationDenied.NoStock", status=403)

    def tagged(self) -> list[tuple[str, str]]:
        return self.fake.live(NAME)

    def machines(self) -> list[str]:
        return [i["InstanceId"] for i in self.fake.instances_of(NAME)]


CLOUDS = {"gcp": (Gcp, "gcp_routed"), "azure": (Azure, "routed_azure"), "alibaba": (Alibaba, "routed")}


@pytest.fixture(params=sorted(CLOUDS))
def workstation(request, cli, slow_image):  # noqa: F811 - the fixture imported above
    """A spot deployment on one cloud's fake, bootstrapped with the slow stand-in."""
    kind, fixture = CLOUDS[request.param]
    cloud = kind(request.getfixturevalue(fixture))
    made = cli("deploy", *cloud.deploy[:1], "--name", NAME, "--yes", *cloud.deploy[1:], "--gpus", "none",
               "--image", slow_image, timeout=900)  # fmt: skip
    assert made.returncode == 0, made.stderr
    record = status(cli)
    assert record["market"] == "spot"
    yield cloud, record
    remove_containers([record["id"]])  # the fakes are reset for each test; the host's Docker is not


def newest_on_host(job: dict) -> int:
    names = [p.name for p in Path(job["host_dir"]).rglob("model_*.pt")]
    return max(int(n.removeprefix("model_").removesuffix(".pt")) for n in names)


def kinds(resources: list[tuple[str, str]]) -> list[str]:
    return sorted(kind for kind, _ in resources)


def test_a_preempted_spot_machine_is_started_again_and_the_run_resumes_on_its_disk(workstation, cli):
    cloud, record = workstation
    instance = record["nodes"][0]["instance_id"]
    before = cloud.tagged()
    job_id = start_managed(cli)
    until_synced(cli, job_id, 2 * SAVE)
    job = job_of(cli, job_id)
    cloud.preempt(instance)
    take_machine(job, record["host_root"], disk_gone=False)
    assert cloud.kept(instance)
    last = newest_on_host(job)

    finished = until_finished(cli, job_id)
    assert finished["status"] == "succeeded" and finished["managed"]["state"] == "succeeded", finished
    assert finished["restarts"] == 1
    (attempt,) = finished["attempts"]
    assert attempt["action"] == "start" and attempt["result"] == "ok"
    # the newest checkpoint the disk had when the machine went, not an older one synced home
    assert attempt["from_iteration"] == last and attempt["checkpoint"].endswith(f"model_{last}.pt")
    assert instance in finished["runs_on"] and finished["lost_seconds"] > 0
    now = status(cli)
    assert now["nodes"][0]["instance_id"] == instance and now["zone"] == record["zone"]
    assert cloud.tagged() == before  # started in place: nothing made, nothing lost
    seen = iterations(outputs_of(now["host_root"], finished))
    check_every_iteration_once(seen, [attempt["from_iteration"]])
    assert TOTAL - 1 in home_checkpoints(cli, job_id)  # the last checkpoint came home too


def test_a_preempted_machine_without_room_to_start_is_redeployed_in_the_next_zone(workstation, cli):
    cloud, record = workstation
    old = cloud.machines()
    before = cloud.tagged()
    job_id = start_managed(cli)
    until_synced(cli, job_id, 2 * SAVE)
    job = job_of(cli, job_id)
    cloud.preempt(record["nodes"][0]["instance_id"])
    cloud.no_room_to_start(record["zone"])
    # the disk goes when recovery deletes the stopped machine it cannot start; nothing reads
    # that disk before then, so it is taken now
    take_machine(job, record["host_root"], disk_gone=True)
    newest = max(home_checkpoints(cli, job_id))

    finished = until_finished(cli, job_id)
    assert finished["status"] == "succeeded" and finished["managed"]["state"] == "succeeded", finished
    assert finished["restarts"] == 1
    (attempt,) = finished["attempts"]
    assert attempt["action"] == "redeploy" and attempt["result"] == "ok"
    assert attempt["from_iteration"] == newest and attempt["checkpoint"].endswith(f"model_{newest}.pt")
    now = status(cli)
    assert now["status"] == "ready" and now["market"] == "spot"
    assert now["zone"] != record["zone"]  # the next zone first: the lost one had no room
    new = cloud.machines()
    assert len(new) == 1 and not set(new) & set(old)
    assert now["nodes"][0]["instance_id"] in finished["runs_on"]
    # nothing of the old deployment is left: one of each kind, as before, all the new one's
    assert kinds(cloud.tagged()) == kinds(before)
    seen = iterations(outputs_of(now["host_root"], finished))
    check_resumed_from_home(seen, newest)

    destroyed = cli("destroy", NAME, "--yes", timeout=600)
    assert destroyed.returncode == 0, destroyed.stderr
    assert cloud.tagged() == []


def test_azure_tries_the_zone_given_first_and_refuses_one_it_does_not_have(azure, cli):
    """What the redeploy's "next zone first" rests on, on Azure (zones are places there)."""
    planned = cli("deploy", "azure", "--name", NAME, "--dry-run", "--zone", "2")
    assert planned.returncode == 0, planned.stderr
    assert "zones in order: 2, 1, 3" in " ".join(planned.stdout.split())
    bad = cli("deploy", "azure", "--name", NAME, "--dry-run", "--zone", "9")
    lines = [line for line in bad.stderr.splitlines() if line.startswith("error:")]
    assert bad.returncode == 2 and len(lines) == 1 and "--zone" in lines[0], bad.stderr
