"""The workstation's instances: the image, the zones of the region that offer the type,
launching every node with zone failover, bringing stopped ones back, and the record's nodes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from isaacctl.errors import ProviderError, UserError
from isaacctl.providers.gcp.api import NODE_LABEL, Gcp, identity_in_labels, labels_of, name_filter, resource_name
from isaacctl.providers.gcp.errors import CAPACITY, NOT_FOUND, QUOTA, GcpFailure, from_http, gcp_error, quota_error
from isaacctl.providers.gcp.options import GPU_FAMILIES, family_of
from isaacctl.providers.toolkit.failover import Attempt, TryNext, attempts_table, first_that_works

if TYPE_CHECKING:
    from isaacctl.providers.base import DeployContext, Identity
    from isaacctl.providers.gcp.options import GcpOptions
    from isaacctl.records import Node

LOGIN_USER = "isaacctl"  # made by the guest agent from the ssh-keys metadata
# Newest first: Deep Learning VM images (Ubuntu 22.04, NVIDIA driver and CUDA installed), then
# Canonical's Ubuntu 22.04, on which cloud-init installs the driver.
IMAGE_CHOICES = (
    (
        "deeplearning-platform-release",
        "common-cu128-ubuntu-2204-nvidia-570",
        "Deep Learning VM (CUDA 12.8, driver 570)",
    ),
    ("deeplearning-platform-release", "common-cu124-ubuntu-2204-py310", "Deep Learning VM (CUDA 12.4)"),
    ("ubuntu-os-cloud", "ubuntu-2204-lts", "Canonical Ubuntu 22.04"),
)
DEFAULT_IMAGE_PROJECT = "ubuntu-os-cloud"
# Boot disk type by machine family: the newest families take Hyperdisk only.
HYPERDISK_FAMILIES = ("a3", "a4", "g4", "c4", "n4")
LIVE = ("PROVISIONING", "STAGING", "RUNNING", "STOPPING", "SUSPENDING", "SUSPENDED", "TERMINATED", "REPAIRING")
RUNNING_TIMEOUT = 600.0
STOPPED_TIMEOUT = 900.0


@dataclass(frozen=True)
class Image:
    self_link: str
    name: str
    kind: str
    disk_gb: int | None


def choose_image(gcp: Gcp, given: str | None) -> Image:
    """The image of a family, resolved now (plan time): `create` uses exactly this one."""
    choices: tuple[tuple[str, str, str], ...] = IMAGE_CHOICES
    if given:
        project, _, family = given.rpartition("/")
        choices = ((project or DEFAULT_IMAGE_PROJECT, family, "given with --image-family"),)
    for project, family, kind in choices:
        image = _family(gcp, project, family)
        if image is not None:
            return Image(image.self_link, image.name, kind, int(image.disk_size_gb) or None)
    if given:
        raise UserError(f"--image-family: expected an image family, {given} has no image (project {choices[0][0]})")
    raise ProviderError("gcp: no Ubuntu 22.04 image family found", hint="pass one with --image-family PROJECT/FAMILY")


def _family(gcp: Gcp, project: str, family: str) -> Any | None:
    from google.api_core.exceptions import GoogleAPICallError, NotFound

    try:
        return gcp.raw("ImagesClient", "get_from_family", project=project, family=family)
    except NotFound:
        return None
    except GoogleAPICallError as exc:
        if from_http(exc).code in NOT_FOUND:
            return None
        raise gcp_error(exc, f"looking up the image family {project}/{family}") from exc


@dataclass(frozen=True)
class TypeInfo:
    vcpus: int
    gpus: int
    gpu: str  # Compute Engine's accelerator name (nvidia-l4), "" without one
    built_in: bool  # the machine type carries the GPU (accelerator-optimized)


def zones_offering(gcp: Gcp, options: GcpOptions) -> tuple[list[str], TypeInfo | None]:
    """The region's zones that offer the machine type (and the accelerator, when one is
    asked for), sorted, and what the type is."""
    region = options.region
    types = [
        (scope.rsplit("/", 1)[-1], item)
        for scope, item in gcp.aggregated(
            "listing zones that offer the machine type", "MachineTypesClient", filter=f'name = "{options.machine_type}"'
        )
    ]
    zones = {zone: item for zone, item in types if zone.rsplit("-", 1)[0] == region}
    if options.accelerator:
        offered = {
            scope.rsplit("/", 1)[-1]
            for scope, _ in gcp.aggregated(
                "listing zones that offer the accelerator",
                "AcceleratorTypesClient",
                filter=f'name = "{options.accelerator}"',
            )
        }
        zones = {zone: item for zone, item in zones.items() if zone in offered}
    if not zones:
        return [], None
    item = zones[sorted(zones)[0]]
    built = list(item.accelerators)
    if built:
        info = TypeInfo(
            int(item.guest_cpus),
            sum(int(a.guest_accelerator_count) for a in built),
            built[0].guest_accelerator_type,
            True,
        )
    elif options.accelerator:
        info = TypeInfo(int(item.guest_cpus), options.accelerator_count, options.accelerator, False)
    else:
        info = TypeInfo(int(item.guest_cpus), 0, "", False)
    return sorted(zones), info


def boot_disk_type(machine_type: str) -> str:
    return "hyperdisk-balanced" if family_of(machine_type) in HYPERDISK_FAMILIES else "pd-balanced"


def find_instances(
    gcp: Gcp, deployment: str | None, owner: Identity | None = None, statuses: tuple[str, ...] = LIVE
) -> list[Any]:
    """Instances labelled for `deployment` (any isaacctl deployment when None), only those
    carrying `owner`'s id (or none) when given, in every zone of the project."""
    found = []
    for _, instance in gcp.aggregated("listing instances", "InstancesClient", filter=name_filter(deployment)):
        if instance.status not in statuses:
            continue
        identity = identity_in_labels(instance.labels)
        if owner is not None and (identity is None or not owner.owns(identity.id)):
            continue
        found.append(instance)
    return found


def zone_of(instance: Any) -> str:
    return str(instance.zone).rsplit("/", 1)[-1]


def node_index(instance: Any) -> int:
    try:
        return int(instance.labels.get(NODE_LABEL, "0"))
    except ValueError:
        return 0


def in_node_order(instances: list[Any], known: list[str] | None = None) -> list[Any]:
    """Head first: instances the record knows keep their places, the others follow by their
    node label, then name."""
    place = {instance_id: i for i, instance_id in enumerate(known or [])}
    return sorted(instances, key=lambda i: (place.get(str(i.id), len(place)), node_index(i), i.name))


def get_instance(gcp: Gcp, zone: str, name: str) -> Any | None:
    from google.api_core.exceptions import GoogleAPICallError, NotFound

    try:
        return gcp.raw("InstancesClient", "get", project=gcp.project, zone=zone, instance=name)
    except NotFound:
        return None
    except GoogleAPICallError as exc:
        raise gcp_error(exc, f"looking at {name}") from exc


def wait_for_status(
    gcp: Gcp,
    zone: str,
    name: str,
    status: str,
    timeout: float,
    on_progress: Callable[[str], None] = lambda message: None,
) -> Any:
    from isaacctl.providers.toolkit.retry import poll_until

    def check() -> Any | None:
        instance = get_instance(gcp, zone, name)
        if instance is None:
            raise ProviderError(f"gcp: {name} no longer exists in {zone}")
        if status == "RUNNING" and instance.status == "TERMINATED" and instance.last_stop_timestamp:
            raise ProviderError(f"gcp: {name} stopped while starting ({instance.status_message or 'preempted?'})")
        ready = instance.status == status and (status != "RUNNING" or addresses(instance)[1])
        return instance if ready else None

    return poll_until(check, f"{name} to be {status.lower()}", timeout, on_progress, provider="gcp")


def addresses(instance: Any) -> tuple[str | None, str | None]:
    """(public, private) address of the first network interface."""
    for interface in instance.network_interfaces:
        public = next((c.nat_i_p for c in interface.access_configs if c.nat_i_p), None)
        return public, interface.network_i_p or None
    return None, None


def _instance_request(
    ctx: DeployContext[GcpOptions],
    resolved: dict[str, Any],
    zone: str,
    index: int,
    network: str,
    user_data: str,
    public_key: str,
    policy: str | None,
) -> Any:
    from google.cloud import compute_v1

    options, identity = ctx.options, ctx.identity
    labels = labels_of(identity, **{NODE_LABEL: str(index)})
    machine_type = options.machine_type
    scheduling = compute_v1.Scheduling(on_host_maintenance="TERMINATE", automatic_restart=not options.spot)
    if options.spot:
        scheduling = compute_v1.Scheduling(
            on_host_maintenance="TERMINATE",
            automatic_restart=False,
            provisioning_model="SPOT",
            instance_termination_action="STOP",
        )
    instance = compute_v1.Instance(
        name=resource_name(identity, str(index)),
        machine_type=f"zones/{zone}/machineTypes/{machine_type}",
        labels=labels,
        tags=compute_v1.Tags(items=[resource_name(identity)]),
        scheduling=scheduling,
        disks=[
            compute_v1.AttachedDisk(
                boot=True,
                auto_delete=True,
                type_="PERSISTENT",
                initialize_params=compute_v1.AttachedDiskInitializeParams(
                    source_image=resolved["image"]["self_link"],
                    disk_size_gb=options.disk_gb,
                    disk_type=f"zones/{zone}/diskTypes/{resolved['disk_type']}",
                    labels=labels,
                ),
            )
        ],
        network_interfaces=[
            compute_v1.NetworkInterface(
                network=network,
                access_configs=[compute_v1.AccessConfig(name="External NAT", type_="ONE_TO_ONE_NAT")],
            )
        ],
        metadata=compute_v1.Metadata(
            items=[
                compute_v1.Items(key="ssh-keys", value=f"{LOGIN_USER}:{public_key}"),
                # only this deployment's key: keys the project holds for everyone are not let in
                compute_v1.Items(key="block-project-ssh-keys", value="TRUE"),
                # OS Login would ignore the ssh-keys above
                compute_v1.Items(key="enable-oslogin", value="FALSE"),
                compute_v1.Items(key="user-data", value=user_data),
            ]
        ),
    )
    if not resolved["gpu_built_in"] and options.accelerator:
        instance.guest_accelerators = [
            compute_v1.AcceleratorConfig(
                accelerator_type=f"zones/{zone}/acceleratorTypes/{options.accelerator}",
                accelerator_count=options.accelerator_count,
            )
        ]
    if policy:
        instance.resource_policies = [policy]
    return instance


def launch(
    gcp: Gcp,
    ctx: DeployContext[GcpOptions],
    *,
    resolved: dict[str, Any],
    zones: list[str],
    skipped: list[Attempt],
    indexes: list[int],
    network: str,
    user_data: str,
    public_key: str,
    policy: str | None,
) -> list[Any]:
    """Make the nodes `indexes` together in the first zone with room for all of them: a zone
    that cannot take every one has the ones it took deleted before the next is tried (nothing
    half-made is left behind). A table of every attempt otherwise."""
    from google.api_core.exceptions import GoogleAPICallError

    options = ctx.options
    market = "spot" if options.spot else "on-demand"
    attempts = list(skipped)

    def attempt(zone: str) -> list[Any]:
        made: list[str] = []
        failure: GcpFailure | None = None
        operations = []
        for index in indexes:
            request = _instance_request(ctx, resolved, zone, index, network, user_data, public_key, policy)
            ctx.creating(
                "instance",
                request.name,
                zone=zone,
                machine_type=options.machine_type,
                market=market,
                image=resolved["image"]["name"],
                node=index,
            )
            try:
                operation = gcp.raw(
                    "InstancesClient", "insert_unary", project=gcp.project, zone=zone, instance_resource=request
                )
            except GoogleAPICallError as exc:
                failure = from_http(exc)
                ctx.failed("instance", request.name, zone=zone, code=failure.code)
                break
            operations.append((request.name, operation))
        for name, operation in operations:
            error = gcp.wait(operation, f"creating {name}", on_progress=ctx.on_progress)
            if error is None:
                made.append(name)
                continue
            ctx.failed("instance", name, zone=zone, code=error.code)
            failure = failure or error
        if failure is None:
            found = [wait_for_status(gcp, zone, name, "RUNNING", RUNNING_TIMEOUT, ctx.on_progress) for name in made]
            for instance in found:
                ctx.created(
                    "instance",
                    str(instance.id),
                    instance_name=instance.name,
                    zone=zone,
                    market=market,
                    node=node_index(instance),
                )
            return found
        _undo(gcp, ctx, zone, made)
        if failure.code in CAPACITY or failure.code in NOT_FOUND:
            ctx.on_progress(f"no room for {len(indexes)} {options.machine_type} in {zone}, trying the next zone")
            raise TryNext(failure.code, failure.message)
        what = f"{len(indexes)} {options.machine_type}" if len(indexes) > 1 else options.machine_type
        if failure.code in QUOTA:
            raise quota_error(failure, gcp.project, what)
        raise ProviderError(f"gcp: creating {what} in {zone} failed: {failure.code}: {failure.message}")

    made = first_that_works(zones, attempt, attempts)
    if made is not None:
        return made
    count = len(indexes)
    what = f"{count} {market} {options.machine_type}" if count > 1 else f"a {market} {options.machine_type}"
    raise ProviderError(
        f"capacity: no zone of {options.region} could start {what} now",
        details=attempts_table(attempts) if attempts else "no zone offers the type",
        hint="try again later, another --machine-type or --zone in another region"
        + ("" if options.spot else ", or --spot")
        + (", or fewer --nodes" if count > 1 else ""),
    )


def _undo(gcp: Gcp, ctx: DeployContext[GcpOptions], zone: str, names: list[str]) -> None:
    """Delete the instances an attempt made before another of its nodes was refused."""
    operations = [
        (
            name,
            gcp.call(
                f"deleting {name}", "InstancesClient", "delete_unary", project=gcp.project, zone=zone, instance=name
            ),
        )
        for name in names
    ]
    for name, operation in operations:
        gcp.wait(operation, f"deleting {name}")
        ctx.deleted("instance", name, zone=zone, reason="another node had no room in the zone")


def start(gcp: Gcp, instances: list[Any], on_progress: Callable[[str], None]) -> list[Any]:
    """Start the stopped instances (waiting out those still stopping) and return them all
    running, with their addresses as they are now."""
    for instance in instances:
        if instance.status in ("STOPPING", "SUSPENDING"):
            wait_for_status(gcp, zone_of(instance), instance.name, "TERMINATED", STOPPED_TIMEOUT, on_progress)
    stopped = [i for i in instances if i.status in ("TERMINATED", "STOPPING", "SUSPENDED", "SUSPENDING")]
    operations = []
    for instance in stopped:
        method = "resume_unary" if instance.status in ("SUSPENDED", "SUSPENDING") else "start_unary"
        operations.append(
            (
                instance,
                gcp.call(
                    f"starting {instance.name}",
                    "InstancesClient",
                    method,
                    project=gcp.project,
                    zone=zone_of(instance),
                    instance=instance.name,
                ),
            )
        )
    for instance, operation in operations:
        failure = gcp.wait(operation, f"starting {instance.name}", on_progress=on_progress)
        if failure is None:
            continue
        if failure.code in CAPACITY:
            raise ProviderError(
                f"capacity: {instance.name} cannot start in {zone_of(instance)} now ({failure.code}: {failure.message})",
                hint="its disk lives in that zone: try again in a few minutes",
            )
        if failure.code in QUOTA:
            raise quota_error(failure, gcp.project, instance.name)
        raise ProviderError(f"gcp: starting {instance.name} failed: {failure.code}: {failure.message}")
    return [wait_for_status(gcp, zone_of(i), i.name, "RUNNING", RUNNING_TIMEOUT, on_progress) for i in instances]


def stop(gcp: Gcp, instances: list[Any], on_progress: Callable[[str], None]) -> None:
    running = [i for i in instances if i.status in ("PROVISIONING", "STAGING", "RUNNING", "REPAIRING")]
    operations = [
        (
            i,
            gcp.call(
                f"stopping {i.name}",
                "InstancesClient",
                "stop_unary",
                project=gcp.project,
                zone=zone_of(i),
                instance=i.name,
            ),
        )
        for i in running
    ]
    for instance, operation in operations:
        failure = gcp.wait(operation, f"stopping {instance.name}", on_progress=on_progress)
        if failure is not None:
            raise ProviderError(f"gcp: stopping {instance.name} failed: {failure.code}: {failure.message}")
    for instance in instances:
        if instance.status != "TERMINATED":
            wait_for_status(gcp, zone_of(instance), instance.name, "TERMINATED", STOPPED_TIMEOUT, on_progress)


def node_of(instance: Any, private_key_file: str, index: int = 0, previous: Node | None = None) -> Node:
    """The record's node for an instance; what bootstrap learnt of it (`previous`, the same
    instance) is kept."""
    from isaacctl.records import Node, SshEndpoint, utc_now

    public, private = addresses(instance)
    address = public or private
    if not address:
        raise ProviderError(f"gcp: {instance.name} has no address yet")
    instance_id = str(instance.id)
    return Node(
        index=index,
        role="head" if index == 0 else "worker",
        state=STATES.get(instance.status, "unknown"),
        state_at=utc_now(),
        facts=previous.facts if previous is not None else None,
        bootstrap=previous.bootstrap if previous is not None else {},
        instance_id=instance_id,
        public_ip=public,
        private_ip=private,
        ssh=SshEndpoint(
            host=address,
            default_user=LOGIN_USER,
            identity_file=private_key_file or None,
            # pinned under the instance's numeric id: never reused, unlike its name, and a new
            # address after stop/start keeps the pin
            host_key_alias=f"gce-{instance_id}",
        ),
    )


STATES = {
    "PROVISIONING": "pending",
    "STAGING": "pending",
    "RUNNING": "running",
    "REPAIRING": "running",
    "STOPPING": "stopping",
    "SUSPENDING": "stopping",
    "SUSPENDED": "stopped",
    "TERMINATED": "stopped",
}


def gpu_family(machine_type: str) -> bool:
    return family_of(machine_type) in GPU_FAMILIES
