"""The VMs: where the size is sold (resource SKUs), the image, creating every missing node in
one zone with failover (zone by zone, then location by location, with the table of attempts),
the NVIDIA driver extension for GRID sizes, power states, and the record's nodes."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from isaacctl.errors import ProviderError, UserError
from isaacctl.providers.azure import network
from isaacctl.providers.azure.api import Azure, group_name, owned_by, plain, resource_name, tags_of
from isaacctl.providers.azure.errors import code_of, is_capacity, is_quota, message_of, quota_error
from isaacctl.providers.base import InstanceState
from isaacctl.providers.toolkit.failover import Attempt, TryNext, attempts_table

if TYPE_CHECKING:
    from isaacctl.providers.azure.options import AzureOptions
    from isaacctl.providers.base import DeployContext
    from isaacctl.records import Node

LOGIN_USER = "azureuser"
DEFAULT_IMAGE = "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest"
# Microsoft's NVIDIA GPU Driver extension: on NVads A10 v5 (SR-IOV partial or whole A10s) only
# the GRID driver Microsoft builds for Azure loads; it picks the build Azure supports for the size.
GRID_EXTENSION = {
    "publisher": "Microsoft.HpcCompute",
    "type": "NvidiaGpuDriverLinux",
    "typeHandlerVersion": "1.9",
    "autoUpgradeMinorVersion": True,
}
POWER = {
    "running": InstanceState.RUNNING,
    "starting": InstanceState.PENDING,
    "stopping": InstanceState.STOPPING,
    "deallocating": InstanceState.STOPPING,
    "deallocated": InstanceState.STOPPED,
    # shut down from inside: still allocated and still billed; `stop` deallocates it
    "stopped": InstanceState.STOPPED,
}


@dataclass(frozen=True)
class SizeOffer:
    zones: list[str]  # [] where the location has no zones for it
    vcpus: int | None
    gpus: int
    family: str | None
    premium_io: bool
    restricted: str | None  # why the subscription may not use it there


def size_offer(azure: Azure, size: str, location: str) -> SizeOffer | None:
    """What the resource SKU API says of `size` in `location` (None: not sold there)."""
    skus = azure.call(
        "listing VM sizes", lambda: list(azure.compute.resource_skus.list(filter=f"location eq '{location}'"))
    )
    for sku in map(plain, skus):
        if sku.get("resourceType") != "virtualMachines" or sku.get("name") != size:
            continue
        caps = {c.get("name"): c.get("value") for c in sku.get("capabilities") or []}
        zones = sorted(
            {
                z
                for info in sku.get("locationInfo") or []
                if info.get("location", "").lower() == location
                for z in info.get("zones") or []
            }
        )
        restricted = None
        for restriction in sku.get("restrictions") or []:
            if restriction.get("type") == "Location":
                restricted = restriction.get("reasonCode") or "restricted"
            elif restriction.get("type") == "Zone":
                blocked = {z for info in restriction.get("restrictionInfo", {}).get("zones") or [] for z in [info]}
                zones = [z for z in zones if z not in blocked]
        return SizeOffer(
            zones,
            int(caps["vCPUs"]) if caps.get("vCPUs") else None,
            int(caps.get("GPUs") or 0),
            sku.get("family"),
            caps.get("PremiumIO", "True") == "True",
            restricted,
        )
    return None


def image_reference(urn: str) -> dict[str, str]:
    publisher, offer, sku, version = urn.split(":")
    return {"publisher": publisher, "offer": offer, "sku": sku, "version": version}


def vm_name(options_name: str, index: int) -> str:
    return f"isaacctl-{options_name}-{index}"


def find_vms(azure: Azure, ctx_name: str, rg: str, owner: Any) -> list[dict[str, Any]]:
    """The deployment's VMs in its group (carrying its id), with their instance views."""
    from azure.core.exceptions import ResourceNotFoundError

    try:  # a missing group answers 404 ResourceGroupNotFound: no GET of the group first
        listed = azure.call("listing VMs", lambda: list(azure.compute.virtual_machines.list(rg)))
    except ProviderError as error:
        if isinstance(error.__cause__, ResourceNotFoundError):
            return []
        raise
    vms = [plain(v) for v in listed]
    return sorted((v for v in vms if owned_by(v.get("tags"), owner)), key=lambda v: node_index(v))


def node_index(vm: dict[str, Any]) -> int:
    tail = vm["name"].rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def power_of(azure: Azure, rg: str, vm: dict[str, Any]) -> str:
    view = azure.get_or_none("reading a VM's state", azure.compute.virtual_machines.instance_view, rg, vm["name"])
    for status in plain(view).get("statuses") or [] if view is not None else []:
        code = status.get("code", "")
        if code.startswith("PowerState/"):
            return str(code.split("/", 1)[1])
    provisioning = vm.get("properties", {}).get("provisioningState")
    return "failed" if provisioning == "Failed" else "starting"


def _vm_body(
    ctx: DeployContext[AzureOptions],
    location: str,
    zone: str | None,
    index: int,
    nic_id: str,
    image: str,
    premium: bool,
    user_data: str,
    ppg_id: str | None,
    public_key: str,
) -> dict[str, Any]:
    options = ctx.options
    name = vm_name(ctx.name, index)
    properties: dict[str, Any] = {
        "hardwareProfile": {"vmSize": options.size},
        "storageProfile": {
            "imageReference": image_reference(image),
            # deleteOption Delete: Azure makes the OS disk untagged, and with the default (Detach)
            # it would outlive the VM, billed and invisible to a destroy by tag
            "osDisk": {
                "name": f"{name}-osdisk",
                "createOption": "FromImage",
                "deleteOption": "Delete",
                "diskSizeGB": options.disk_gb,
                "caching": "ReadWrite",
                "managedDisk": {"storageAccountType": "Premium_LRS" if premium else "StandardSSD_LRS"},
            },
        },
        "osProfile": {
            "computerName": f"{ctx.name}-{index}"[:64],
            "adminUsername": LOGIN_USER,
            "customData": base64.b64encode(user_data.encode()).decode(),
            "linuxConfiguration": {
                "disablePasswordAuthentication": True,
                "provisionVMAgent": True,
                "ssh": {"publicKeys": [{"path": f"/home/{LOGIN_USER}/.ssh/authorized_keys", "keyData": public_key}]},
            },
        },
        "networkProfile": {
            "networkInterfaces": [{"id": nic_id, "properties": {"primary": True, "deleteOption": "Delete"}}]
        },
    }
    if options.spot:
        # evicted VMs are deallocated (disk kept, `start` brings them back); -1: pay up to the
        # on-demand price rather than be evicted on price
        properties.update({"priority": "Spot", "evictionPolicy": "Deallocate", "billingProfile": {"maxPrice": -1}})
    if ppg_id:
        properties["proximityPlacementGroup"] = {"id": ppg_id}
    body: dict[str, Any] = {
        "location": location,
        "tags": tags_of(ctx.identity),
        "properties": properties,
        # the VM's own identity: its autostop watchdog deallocates it with
        # that (grant_deallocate), never with the user's credentials
        "identity": {"type": "SystemAssigned"},
    }
    if zone:
        body["zones"] = [zone]
    return body


@dataclass
class Launch:
    """What creating the missing nodes needs."""

    image: str
    user_data: str
    public_key: str
    cidr: str
    grid_driver: bool


def create_nodes(
    azure: Azure,
    ctx: DeployContext[AzureOptions],
    rg: str,
    launch: Launch,
    places: Iterable[tuple[str, str | None]],
    attempts: list[Attempt],
    missing: list[int],
    offer_for: Callable[[str], SizeOffer | None],
) -> list[dict[str, Any]]:
    """Every missing node in the first (location, zone) with room for all of them; a location is
    set up (security group, network, addresses, NICs) when first tried and released when all its
    zones refused. ProviderError with the table of attempts when none had room. `places` may be
    lazy (later locations are looked up only when reached); `attempts` gets every refusal."""
    options = ctx.options
    prepared: dict[str, dict[int, str]] = {}
    current: list[str | None] = [None]
    market = "Spot" if options.spot else "on-demand"

    def prepare(location: str, zone: str | None) -> tuple[dict[int, str], str | None]:
        if current[0] not in (None, location):
            network.release_location(azure, ctx, rg)
            prepared.clear()
        current[0] = location
        if location not in prepared:
            nsg = network.ensure_nsg(azure, ctx, rg, location, launch.cidr)
            subnet = network.ensure_vnet(azure, ctx, rg, location, nsg)
            nics = {}
            for index in missing:
                ip = network.ensure_public_ip(azure, ctx, rg, location, index)
                nics[index] = network.ensure_nic(azure, ctx, rg, location, index, subnet, ip)
            prepared[location] = nics
        ppg = None
        if options.nodes > 1:
            ppg = network.ensure_placement_group(azure, ctx, rg, location, None)
        return prepared[location], ppg

    def attempt(place: str) -> list[dict[str, Any]]:
        location, _, zone_text = place.partition("/")
        zone = zone_text or None
        offer = offer_for(location)
        nics, ppg = prepare(location, zone)
        pollers = []
        for index in missing:
            name = vm_name(ctx.name, index)
            body = _vm_body(
                ctx,
                location,
                zone,
                index,
                nics[index],
                launch.image,
                offer.premium_io if offer else True,
                launch.user_data,
                ppg,
                launch.public_key,
            )
            ctx.creating("vm", name, location=location, zone=zone, size=options.size, market=market, node=index)
            try:
                pollers.append((index, name, azure.compute.virtual_machines.begin_create_or_update(rg, name, body)))
            except Exception as exc:  # noqa: BLE001 - sorted out below, after the others
                ctx.failed("vm", name, location=location, zone=zone, code=code_of(exc) or type(exc).__name__)
                _undo(azure, ctx, rg, [p[1] for p in pollers], wait_first=pollers)
                prepared.pop(location, None)  # the NICs went with the VMs (deleteOption Delete)
                _refused(exc, location, zone, offer)
        made, failure = [], None
        for index, name, poller in pollers:
            try:
                made.append(plain(poller.result()))
                ctx.created(
                    "vm",
                    made[-1]["id"],
                    location=location,
                    zone=zone,
                    node=index,
                    vm_id=made[-1].get("properties", {}).get("vmId"),
                )
            except Exception as exc:  # noqa: BLE001
                ctx.failed("vm", name, location=location, zone=zone, code=code_of(exc) or type(exc).__name__)
                failure = failure or exc
        if failure is not None:
            # an allocation failure leaves the VM in the group, Failed: the zone's attempt is
            # undone whole, so that the nodes always share one zone
            _undo(azure, ctx, rg, [vm_name(ctx.name, i) for i in missing])
            prepared.pop(location, None)  # the NICs went with the VMs (deleteOption Delete)
            _refused(failure, location, zone, offer)
        return made

    def _refused(exc: BaseException, location: str, zone: str | None, offer: SizeOffer | None) -> None:
        from azure.core.exceptions import AzureError

        if is_capacity(exc):
            where = f"{location} zone {zone}" if zone else location
            ctx.on_progress(f"no room for {len(missing)} {options.size} in {where}, trying the next place")
            raise TryNext(code_of(exc), message_of(exc)) from None
        if is_quota(exc):
            cores = offer.vcpus * len(missing) if offer and offer.vcpus else None
            raise quota_error(
                exc, options.size, offer.family if offer else None, cores, location, options.spot
            ) from None
        if isinstance(exc, AzureError):
            from isaacctl.providers.azure.errors import azure_error

            raise azure_error(exc, f"creating the VMs in {location}") from None
        raise exc

    from isaacctl.providers.toolkit.failover import first_that_works

    made = first_that_works((f"{loc}/{zone}" if zone else loc for loc, zone in places), attempt, attempts)
    if made is not None:
        if launch.grid_driver:
            install_grid_driver(azure, ctx, rg, [(node_index(vm), vm["name"], vm["location"]) for vm in made])
        return made
    what = f"{len(missing)} {market} {options.size}" if len(missing) > 1 else f"a {market} {options.size}"
    raise ProviderError(
        f"capacity: no zone of the locations tried could make {what} now",
        details=attempts_table(attempts, place="LOCATION/ZONE") if attempts else "no location offers the size",
        hint="try again later, another --size or --location"
        + ("" if options.spot else ", or --spot")
        + (", or fewer --nodes" if len(missing) > 1 else ""),
    )


def _undo(
    azure: Azure, ctx: DeployContext[AzureOptions], rg: str, names: list[str], wait_first: list[Any] | None = None
) -> None:
    """Delete the VMs of a refused attempt (a VM whose allocation failed stays, Failed)."""
    for _index, _name, poller in wait_first or []:
        try:
            poller.result()
        except Exception:  # noqa: BLE001, S110 - its failure is the attempt's; it is deleted next
            pass
    pollers = []
    for name in names:
        found = azure.get_or_none("reading a VM", azure.compute.virtual_machines.get, rg, name)
        if found is not None:
            pollers.append(
                (
                    plain(found)["id"],
                    azure.call("deleting a refused VM", azure.compute.virtual_machines.begin_delete, rg, name),
                )
            )
    for resource_id, poller in pollers:
        azure.wait("deleting a refused VM", poller)
        ctx.deleted("vm", resource_id, reason="its zone had no room")


def install_grid_driver(
    azure: Azure, ctx: DeployContext[AzureOptions], rg: str, vms: list[tuple[int, str, str]]
) -> None:
    """The NVIDIA GPU Driver extension on each VM, waited for: bootstrap then finds the driver."""
    extensions = azure.compute.virtual_machine_extensions
    pollers = []
    for index, name, location in vms:
        found = azure.lookup("reading the driver extension", extensions.get, rg, name, str(GRID_EXTENSION["type"]))
        if found is not None:
            continue
        ctx.creating("vm-extension", f"{name}/{GRID_EXTENSION['type']}", node=index)
        body = {"location": location, "tags": tags_of(ctx.identity), "properties": dict(GRID_EXTENSION)}
        pollers.append(
            (
                index,
                azure.call(
                    "installing the NVIDIA GRID driver",
                    extensions.begin_create_or_update,
                    rg,
                    name,
                    GRID_EXTENSION["type"],
                    body,
                ),
            )
        )
    for index, poller in pollers:
        made = plain(azure.wait("installing the NVIDIA GRID driver", poller))
        ctx.created("vm-extension", made.get("id", ""), node=index)


def start_vms(azure: Azure, rg: str, names: list[str]) -> None:
    pollers = [
        (name, azure.call(f"starting {name}", azure.compute.virtual_machines.begin_start, rg, name)) for name in names
    ]
    for name, poller in pollers:
        try:
            poller.result()
        except Exception as exc:  # noqa: BLE001
            if is_capacity(exc):
                raise ProviderError(
                    f"capacity: {name} cannot start in its zone now ({code_of(exc)}: {message_of(exc)})",
                    hint="its disk lives in that zone: try again in a few minutes",
                ) from None
            from isaacctl.providers.azure.errors import azure_error

            raise azure_error(exc, f"starting {name}") from None


def deallocate_vms(azure: Azure, rg: str, names: list[str]) -> None:
    pollers = [
        (name, azure.call(f"deallocating {name}", azure.compute.virtual_machines.begin_deallocate, rg, name))
        for name in names
    ]
    for name, poller in pollers:
        azure.wait(f"deallocating {name}", poller)


def node_of(
    azure: Azure, rg: str, vm: dict[str, Any], private_key_file: str, power: str, previous: Node | None = None
) -> Node:
    from isaacctl.records import Node, SshEndpoint, utc_now

    public, private = network.addresses(azure, rg, vm)
    address = public or private
    if not address:
        raise ProviderError(f"azure: {vm['name']} has no address yet")
    index = node_index(vm)
    return Node(
        index=index,
        role="head" if index == 0 else "worker",
        state=POWER.get(power, InstanceState.UNKNOWN).value,
        state_at=utc_now(),
        facts=previous.facts if previous is not None else None,
        bootstrap=previous.bootstrap if previous is not None else {},
        instance_id=vm["name"],
        public_ip=public,
        private_ip=private,
        ssh=SshEndpoint(
            host=address,
            default_user=LOGIN_USER,
            identity_file=private_key_file or None,
            # pinned under the VM's id (a GUID Azure keeps across deallocation): a VM made
            # again under the same name is another machine, with another pin
            host_key_alias=vm.get("properties", {}).get("vmId") or vm["name"],
        ),
    )


def check_size(azure: Azure, options: AzureOptions, location: str) -> SizeOffer:
    offer = size_offer(azure, options.size, location)
    if offer is None:
        raise UserError(f"--size: expected a VM size sold in {location}, {options.size} is not")
    return offer


__all__ = ["Attempt", "group_name", "resource_name"]


# "Virtual Machine Contributor": deallocate (and start) VMs, nothing else; scoped to the
# deployment's own resource group
VM_CONTRIBUTOR = "9980e02c-c2be-4d73-94e8-173b1dc7cf3c"
ROLE_API = "2022-04-01"


def grant_deallocate(azure: Azure, ctx: DeployContext[AzureOptions], rg: str, vms: list[dict[str, Any]]) -> None:
    """Lets each VM's system identity deallocate the VMs of its resource group: only a
    deallocation ends an Azure VM's compute bill, and the autostop watchdog on the VM must do
    it with no credential of the user's. Assigning a role needs Owner or User Access
    Administrator; without it deploy goes on and says that autostop cannot deallocate."""
    import uuid

    from azure.core.rest import HttpRequest

    scope = f"/subscriptions/{azure.subscription}/resourceGroups/{rg}"
    role = f"/subscriptions/{azure.subscription}/providers/Microsoft.Authorization/roleDefinitions/{VM_CONTRIBUTOR}"
    for vm in vms:
        principal = (vm.get("identity") or {}).get("principalId")
        if not principal:
            continue
        # named after the principal: a resumed deploy asks for the same assignment again
        name = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{scope}/{principal}/{VM_CONTRIBUTOR}"))
        rid = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
        body = {"properties": {"roleDefinitionId": role, "principalId": principal, "principalType": "ServicePrincipal"}}
        ctx.creating("role-assignment", rid, vm=vm["name"], role="Virtual Machine Contributor")
        answer = azure.call(
            "letting the VM deallocate itself",
            azure.resources.send_request,
            HttpRequest("PUT", rid, params={"api-version": ROLE_API}, json=body),
        )
        if answer.status_code in (200, 201) or "RoleAssignmentExists" in answer.text():
            ctx.created("role-assignment", rid, vm=vm["name"])
            continue
        ctx.failed("role-assignment", rid, code=str(answer.status_code))
        ctx.on_progress(
            f"{vm['name']} may not deallocate itself (HTTP {answer.status_code}: assigning a role needs "
            "Owner or User Access Administrator on the subscription): autostop cannot end its billing"
        )
