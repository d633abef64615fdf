"""The workstation instance: its image, the zones that sell its type, launching with zone
failover, and waiting for the states it goes through."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from isaacctl.errors import ProviderError, UserError
from isaacctl.providers.aws.api import Aws, owned, tag_filter, tag_spec, wait_until
from isaacctl.providers.aws.errors import CAPACITY, QUOTA, aws_error, code_of, message_of, quota_error
from isaacctl.providers.aws.network import PLACEMENT_REFUSED
from isaacctl.providers.toolkit.failover import Attempt, TryNext, attempts_table, first_that_works

if TYPE_CHECKING:
    from isaacctl.providers.aws.options import AwsOptions
    from isaacctl.providers.base import DeployContext, Identity
    from isaacctl.records import Node

__all__ = ["Attempt", "attempts_table"]  # re-exported: planning and older callers use them here

LOGIN_USER = "ubuntu"  # on both the Deep Learning AMI and Canonical's Ubuntu
# Newest first; the Deep Learning Base AMI has the driver, Docker and the Container Toolkit.
IMAGE_CHOICES = (
    ("amazon", "Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) *", "AWS Deep Learning Base GPU AMI"),
    ("099720109477", "ubuntu/images/hvm-ssd*/ubuntu-jammy-22.04-amd64-server-*", "Canonical Ubuntu 22.04"),
)
LIVE_STATES = ["pending", "running", "stopping", "stopped", "shutting-down"]
RESUMABLE_STATES = ["pending", "running", "stopping", "stopped"]
RUNNING_TIMEOUT = 600.0
STOPPED_TIMEOUT = 900.0
TERMINATED_TIMEOUT = 900.0


@dataclass(frozen=True)
class Image:
    image_id: str
    name: str
    kind: str  # which of IMAGE_CHOICES, or "given with --ami"
    root_device: str
    root_gib: int | None


def _image(found: dict[str, Any], kind: str) -> Image:
    root = found.get("RootDeviceName", "/dev/sda1")
    size = next(
        (
            m.get("Ebs", {}).get("VolumeSize")
            for m in found.get("BlockDeviceMappings", [])
            if m.get("DeviceName") == root
        ),
        None,
    )
    return Image(found["ImageId"], found.get("Name", ""), kind, root, size)


def choose_image(aws: Aws, given: str | None) -> Image:
    if given:
        from botocore.exceptions import ClientError

        try:
            images = aws.ec2.describe_images(ImageIds=[given])["Images"]
        except ClientError as exc:
            if code_of(exc).startswith("InvalidAMIID"):
                images = []
            else:
                raise aws_error(exc, "looking up --ami") from exc
        if not images:
            raise UserError(f"--ami: expected an image id of {aws.options.region}, {given} does not exist there")
        return _image(images[0], "given with --ami")
    for owner, pattern, kind in IMAGE_CHOICES:
        images = aws.call(
            "finding the newest image",
            aws.ec2.describe_images,
            Owners=[owner],
            Filters=[
                {"Name": "name", "Values": [pattern]},
                {"Name": "state", "Values": ["available"]},
                {"Name": "architecture", "Values": ["x86_64"]},
            ],
        )["Images"]
        if images:
            return _image(max(images, key=lambda image: image.get("CreationDate", "")), kind)
    raise ProviderError(f"aws: no Ubuntu 22.04 image found in {aws.options.region}", hint="pass one with --ami ami-...")


@dataclass(frozen=True)
class TypeInfo:
    vcpus: int | None
    gpus: int
    gpu: str
    # None: EC2 did not say (then a cluster placement group is tried and may be refused)
    cluster_placement: bool | None = None


def describe_type(aws: Aws, instance_type: str) -> TypeInfo:
    from botocore.exceptions import ClientError

    try:
        found = aws.ec2.describe_instance_types(InstanceTypes=[instance_type])["InstanceTypes"]
    except ClientError as exc:
        if code_of(exc) == "InvalidInstanceType":
            found = []
        else:
            raise aws_error(exc, "looking up the instance type") from exc
    if not found:
        raise UserError(f"--instance-type: expected a type EC2 sells in {aws.options.region}, got {instance_type!r}")
    info = found[0]
    gpus = info.get("GpuInfo", {}).get("Gpus", [])
    strategies = info.get("PlacementGroupInfo", {}).get("SupportedStrategies")
    return TypeInfo(
        vcpus=info.get("VCpuInfo", {}).get("DefaultVCpus"),
        gpus=sum(g.get("Count", 0) for g in gpus),
        gpu=" ".join(filter(None, [gpus[0].get("Manufacturer"), gpus[0].get("Name")])) if gpus else "",
        cluster_placement=None if strategies is None else "cluster" in strategies,
    )


def offering_zones(aws: Aws, instance_type: str) -> list[str]:
    offers = aws.pages(
        "listing zones that offer the type",
        "describe_instance_type_offerings",
        "InstanceTypeOfferings",
        LocationType="availability-zone",
        Filters=[{"Name": "instance-type", "Values": [instance_type]}],
    )
    return sorted({offer["Location"] for offer in offers})


def find_instances(
    aws: Aws,
    deployment: str | None,
    states: list[str] | None = None,
    instance_ids: list[str] | None = None,
    owner: Identity | None = None,
) -> list[dict[str, Any]]:
    """Live instances tagged for `deployment` (any isaacctl deployment when None), only those
    carrying `owner`'s id (or no id) when given; or, with `instance_ids`, those instances
    whatever their tags (ids that no longer exist are skipped)."""
    if instance_ids:
        filters = [{"Name": "instance-id", "Values": instance_ids}]
    else:
        filters = [*tag_filter(deployment), {"Name": "instance-state-name", "Values": states or LIVE_STATES}]
    reservations = aws.pages("listing instances", "describe_instances", "Reservations", Filters=filters)
    found = [instance for reservation in reservations for instance in reservation["Instances"]]
    return found if instance_ids else owned(found, owner)


def in_node_order(instances: list[dict[str, Any]], known: list[str] | None = None) -> list[dict[str, Any]]:
    """Head first, stably: instances the record already has keep their places (a node added by
    a resumed deploy never takes the head's), the others follow by launch index, then id."""
    place = {instance_id: i for i, instance_id in enumerate(known or [])}
    return sorted(
        instances, key=lambda i: (place.get(i["InstanceId"], len(place)), i.get("AmiLaunchIndex", 0), i["InstanceId"])
    )


def describe_instance(aws: Aws, instance_id: str) -> dict[str, Any] | None:
    found = find_instances(aws, None, instance_ids=[instance_id])
    return found[0] if found else None


def wait_for_state(
    aws: Aws, instance_id: str, state: str, timeout: float, on_progress: Callable[[str], None] = lambda message: None
) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        instance = describe_instance(aws, instance_id)
        if instance is None:
            return {"InstanceId": instance_id, "State": {"Name": "terminated"}} if state == "terminated" else None
        current = instance["State"]["Name"]
        if state == "running" and current in ("terminated", "shutting-down"):
            reason = instance.get("StateReason", {}).get("Message", "")
            raise ProviderError(f"aws: {instance_id} was terminated while starting: {reason}")
        ready = current == state and (
            state != "running" or instance.get("PublicIpAddress") or instance.get("PrivateIpAddress")
        )
        return instance if ready else None

    return wait_until(check, f"{instance_id} to be {state}", timeout, on_progress)


def client_token(ctx: DeployContext[AwsOptions], zone: str, have: int) -> str:
    """Unique per deployment (its id), zone and number of instances already there, stable
    across retries and resumed deploys: EC2 answers a repeated RunInstances with the
    instances the first one made. The id is never cut (EC2 allows 64 characters)."""
    return f"{ctx.name[:32]}-{ctx.identity.id}-{zone}-{have}"[:64]


def launch(
    aws: Aws,
    ctx: DeployContext[AwsOptions],
    *,
    zones: list[str],
    skipped: list[Attempt],
    subnet_for: Callable[[str], str | None],
    image: Image,
    key_name: str,
    group_id: str,
    user_data: str,
    vcpus: int | None,
    count: int,
    have: int = 0,
    placement_group: str | None = None,
) -> list[dict[str, Any]]:
    """Run `count` instances together in the first zone with room for all of them (one
    RunInstances, MinCount=MaxCount, so a zone short of one moves them all on); a table of
    every attempt otherwise. `have` instances already run (in `zones[0]`, a resumed deploy)."""
    from botocore.exceptions import BotoCoreError, ClientError

    options = aws.options
    market = "spot" if options.spot else "on-demand"
    attempts = list(skipped)
    identity = ctx.identity
    placement = {"group": placement_group}

    def run(zone: str, request: dict[str, Any], token: str) -> dict[str, Any]:
        ctx.creating(
            "instance",
            token,
            zone=zone,
            instance_type=options.instance_type,
            market=market,
            image=image.image_id,
            count=count,
            placement_group=request["Placement"].get("GroupName"),
        )
        try:
            return aws.launch_call(aws.ec2_launch.run_instances, **request)
        except (ClientError, BotoCoreError) as exc:
            ctx.failed("instance", token, zone=zone, code=code_of(exc) or type(exc).__name__)
            raise

    def attempt(zone: str) -> list[dict[str, Any]]:
        subnet_id = subnet_for(zone)
        if subnet_id is None:
            raise TryNext("skipped", "the default VPC has no default subnet there")
        token = client_token(ctx, zone, have)
        request: dict[str, Any] = dict(
            ImageId=image.image_id,
            InstanceType=options.instance_type,
            MinCount=count,
            MaxCount=count,
            KeyName=key_name,
            SubnetId=subnet_id,
            SecurityGroupIds=[group_id],
            Placement={"AvailabilityZone": zone},
            ClientToken=token,
            UserData=user_data,
            BlockDeviceMappings=[
                {
                    "DeviceName": image.root_device,
                    "Ebs": {
                        "VolumeSize": options.disk_gb,
                        "VolumeType": "gp3",
                        "DeleteOnTermination": True,
                        "Encrypted": True,
                    },
                }
            ],
            MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled"},
            # a shutdown from inside (the autostop watchdog) stops the instance, ending compute
            # billing with the disk kept; "terminate" would lose the disk
            InstanceInitiatedShutdownBehavior="stop",
            TagSpecifications=[tag_spec(kind, identity) for kind in ("instance", "volume", "network-interface")],
        )
        if placement["group"]:
            request["Placement"]["GroupName"] = placement["group"]
        if options.spot:
            request["InstanceMarketOptions"] = {
                "MarketType": "spot",
                "SpotOptions": {"SpotInstanceType": "persistent", "InstanceInterruptionBehavior": "stop"},
            }
            request["TagSpecifications"].append(tag_spec("spot-instances-request", identity))
        try:
            try:
                made = run(zone, request, token)
            except ClientError as exc:
                if not (placement["group"] and code_of(exc) in PLACEMENT_REFUSED):
                    raise
                # the type (or zone) cannot have a cluster placement group: go without, from
                # now on; a new token, as the parameters changed
                ctx.on_progress(
                    f"{options.instance_type} refused the cluster placement group in {zone} "
                    f"({code_of(exc)}): launching the nodes without one"
                )
                placement["group"] = None
                del request["Placement"]["GroupName"]
                token = request["ClientToken"] = f"{token[:60]}-np"
                made = run(zone, request, token)
        except ClientError as exc:
            code = code_of(exc)
            if code in CAPACITY:
                ctx.on_progress(f"no room for {count} {options.instance_type} in {zone}, trying the next zone")
                raise TryNext(code, message_of(exc)) from None
            if code in QUOTA:
                raise quota_error(
                    exc, options.instance_type, vcpus and vcpus * count, options.region, options.spot
                ) from None
            raise aws_error(exc, f"starting the instances in {zone}") from None
        except BotoCoreError as exc:
            raise aws_error(exc, f"starting the instances in {zone}") from None
        for instance in made["Instances"]:
            ctx.created(
                "instance",
                instance["InstanceId"],
                zone=zone,
                client_token=token,
                market=market,
                launch_index=instance.get("AmiLaunchIndex", 0),
            )
        return list(made["Instances"])

    made = first_that_works(zones, attempt, attempts)
    if made is not None:
        return made
    what = f"{count} {market} {options.instance_type}" if count > 1 else f"a {market} {options.instance_type}"
    raise ProviderError(
        f"capacity: no zone of {options.region} could start {what} now",
        details=attempts_table(attempts) if attempts else "no zone offers the type",
        hint="try again later, another --instance-type or --region"
        + ("" if options.spot else ", or --spot")
        + (", or fewer --nodes" if count > 1 else ""),
    )


def node_of(instance: dict[str, Any], private_key_file: str, index: int = 0, previous: Node | None = None) -> Node:
    """The record's node for an instance; what bootstrap learnt of it (`previous`, the same
    instance) is kept."""
    from isaacctl.records import Node, SshEndpoint, utc_now

    address = instance.get("PublicIpAddress") or instance.get("PrivateIpAddress")
    if not address:
        raise ProviderError(f"aws: {instance['InstanceId']} has no address yet")
    return Node(
        index=index,
        role="head" if index == 0 else "worker",
        state=instance.get("State", {}).get("Name"),
        state_at=utc_now(),
        facts=previous.facts if previous is not None else None,
        bootstrap=previous.bootstrap if previous is not None else {},
        instance_id=instance["InstanceId"],
        public_ip=instance.get("PublicIpAddress"),
        private_ip=instance.get("PrivateIpAddress"),
        ssh=SshEndpoint(
            host=address,
            default_user=LOGIN_USER,
            identity_file=private_key_file or None,
            # pinned under the instance id: a new address after stop/start keeps the pin
            host_key_alias=instance["InstanceId"],
        ),
    )
