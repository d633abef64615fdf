"""The workstation instance: its image, the zones that sell its type, launching with zone
failover, and waiting for the states it goes through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from isaacctl.errors import ProviderError, UserError
from isaacctl.providers.aws.api import Aws, tag_filter, tag_spec, wait_until
from isaacctl.providers.aws.errors import CAPACITY, QUOTA, aws_error, code_of, message_of, quota_error

if TYPE_CHECKING:
    from isaacctl.providers.base import DeployContext
    from isaacctl.records import Node

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
    size = next((m.get("Ebs", {}).get("VolumeSize") for m in found.get("BlockDeviceMappings", [])
                 if m.get("DeviceName") == root), None)
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
        images = aws.call("finding the newest image", aws.ec2.describe_images, Owners=[owner], Filters=[
            {"Name": "name", "Values": [pattern]}, {"Name": "state", "Values": ["available"]},
            {"Name": "architecture", "Values": ["x86_64"]},
        ])["Images"]
        if images:
            return _image(max(images, key=lambda image: image.get("CreationDate", "")), kind)
    raise ProviderError(f"aws: no Ubuntu 22.04 image found in {aws.options.region}",
                        hint="pass one with --ami ami-...")


@dataclass(frozen=True)
class TypeInfo:
    vcpus: int | None
    gpus: int
    gpu: str


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
    return TypeInfo(
        vcpus=info.get("VCpuInfo", {}).get("DefaultVCpus"),
        gpus=sum(g.get("Count", 0) for g in gpus),
        gpu=" ".join(filter(None, [gpus[0].get("Manufacturer"), gpus[0].get("Name")])) if gpus else "",
    )


def offering_zones(aws: Aws, instance_type: str) -> list[str]:
    offers = aws.pages("listing zones that offer the type", "describe_instance_type_offerings",
                       "InstanceTypeOfferings", LocationType="availability-zone",
                       Filters=[{"Name": "instance-type", "Values": [instance_type]}])
    return sorted({offer["Location"] for offer in offers})


def find_instances(
    aws: Aws, deployment: str | None, states: list[str] | None = None, instance_ids: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Live instances tagged for `deployment` (any isaacctl deployment when None), or, with
    `instance_ids`, those instances whatever their tags (ids that no longer exist are skipped)."""
    if instance_ids:
        filters = [{"Name": "instance-id", "Values": instance_ids}]
    else:
        filters = [*tag_filter(deployment), {"Name": "instance-state-name", "Values": states or LIVE_STATES}]
    reservations = aws.pages("listing instances", "describe_instances", "Reservations", Filters=filters)
    return [instance for reservation in reservations for instance in reservation["Instances"]]


def describe_instance(aws: Aws, instance_id: str) -> dict[str, Any] | None:
    found = find_instances(aws, None, instance_ids=[instance_id])
    return found[0] if found else None


def wait_for_state(aws: Aws, instance_id: str, state: str, timeout: float, on_progress=lambda m: None) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        instance = describe_instance(aws, instance_id)
        if instance is None:
            return {"InstanceId": instance_id, "State": {"Name": "terminated"}} if state == "terminated" else None
        current = instance["State"]["Name"]
        if state == "running" and current in ("terminated", "shutting-down"):
            reason = instance.get("StateReason", {}).get("Message", "")
            raise ProviderError(f"aws: {instance_id} was terminated while starting: {reason}")
        ready = current == state and (state != "running" or instance.get("PublicIpAddress") or instance.get("PrivateIpAddress"))
        return instance if ready else None

    return wait_until(check, f"{instance_id} to be {state}", timeout, on_progress)


@dataclass
class Attempt:
    zone: str
    outcome: str
    why: str


def attempts_table(attempts: list[Attempt]) -> str:
    rows = [("ZONE", "OUTCOME", "WHY"), *((a.zone, a.outcome, a.why) for a in attempts)]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    return "\n".join(f"{z.ljust(widths[0])}  {o.ljust(widths[1])}  {w}" for z, o, w in rows)


def client_token(ctx: DeployContext, zone: str) -> str:
    """Unique per deployment incarnation and zone, stable across retries and resumed deploys:
    EC2 answers a repeated RunInstances with the instance the first one made."""
    return f"{ctx.name}-{zone}-{int(ctx.record.created_at.timestamp())}"[:64]


def launch(
    aws: Aws, ctx: DeployContext, *, zones: list[str], skipped: list[Attempt], subnet_for,
    image: Image, key_name: str, group_id: str, user_data: str, vcpus: int | None,
) -> dict[str, Any]:
    """Run the instance in the first zone with room; a table of every attempt otherwise."""
    from botocore.exceptions import BotoCoreError, ClientError

    options = aws.options
    market = "spot" if options.spot else "on-demand"
    attempts = list(skipped)
    for zone in zones:
        subnet_id = subnet_for(zone)
        if subnet_id is None:
            attempts.append(Attempt(zone, "skipped", "the default VPC has no default subnet there"))
            continue
        token = client_token(ctx, zone)
        request: dict[str, Any] = dict(
            ImageId=image.image_id, InstanceType=options.instance_type, MinCount=1, MaxCount=1,
            KeyName=key_name, SubnetId=subnet_id, SecurityGroupIds=[group_id],
            Placement={"AvailabilityZone": zone}, ClientToken=token, UserData=user_data,
            BlockDeviceMappings=[{"DeviceName": image.root_device, "Ebs": {
                "VolumeSize": options.disk_gb, "VolumeType": "gp3", "DeleteOnTermination": True, "Encrypted": True,
            }}],
            MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled"},
            TagSpecifications=[tag_spec(kind, ctx.name) for kind in ("instance", "volume", "network-interface")],
        )
        if options.spot:
            request["InstanceMarketOptions"] = {"MarketType": "spot", "SpotOptions": {
                "SpotInstanceType": "persistent", "InstanceInterruptionBehavior": "stop"}}
            request["TagSpecifications"].append(tag_spec("spot-instances-request", ctx.name))
        ctx.creating("instance", token, zone=zone, instance_type=options.instance_type, market=market,
                     image=image.image_id)
        try:
            made = aws.launch_call(aws.ec2_launch.run_instances, **request)
        except ClientError as exc:
            code = code_of(exc)
            ctx.failed("instance", token, zone=zone, code=code)
            if code in CAPACITY:
                attempts.append(Attempt(zone, code, message_of(exc)))
                ctx.on_progress(f"no {options.instance_type} capacity in {zone}, trying the next zone")
                continue
            if code in QUOTA:
                raise quota_error(exc, options.instance_type, vcpus, options.region, options.spot) from None
            raise aws_error(exc, f"starting the instance in {zone}") from None
        except BotoCoreError as exc:
            ctx.failed("instance", token, zone=zone, code=type(exc).__name__)
            raise aws_error(exc, f"starting the instance in {zone}") from None
        instance = made["Instances"][0]
        ctx.created("instance", instance["InstanceId"], zone=zone, client_token=token, market=market)
        return instance
    raise ProviderError(
        f"capacity: no zone of {options.region} could start a {market} {options.instance_type} now",
        details=attempts_table(attempts) if attempts else "no zone offers the type",
        hint="try again later, another --instance-type or --region" + ("" if options.spot else ", or --spot"),
    )


def node_of(instance: dict[str, Any], private_key_file: str) -> Node:
    from isaacctl.records import Node, SshEndpoint

    address = instance.get("PublicIpAddress") or instance.get("PrivateIpAddress")
    if not address:
        raise ProviderError(f"aws: {instance['InstanceId']} has no address yet")
    return Node(
        index=0,
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
