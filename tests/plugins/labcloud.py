"""`labcloud`: a test-only provider that makes "machines" in a folder standing in for a cloud
API (one JSON file per instance, carrying the generic identity tags) and reaches each one
through an ssh_config alias routed to a loopback sshd. It is installed as a real distribution
with an entry point (tests/test_nodes.py), so isaacctl drives it exactly as a third party's
cloud: many nodes, tags with ids, refusal of another deployment's name, state changes made
"outside isaacctl" by editing the files."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from pydantic import Field

from isaacctl.errors import ProviderError, RemoteError
from isaacctl.providers.base import (
    CREATED_KEY,
    CREATOR_KEY,
    ID_KEY,
    NAME_KEY,
    Capabilities,
    CloudResource,
    InstanceState,
    NodeStatus,
    Plan,
    PlannedResource,
    Provider,
)
from isaacctl.providers.options import HostOptions


class LabOptions(HostOptions):
    hosts: str = Field(min_length=1, description="ssh_config aliases, one per node, comma-separated")
    cloud_dir: str = Field(min_length=1, description="the folder standing in for the cloud")
    region: str = Field("lab-1", min_length=1, description="where the machines live")
    nodes: int = Field(2, ge=1, le=8, description="how many machines")
    # Multi-node jobs on one machine (tests/test_distributed.py): every node's private address
    # is where the others reach it; Docker's host-networked containers share one loopback.
    private_ips: str = Field("", description="each node's private address, comma-separated [default: 10.0.0.10+i]")


def _instances(options: LabOptions) -> list[dict]:
    folder = Path(options.cloud_dir) / options.region
    if folder.exists() and not folder.is_dir():
        raise ProviderError(f"labcloud: region {options.region} does not answer")
    if not folder.is_dir():
        return []
    return [json.loads(path.read_text()) for path in sorted(folder.glob("i-*.json"))]


def _write(options: LabOptions, instance: dict) -> None:
    folder = Path(options.cloud_dir) / options.region
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{instance['id']}.json").write_text(json.dumps(instance, indent=2))


class LabCloud(Provider):
    name = "labcloud"
    summary = "test machines in a folder, reached over loopback SSH"
    capabilities = Capabilities(multi_node=True, owns_machines=True)
    options_model = LabOptions
    scope_fields = ("region",)

    def plan(self, name, options):
        hosts = options.hosts.split(",")[: options.nodes]
        return Plan(resources=[PlannedResource("instance", host) for host in hosts], hourly_usd=0.0)

    def _mine(self, options, identity) -> dict[int, dict]:
        return {
            i["index"]: i
            for i in _instances(options)
            if i["tags"].get(NAME_KEY) == identity.name
            and identity.owns(i["tags"].get(ID_KEY))
            and i["state"] != "terminated"
        }

    def create(self, ctx):
        from isaacctl.records import Node, SshEndpoint

        options = ctx.options
        hosts = options.hosts.split(",")
        if len(hosts) < options.nodes:
            raise ProviderError(f"--hosts: {options.nodes} nodes need {options.nodes} hosts")
        ctx.record.region = options.region
        ctx.record.instance_type = "lab.small"
        mine = self._mine(options, ctx.identity)
        nodes = []
        for index in range(options.nodes):
            instance = mine.get(index)
            if instance is None:
                instance_id = f"i-{secrets.token_hex(4)}"
                ctx.creating("instance", instance_id, index=index)
                given = [ip for ip in options.private_ips.split(",") if ip]
                instance = {
                    "id": instance_id,
                    "index": index,
                    "state": "running",
                    "public_ip": hosts[index],
                    "private_ip": given[index] if index < len(given) else f"10.0.0.{10 + index}",
                    "tags": ctx.identity.labels(),
                }
                _write(options, instance)
                ctx.created("instance", instance_id)
            nodes.append(
                Node(
                    index=index,
                    role="head" if index == 0 else "worker",
                    instance_id=instance["id"],
                    public_ip=instance["public_ip"],
                    private_ip=instance["private_ip"],
                    ssh=SshEndpoint(host=instance["public_ip"], host_key_alias=instance["id"]),
                )
            )
        return nodes

    def wait_reachable(self, ctx, timeout):
        for node in ctx.record.nodes:
            with self.remote(ctx.record, ctx.known_hosts_file, node.index) as remote:
                if not remote.run(["true"], timeout=timeout).ok:
                    raise RemoteError(f"node {node.index} does not answer")
        return ctx.record.nodes

    def query(self, record):
        options = self.options_model.model_validate(record.options)
        found = {i["id"]: i for i in _instances(options)}
        statuses = []
        for node in record.nodes:
            instance = found.get(node.instance_id)
            if instance is None:
                statuses.append(NodeStatus(node.index, node.instance_id, InstanceState.TERMINATED))
                continue
            statuses.append(
                NodeStatus(
                    node.index,
                    node.instance_id,
                    InstanceState(instance["state"]),
                    instance["public_ip"],
                    instance["private_ip"],
                )
            )
        return statuses

    def destroy(self, ctx):
        options = ctx.options
        for instance in self._mine(options, ctx.identity).values():
            (Path(options.cloud_dir) / options.region / f"{instance['id']}.json").unlink()
            ctx.deleted("instance", instance["id"])

    def list_tagged(self, options, deployment=None):
        return [
            CloudResource(
                kind="instance",
                resource_id=i["id"],
                deployment=i["tags"].get(NAME_KEY, ""),
                region=options.region,
                state=i["state"],
                deployment_id=i["tags"].get(ID_KEY) or None,
                creator=i["tags"].get(CREATOR_KEY),
                created=i["tags"].get(CREATED_KEY),
            )
            for i in _instances(options)
            if i["state"] != "terminated" and (deployment is None or i["tags"].get(NAME_KEY) == deployment)
        ]

    def remote(self, record, known_hosts_file, node=0):
        from isaacctl.remote.ssh import SshRemote
        from isaacctl.remote.sshconfig import ssh_config_path

        return SshRemote(record.node(node).ssh, Path(known_hosts_file), ssh_config=ssh_config_path())
