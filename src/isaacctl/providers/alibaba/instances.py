"""The workstation's instances: the image, the zones that sell the type, the GPU families isaacctl
knows, launching all nodes with zone failover (one RunInstances with a ClientToken), and
waiting for the states they go through."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from isaacctl.errors import ProviderError, UserError
from isaacctl.providers.alibaba.api import Alibaba, name_of, owned, tag_filter, tags_of, wait_until
from isaacctl.providers.alibaba.errors import (
    BALANCE,
    CAPACITY,
    QUOTA,
    alibaba_error,
    balance_error,
    code_of,
    message_of,
    quota_error,
)
from isaacctl.providers.alibaba.network import client_token
from isaacctl.providers.toolkit.failover import Attempt, TryNext, attempts_table, first_that_works

if TYPE_CHECKING:
    from isaacctl.providers.alibaba.options import AlibabaOptions
    from isaacctl.providers.base import DeployContext, Identity
    from isaacctl.records import Node

LOGIN_USER = "root"  # Alibaba's public images log in as root with the key pair
IMAGE_PREFIX = "ubuntu_22_04_x64"
LIVE_STATES = ("Pending", "Starting", "Running", "Stopping", "Stopped")
RUNNING_TIMEOUT = 600.0
STOPPED_TIMEOUT = 900.0
RELEASED_TIMEOUT = 600.0

# GPU families isaacctl knows, by the family in the type's name: what the GPU is and whether
# Isaac Sim runs on it (RT cores), or only kit-less Isaac Lab 3.x.
FAMILIES = {
    "gn7i": ("NVIDIA A10 24 GB", True),
    "gn6i": ("NVIDIA T4 16 GB", True),
    "gn8is": ("NVIDIA L20 48 GB", True),
    "gn7e": ("NVIDIA A100 80 GB", False),
    "gn8v": ("NVIDIA GU8TF 96 GB (H20 class)", False),
}


def family_of(instance_type: str) -> str:
    """ecs.gn7i-c16g1.4xlarge -> gn7i."""
    return instance_type.split(".")[1].split("-")[0] if instance_type.count(".") >= 2 else ""


@dataclass(frozen=True)
class Image:
    image_id: str
    name: str
    kind: str  # "Ubuntu 22.04 (public image)" or "given with --system-image"
    size_gib: int


def choose_image(api: Alibaba, given: str | None) -> Image:
    if given:
        found = api.ecs("DescribeImages", "looking up --system-image", {"ImageId": given, "PageSize": 10})
        images = (found.get("Images") or {}).get("Image") or []
        if not images:
            raise UserError(f"--system-image: expected an image id of {api.region}, {given} does not exist there")
        return Image(
            given, images[0].get("ImageName", given), "given with --system-image", int(images[0].get("Size") or 20)
        )
    found = api.ecs(
        "DescribeImages",
        "finding the newest Ubuntu 22.04 image",
        {
            "ImageOwnerAlias": "system",
            "OSType": "linux",
            "Architecture": "x86_64",
            "ImageName": f"{IMAGE_PREFIX}*",
            "Status": "Available",
            "PageSize": 100,
        },
    )
    images = [
        i for i in (found.get("Images") or {}).get("Image") or [] if str(i.get("ImageId", "")).startswith(IMAGE_PREFIX)
    ]
    if not images:
        raise ProviderError(
            f"alibaba: no public Ubuntu 22.04 image in {api.region}",
            hint="pass one with --system-image (an image id from the ECS console)",
        )
    newest = max(images, key=lambda i: str(i.get("CreationTime", "")))
    return Image(
        newest["ImageId"],
        newest.get("ImageName", newest["ImageId"]),
        "Ubuntu 22.04 (public image)",
        int(newest.get("Size") or 20),
    )


@dataclass(frozen=True)
class TypeInfo:
    vcpus: int | None
    gpus: int
    gpu: str


def describe_type(api: Alibaba, instance_type: str) -> TypeInfo:
    found = api.ecs("DescribeInstanceTypes", "looking up the instance type", {"InstanceTypes": [instance_type]})
    types = [
        t
        for t in (found.get("InstanceTypes") or {}).get("InstanceType") or []
        if t.get("InstanceTypeId") == instance_type
    ]
    if not types:
        raise UserError(f"--instance-type: expected a type ECS sells, got {instance_type!r}")
    info = types[0]
    known = FAMILIES.get(family_of(instance_type))
    gpu = str(info.get("GPUSpec") or "") or (known[0] if known else "")
    return TypeInfo(vcpus=info.get("CpuCoreCount"), gpus=int(info.get("GPUAmount") or 0), gpu=gpu)


def offering_zones(api: Alibaba, instance_type: str, spot: bool) -> list[str]:
    """Zones of the region that sell the type now (pay-as-you-go, or spot), in zone order."""
    found = api.ecs(
        "DescribeAvailableResource",
        "listing zones that sell the type",
        {
            "DestinationResource": "InstanceType",
            "InstanceType": instance_type,
            "InstanceChargeType": "PostPaid",
            "SpotStrategy": "SpotAsPriceGo" if spot else "NoSpot",
        },
    )
    zones = []
    for zone in (found.get("AvailableZones") or {}).get("AvailableZone") or []:
        for resource in (zone.get("AvailableResources") or {}).get("AvailableResource") or []:
            supported = (resource.get("SupportedResources") or {}).get("SupportedResource") or []
            if any(s.get("Value") == instance_type and s.get("Status") == "Available" for s in supported):
                zones.append(str(zone["ZoneId"]))
    return sorted(set(zones))


def find_instances(
    api: Alibaba,
    deployment: str | None,
    owner: Identity | None = None,
    instance_ids: list[str] | None = None,
    states: tuple[str, ...] = LIVE_STATES,
) -> list[dict[str, Any]]:
    """Instances tagged for `deployment` (any isaacctl deployment when None), only `owner`'s
    (or legacy ones without an id) when given; or, with `instance_ids`, those instances whatever
    their tags. Released instances are gone from the API."""
    if instance_ids:
        found: list[dict[str, Any]] = []
        for start in range(0, len(instance_ids), 100):
            found += api.pages(
                "ecs",
                "DescribeInstances",
                "describing instances",
                ("Instances", "Instance"),
                {"InstanceIds": json.dumps(instance_ids[start : start + 100])},
            )
    else:
        found = list(
            api.pages(
                "ecs",
                "DescribeInstances",
                "listing instances",
                ("Instances", "Instance"),
                {"Tag": tag_filter(deployment)},
            )
        )
        found = owned(found, owner)
    return [i for i in found if i.get("Status") in states]


def public_ip(instance: dict[str, Any]) -> str | None:
    eip = (instance.get("EipAddress") or {}).get("IpAddress")
    addresses = (instance.get("PublicIpAddress") or {}).get("IpAddress") or []
    return str(eip) if eip else (str(addresses[0]) if addresses else None)


def private_ip(instance: dict[str, Any]) -> str | None:
    addresses = ((instance.get("VpcAttributes") or {}).get("PrivateIpAddress") or {}).get("IpAddress") or []
    return str(addresses[0]) if addresses else None


def in_node_order(instances: list[dict[str, Any]], known: list[str] | None = None) -> list[dict[str, Any]]:
    """Head first, stably: instances the record has keep their places, the others follow by
    host name (node-0, node-1... as launched), then id."""
    place = {instance_id: i for i, instance_id in enumerate(known or [])}
    return sorted(
        instances, key=lambda i: (place.get(i["InstanceId"], len(place)), str(i.get("HostName", "")), i["InstanceId"])
    )


def wait_for_state(
    api: Alibaba,
    instance_id: str,
    state: str,
    timeout: float,
    on_progress: Callable[[str], None] = lambda message: None,
) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        found = find_instances(api, None, instance_ids=[instance_id])
        if not found:
            if state == "Released":
                return {"InstanceId": instance_id, "Status": "Released"}
            raise ProviderError(f"alibaba: {instance_id} was released while waiting for it to be {state}")
        instance = found[0]
        ready = instance["Status"] == state and (state != "Running" or public_ip(instance) or private_ip(instance))
        return instance if ready else None

    return dict(wait_until(check, f"{instance_id} to be {state.lower()}", timeout, on_progress))


def user_data_of(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def launch(
    api: Alibaba,
    ctx: DeployContext[AlibabaOptions],
    *,
    zones: list[str],
    skipped: list[Attempt],
    vswitch_for: Callable[[str], str | None],
    image: Image,
    key_name: str,
    group_id: str,
    user_data: str,
    vcpus: int | None,
    count: int,
    have: int = 0,
    deployment_set: str | None = None,
) -> list[str]:
    """Run `count` instances together in the first zone with room for all of them (one
    RunInstances, MinAmount=Amount, so a zone short of one moves them all on); a table of every
    attempt otherwise. `have` instances already run (in zones[0], a resumed deploy). Returns
    the new instance ids."""
    options = ctx.options
    identity = ctx.identity
    market = "spot" if options.spot else "on-demand"
    attempts = list(skipped)

    def attempt(zone: str) -> list[str]:
        vswitch_id = vswitch_for(zone)
        if vswitch_id is None:
            raise TryNext("skipped", "the default VPC has no vSwitch there")
        # The token names the deployment, zone and how many nodes exist: a repeat (a retry, or a
        # deploy resumed after a kill) answers with the instances the first call made.
        token = client_token(ctx, f"{zone}-{have}")
        request: dict[str, Any] = {
            "ZoneId": zone,
            "ImageId": image.image_id,
            "InstanceType": options.instance_type,
            "SecurityGroupId": group_id,
            "VSwitchId": vswitch_id,
            "KeyPairName": key_name,
            "InstanceName": name_of(ctx.name),
            "HostName": f"{ctx.name[:40]}-node-{have}",
            "UniqueSuffix": count > 1,
            "Amount": count,
            "MinAmount": count,
            "ClientToken": token,
            "InstanceChargeType": "PostPaid",
            "InternetChargeType": "PayByTraffic",
            "InternetMaxBandwidthOut": options.bandwidth_mbps,
            "SystemDisk": {"Category": "cloud_essd", "Size": options.disk_gb},
            "UserData": user_data,
            "Tag": tags_of(identity),
            "Description": f"isaacctl deployment {ctx.name} ({identity.id})",
        }
        if options.spot:
            request.update({"SpotStrategy": "SpotAsPriceGo", "SpotInterruptionBehavior": "Stop"})
        if deployment_set:
            request["DeploymentSetId"] = deployment_set
        ctx.creating(
            "instance",
            token,
            zone=zone,
            instance_type=options.instance_type,
            market=market,
            image=image.image_id,
            count=count,
            deployment_set=deployment_set,
        )
        try:
            made = api.ecs("RunInstances", f"starting the instances in {zone}", request, raw=True)
        except Exception as exc:
            code = code_of(exc)
            ctx.failed("instance", token, zone=zone, code=code or type(exc).__name__)
            if code in CAPACITY:
                ctx.on_progress(f"no room for {count} {options.instance_type} in {zone}, trying the next zone")
                raise TryNext(code, message_of(exc)) from None
            if code in QUOTA:
                raise quota_error(
                    exc, options.instance_type, vcpus and vcpus * count, options.region, options.spot
                ) from None
            if code in BALANCE:
                raise balance_error(exc) from None
            raise alibaba_error(exc, f"starting the instances in {zone}") from None
        ids = [str(i) for i in (made.get("InstanceIdSets") or {}).get("InstanceIdSet") or []]
        for instance_id in ids:
            ctx.created("instance", instance_id, zone=zone, client_token=token, market=market)
        return ids

    made = first_that_works(zones, attempt, attempts)
    if made is not None:
        return made
    what = f"{count} {market} {options.instance_type}" if count > 1 else f"a {market} {options.instance_type}"
    raise ProviderError(
        f"capacity: no zone of {options.region} could start {what} now",
        details=attempts_table(attempts) if attempts else "no zone sells the type",
        hint="try again later, another --instance-type or --region"
        + ("" if options.spot else ", or --spot")
        + (", or fewer --nodes" if count > 1 else ""),
    )


def node_of(instance: dict[str, Any], private_key_file: str, index: int = 0, previous: Node | None = None) -> Node:
    """The record's node for an instance; what bootstrap learnt of it (`previous`) is kept."""
    from isaacctl.records import Node, SshEndpoint, utc_now

    address = public_ip(instance) or private_ip(instance)
    if not address:
        raise ProviderError(f"alibaba: {instance['InstanceId']} has no address yet")
    return Node(
        index=index,
        role="head" if index == 0 else "worker",
        state=str(instance.get("Status", "")).lower() or None,
        state_at=utc_now(),
        facts=previous.facts if previous is not None else None,
        bootstrap=previous.bootstrap if previous is not None else {},
        instance_id=instance["InstanceId"],
        public_ip=public_ip(instance),
        private_ip=private_ip(instance),
        ssh=SshEndpoint(
            host=address,
            default_user=LOGIN_USER,
            identity_file=private_key_file or None,
            # pinned under the instance id: a new address after stop/start keeps the pin
            host_key_alias=instance["InstanceId"],
        ),
    )
