"""A stateful fake of Azure Resource Manager (and of the Microsoft Entra token endpoint) on
loopback, for the Azure provider's tests and benchmark. No emulator of Azure exists.

It is served over HTTPS with a throwaway CA made by ``trustme`` (bearer-token clients refuse
plain HTTP), so the REAL azure-identity and azure-mgmt-* clients drive it. The CLI under test is
given only what a user of a private cloud would set (``env()``):

- ``ISAACCTL_AZURE_ENDPOINT``: the management endpoint (this server);
- ``AZURE_AUTHORITY_HOST`` and an environment service principal (``AZURE_TENANT_ID``,
  ``AZURE_CLIENT_ID``, ``AZURE_CLIENT_SECRET``): azure-identity's EnvironmentCredential gets its
  token from this server's OpenID discovery and token endpoints;
- ``REQUESTS_CA_BUNDLE``: the throwaway CA (requests, under azure-core, trusts it);
- ``AZURE_SUBSCRIPTION_ID``; ``ISAACCTL_AZURE_POLL_SECONDS=0``; the ``myip`` URL.

What it does as Azure does (as documented in the ARM REST reference):
- long-running operations: PUT answers 201 with ``Azure-AsyncOperation`` (polled until
  ``{"status": "Succeeded"}``, or ``Failed`` with an error); DELETE answers 202 with ``Location``
  (202 until done, then 200); POST deallocate/start answer 202 with both headers;
- error envelopes ``{"error": {"code", "message", "target"?, "details"?}}``, 401 without a token
  this server issued, 404 ``ResourceNotFound`` / ``ResourceGroupNotFound``;
- validation of the fields a VM, NIC, public IP, NSG, virtual network and placement group need
  (a Standard public IP must be Static, a key must be RSA or ed25519 at the admin's path,
  password login off without a password, Spot needs an eviction policy and a max price...);
- the implicit OS disk (untagged, as Azure makes it) deleted with the VM only when its
  ``deleteOption`` is ``Delete``; a resource group's delete removes all it holds;
- resource SKUs per location with zones, tag filters on resource and resource-group lists.

Test hooks: ``inject()`` answers chosen operations with an error, at once or when the
long-running operation ends (``asynchronous=True``: how AllocationFailed really comes), for a
location/zone and a number of times; ``delay`` slows every call; ``evict()`` deallocates a
Spot VM; ``calls`` logs every request. A plain-HTTP side server on loopback answers
``/isaacctl-test/myip`` and ``/isaacctl-test/route?host=`` (which loopback sshd a VM with that
address is, for tests/harness/ssh_route.py).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

SUBSCRIPTION = "6a1e0c8e-1b1f-4c52-9a3e-0f5d2b7c1a01"
SUBSCRIPTION_NAME = "isaacctl test subscription"
TENANT = "72f988bf-0000-4c1a-9d3e-fake00000001"
CLIENT_ID = "0c5e7a11-2f41-4b7e-8e11-fake00000002"
CLIENT_SECRET = "not-a-real-secret"  # noqa: S105 - the fake's own
MYIP_PATH = "/isaacctl-test/myip"
ROUTE_PATH = "/isaacctl-test/route"
IMDS_PATH = "/isaacctl-test/imds/"  # + a VM's vmId: that VM's instance metadata service
VM_CONTRIBUTOR = "9980e02c-c2be-4d73-94e8-173b1dc7cf3c"  # the built-in role's id
MYIP_ADDRESS = "203.0.113.20"  # documentation range: never dialled

# Sizes per location and the zones that sell them; family names as the SKU API gives them.
SIZES = {
    "Standard_NV36ads_A10_v5": ("standardNVADSA10v5Family", 36, 1, "NVIDIA A10"),
    "Standard_NV72ads_A10_v5": ("standardNVADSA10v5Family", 72, 2, "NVIDIA A10"),
    "Standard_NV18ads_A10_v5": ("standardNVADSA10v5Family", 18, 1, "NVIDIA A10 (1/2)"),
    "Standard_NC4as_T4_v3": ("standardNCASv3_T4Family", 4, 1, "NVIDIA T4"),
    "Standard_NC8as_T4_v3": ("standardNCASv3_T4Family", 8, 1, "NVIDIA T4"),
    "Standard_NC24ads_A100_v4": ("StandardNCADSA100v4Family", 24, 1, "NVIDIA A100"),
    "Standard_D4s_v5": ("standardDSv5Family", 4, 0, ""),
}
LOCATIONS = {
    "westus3": ("1", "2", "3"),
    "eastus": ("1", "2", "3"),
    "southcentralus": ("1", "2", "3"),
    "westeurope": ("1", "2", "3"),
    "northeurope": ("1", "2", "3"),
}
IMAGES = {  # publisher:offer:sku -> versions
    "canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2": ("22.04.202501150", "22.04.202506010"),
    "microsoft-dsvm:ubuntu-hpc:2204": ("22.04.2025050101",),
}
RESERVED_USERS = {"administrator", "admin", "user", "user1", "test", "root", "guest", "sys", "adm", "sysadmin"}
API_PREFIX = re.compile(r"^/subscriptions/(?P<sub>[^/]+)", re.I)


class ArmError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        target: str | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message, self.target, self.details = status, code, message, target, details

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target:
            error["target"] = self.target
        if self.details:
            error["details"] = self.details
        return {"error": error}


@dataclass
class Fault:
    """Answer operation ``op`` ("vm.create", "vm.start", "nic.create", "*"...) with ``code``."""

    op: str
    code: str = ""  # empty: only the delay
    message: str = "injected by the isaacctl test harness"
    status: int = 409
    location: str | None = None
    zone: str | None = None
    times: int | None = None  # None: always
    asynchronous: bool = False  # the operation is accepted and fails when polled
    delay: float = 0.0
    hits: int = 0

    def matches(self, op: str, location: str | None, zone: str | None) -> bool:
        if self.op not in ("*", op):
            return False
        if self.location is not None and location != self.location:
            return False
        if self.zone is not None and zone != self.zone:
            return False
        return self.times is None or self.hits < self.times


@dataclass
class Call:
    method: str
    path: str
    op: str
    at: float
    principal: str | None = None  # a VM's managed identity, when it was one that asked


@dataclass
class Operation:
    id: str
    polls_left: int
    finish: Any  # () -> None, run once when it succeeds
    error: ArmError | None = None
    done: bool = False
    result_status: str = "InProgress"


@dataclass
class State:
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)  # lower name -> group
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)  # lower id -> resource
    operations: dict[str, Operation] = field(default_factory=dict)
    next_ip: int = 0
    next_private: int = 0
    routes: dict[str, int] = field(default_factory=dict)  # vm id -> sshd index
    role_assignments: dict[str, dict[str, Any]] = field(default_factory=dict)  # lower id -> assignment


def _jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.c2ln"


class FakeAzure:
    def __init__(self, work_dir: Path) -> None:
        self.work_dir = Path(work_dir)
        self.state = State()
        self.lock = threading.RLock()
        self.faults: list[Fault] = []
        self.calls: list[Call] = []
        self.tokens: set[str] = set()
        self.vm_tokens: dict[str, str] = {}  # token from a VM's metadata service -> its principal id
        self.myip = MYIP_ADDRESS
        self.lro_polls = 1  # how many times a long-running operation answers InProgress
        self.port: int | None = None
        self.side_port: int | None = None
        self._servers: list[ThreadingHTTPServer] = []
        self.ca_file = self.work_dir / "fake-azure-ca.pem"

    # -- life -----------------------------------------------------------------------------------
    def start(self) -> FakeAzure:
        import trustme

        ca = trustme.CA()
        ca.cert_pem.write_to_path(str(self.ca_file))
        cert = ca.issue_cert("127.0.0.1", "localhost")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(context)
        fake = self

        class Handler(_Handler):
            owner = fake

        class SideHandler(_SideHandler):
            owner = fake

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.socket = context.wrap_socket(server.socket, server_side=True)
        side = ThreadingHTTPServer(("127.0.0.1", 0), SideHandler)
        side.daemon_threads = True
        self.port, self.side_port = server.server_address[1], side.server_address[1]
        for each in (server, side):
            self._servers.append(each)
            threading.Thread(target=each.serve_forever, daemon=True, name="fake-azure").start()
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def reset(self) -> None:
        with self.lock:
            self.state = State()
            self.faults.clear()
            self.calls.clear()
            self.myip = MYIP_ADDRESS
            self.lro_polls = 1

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def side_url(self) -> str:
        return f"http://127.0.0.1:{self.side_port}"

    def env(self) -> dict[str, str | None]:
        """What a CLI subprocess needs: the endpoint, a service principal whose tokens come from
        here, the CA, and nothing of a developer's own Azure CLI login."""
        return {
            "ISAACCTL_AZURE_ENDPOINT": self.url,
            "AZURE_AUTHORITY_HOST": self.url,
            "AZURE_TENANT_ID": TENANT,
            "AZURE_CLIENT_ID": CLIENT_ID,
            "AZURE_CLIENT_SECRET": CLIENT_SECRET,
            "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION,
            "REQUESTS_CA_BUNDLE": str(self.ca_file),
            "AZURE_CONFIG_DIR": str(self.work_dir / "no-azure-cli"),
            "ISAACCTL_AZURE_POLL_SECONDS": "0",
            "ISAACCTL_MYIP_URL": f"{self.side_url}{MYIP_PATH}",
            "IDENTITY_ENDPOINT": None,
            "MSI_ENDPOINT": None,
        }

    # -- hooks ----------------------------------------------------------------------------------
    def inject(self, op: str, code: str = "", **kwargs: Any) -> Fault:
        fault = Fault(op, code, **kwargs)
        with self.lock:
            self.faults.append(fault)
        return fault

    def ops(self) -> list[str]:
        return [c.op for c in self.calls]

    def evict(self, vm_id: str) -> None:
        """A Spot eviction as the VM's evictionPolicy says: Deallocate, the VM is deallocated
        (disk kept); Delete, the VM is deleted, with what it was told to delete with it."""
        with self.lock:
            vm = self.state.resources[vm_id.lower()]
            assert vm["properties"].get("priority") == "Spot", "only Spot VMs are evicted"
            if vm["properties"].get("evictionPolicy") == "Delete":
                self._delete(vm)
            else:
                vm["_power"] = "deallocated"

    def tagged(self, deployment: str) -> list[tuple[str, str]]:
        """(type, id) of every resource group and resource tagged isaacctl-deployment=<name>."""
        with self.lock:
            found = [
                ("resourceGroup", g["id"])
                for g in self.state.groups.values()
                if (g.get("tags") or {}).get("isaacctl-deployment") == deployment
            ]
            found += [
                (r["type"], r["id"])
                for r in self.state.resources.values()
                if (r.get("tags") or {}).get("isaacctl-deployment") == deployment
            ]
            return sorted(found)

    def held_by(self, group: str) -> list[dict[str, Any]]:
        """Every resource in a resource group, tagged or not (the implicit OS disk is not)."""
        with self.lock:
            return [r for r in self.state.resources.values() if r["_group"] == group.lower()]

    def vms(self, deployment: str) -> list[dict[str, Any]]:
        with self.lock:
            return sorted(
                (
                    r
                    for r in self.state.resources.values()
                    if r["type"] == "Microsoft.Compute/virtualMachines"
                    and (r.get("tags") or {}).get("isaacctl-deployment") == deployment
                ),
                key=lambda r: r["name"],
            )

    def public_ip_of(self, vm: dict[str, Any]) -> str | None:
        with self.lock:
            for ref in vm["properties"]["networkProfile"]["networkInterfaces"]:
                nic = self.state.resources.get(ref["id"].lower())
                if nic is None:
                    continue
                for config in nic["properties"]["ipConfigurations"]:
                    pip_ref = config["properties"].get("publicIPAddress")
                    pip = self.state.resources.get(pip_ref["id"].lower()) if pip_ref else None
                    if pip is not None:
                        return pip["properties"].get("ipAddress")
        return None

    # -- request handling -------------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], Any]:
        split = urlsplit(raw_path)
        path, query = unquote(split.path), {k: v[0] for k, v in parse_qs(split.query).items()}
        if path.endswith("/.well-known/openid-configuration") or path.endswith("/oauth2/v2.0/token"):
            with self.lock:
                self.calls.append(Call(method, path, "token", time.monotonic()))
            return self._identity(method, path, body)
        op = _op_name(method, path)
        location, zone = None, None
        payload: dict[str, Any] = {}
        if body:
            try:
                payload = json.loads(body)
            except ValueError:
                return 400, {}, ArmError(400, "InvalidRequestContent", "The request content was invalid.").body()
            location = payload.get("location")
            zone = (payload.get("zones") or [None])[0]
        if location is None and op in ("vm.start", "vm.deallocate"):
            vm = self.state.resources.get(path.rsplit("/", 1)[0].lower())
            if vm is not None:
                location, zone = vm["location"], (vm.get("zones") or [None])[0]
        with self.lock:
            asker = self.vm_tokens.get((headers.get("Authorization") or "").removeprefix("Bearer "))
            self.calls.append(Call(method, path, op, time.monotonic(), asker))
            chosen = [f for f in self.faults if f.matches(op, location, zone)]
            for fault in chosen:
                fault.hits += 1
        delay = sum(f.delay for f in chosen)
        if delay:
            time.sleep(delay)
        token = (headers.get("Authorization") or "").removeprefix("Bearer ")
        if token in self.vm_tokens:  # a VM's managed identity: only what a role assignment allows
            with self.lock:
                denied = self._vm_identity_denied(self.vm_tokens[token], op, path)
            if denied:
                return 403, {}, ArmError(403, "AuthorizationFailed", denied).body()
        elif token not in self.tokens:
            return (
                401,
                {"WWW-Authenticate": 'Bearer authorization_uri="x", error="invalid_token"'},
                ArmError(
                    401,
                    "AuthenticationFailed",
                    "Authentication failed. The 'Authorization' header is missing or invalid.",
                ).body(),
            )
        if "api-version" not in query:
            return (
                400,
                {},
                ArmError(
                    400,
                    "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all requests.",
                ).body(),
            )
        match = API_PREFIX.match(path)
        if not match or match.group("sub") != SUBSCRIPTION:
            return (
                404,
                {},
                ArmError(
                    404,
                    "SubscriptionNotFound",
                    f"The subscription '{match.group('sub') if match else ''}' could not be found.",
                ).body(),
            )
        failing = next((f for f in chosen if f.code), None)
        if failing is not None and not failing.asynchronous:
            error = ArmError(failing.status, failing.code, failing.message)
            return failing.status, {}, error.body()
        try:
            with self.lock:
                return self._route(method, path, query, payload, failing)
        except ArmError as error:
            return error.status, {}, error.body()

    def _identity(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], Any]:
        tenant = path.strip("/").split("/")[0]
        base = f"{self.url}/{tenant}"
        if path.endswith("openid-configuration"):
            return (
                200,
                {},
                {
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "issuer": f"{self.url}/{tenant}/v2.0",
                    "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                    "tenant_region_scope": "NA",
                },
            )
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if tenant != TENANT or form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return (
                401,
                {},
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided.",
                    "error_codes": [7000215],
                },
            )
        if form.get("grant_type") != "client_credentials" or not form.get("scope", "").endswith("/.default"):
            return (
                400,
                {},
                {"error": "invalid_request", "error_description": "AADSTS90014: scope or grant_type missing"},
            )
        token = _jwt(
            {
                "aud": form["scope"].removesuffix("/.default"),
                "tid": TENANT,
                "appid": CLIENT_ID,
                "oid": "9b7d0000-0000-4000-8000-fake00000003",
                "idtyp": "app",
                "iat": int(time.time()),
                "exp": int(time.time()) + 3600,
            }
        )
        with self.lock:
            self.tokens.add(token)
        return 200, {}, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}

    def _vm_identity_denied(self, principal: str, op: str, path: str) -> str | None:
        """Why a VM's identity may not do this (None: it may): Virtual Machine Contributor on a
        scope above the VM allows reading and deallocating VMs."""
        if op == "poll":
            return None
        for assignment in self.state.role_assignments.values():
            if (
                assignment["properties"]["principalId"] == principal
                and op.startswith("vm.")
                and assignment["properties"]["roleDefinitionId"].endswith(VM_CONTRIBUTOR)
                and path.lower().startswith(assignment["properties"]["scope"].lower() + "/")
            ):
                return None
        return (
            f"The client with object id '{principal}' does not have authorization to perform action "
            f"'{op}' over scope '{path}' or the scope is invalid."
        )

    def imds_token(self, vm_id: str) -> dict[str, Any] | None:
        """What a VM's metadata service answers for its system identity's token."""
        with self.lock:
            vm = next(
                (r for r in self.state.resources.values() if r["type"] == VM and r["properties"].get("vmId") == vm_id),
                None,
            )
            principal = ((vm or {}).get("identity") or {}).get("principalId")
            if principal is None:
                return None
            token = _jwt(
                {
                    "aud": "https://management.azure.com/",
                    "tid": TENANT,
                    "oid": principal,
                    "xms_mirid": vm["id"],
                    "idtyp": "app",
                    "exp": int(time.time()) + 3600,
                }
            )
            self.vm_tokens[token] = principal
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": "3599",
            "resource": "https://management.azure.com/",
            "client_id": principal,
        }

    def role_assignments(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(json.dumps(a)) for a in self.state.role_assignments.values()]

    # -- ARM ------------------------------------------------------------------------------------
    def _route(
        self, method: str, path: str, query: dict[str, str], payload: dict[str, Any], failing: Fault | None
    ) -> tuple[int, dict[str, str], Any]:
        parts = path.strip("/").split("/")
        low = [p.lower() for p in parts]
        if len(parts) == 2:  # /subscriptions/{id}
            return (
                200,
                {},
                {
                    "id": f"/subscriptions/{SUBSCRIPTION}",
                    "subscriptionId": SUBSCRIPTION,
                    "displayName": SUBSCRIPTION_NAME,
                    "state": "Enabled",
                    "tenantId": TENANT,
                },
            )
        if low[2:4] == ["providers", "microsoft.compute"] and low[4:5] == ["skus"]:
            return 200, {}, {"value": self._skus(query.get("$filter", ""))}
        if low[2:3] == ["providers"] and len(parts) == 8 and low[4] == "locations":
            return self._operation(parts[-1], low[-2])
        if low[2:3] == ["resources"]:
            return (
                200,
                {},
                {
                    "value": [
                        _public(r) for r in self._filtered(self.state.resources.values(), query.get("$filter", ""))
                    ]
                },
            )
        if low[2:3] == ["resourcegroups"] and len(parts) == 3:
            groups = self._filtered(self.state.groups.values(), query.get("$filter", ""))
            return 200, {}, {"value": [_public(g) for g in groups]}
        if low[2:3] == ["resourcegroups"] and len(parts) == 4:
            return self._group(method, parts[3], payload)
        if low[2:3] == ["resourcegroups"] and low[4:5] == ["resources"]:
            group = self._require_group(parts[3])
            held = [r for r in self.state.resources.values() if r["_group"] == group["name"].lower()]
            return 200, {}, {"value": [_public(r) for r in self._filtered(held, query.get("$filter", ""))]}
        if low[2:3] == ["resourcegroups"] and low[4:7] == ["providers", "microsoft.authorization", "roleassignments"]:
            return self._role_assignment(method, parts, payload)
        if low[2:3] == ["resourcegroups"] and low[4:5] == ["providers"] and len(parts) >= 7:
            group = self._require_group(parts[3])
            kind = f"{parts[5]}/{parts[6]}"
            if len(parts) == 7:
                return (
                    200,
                    {},
                    {
                        "value": [
                            _public(r)
                            for r in self.state.resources.values()
                            if r["_group"] == group["name"].lower() and r["type"].lower() == kind.lower()
                        ]
                    },
                )
            if len(parts) == 10 and low[8] == "extensions" and kind.lower() == VM.lower():
                vm = self.state.resources.get(("/" + "/".join(parts[:8])).lower())
                if vm is None:
                    raise ArmError(404, "ParentResourceNotFound", f"Virtual machine {parts[7]} was not found.")
                return self._resource(
                    method, group, VMEXT, "/" + "/".join(parts), parts[9], None, payload, query, failing
                )
            rid = "/" + "/".join(parts[:8])
            action = parts[8] if len(parts) > 8 else None
            return self._resource(
                method, group, _TYPES.get(kind.lower(), kind), rid, parts[7], action, payload, query, failing
            )
        raise ArmError(404, "NotFound", f"No route for {method} {path}")

    def _role_assignment(
        self, method: str, parts: list[str], payload: dict[str, Any]
    ) -> tuple[int, dict[str, str], Any]:
        group = self._require_group(parts[3])
        rid = "/" + "/".join(parts)
        if method == "DELETE":
            return (200 if self.state.role_assignments.pop(rid.lower(), None) else 204), {}, None
        props = payload.get("properties") or {}
        principals = {(r.get("identity") or {}).get("principalId") for r in self.state.resources.values()}
        if props.get("principalId") not in principals:
            raise ArmError(
                400, "PrincipalNotFound", f"Principal {props.get('principalId')} does not exist in the directory."
            )
        scope = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group['name']}"
        assignment = {
            "id": rid,
            "name": parts[-1],
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {**props, "scope": scope},
        }
        self.state.role_assignments[rid.lower()] = assignment
        return 201, {}, assignment

    def _filtered(self, items: Any, text: str) -> list[dict[str, Any]]:
        found = list(items)
        for clause in re.split(r"\s+and\s+", text.strip()) if text.strip() else []:
            m = re.fullmatch(r"(\w+)\s+eq\s+'([^']*)'", clause.strip())
            if not m:
                raise ArmError(400, "InvalidFilterInQueryString", f"Invalid $filter '{text}'.")
            key, value = m.groups()
            if key == "tagName":
                found = [r for r in found if value in (r.get("tags") or {})]
                tag = value
            elif key == "tagValue":
                found = [r for r in found if (r.get("tags") or {}).get(tag) == value]
            elif key == "resourceType":
                found = [r for r in found if r.get("type", "").lower() == value.lower()]
            elif key == "location":
                found = [r for r in found if r.get("location") == value]
            else:
                raise ArmError(400, "InvalidFilterInQueryString", f"Unsupported $filter field '{key}'.")
        return found

    def _skus(self, text: str) -> list[dict[str, Any]]:
        m = re.search(r"location\s+eq\s+'([^']+)'", text)
        locations = [m.group(1)] if m else list(LOCATIONS)
        found = []
        for location in locations:
            for size, (family, vcpus, gpus, _gpu) in SIZES.items():
                zones = list(LOCATIONS.get(location, ()))
                if not zones:
                    continue
                found.append(
                    {
                        "resourceType": "virtualMachines",
                        "name": size,
                        "tier": "Standard",
                        "size": size.split("_", 1)[1],
                        "family": family,
                        "locations": [location],
                        "locationInfo": [{"location": location, "zones": zones, "zoneDetails": []}],
                        "capabilities": [
                            {"name": "vCPUs", "value": str(vcpus)},
                            {"name": "GPUs", "value": str(gpus)},
                            {"name": "LowPriorityCapable", "value": "True"},
                            {"name": "HyperVGenerations", "value": "V1,V2"},
                        ],
                        "restrictions": [],
                    }
                )
        return found

    def _require_group(self, name: str) -> dict[str, Any]:
        group = self.state.groups.get(name.lower())
        if group is None or group.get("_deleting"):
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")
        return group

    def _group(self, method: str, name: str, payload: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        existing = self.state.groups.get(name.lower())
        if method == "PUT":
            if not payload.get("location"):
                raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
            _check_tags(payload.get("tags"))
            if existing is not None and existing.get("_deleting"):
                raise ArmError(
                    409,
                    "ResourceGroupBeingDeleted",
                    f"The resource group '{name}' is in deprovisioning state and cannot perform this operation.",
                )
            if existing is not None and existing["location"] != payload["location"]:
                raise ArmError(
                    409,
                    "InvalidResourceGroupLocation",
                    f"Invalid resource group location '{payload['location']}'. The Resource group already "
                    f"exists in location '{existing['location']}'.",
                )
            group = {
                "id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{name}",
                "name": name,
                "type": "Microsoft.Resources/resourceGroups",
                "location": payload["location"],
                "tags": payload.get("tags") or {},
                "properties": {"provisioningState": "Succeeded"},
            }
            self.state.groups[name.lower()] = group
            return (200 if existing else 201), {}, _public(group)
        if existing is None or existing.get("_deleting") and method == "GET":
            if method == "DELETE":
                return 204 if existing is None else 202, {}, None
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")
        if method == "HEAD":
            return 204, {}, None
        if method == "GET":
            return 200, {}, _public(existing)
        if method == "DELETE":
            existing["_deleting"] = True
            existing["properties"]["provisioningState"] = "Deleting"

            def finish() -> None:
                for rid in [rid for rid, r in self.state.resources.items() if r["_group"] == name.lower()]:
                    del self.state.resources[rid]
                self.state.groups.pop(name.lower(), None)

            return self._accepted("Microsoft.Resources", existing["location"], finish, location_only=True)
        raise ArmError(405, "MethodNotAllowed", method)

    def _accepted(
        self,
        namespace: str,
        location: str,
        finish: Any,
        error: ArmError | None = None,
        status: int = 202,
        body: Any = None,
        location_only: bool = False,
    ) -> tuple[int, dict[str, str], Any]:
        op_id = str(uuid.uuid4())
        self.state.operations[op_id] = Operation(op_id, self.lro_polls, finish, error)
        base = f"{self.url}/subscriptions/{SUBSCRIPTION}/providers/{namespace}/locations/{location}"
        headers = {"Location": f"{base}/operationResults/{op_id}?api-version=2024-07-01"}
        if not location_only:
            headers["Azure-AsyncOperation"] = f"{base}/operations/{op_id}?api-version=2024-07-01"
        return status, headers, body

    def _operation(self, op_id: str, kind: str) -> tuple[int, dict[str, str], Any]:
        operation = self.state.operations.get(op_id)
        if operation is None:
            raise ArmError(404, "OperationNotFound", f"Operation {op_id} not found.")
        if not operation.done:
            if operation.polls_left > 0:
                operation.polls_left -= 1
            else:
                operation.done = True
                if operation.error is None:
                    operation.finish()
                    operation.result_status = "Succeeded"
                else:
                    operation.result_status = "Failed"
        if kind == "operationresults":
            if not operation.done:
                return 202, {"Location": f"{self.url}{_op_path(op_id)}"}, None
            if operation.error is not None:
                return operation.error.status, {}, operation.error.body()
            return 200, {}, None
        body: dict[str, Any] = {"name": op_id, "status": operation.result_status}
        if operation.error is not None and operation.done:
            body["error"] = {"code": operation.error.code, "message": operation.error.message}
        return 200, {}, body

    # -- resources ------------------------------------------------------------------------------
    def _resource(
        self,
        method: str,
        group: dict[str, Any],
        kind: str,
        rid: str,
        name: str,
        action: str | None,
        payload: dict[str, Any],
        query: dict[str, str],
        failing: Fault | None,
    ) -> tuple[int, dict[str, str], Any]:
        key = rid.lower()
        existing = self.state.resources.get(key)
        namespace = kind.split("/")[0]
        if method == "GET":
            if existing is None:
                raise ArmError(
                    404,
                    "ResourceNotFound",
                    f"The Resource '{kind}/{name}' under resource group '{group['name']}' was not found.",
                )
            if action == "instanceView":
                return 200, {}, _instance_view(existing)
            shown = _public(existing)
            if query.get("$expand") == "instanceView" and kind == VM:
                shown["properties"]["instanceView"] = _instance_view(existing)
            return 200, {}, shown
        if method == "DELETE":
            if existing is None:
                return 204, {}, None
            self._check_deletable(existing)
            existing["properties"]["provisioningState"] = "Deleting"
            return self._accepted(namespace, existing["location"], lambda: self._delete(existing))
        if method == "POST" and kind == VM:
            if existing is None:
                raise ArmError(404, "ResourceNotFound", f"The Resource '{kind}/{name}' was not found.")
            return self._vm_action(existing, action or "", failing)
        if method != "PUT":
            raise ArmError(405, "MethodNotAllowed", method)
        if not payload.get("location"):
            raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
        if payload["location"] not in LOCATIONS:
            raise ArmError(
                400,
                "LocationNotAvailableForResourceType",
                f"The provided location '{payload['location']}' is not available for resource type '{kind}'.",
            )
        if existing is not None and existing["location"] != payload["location"]:
            raise ArmError(
                409,
                "InvalidResourceLocation",
                f"The resource '{name}' already exists in location '{existing['location']}' in resource group "
                f"'{group['name']}'. A resource with the same name cannot be created in location "
                f"'{payload['location']}'.",
            )
        _check_tags(payload.get("tags"))
        resource = {
            "id": rid,
            "name": name,
            "type": kind,
            "location": payload["location"],
            "tags": payload.get("tags") or {},
            "properties": json.loads(json.dumps(payload.get("properties") or {})),
            "_group": group["name"].lower(),
        }
        for extra in ("zones", "sku", "identity"):
            if extra in payload:
                resource[extra] = payload[extra]
        validate = _VALIDATORS.get(kind)
        if validate is not None:
            validate(self, resource, existing)
        if existing is not None:  # an update keeps what Azure assigned
            for kept in ("_power", "_ip", "_vm_id", "_disk", "_private", "_principal"):
                if kept in existing:
                    resource[kept] = existing[kept]
            if kind == VM and existing.get("properties", {}).get("vmId"):
                resource["properties"]["vmId"] = existing["properties"]["vmId"]
        self._assign(resource)
        resource["properties"]["provisioningState"] = "Creating" if existing is None else "Updating"
        self.state.resources[key] = resource
        error = ArmError(200, failing.code, failing.message) if failing is not None and failing.asynchronous else None

        def finish() -> None:
            resource["properties"]["provisioningState"] = "Succeeded"
            if kind == VM:
                resource["_power"] = "running"

        if error is not None:

            def failed() -> None:
                resource["properties"]["provisioningState"] = "Failed"

            operation_finish = failed
        else:
            operation_finish = finish
        if kind in (PPG,):
            finish()
            return (200 if existing else 201), {}, _public(resource)
        status, headers, _ = self._accepted(namespace, payload["location"], operation_finish, error, status=201)
        if error is not None:
            # the failure is told when the operation ends; the resource stays, Failed
            self.state.operations[
                headers["Azure-AsyncOperation"].split("/operations/")[1].split("?")[0]
            ].finish = failed
        headers.pop("Location", None)
        return (200 if existing else 201), headers, _public(resource)

    def _check_deletable(self, resource: dict[str, Any]) -> None:
        rid = resource["id"].lower()
        for other in self.state.resources.values():
            text = json.dumps(other.get("properties", {})).lower()
            if other is not resource and f'"{rid}"' in text and other["type"] != DISK:
                raise ArmError(
                    400,
                    "InUseSubnetCannotBeDeleted" if resource["type"] == VNET else "ResourceInUse",
                    f"Resource {resource['id']} is in use by {other['id']} and cannot be deleted.",
                )

    def _delete(self, resource: dict[str, Any]) -> None:
        self.state.resources.pop(resource["id"].lower(), None)
        if resource["type"] != VM:
            return
        for rid in [rid for rid in self.state.resources if rid.startswith(resource["id"].lower() + "/extensions/")]:
            del self.state.resources[rid]
        properties = resource["properties"]
        os_disk = properties["storageProfile"]["osDisk"]
        if os_disk.get("deleteOption") == "Delete" and resource.get("_disk"):
            self.state.resources.pop(resource["_disk"].lower(), None)
        for ref in properties["networkProfile"]["networkInterfaces"]:
            if (ref.get("properties") or {}).get("deleteOption") == "Delete":
                self.state.resources.pop(ref["id"].lower(), None)

    def _vm_action(self, vm: dict[str, Any], action: str, failing: Fault | None) -> tuple[int, dict[str, str], Any]:
        if action == "deallocate":
            vm["_power"] = "deallocating"

            def done() -> None:
                vm["_power"] = "deallocated"

            return self._accepted("Microsoft.Compute", vm["location"], done)
        if action == "start":
            if failing is not None and failing.asynchronous:
                return self._accepted(
                    "Microsoft.Compute", vm["location"], lambda: None, ArmError(200, failing.code, failing.message)
                )
            vm["_power"] = "starting"

            def started() -> None:
                vm["_power"] = "running"

            return self._accepted("Microsoft.Compute", vm["location"], started)
        if action == "powerOff":
            vm["_power"] = "stopped"  # a guest shutdown: still allocated, still billed
            return self._accepted("Microsoft.Compute", vm["location"], lambda: None)
        if action == "simulateEviction":
            if vm["properties"].get("priority") != "Spot":
                raise ArmError(409, "OperationNotAllowed", "Simulate eviction is only allowed on Spot VMs.")
            vm["_power"] = "deallocated"
            return 204, {}, None
        raise ArmError(400, "InvalidAction", f"Unknown action {action}")

    def _assign(self, resource: dict[str, Any]) -> None:
        """What Azure fills in: addresses, the VM id, the implicit OS disk."""
        kind = resource["type"]
        if kind == PIP and "_ip" not in resource:
            self.state.next_ip += 1
            resource["_ip"] = (
                f"20.{100 + self.state.next_ip // 250}.{self.state.next_ip % 250}.{7 + self.state.next_ip % 200}"
            )
        if kind == PIP:
            resource["properties"]["ipAddress"] = resource["_ip"]
        if kind == NIC:
            for index, config in enumerate(resource["properties"]["ipConfigurations"]):
                if "_private" not in resource:
                    # Azure hands out the subnet's addresses from .4 on
                    self.state.next_private += 1
                    resource["_private"] = f"10.20.0.{3 + self.state.next_private}"
                config["properties"]["privateIPAddress"] = resource["_private"] if index == 0 else None
                config["properties"]["privateIPAllocationMethod"] = "Dynamic"
        if kind == VM:
            resource["properties"].setdefault("vmId", resource.get("_vm_id") or str(uuid.uuid4()))
            resource["_vm_id"] = resource["properties"]["vmId"]
            if (resource.get("identity") or {}).get("type") == "SystemAssigned":
                resource["_principal"] = resource.get("_principal") or str(uuid.uuid4())
                resource["identity"].update(principalId=resource["_principal"], tenantId=TENANT)
            os_disk = resource["properties"]["storageProfile"]["osDisk"]
            disk_name = os_disk.get("name") or f"{resource['name']}_OsDisk_1_{uuid.uuid4().hex}"
            os_disk["name"] = disk_name
            disk_id = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{resource['_group']}/providers/{DISK}/{disk_name}"
            os_disk.setdefault("managedDisk", {})["id"] = disk_id
            if "_disk" not in resource:
                resource["_disk"] = disk_id
                # made by Azure for the VM, untagged: it outlives the VM unless deleteOption is Delete
                self.state.resources[disk_id.lower()] = {
                    "id": disk_id,
                    "name": disk_name,
                    "type": DISK,
                    "location": resource["location"],
                    "tags": {},
                    "zones": resource.get("zones"),
                    "_group": resource["_group"],
                    "properties": {"diskSizeGB": os_disk.get("diskSizeGB"), "provisioningState": "Succeeded"},
                }
            resource.setdefault("_power", "starting")


def _op_path(op_id: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Resources/locations/x/operationResults/{op_id}?api-version=2024-07-01"


VM = "Microsoft.Compute/virtualMachines"
DISK = "Microsoft.Compute/disks"
PPG = "Microsoft.Compute/proximityPlacementGroups"
VMEXT = "Microsoft.Compute/virtualMachines/extensions"
VNET = "Microsoft.Network/virtualNetworks"
NSG = "Microsoft.Network/networkSecurityGroups"
PIP = "Microsoft.Network/publicIPAddresses"
NIC = "Microsoft.Network/networkInterfaces"
_TYPES = {t.lower(): t for t in (VM, DISK, PPG, VNET, NSG, PIP, NIC)}
EXTENSIONS = {("Microsoft.HpcCompute", "NvidiaGpuDriverLinux")}


def _op_name(method: str, path: str) -> str:
    """A short name of the ARM operation (for faults and the call log): "vm.create"..."""
    low = path.lower()
    if "/oauth2/" in low or "openid-configuration" in low:
        return "token"
    if "/operations/" in low or "/operationresults/" in low:
        return "poll"
    kinds = {
        "virtualmachines": "vm",
        "networkinterfaces": "nic",
        "publicipaddresses": "pip",
        "networksecuritygroups": "nsg",
        "virtualnetworks": "vnet",
        "proximityplacementgroups": "ppg",
        "disks": "disk",
        "extensions": "extension",
    }
    parts = low.strip("/").split("/")
    if "skus" in parts:
        return "skus.list"
    if len(parts) == 2:
        return "subscription.get"
    if parts[2:3] == ["resources"]:
        return "resources.list"
    if parts[2:3] == ["resourcegroups"]:
        if len(parts) == 3:
            return "groups.list"
        if len(parts) == 4:
            return {"PUT": "group.create", "DELETE": "group.delete", "GET": "group.get", "HEAD": "group.get"}.get(
                method, "group"
            )
        if parts[4:5] == ["resources"]:
            return "group.resources"
        if len(parts) >= 7:
            kind = kinds.get(parts[6], parts[6])
            if len(parts) == 7:
                return f"{kind}.list"
            if len(parts) == 10:
                return "extension." + {"PUT": "create", "DELETE": "delete", "GET": "get"}.get(method, method.lower())
            if len(parts) > 8:
                return f"{kind}.{parts[8]}" if parts[8] != "instanceview" else f"{kind}.get"
            return f"{kind}." + {"PUT": "create", "DELETE": "delete", "GET": "get"}.get(method, method.lower())
    return method.lower()


def _public(resource: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in resource.items() if not k.startswith("_")}
    return json.loads(json.dumps(shown))


def _check_tags(tags: Any) -> None:
    if tags is None:
        return
    if not isinstance(tags, dict) or len(tags) > 50:
        raise ArmError(400, "InvalidTemplate", "Tags must be an object of at most 50 name/value pairs.")
    for name, value in tags.items():
        if not name or len(name) > 512 or re.search(r"[<>%&\\?/]", name):
            raise ArmError(400, "InvalidTagNameCharacters", f"The tag name '{name}' has invalid characters.")
        if not isinstance(value, str) or len(value) > 256:
            raise ArmError(400, "InvalidTagValueLength", f"The tag value of '{name}' is longer than 256 characters.")


def _instance_view(vm: dict[str, Any]) -> dict[str, Any]:
    power = vm.get("_power", "starting")
    provisioning = vm["properties"].get("provisioningState", "Succeeded")
    return {
        "computerName": vm["properties"].get("osProfile", {}).get("computerName"),
        "statuses": [
            {
                "code": f"ProvisioningState/{provisioning.lower()}",
                "level": "Info",
                "displayStatus": f"Provisioning {provisioning.lower()}",
            },
            {"code": f"PowerState/{power}", "level": "Info", "displayStatus": f"VM {power}"},
        ],
    }


def _invalid(message: str, target: str) -> ArmError:
    return ArmError(400, "InvalidParameter", message, target=target)


def _ref(fake: FakeAzure, ref: Any, kind: str, target: str) -> dict[str, Any]:
    if not isinstance(ref, dict) or not ref.get("id"):
        raise _invalid(f"{target} must name a resource id.", target)
    found = fake.state.resources.get(ref["id"].split("/subnets/")[0].lower())
    if found is None or found["type"] != kind:
        raise ArmError(
            400,
            "InvalidResourceReference",
            f"Resource {ref['id']} referenced by {target} was not found.",
            target=target,
        )
    return found


def _validate_vnet(fake: FakeAzure, vnet: dict[str, Any], existing: Any) -> None:
    prefixes = vnet["properties"].get("addressSpace", {}).get("addressPrefixes") or []
    try:
        spaces = [ipaddress.ip_network(p) for p in prefixes]
    except ValueError:
        raise _invalid("addressPrefixes must be CIDRs.", "properties.addressSpace.addressPrefixes") from None
    if not spaces:
        raise _invalid("A virtual network needs an address space.", "properties.addressSpace.addressPrefixes")
    for subnet in vnet["properties"].get("subnets") or []:
        try:
            prefix = ipaddress.ip_network(subnet.get("properties", {}).get("addressPrefix", ""))
        except ValueError:
            raise _invalid("A subnet needs an addressPrefix.", "properties.subnets.properties.addressPrefix") from None
        if not any(prefix.subnet_of(space) for space in spaces):
            raise ArmError(
                400,
                "NetcfgSubnetRangeOutsideVnet",
                f"Subnet '{subnet.get('name')}' is not valid because its IP address range is outside the "
                "IP address range of virtual network.",
            )
        subnet["id"] = f"{vnet['id']}/subnets/{subnet.get('name')}"
        nsg = subnet.get("properties", {}).get("networkSecurityGroup")
        if nsg is not None:
            _ref(fake, nsg, NSG, "properties.subnets.properties.networkSecurityGroup")


def _validate_nsg(fake: FakeAzure, nsg: dict[str, Any], existing: Any) -> None:
    seen: set[tuple[str, int]] = set()
    for rule in nsg["properties"].get("securityRules") or []:
        p = rule.get("properties") or {}
        target = f"properties.securityRules[{rule.get('name')}]"
        for needed in ("protocol", "access", "direction", "priority"):
            if p.get(needed) in (None, ""):
                raise ArmError(400, "SecurityRuleParameterMissing", f"{needed} is required.", target=target)
        if p["protocol"] not in ("Tcp", "Udp", "Icmp", "Esp", "Ah", "*"):
            raise _invalid(f"protocol {p['protocol']!r} is not valid.", target)
        if not 100 <= int(p["priority"]) <= 4096 or (p["direction"], int(p["priority"])) in seen:
            raise ArmError(
                400, "SecurityRuleInvalidPriority", "Priorities must be unique per direction, 100-4096.", target=target
            )
        seen.add((p["direction"], int(p["priority"])))
        if not (p.get("sourceAddressPrefix") or p.get("sourceAddressPrefixes")):
            raise ArmError(400, "SecurityRuleParameterMissing", "sourceAddressPrefix is required.", target=target)
        if not (p.get("destinationPortRange") or p.get("destinationPortRanges")):
            raise ArmError(400, "SecurityRuleParameterMissing", "destinationPortRange is required.", target=target)


def _validate_pip(fake: FakeAzure, pip: dict[str, Any], existing: Any) -> None:
    if (pip.get("sku") or {}).get("name") == "Standard" and pip["properties"].get(
        "publicIPAllocationMethod"
    ) != "Static":
        raise ArmError(
            400,
            "StandardSkuPublicIPAddressesMustBeStatic",
            "Standard sku publicIp addresses must have an allocation method of Static.",
        )


def _validate_nic(fake: FakeAzure, nic: dict[str, Any], existing: Any) -> None:
    configs = nic["properties"].get("ipConfigurations") or []
    if not configs:
        raise _invalid("A network interface needs an IP configuration.", "properties.ipConfigurations")
    for config in configs:
        p = config.get("properties") or {}
        vnet = _ref(fake, p.get("subnet"), VNET, "properties.ipConfigurations.properties.subnet")
        if location_of(vnet) != nic["location"]:
            raise ArmError(400, "InvalidResourceReference", "The subnet must be in the NIC's location.")
        if p.get("publicIPAddress"):
            pip = _ref(fake, p["publicIPAddress"], PIP, "properties.ipConfigurations.properties.publicIPAddress")
            for other in fake.state.resources.values():
                if (
                    other["type"] == NIC
                    and other["id"].lower() != nic["id"].lower()
                    and pip["id"].lower() in json.dumps(other["properties"]).lower()
                ):
                    raise ArmError(
                        400, "PublicIPAddressInUse", f"Public IP address {pip['id']} is in use by {other['id']}."
                    )
    if nic["properties"].get("networkSecurityGroup"):
        _ref(fake, nic["properties"]["networkSecurityGroup"], NSG, "properties.networkSecurityGroup")


def location_of(resource: dict[str, Any]) -> str:
    return str(resource["location"])


def _validate_vm(fake: FakeAzure, vm: dict[str, Any], existing: Any) -> None:
    p = vm["properties"]
    size = (p.get("hardwareProfile") or {}).get("vmSize")
    if size not in SIZES:
        raise _invalid(f"The value {size!r} of parameter 'vmSize' is not allowed.", "hardwareProfile.vmSize")
    zones = vm.get("zones") or []
    if len(zones) > 1 or (zones and zones[0] not in LOCATIONS[vm["location"]]):
        raise _invalid(f"Zones {zones} are not valid for {vm['location']}.", "zones")
    storage = p.get("storageProfile") or {}
    image = storage.get("imageReference") or {}
    urn = ":".join(str(image.get(k, "")) for k in ("publisher", "offer", "sku")).lower()
    if urn not in IMAGES or (image.get("version") not in ("latest", *IMAGES[urn])):
        raise ArmError(
            404,
            "PlatformImageNotFound",
            f"The platform image '{urn}:{image.get('version')}' is not available.",
            target="imageReference",
        )
    os_disk = storage.get("osDisk") or {}
    if os_disk.get("createOption") != "FromImage":
        raise _invalid("osDisk.createOption must be FromImage for a platform image.", "osDisk.createOption")
    if os_disk.get("deleteOption") not in (None, "Delete", "Detach"):
        raise _invalid("osDisk.deleteOption must be Delete or Detach.", "osDisk.deleteOption")
    if os_disk.get("diskSizeGB") is not None and not 30 <= int(os_disk["diskSizeGB"]) <= 4095:
        raise _invalid("diskSizeGB must be between 30 and 4095.", "osDisk.diskSizeGB")
    account = (os_disk.get("managedDisk") or {}).get("storageAccountType")
    if account not in (None, "Standard_LRS", "StandardSSD_LRS", "Premium_LRS", "Premium_ZRS", "StandardSSD_ZRS"):
        raise _invalid(f"storageAccountType {account!r} is not valid.", "osDisk.managedDisk.storageAccountType")
    if existing is None:
        os_profile = p.get("osProfile") or {}
        user = os_profile.get("adminUsername") or ""
        if not re.fullmatch(r"[a-z_][a-z0-9_-]{0,63}", user) or user in RESERVED_USERS:
            raise _invalid(f"The admin user name {user!r} is not allowed.", "adminUsername")
        computer = os_profile.get("computerName") or ""
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}", computer):
            raise _invalid("computerName must be 1-64 letters, digits or hyphens.", "computerName")
        linux = os_profile.get("linuxConfiguration") or {}
        keys = (linux.get("ssh") or {}).get("publicKeys") or []
        if not os_profile.get("adminPassword") and (not linux.get("disablePasswordAuthentication") or not keys):
            raise _invalid(
                "A Linux VM without a password needs an SSH key and disablePasswordAuthentication.",
                "linuxConfiguration",
            )
        for key in keys:
            if key.get("path") != f"/home/{user}/.ssh/authorized_keys":
                raise _invalid(
                    f"The SSH key path must be /home/{user}/.ssh/authorized_keys.",
                    "linuxConfiguration.ssh.publicKeys.path",
                )
            if not re.match(r"^(ssh-rsa|ssh-ed25519) [A-Za-z0-9+/=]+", key.get("keyData") or ""):
                raise ArmError(
                    400,
                    "InvalidParameter",
                    "The value of parameter linuxConfiguration.ssh.publicKeys.keyData is invalid.",
                    target="linuxConfiguration.ssh.publicKeys.keyData",
                )
        custom = os_profile.get("customData")
        if custom is not None:
            try:
                decoded = base64.b64decode(custom, validate=True)
            except ValueError:
                raise _invalid("customData must be base64.", "customData") from None
            if len(custom) > 87380 or not decoded:
                raise _invalid("customData may hold at most 64 KB (87380 characters of base64).", "customData")
    nics = (p.get("networkProfile") or {}).get("networkInterfaces") or []
    if not nics:
        raise _invalid("A VM needs a network interface.", "networkProfile.networkInterfaces")
    for ref in nics:
        nic = _ref(fake, ref, NIC, "networkProfile.networkInterfaces")
        if nic["location"] != vm["location"]:
            raise ArmError(400, "NicNotInSameLocation", "The NIC must be in the VM's location.")
        for other in fake.state.resources.values():
            if (
                other["type"] == VM
                and other["id"].lower() != vm["id"].lower()
                and nic["id"].lower() in json.dumps(other["properties"]).lower()
            ):
                raise ArmError(400, "NicInUse", f"Network interface {nic['id']} is used by {other['id']}.")
    if p.get("priority") == "Spot":
        if p.get("evictionPolicy") not in ("Deallocate", "Delete"):
            raise _invalid("A Spot VM needs evictionPolicy Deallocate or Delete.", "evictionPolicy")
        price = (p.get("billingProfile") or {}).get("maxPrice")
        if price is None or (price != -1 and price <= 0):
            raise _invalid("A Spot VM needs billingProfile.maxPrice (-1: up to the on-demand price).", "maxPrice")
    elif p.get("priority") not in (None, "Regular"):
        raise _invalid(f"priority {p.get('priority')!r} is not valid.", "priority")
    if p.get("proximityPlacementGroup"):
        ppg = _ref(fake, p["proximityPlacementGroup"], PPG, "proximityPlacementGroup")
        if ppg["location"] != vm["location"]:
            raise ArmError(400, "InvalidParameter", "The proximity placement group must be in the VM's location.")


def _validate_ppg(fake: FakeAzure, ppg: dict[str, Any], existing: Any) -> None:
    if ppg["properties"].get("proximityPlacementGroupType") not in (None, "Standard"):
        raise _invalid("proximityPlacementGroupType must be Standard.", "proximityPlacementGroupType")


def _validate_extension(fake: FakeAzure, ext: dict[str, Any], existing: Any) -> None:
    p = ext["properties"]
    if (p.get("publisher"), p.get("type")) not in EXTENSIONS or not p.get("typeHandlerVersion"):
        raise ArmError(
            404,
            "ArtifactNotFound",
            f"The VM extension {p.get('publisher')}.{p.get('type')} {p.get('typeHandlerVersion')} was not found.",
        )


_VALIDATORS = {
    VMEXT: _validate_extension,
    VNET: _validate_vnet,
    NSG: _validate_nsg,
    PIP: _validate_pip,
    NIC: _validate_nic,
    VM: _validate_vm,
    PPG: _validate_ppg,
}


class _Handler(BaseHTTPRequestHandler):
    owner: FakeAzure
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            status, headers, payload = self.owner.handle(self.command, self.path, self.headers, body)
        except Exception as exc:  # noqa: BLE001 - a bug in the fake: say it, as Azure would a 500
            status, headers, payload = 500, {}, ArmError(500, "InternalServerError", repr(exc)).body()
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        if data:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = _serve


class _SideHandler(BaseHTTPRequestHandler):
    owner: FakeAzure

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        split = urlsplit(self.path)
        if split.path == MYIP_PATH:
            return self._reply(200, f"{self.owner.myip}\n")
        if split.path == ROUTE_PATH:
            host = parse_qs(split.query).get("host", [""])[0]
            return self._route(host)
        if split.path.startswith(IMDS_PATH) and split.path.endswith("/metadata/identity/oauth2/token"):
            # each VM's own metadata service: /isaacctl-test/imds/<vmId>/metadata/...
            if self.headers.get("Metadata") != "true" or "resource" not in parse_qs(split.query):
                return self._reply(400, '{"error": "invalid_request"}\n')
            answer = self.owner.imds_token(split.path[len(IMDS_PATH) :].split("/", 1)[0])
            if answer is None:
                return self._reply(400, '{"error": "invalid_request", "error_description": "Identity not found"}\n')
            return self._reply(200, json.dumps(answer) + "\n")
        return self._reply(404, "not found\n")

    def _route(self, host: str) -> None:
        fake = self.owner
        with fake.lock:
            found, live = None, set()
            for vm in fake.state.resources.values():
                if vm["type"] != VM:
                    continue
                live.add(vm["id"].lower())
                addresses = {fake.public_ip_of(vm)}
                for ref in vm["properties"]["networkProfile"]["networkInterfaces"]:
                    nic = fake.state.resources.get(ref["id"].lower())
                    if nic is not None:
                        addresses.add(nic.get("_private"))
                if host and host in addresses:
                    found = vm["id"].lower()
            if found is None:
                return self._reply(404, f"no VM has the address {host!r}\n")
            routes = fake.state.routes
            if found not in routes:
                taken = {index for vm_id, index in routes.items() if vm_id in live}
                routes[found] = min(set(range(len(routes) + 1)) - taken)
            index = routes[found]
        return self._reply(200, f"{index} {found}\n")

    def _reply(self, status: int, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
