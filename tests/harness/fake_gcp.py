"""A stateful fake of the Compute Engine v1 REST API on loopback, for the GCP provider's tests and
benchmark. No emulator exists; this one is driven by the real google-cloud-compute client.

What it holds, per project: instances (with their boot disks), disks, firewall rules, networks
(a `default` one unless removed), resource policies, and operations (zone, region, global) that
finish when they are first asked about (get or wait), the way a slow cloud's would eventually.
Read-only catalogs: machine types and accelerator types per zone, image families in the public
image projects, and the project itself.

Like the real API it:
- answers errors in Google's envelope `{"error": {"code", "message", "errors": [{"reason",
  "domain", "message"}], "status"}}`, and failures of long operations (capacity, quota) as the
  finished operation's `error.errors[]` (with `errorDetails[].quotaInfo` for quotas);
- checks the fields it is sent: names (RFC 1035), labels (keys and values), network tags, that
  a GPU instance has onHostMaintenance TERMINATE, Spot scheduling, boot disk type per machine
  family, disk size against the image, the machine and accelerator types of the zone, that the
  network and resource policies exist, unknown JSON fields (through the client's own message
  types); refuses deleting a network or policy still in use;
- requires `Authorization: Bearer`: a JWT signed by the service-account key this fake wrote
  (google-auth's self-signed JWT) or a token from its `/token` endpoint (the key file's
  token_uri), so credentials travel through Application Default Credentials unchanged;
- filters lists (`labels.k = "v"`, `labels.k:*`, `name eq "regex"`, `(a) AND (b)`), and
  aggregated lists by zone or region.

For tests: `faults` (capacity or quota on insert/start in a zone, any HTTP error, delays),
`preempt()` a Spot VM, `calls` (every API call: the benchmark counts them), and, like the moto
harness, `GET /isaacctl-test/route?host=ADDRESS` (which loopback sshd an instance is, for
tests/harness/ssh_route.py) and `GET /isaacctl-test/myip`.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import random
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

PROJECT = "isaacctl-test"
CLIENT_EMAIL = f"isaacctl-tests@{PROJECT}.iam.gserviceaccount.com"
MYIP_PATH = "/isaacctl-test/myip"
ROUTE_PATH = "/isaacctl-test/route"
TOKEN_PATH = "/token"
MYIP_ADDRESS = "203.0.113.20"  # documentation range: never dialled
BASE = "https://www.googleapis.com/compute/v1/"
API = "/compute/v1/projects/"

ZONES = {
    "us-central1": ["us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"],
    "us-east1": ["us-east1-b", "us-east1-c", "us-east1-d"],
    "europe-west4": ["europe-west4-a", "europe-west4-b", "europe-west4-c"],
}
ALL_ZONES = [z for zones in ZONES.values() for z in zones]
# machine type -> (vCPUs, memory MB, built-in accelerator or None, count, zones offering it)
_G2_ZONES = [
    "us-central1-a",
    "us-central1-b",
    "us-central1-c",
    "us-east1-b",
    "us-east1-c",
    "europe-west4-a",
    "europe-west4-b",
    "europe-west4-c",
]
MACHINE_TYPES: dict[str, tuple[int, int, str | None, int, list[str]]] = {
    "g2-standard-4": (4, 16384, "nvidia-l4", 1, _G2_ZONES),
    "g2-standard-8": (8, 32768, "nvidia-l4", 1, _G2_ZONES),
    "g2-standard-16": (16, 65536, "nvidia-l4", 1, _G2_ZONES),
    "g2-standard-24": (24, 98304, "nvidia-l4", 2, _G2_ZONES),
    "a2-highgpu-1g": (
        12,
        87040,
        "nvidia-tesla-a100",
        1,
        ["us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"],
    ),
    "a3-highgpu-1g": (26, 239616, "nvidia-h100-80gb", 1, ["us-central1-a", "us-central1-c"]),
    "n1-standard-8": (8, 30720, None, 0, ALL_ZONES),
    "n1-standard-4": (4, 15360, None, 0, ALL_ZONES),
    "e2-standard-4": (4, 16384, None, 0, ALL_ZONES),
}
ACCELERATOR_TYPES = {
    "nvidia-l4": _G2_ZONES,
    "nvidia-tesla-t4": [
        "us-central1-a",
        "us-central1-b",
        "us-central1-c",
        "us-central1-f",
        "us-east1-c",
        "us-east1-d",
        "europe-west4-b",
        "europe-west4-c",
    ],
    "nvidia-tesla-a100": ["us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"],
    "nvidia-h100-80gb": ["us-central1-a", "us-central1-c"],
}
DISK_TYPES_BY_FAMILY = {
    "g2": {"pd-balanced", "pd-ssd"},
    "a2": {"pd-balanced", "pd-ssd", "pd-standard"},
    "a3": {"hyperdisk-balanced", "pd-balanced", "pd-ssd"},
    "n1": {"pd-balanced", "pd-ssd", "pd-standard"},
    "e2": {"pd-balanced", "pd-ssd", "pd-standard"},
}
# (project, family) -> image
IMAGES = {
    ("deeplearning-platform-release", "common-cu128-ubuntu-2204-nvidia-570"): {
        "name": "common-cu128-ubuntu-2204-nvidia-570-v20250601",
        "diskSizeGb": "50",
    },
    ("ubuntu-os-cloud", "ubuntu-2204-lts"): {"name": "ubuntu-2204-jammy-v20250530", "diskSizeGb": "10"},
}
DLVM_FAMILY = ("deeplearning-platform-release", "common-cu128-ubuntu-2204-nvidia-570")
IMAGE_PROJECTS = {project for project, _ in IMAGES}

_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
_METADATA_KEY = re.compile(r"^[a-zA-Z0-9-_]{1,128}$")
_STATUS_TEXT = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class ApiError(Exception):
    """An HTTP error in Google's envelope."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.status,
                "message": self.message,
                "errors": [{"message": self.message, "domain": "global", "reason": self.reason}],
                "status": _STATUS_TEXT.get(self.status, "UNKNOWN"),
            }
        }


def _invalid(field_name: str, value: Any, why: str) -> ApiError:
    return ApiError(400, "invalid", f"Invalid value for field '{field_name}': '{value}'. {why}")


def _not_found(path: str) -> ApiError:
    return ApiError(404, "notFound", f"The resource '{path}' was not found")


@dataclass
class Fault:
    """Make `action` ("compute.instances.insert", "compute.instances.start", "*"...) fail.

    kind "operation": the request is accepted and its operation finishes with error `code`
    (capacity, quota: how Compute Engine reports them); kind "http": the request is answered
    at once with HTTP `status` and `reason`. `zone` limits it to one zone; `times` to the first
    n matches (None: always). `delay` slows the request down (with or without an error)."""

    action: str
    code: str = ""
    kind: str = "operation"
    message: str = ""
    status: int = 400
    reason: str = ""
    zone: str | None = None
    times: int | None = None
    delay: float = 0.0
    quota: dict[str, Any] | None = None
    hits: int = 0

    def matches(self, action: str, zone: str | None) -> bool:
        if self.action not in ("*", action):
            return False
        if self.zone is not None and zone != self.zone:
            return False
        return self.times is None or self.hits < self.times


def capacity(zone: str, times: int | None = None, action: str = "compute.instances.insert") -> Fault:
    return Fault(
        action,
        "ZONE_RESOURCE_POOL_EXHAUSTED",
        zone=zone,
        times=times,
        message=f"The zone 'projects/{PROJECT}/zones/{zone}' does not have enough resources available "
        "to fulfill the request.  Try a different zone, or try again later.",
    )


def quota(
    metric: str = "GPUS_ALL_REGIONS",
    region: str | None = None,
    action: str = "compute.instances.insert",
    times: int | None = None,
) -> Fault:
    where = f"in region {region}" if region else "globally"
    dimensions = {"region": region} if region else {"global": "global"}
    return Fault(
        action,
        "QUOTA_EXCEEDED",
        times=times,
        message=f"Quota '{metric}' exceeded.  Limit: 0.0 {where}.",
        quota={
            "metricName": f"compute.googleapis.com/{metric.lower()}",
            "limitName": f"{metric}-per-project" + ("-region" if region else ""),
            "dimensions": dimensions,
            "limit": 0,
        },
    )


@dataclass
class Call:
    action: str
    method: str
    path: str
    at: float


@dataclass
class Project:
    instances: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    disks: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    firewalls: dict[str, dict[str, Any]] = field(default_factory=dict)
    networks: dict[str, dict[str, Any]] = field(default_factory=dict)
    policies: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    operations: dict[str, dict[str, Any]] = field(default_factory=dict)


# -- list filters ------------------------------------------------------------------------------
_TERM = re.compile(r'^\s*([A-Za-z0-9_.-]+)\s*(=|!=|:|\beq\b|\bne\b)\s*(?:"([^"]*)"|(\S+))\s*$')


def _field(item: dict[str, Any], path: str) -> Any:
    value: Any = item
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def matches_filter(item: dict[str, Any], text: str | None) -> bool:
    if not text or not text.strip():
        return True
    terms = re.findall(r"\(([^()]*)\)", text) if text.strip().startswith("(") else [text]
    for term in terms:
        match = _TERM.match(term)
        if match is None:
            raise ApiError(400, "invalid", f"Invalid list filter expression '{text}'.")
        path, op, quoted, bare = match.groups()
        wanted = quoted if quoted is not None else bare
        value = _field(item, path)
        if op == ":" and wanted == "*":
            ok = value is not None
        elif op == ":":
            ok = value is not None and wanted in str(value)
        elif op in ("eq", "ne"):
            ok = value is not None and re.fullmatch(wanted, str(value)) is not None
            ok = ok if op == "eq" else not ok
        else:
            ok = (
                (str(value).lower() if isinstance(value, bool) else str(value)) == wanted
                if value is not None
                else False
            )
            ok = ok if op == "=" else not ok
        if not ok:
            return False
    return True


# -- the fake ----------------------------------------------------------------------------------
class FakeGce:
    def __init__(self, work_dir: Path) -> None:
        self.work_dir = Path(work_dir)
        self.projects: dict[str, Project] = {}
        self.faults: list[Fault] = []
        self.calls: list[Call] = []
        self.routes: dict[str, int] = {}  # instance id -> index of the loopback sshd it is routed to
        self.myip = MYIP_ADDRESS
        self.images = dict(IMAGES)
        self._lock = threading.RLock()
        self._ids = itertools.count(random.randint(10**18, 2 * 10**18))
        self._addresses = itertools.count(1)
        self._tokens: set[str] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None
        self.key_file = self.work_dir / "service-account.json"
        self._public_pem = ""
        self.reset()

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> FakeGce:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                fake._handle(self)

            do_GET = do_POST = do_DELETE = do_PATCH = do_PUT = _any

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._write_key()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="fake-gce")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        with self._lock:
            self.projects = {PROJECT: Project()}
            self.projects[PROJECT].networks["default"] = self._network_resource(
                PROJECT, {"name": "default", "autoCreateSubnetworks": True, "description": "Default network"}
            )
            self.faults.clear()
            self.calls.clear()
            self.routes.clear()
            self.myip = MYIP_ADDRESS
            self.images = dict(IMAGES)

    def env(self) -> dict[str, str | None]:
        """What a CLI subprocess needs: the endpoint, a service-account key through the
        standard GOOGLE_APPLICATION_CREDENTIALS, no gcloud config and no metadata server."""
        empty = self.work_dir / "no-gcloud-config"
        empty.mkdir(exist_ok=True)
        return {
            "ISAACCTL_GCP_ENDPOINT": self.url,
            "GOOGLE_APPLICATION_CREDENTIALS": str(self.key_file),
            "GOOGLE_CLOUD_PROJECT": None,
            "CLOUDSDK_CONFIG": str(empty),
            "NO_GCE_CHECK": "True",
            "ISAACCTL_MYIP_URL": f"{self.url}{MYIP_PATH}",
        }

    def _write_key(self) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self._public_pem = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        self.key_file.write_text(
            json.dumps(
                {
                    "type": "service_account",
                    "project_id": PROJECT,
                    "private_key_id": "isaacctl-test-key",
                    "private_key": private,
                    "client_email": CLIENT_EMAIL,
                    "client_id": "100000000000000000001",
                    "auth_uri": f"{self.url}/auth",
                    "token_uri": f"{self.url}{TOKEN_PATH}",
                }
            )
        )
        self.key_file.chmod(0o600)

    # -- test helpers --------------------------------------------------------------------------
    def inject(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        with self._lock:
            if fault in self.faults:
                self.faults.remove(fault)

    def actions(self) -> list[str]:
        return [c.action for c in self.calls]

    def delete_default_network(self, project: str = PROJECT) -> None:
        with self._lock:
            self.projects[project].networks.pop("default", None)

    def instances(self, project: str = PROJECT) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(i) for i in self.projects[project].instances.values()]

    def preempt(self, name: str, project: str = PROJECT) -> None:
        """Compute Engine takes a Spot VM back as its instanceTerminationAction says: STOP, it is
        TERMINATED (stopped), its disk kept, its external address released; DELETE, it is
        deleted with its auto-delete disks."""
        with self._lock:
            state = self.projects[project]
            found = [i for i in state.instances.values() if i["name"] == name]
            instance = found[0]
            scheduling = instance.get("scheduling", {})
            assert scheduling.get("provisioningModel") == "SPOT", "only Spot VMs are preempted"
            zone = instance["zone"].rsplit("/", 1)[-1]
            if scheduling.get("instanceTerminationAction", "STOP") == "DELETE":
                self._instance_gone(state, zone, instance)
            else:
                self._stopped(instance)
            self._operation(project, "compute.instances.preempted", instance["selfLink"], zone=zone)

    def labelled(self, deployment: str, project: str = PROJECT) -> list[tuple[str, str]]:
        """(kind, name) of every resource isaacctl made for the deployment: instances and disks
        by label, firewall rules, networks and resource policies by their description."""
        with self._lock:
            state = self.projects[project]
            found = [
                ("instance", i["name"])
                for i in state.instances.values()
                if i.get("labels", {}).get("isaacctl-deployment") == deployment
            ]
            found += [
                ("disk", d["name"])
                for d in state.disks.values()
                if d.get("labels", {}).get("isaacctl-deployment") == deployment
            ]
            marker = f"isaacctl-deployment={deployment} "
            found += [("firewall", f["name"]) for f in state.firewalls.values() if marker in f.get("description", "")]
            found += [("network", n["name"]) for n in state.networks.values() if marker in n.get("description", "")]
            found += [
                ("resource-policy", p["name"]) for p in state.policies.values() if marker in p.get("description", "")
            ]
            return sorted(found)

    def deployment_ids(self, deployment: str, project: str = PROJECT) -> set[str]:
        ids = set()
        with self._lock:
            state = self.projects[project]
            for item in [*state.instances.values(), *state.disks.values()]:
                labels = item.get("labels", {})
                if labels.get("isaacctl-deployment") == deployment and "isaacctl-deployment-id" in labels:
                    ids.add(labels["isaacctl-deployment-id"])
            for item in [*state.firewalls.values(), *state.networks.values(), *state.policies.values()]:
                text = item.get("description", "")
                if f"isaacctl-deployment={deployment} " in text:
                    found = re.search(r"isaacctl-deployment-id=(\S+)", text)
                    if found:
                        ids.add(found.group(1))
        return ids

    # -- HTTP ----------------------------------------------------------------------------------
    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        url = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        status, body, content_type = 200, b"", "application/json"
        try:
            if url.path == MYIP_PATH:
                body, content_type = f"{self.myip}\n".encode(), "text/plain"
            elif url.path == ROUTE_PATH:
                body, content_type = self._route(query.get("host", "")).encode(), "text/plain"
            elif url.path == TOKEN_PATH:
                body = json.dumps(self._token(raw)).encode()
            elif url.path.startswith(API):
                self._authorize(request.headers.get("Authorization", ""))
                body = json.dumps(self._api(request.command, unquote(url.path[len(API) :]), query, raw)).encode()
            else:
                raise ApiError(404, "notFound", f"no such path {url.path}")
        except ApiError as exc:
            status, body = exc.status, json.dumps(exc.body()).encode()
        except Exception as exc:  # a bug in the fake: say so, as a 500 the client will show
            status, body = 500, json.dumps(ApiError(500, "backendError", f"fake: {exc!r}").body()).encode()
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def _token(self, raw: bytes) -> dict[str, Any]:
        """OAuth 2.0 JWT-bearer grant (a service account asking for an access token)."""
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        assertion = form.get("assertion", "")
        self._verify_jwt(assertion)
        token = f"ya29.fake-{random.getrandbits(64):016x}"
        with self._lock:
            self._tokens.add(token)
        return {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}

    def _verify_jwt(self, token: str) -> None:
        from google.auth import jwt

        try:
            claims = jwt.decode(token, certs=self._public_pem, verify=True)
        except Exception as exc:
            raise ApiError(401, "authError", f"Invalid Credentials ({exc})") from None
        if claims.get("iss") != CLIENT_EMAIL:
            raise ApiError(401, "authError", "Invalid Credentials (unknown issuer)")

    def _authorize(self, header: str) -> None:
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token:
            raise ApiError(
                401,
                "required",
                "Request is missing required authentication credential. Expected OAuth 2 "
                "access token, login cookie or other valid authentication credential.",
            )
        with self._lock:
            if token in self._tokens:
                return
        self._verify_jwt(token)
        with self._lock:
            self._tokens.add(token)

    def _fault(self, action: str, zone: str | None) -> Fault | None:
        with self._lock:
            self.calls.append(Call(action, "", "", time.monotonic()))
            chosen = [f for f in self.faults if f.matches(action, zone)]
            for fault in chosen:
                fault.hits += 1
        delay = sum(f.delay for f in chosen)
        if delay:
            time.sleep(delay)
        error = next((f for f in chosen if f.code or f.reason), None)
        if error is not None and error.kind == "http":
            raise ApiError(error.status, error.reason or error.code, error.message or "injected by the test harness")
        return error

    def _api(self, method: str, path: str, query: dict[str, str], raw: bytes) -> Any:
        parts = path.split("/")
        project, rest = parts[0], parts[1:]
        body = json.loads(raw) if raw else {}
        if project not in self.projects and not (project in IMAGE_PROJECTS and rest[:2] == ["global", "images"]):
            raise ApiError(404, "notFound", f"The resource 'projects/{project}' was not found")
        if not rest:
            self._fault("compute.projects.get", None)
            return {
                "kind": "compute#project",
                "name": project,
                "id": str(abs(hash(project)) % 10**15),
                "selfLink": f"{BASE}projects/{project}",
            }
        with self._lock:
            if rest[0] == "aggregated":
                self._fault(f"compute.{rest[1]}.aggregatedList", None)
                return self._aggregated(project, rest[1], query.get("filter"))
            if rest[0] == "zones":
                return self._zonal(method, project, rest[1], rest[2:], query, body)
            if rest[0] == "regions":
                return self._regional(method, project, rest[1], rest[2:], query, body)
            if rest[0] == "global":
                return self._global(method, project, rest[1:], query, body)
        raise ApiError(404, "notFound", f"no such path {path}")

    # -- zonal ---------------------------------------------------------------------------------
    def _zonal(
        self, method: str, project: str, zone: str, rest: list[str], query: dict[str, str], body: dict[str, Any]
    ) -> Any:
        if zone not in ALL_ZONES:
            raise ApiError(400, "invalid", f"Invalid value for field 'zone': '{zone}'. Unknown zone.")
        state = self.projects[project]
        collection = rest[0]
        if collection == "operations":
            self._fault("compute.zoneOperations." + ("wait" if len(rest) > 2 else "get"), zone)
            return self._finish(project, rest[1])
        if collection == "machineTypes":
            self._fault("compute.machineTypes." + ("get" if len(rest) > 1 else "list"), zone)
            if len(rest) > 1:
                if zone not in MACHINE_TYPES.get(rest[1], (0, 0, None, 0, []))[4]:
                    raise _not_found(f"projects/{project}/zones/{zone}/machineTypes/{rest[1]}")
                return self._machine_type(project, zone, rest[1])
            return self._page(
                "compute#machineTypeList",
                [self._machine_type(project, zone, t) for t, v in MACHINE_TYPES.items() if zone in v[4]],
                query,
            )
        if collection == "acceleratorTypes":
            self._fault("compute.acceleratorTypes.list", zone)
            return self._page(
                "compute#acceleratorTypeList",
                [self._accelerator_type(project, zone, t) for t, z in ACCELERATOR_TYPES.items() if zone in z],
                query,
            )
        if collection == "disks":
            if len(rest) == 1:
                self._fault("compute.disks.list", zone)
                return self._page("compute#diskList", [d for (z, _), d in state.disks.items() if z == zone], query)
            disk = state.disks.get((zone, rest[1]))
            if disk is None:
                raise _not_found(f"projects/{project}/zones/{zone}/disks/{rest[1]}")
            if method == "GET":
                self._fault("compute.disks.get", zone)
                return disk
            if method == "DELETE":
                self._fault("compute.disks.delete", zone)
                if disk.get("users"):
                    raise ApiError(
                        400,
                        "resourceInUseByAnotherResource",
                        f"The disk resource '{disk['selfLink']}' is already being used by '{disk['users'][0]}'",
                    )
                del state.disks[(zone, rest[1])]
                return self._operation(project, "delete", disk["selfLink"], zone=zone)
        if collection == "instances":
            return self._instances(method, project, zone, rest[1:], query, body)
        raise ApiError(404, "notFound", f"no such collection {collection}")

    def _instances(
        self, method: str, project: str, zone: str, rest: list[str], query: dict[str, str], body: dict[str, Any]
    ) -> Any:
        state = self.projects[project]
        if not rest:
            if method == "GET":
                self._fault("compute.instances.list", zone)
                return self._page(
                    "compute#instanceList", [i for (z, _), i in state.instances.items() if z == zone], query
                )
            fault = self._fault("compute.instances.insert", zone)
            return self._insert_instance(project, zone, body, fault)
        name = rest[0]
        instance = state.instances.get((zone, name))
        if instance is None:
            raise _not_found(f"projects/{project}/zones/{zone}/instances/{name}")
        verb = rest[1] if len(rest) > 1 else {"GET": "get", "DELETE": "delete"}.get(method, method.lower())
        fault = self._fault(f"compute.instances.{verb}", zone)
        link = instance["selfLink"]
        if verb == "get":
            return instance
        if verb == "delete":
            instance["status"] = "STOPPING"
            return self._operation(
                project, "delete", link, zone=zone, then=lambda: self._instance_gone(state, zone, instance)
            )
        if verb == "stop":
            instance["status"] = "STOPPING"
            return self._operation(project, "stop", link, zone=zone, then=lambda: self._stopped(instance))
        if verb == "start":
            if instance["status"] not in ("TERMINATED",):
                return self._operation(project, "start", link, zone=zone)
            if fault is not None:
                return self._operation(project, "start", link, zone=zone, error=fault)
            instance["status"] = "STAGING"
            return self._operation(project, "start", link, zone=zone, then=lambda: self._running(instance))
        raise ApiError(400, "invalid", f"unsupported instance method {verb}")

    def _insert_instance(self, project: str, zone: str, body: dict[str, Any], fault: Fault | None) -> Any:
        state = self.projects[project]
        self._check_fields("Instance", body)
        name = body.get("name", "")
        if not _NAME.fullmatch(name):
            raise _invalid("resource.name", name, "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'")
        link = f"{BASE}projects/{project}/zones/{zone}/instances/{name}"
        if (zone, name) in state.instances:
            raise ApiError(
                409, "alreadyExists", f"The resource 'projects/{project}/zones/{zone}/instances/{name}' already exists"
            )
        machine_type = str(body.get("machineType", "")).rsplit("/", 1)[-1]
        type_zone = re.search(r"zones/([^/]+)/machineTypes/", str(body.get("machineType", "")))
        if (
            machine_type not in MACHINE_TYPES
            or zone not in MACHINE_TYPES[machine_type][4]
            or (type_zone and type_zone.group(1) != zone)
        ):
            raise _invalid(
                "resource.machineType",
                body.get("machineType"),
                f"Machine type with name '{machine_type}' does not exist in zone '{zone}'.",
            )
        _, _, built_in, _, _ = MACHINE_TYPES[machine_type]
        family = machine_type.split("-", 1)[0]
        self._check_labels("resource.labels", body.get("labels", {}))
        for tag in body.get("tags", {}).get("items", []):
            if not _NAME.fullmatch(tag):
                raise _invalid(
                    "resource.tags.items[0]", tag, "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'"
                )
        for item in body.get("metadata", {}).get("items", []):
            if not _METADATA_KEY.fullmatch(item.get("key", "")):
                raise _invalid(
                    "resource.metadata.items.key", item.get("key"), "Metadata keys must match [a-zA-Z0-9-_]{1,128}."
                )
        if len(json.dumps(body.get("metadata", {}))) > 512 * 1024:
            raise ApiError(400, "invalid", "Metadata total size exceeds 512 KB.")
        guests = body.get("guestAccelerators", [])
        if guests and built_in:
            raise ApiError(
                400,
                "invalid",
                f"Accelerator-optimized machine type '{machine_type}' does not support "
                "guest accelerators; its GPUs are part of the machine type.",
            )
        for guest in guests:
            accel = str(guest.get("acceleratorType", "")).rsplit("/", 1)[-1]
            if zone not in ACCELERATOR_TYPES.get(accel, []):
                raise _invalid(
                    "resource.guestAccelerators[0].acceleratorType",
                    guest.get("acceleratorType"),
                    f"Accelerator type '{accel}' does not exist in zone '{zone}'.",
                )
        scheduling = body.get("scheduling", {})
        if (guests or built_in) and scheduling.get("onHostMaintenance", "MIGRATE") != "TERMINATE":
            raise ApiError(400, "invalid", "Instances with guest accelerators do not support live migration.")
        if scheduling.get("provisioningModel") == "SPOT":
            if scheduling.get("automaticRestart", False):
                raise _invalid(
                    "resource.scheduling.automaticRestart", "true", "Spot VMs do not support automatic restart."
                )
            if scheduling.get("instanceTerminationAction", "STOP") not in ("STOP", "DELETE"):
                raise _invalid(
                    "resource.scheduling.instanceTerminationAction",
                    scheduling.get("instanceTerminationAction"),
                    "Must be STOP or DELETE.",
                )
        disks = body.get("disks", [])
        boots = [d for d in disks if d.get("boot")]
        if len(boots) != 1:
            raise ApiError(400, "invalid", "Exactly one boot disk must be specified.")
        params = boots[0].get("initializeParams", {})
        image = self._image_from_link(params.get("sourceImage", ""))
        size = int(params.get("diskSizeGb") or image["diskSizeGb"])
        if size < int(image["diskSizeGb"]):
            raise _invalid(
                "resource.disks[0].initializeParams.diskSizeGb",
                size,
                f"Requested disk size cannot be smaller than the image size ({image['diskSizeGb']} GB)",
            )
        disk_type = str(params.get("diskType", "pd-standard")).rsplit("/", 1)[-1]
        if disk_type not in DISK_TYPES_BY_FAMILY.get(family, {"pd-standard", "pd-balanced", "pd-ssd"}):
            raise ApiError(400, "badRequest", f"[{disk_type}] features are not compatible for creating instance.")
        self._check_labels("resource.disks[0].initializeParams.labels", params.get("labels", {}))
        interfaces = body.get("networkInterfaces") or [{"network": "global/networks/default"}]
        network = str(interfaces[0].get("network", "global/networks/default")).rsplit("/", 1)[-1]
        if network not in state.networks:
            raise _invalid(
                "resource.networkInterfaces[0].network",
                interfaces[0].get("network"),
                "The referenced network resource cannot be found.",
            )
        region = zone.rsplit("-", 1)[0]
        for policy in body.get("resourcePolicies", []):
            policy_name = policy.rsplit("/", 1)[-1]
            if (region, policy_name) not in state.policies or f"/regions/{region}/" not in "/" + policy:
                raise _invalid(
                    "resource.resourcePolicies[0]", policy, f"The resource policy cannot be found in region {region}."
                )
        instance = dict(body)
        instance.update(
            {
                "kind": "compute#instance",
                "id": str(next(self._ids)),
                "status": "PROVISIONING",
                "creationTimestamp": _now(),
                "selfLink": link,
                "zone": f"{BASE}projects/{project}/zones/{zone}",
                "machineType": f"{BASE}projects/{project}/zones/{zone}/machineTypes/{machine_type}",
                "labelFingerprint": "42WmSpB8rSM=",
                "fingerprint": "fake",
            }
        )
        disk_link = f"{BASE}projects/{project}/zones/{zone}/disks/{name}"
        instance["disks"] = [
            {
                "kind": "compute#attachedDisk",
                "type": "PERSISTENT",
                "mode": "READ_WRITE",
                "boot": True,
                "autoDelete": boots[0].get("autoDelete", True),
                "deviceName": name,
                "index": 0,
                "source": disk_link,
                "diskSizeGb": str(size),
            }
        ]
        if scheduling.get("provisioningModel") == "SPOT":
            instance["scheduling"] = {
                **scheduling,
                "automaticRestart": False,
                "preemptible": False,
                "instanceTerminationAction": scheduling.get("instanceTerminationAction", "STOP"),
            }
        octet = next(self._addresses)
        instance["networkInterfaces"] = [
            {
                "kind": "compute#networkInterface",
                "name": "nic0",
                "network": f"{BASE}projects/{project}/global/networks/{network}",
                "networkIP": f"10.128.{octet // 250}.{octet % 250 + 2}",
                "accessConfigs": [
                    {**c, "kind": "compute#accessConfig"} for c in interfaces[0].get("accessConfigs", [])
                ],
            }
        ]
        state.instances[(zone, name)] = instance
        state.disks[(zone, name)] = {
            "kind": "compute#disk",
            "id": str(next(self._ids)),
            "name": name,
            "sizeGb": str(size),
            "zone": f"{BASE}projects/{project}/zones/{zone}",
            "status": "CREATING",
            "selfLink": disk_link,
            "type": f"{BASE}projects/{project}/zones/{zone}/diskTypes/{disk_type}",
            "sourceImage": f"{BASE}projects/{image['project']}/global/images/{image['name']}",
            "labels": dict(params.get("labels", {})),
            "users": [link],
            "creationTimestamp": _now(),
        }

        if fault is not None:

            def refused() -> None:
                state.instances.pop((zone, name), None)
                state.disks.pop((zone, name), None)

            return self._operation(project, "insert", link, zone=zone, error=fault, then=refused)

        def made() -> None:
            state.disks[(zone, name)]["status"] = "READY"
            self._running(instance)

        return self._operation(project, "insert", link, zone=zone, then=made)

    def _running(self, instance: dict[str, Any]) -> None:
        instance["status"] = "RUNNING"
        instance["lastStartTimestamp"] = _now()
        for config in instance["networkInterfaces"][0]["accessConfigs"]:
            if config.get("type", "ONE_TO_ONE_NAT") == "ONE_TO_ONE_NAT":
                # an ephemeral external address: a new one at every start
                config["natIP"] = f"34.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"

    @staticmethod
    def _instance_gone(state: Any, zone: str, instance: dict[str, Any]) -> None:
        """The instance deleted, and its disks marked auto-delete with it."""
        link = instance["selfLink"]
        del state.instances[(zone, instance["name"])]
        for disk in list(state.disks.values()):
            if link in disk.get("users", []):
                disk["users"].remove(link)
                attached = next((d for d in instance["disks"] if d.get("source") == disk["selfLink"]), {})
                if attached.get("autoDelete"):
                    del state.disks[(zone, disk["name"])]

    def _stopped(self, instance: dict[str, Any]) -> None:
        instance["status"] = "TERMINATED"
        instance["lastStopTimestamp"] = _now()
        for config in instance["networkInterfaces"][0]["accessConfigs"]:
            config.pop("natIP", None)

    # -- regional ------------------------------------------------------------------------------
    def _regional(
        self, method: str, project: str, region: str, rest: list[str], query: dict[str, str], body: dict[str, Any]
    ) -> Any:
        if region not in ZONES:
            raise ApiError(400, "invalid", f"Invalid value for field 'region': '{region}'. Unknown region.")
        state = self.projects[project]
        if rest[0] == "operations":
            self._fault("compute.regionOperations." + ("wait" if len(rest) > 2 else "get"), None)
            return self._finish(project, rest[1])
        if rest[0] != "resourcePolicies":
            raise ApiError(404, "notFound", f"no such collection {rest[0]}")
        if len(rest) == 1:
            if method == "GET":
                self._fault("compute.resourcePolicies.list", None)
                return self._page(
                    "compute#resourcePolicyList", [p for (r, _), p in state.policies.items() if r == region], query
                )
            self._fault("compute.resourcePolicies.insert", None)
            self._check_fields("ResourcePolicy", body)
            name = body.get("name", "")
            if not _NAME.fullmatch(name):
                raise _invalid(
                    "resource.name", name, "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'"
                )
            if (region, name) in state.policies:
                raise ApiError(
                    409,
                    "alreadyExists",
                    f"The resource 'projects/{project}/regions/{region}/resourcePolicies/{name}' already exists",
                )
            placement = body.get("groupPlacementPolicy")
            if placement is None or placement.get("collocation") not in ("COLLOCATED", "UNSPECIFIED_COLLOCATION"):
                raise _invalid(
                    "resource.groupPlacementPolicy.collocation",
                    (placement or {}).get("collocation"),
                    "Must be COLLOCATED.",
                )
            link = f"{BASE}projects/{project}/regions/{region}/resourcePolicies/{name}"
            state.policies[(region, name)] = {
                **body,
                "kind": "compute#resourcePolicy",
                "id": str(next(self._ids)),
                "selfLink": link,
                "region": f"{BASE}projects/{project}/regions/{region}",
                "status": "READY",
                "creationTimestamp": _now(),
            }
            return self._operation(project, "insert", link, region=region)
        policy = state.policies.get((region, rest[1]))
        if policy is None:
            raise _not_found(f"projects/{project}/regions/{region}/resourcePolicies/{rest[1]}")
        if method == "GET":
            self._fault("compute.resourcePolicies.get", None)
            return policy
        self._fault("compute.resourcePolicies.delete", None)
        users = [
            i["selfLink"]
            for i in state.instances.values()
            if any(p.rsplit("/", 1)[-1] == rest[1] for p in i.get("resourcePolicies", []))
        ]
        if users:
            raise ApiError(
                400,
                "resourceInUseByAnotherResource",
                f"The resource_policy resource '{policy['selfLink']}' is already being used by '{users[0]}'",
            )
        del state.policies[(region, rest[1])]
        return self._operation(project, "delete", policy["selfLink"], region=region)

    # -- global --------------------------------------------------------------------------------
    def _global(self, method: str, project: str, rest: list[str], query: dict[str, str], body: dict[str, Any]) -> Any:
        if rest[0] == "images":
            self._fault("compute.images.getFromFamily", None)
            if rest[1] != "family":
                raise ApiError(404, "notFound", "only image families are served")
            image = self.images.get((project, rest[2]))
            if image is None:
                raise _not_found(f"projects/{project}/global/images/family/{rest[2]}")
            return {
                "kind": "compute#image",
                "id": str(abs(hash(image["name"])) % 10**18),
                "status": "READY",
                "name": image["name"],
                "family": rest[2],
                "diskSizeGb": image["diskSizeGb"],
                "architecture": "X86_64",
                "selfLink": f"{BASE}projects/{project}/global/images/{image['name']}",
            }
        if rest[0] == "operations":
            self._fault("compute.globalOperations." + ("wait" if len(rest) > 2 else "get"), None)
            return self._finish(project, rest[1])
        state = self.projects[project]
        if rest[0] == "firewalls":
            return self._firewalls(method, project, state, rest[1:], query, body)
        if rest[0] == "networks":
            return self._networks(method, project, state, rest[1:], query, body)
        raise ApiError(404, "notFound", f"no such collection {rest[0]}")

    def _firewalls(
        self, method: str, project: str, state: Project, rest: list[str], query: dict[str, str], body: dict[str, Any]
    ) -> Any:
        if not rest:
            if method == "GET":
                self._fault("compute.firewalls.list", None)
                return self._page("compute#firewallList", list(state.firewalls.values()), query)
            self._fault("compute.firewalls.insert", None)
            self._check_fields("Firewall", body)
            name = body.get("name", "")
            if not _NAME.fullmatch(name):
                raise _invalid(
                    "resource.name", name, "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'"
                )
            if name in state.firewalls:
                raise ApiError(
                    409, "alreadyExists", f"The resource 'projects/{project}/global/firewalls/{name}' already exists"
                )
            rule = self._check_firewall(state, body)
            link = f"{BASE}projects/{project}/global/firewalls/{name}"
            state.firewalls[name] = {
                **rule,
                "kind": "compute#firewall",
                "id": str(next(self._ids)),
                "selfLink": link,
                "creationTimestamp": _now(),
            }
            return self._operation(project, "insert", link)
        rule = state.firewalls.get(rest[0])
        if rule is None:
            raise _not_found(f"projects/{project}/global/firewalls/{rest[0]}")
        if method == "GET":
            self._fault("compute.firewalls.get", None)
            return rule
        if method == "PATCH":
            self._fault("compute.firewalls.patch", None)
            self._check_fields("Firewall", body)
            state.firewalls[rest[0]] = self._check_firewall(state, {**rule, **body})
            return self._operation(project, "patch", rule["selfLink"])
        self._fault("compute.firewalls.delete", None)
        del state.firewalls[rest[0]]
        return self._operation(project, "delete", rule["selfLink"])

    def _check_firewall(self, state: Project, rule: dict[str, Any]) -> dict[str, Any]:
        network = str(rule.get("network", "global/networks/default")).rsplit("/", 1)[-1]
        if network not in state.networks:
            raise _invalid("resource.network", rule.get("network"), "The referenced network resource cannot be found.")
        rule["network"] = state.networks[network]["selfLink"]
        if rule.get("direction", "INGRESS") not in ("INGRESS", "EGRESS"):
            raise _invalid("resource.direction", rule.get("direction"), "Must be INGRESS or EGRESS.")
        for cidr in rule.get("sourceRanges", []):
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise _invalid("resource.sourceRanges[0]", cidr, "Must be a CIDR address range.") from None
        if not (rule.get("sourceRanges") or rule.get("sourceTags") or rule.get("sourceServiceAccounts")):
            raise ApiError(400, "invalid", "An INGRESS rule needs sourceRanges, sourceTags or sourceServiceAccounts.")
        for tag in [*rule.get("sourceTags", []), *rule.get("targetTags", [])]:
            if not _NAME.fullmatch(tag):
                raise _invalid(
                    "resource.targetTags[0]", tag, "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'"
                )
        for allowed in rule.get("allowed", []):
            protocol = allowed.get("IPProtocol", "")
            if protocol not in ("tcp", "udp", "icmp", "all", "esp", "ah", "sctp"):
                raise _invalid("resource.allowed[0].IPProtocol", protocol, "Unknown protocol.")
            if allowed.get("ports") and protocol not in ("tcp", "udp", "sctp"):
                raise _invalid("resource.allowed[0].ports", allowed["ports"], "Ports apply to tcp, udp and sctp only.")
        if len(rule.get("description", "")) > 2048:
            raise _invalid("resource.description", "...", "Must be at most 2048 characters.")
        return rule

    def _networks(
        self, method: str, project: str, state: Project, rest: list[str], query: dict[str, str], body: dict[str, Any]
    ) -> Any:
        if not rest:
            if method == "GET":
                self._fault("compute.networks.list", None)
                return self._page("compute#networkList", list(state.networks.values()), query)
            self._fault("compute.networks.insert", None)
            self._check_fields("Network", body)
            name = body.get("name", "")
            if not _NAME.fullmatch(name):
                raise _invalid(
                    "resource.name", name, "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'"
                )
            if name in state.networks:
                raise ApiError(
                    409, "alreadyExists", f"The resource 'projects/{project}/global/networks/{name}' already exists"
                )
            if "autoCreateSubnetworks" not in body:
                raise _invalid(
                    "resource.autoCreateSubnetworks",
                    "",
                    "Legacy networks cannot be created; set autoCreateSubnetworks.",
                )
            network = self._network_resource(project, body)
            state.networks[name] = network
            return self._operation(project, "insert", network["selfLink"])
        network = state.networks.get(rest[0])
        if network is None:
            raise _not_found(f"projects/{project}/global/networks/{rest[0]}")
        if method == "GET":
            self._fault("compute.networks.get", None)
            return network
        self._fault("compute.networks.delete", None)
        users = [f["selfLink"] for f in state.firewalls.values() if f.get("network") == network["selfLink"]]
        users += [
            i["selfLink"]
            for i in state.instances.values()
            if i["networkInterfaces"][0]["network"] == network["selfLink"]
        ]
        if users:
            raise ApiError(
                400,
                "resourceInUseByAnotherResource",
                f"The network resource '{network['selfLink']}' is already being used by '{users[0]}'",
            )
        del state.networks[rest[0]]
        return self._operation(project, "delete", network["selfLink"])

    def _network_resource(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        return {
            **body,
            "kind": "compute#network",
            "id": str(next(self._ids)),
            "creationTimestamp": _now(),
            "selfLink": f"{BASE}projects/{project}/global/networks/{body['name']}",
            "routingConfig": {"routingMode": "REGIONAL"},
        }

    # -- catalogs ------------------------------------------------------------------------------
    def _machine_type(self, project: str, zone: str, name: str) -> dict[str, Any]:
        vcpus, memory, accelerator, count, _ = MACHINE_TYPES[name]
        item = {
            "kind": "compute#machineType",
            "id": str(abs(hash(name)) % 10**12),
            "name": name,
            "guestCpus": vcpus,
            "memoryMb": memory,
            "zone": zone,
            "isSharedCpu": False,
            "description": f"{vcpus} vCPUs, {memory // 1024} GB RAM",
            "selfLink": f"{BASE}projects/{project}/zones/{zone}/machineTypes/{name}",
        }
        if accelerator:
            item["accelerators"] = [{"guestAcceleratorType": accelerator, "guestAcceleratorCount": count}]
        return item

    def _accelerator_type(self, project: str, zone: str, name: str) -> dict[str, Any]:
        return {
            "kind": "compute#acceleratorType",
            "id": str(abs(hash(name)) % 10**12),
            "name": name,
            "description": name,
            "zone": f"{BASE}projects/{project}/zones/{zone}",
            "maximumCardsPerInstance": 8,
            "selfLink": f"{BASE}projects/{project}/zones/{zone}/acceleratorTypes/{name}",
        }

    def _image_from_link(self, link: str) -> dict[str, Any]:
        match = re.search(r"projects/([^/]+)/global/images/([^/]+)$", link)
        if match:
            for (project, _), image in self.images.items():
                if project == match.group(1) and image["name"] == match.group(2):
                    return {**image, "project": project}
        raise _invalid(
            "resource.disks[0].initializeParams.sourceImage", link, "The referenced image resource cannot be found."
        )

    def _aggregated(self, project: str, collection: str, text: str | None) -> dict[str, Any]:
        state = self.projects[project]
        scoped: dict[str, list[dict[str, Any]]] = {}
        key = collection
        if collection == "instances":
            for (zone, _), item in state.instances.items():
                scoped.setdefault(f"zones/{zone}", []).append(item)
        elif collection == "disks":
            for (zone, _), item in state.disks.items():
                scoped.setdefault(f"zones/{zone}", []).append(item)
        elif collection == "machineTypes":
            for name, (*_, zones) in MACHINE_TYPES.items():
                for zone in zones:
                    scoped.setdefault(f"zones/{zone}", []).append(self._machine_type(project, zone, name))
        elif collection == "acceleratorTypes":
            for name, zones in ACCELERATOR_TYPES.items():
                for zone in zones:
                    scoped.setdefault(f"zones/{zone}", []).append(self._accelerator_type(project, zone, name))
        elif collection == "resourcePolicies":
            for (region, _), item in state.policies.items():
                scoped.setdefault(f"regions/{region}", []).append(item)
        else:
            raise ApiError(404, "notFound", f"no aggregated list of {collection}")
        items: dict[str, Any] = {}
        scopes = (
            [f"zones/{z}" for z in ALL_ZONES] if collection != "resourcePolicies" else [f"regions/{r}" for r in ZONES]
        )
        for scope in scopes:
            found = [item for item in scoped.get(scope, []) if matches_filter(item, text)]
            if found:
                items[scope] = {key: found}
            else:
                items[scope] = {
                    "warning": {"code": "NO_RESULTS_ON_PAGE", "message": "There are no results for scope on this page."}
                }
        return {
            "kind": f"compute#{collection[:-1]}AggregatedList",
            "id": f"projects/{project}/aggregated/{collection}",
            "items": items,
            "selfLink": f"{BASE}projects/{project}/aggregated/{collection}",
        }

    def _page(self, kind: str, items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
        found = [item for item in items if matches_filter(item, query.get("filter"))]
        return {"kind": kind, "items": found} if found else {"kind": kind}

    # -- operations ----------------------------------------------------------------------------
    def _operation(
        self,
        project: str,
        kind: str,
        target: str,
        zone: str | None = None,
        region: str | None = None,
        then: Any = None,
        error: Fault | None = None,
    ) -> dict[str, Any]:
        name = f"operation-{int(time.time() * 1000)}-{random.getrandbits(48):012x}"
        operation: dict[str, Any] = {
            "kind": "compute#operation",
            "id": str(next(self._ids)),
            "name": name,
            "operationType": kind,
            "targetLink": target,
            "status": "RUNNING",
            "progress": 0,
            "insertTime": _now(),
            "startTime": _now(),
            "user": CLIENT_EMAIL,
        }
        if zone:
            operation["zone"] = f"{BASE}projects/{project}/zones/{zone}"
            operation["selfLink"] = f"{BASE}projects/{project}/zones/{zone}/operations/{name}"
        elif region:
            operation["region"] = f"{BASE}projects/{project}/regions/{region}"
            operation["selfLink"] = f"{BASE}projects/{project}/regions/{region}/operations/{name}"
        else:
            operation["selfLink"] = f"{BASE}projects/{project}/global/operations/{name}"
        if kind == "compute.instances.preempted":
            operation["status"] = "DONE"
        self.projects[project].operations[name] = {"public": operation, "then": then, "error": error}
        return dict(operation)

    def _finish(self, project: str, name: str) -> dict[str, Any]:
        entry = self.projects[project].operations.get(name)
        if entry is None:
            raise _not_found(f"projects/{project}/operations/{name}")
        operation = entry["public"]
        if operation["status"] != "DONE":
            if entry["then"] is not None:
                entry["then"]()
            fault: Fault | None = entry["error"]
            if fault is not None:
                error: dict[str, Any] = {"code": fault.code, "message": fault.message or "injected by the test harness"}
                if fault.quota:
                    error["errorDetails"] = [{"quotaInfo": fault.quota}]
                operation["error"] = {"errors": [error]}
                operation["httpErrorStatusCode"] = 403 if fault.code == "QUOTA_EXCEEDED" else 503
            operation.update(status="DONE", progress=100, endTime=_now())
        return dict(operation)

    # -- validation helpers --------------------------------------------------------------------
    @staticmethod
    def _check_fields(message: str, body: dict[str, Any]) -> None:
        """Unknown JSON fields, through the client library's own message type (its schema)."""
        from google.cloud import compute_v1
        from google.protobuf.json_format import ParseError

        try:
            getattr(compute_v1, message).from_json(json.dumps(body), ignore_unknown_fields=False)
        except ParseError as exc:
            raise ApiError(400, "invalid", f"Invalid JSON payload received. {exc}") from None

    @staticmethod
    def _check_labels(where: str, labels: dict[str, str]) -> None:
        if len(labels) > 64:
            raise _invalid(where, "...", "At most 64 labels.")
        for key, value in labels.items():
            if not _LABEL_KEY.fullmatch(key):
                raise _invalid(
                    where,
                    key,
                    "Label keys must start with a lowercase letter and contain only lowercase "
                    "letters, digits, '_' and '-' (at most 63 characters).",
                )
            if not _LABEL_VALUE.fullmatch(value):
                raise _invalid(
                    where,
                    value,
                    "Label values can contain only lowercase letters, digits, '_' and '-' (at most 63 characters).",
                )

    # -- routing SSH to loopback sshds ---------------------------------------------------------
    def _route(self, host: str) -> str:
        with self._lock:
            live = {i["id"]: i for p in self.projects.values() for i in p.instances.values()}
            found = None
            for instance in live.values():
                interface = instance["networkInterfaces"][0]
                nat = [c.get("natIP") for c in interface.get("accessConfigs", [])]
                if host and (host in nat or host == interface.get("networkIP")):
                    found = instance["id"]
            if found is None:
                raise ApiError(404, "notFound", f"no instance has the address {host!r}")
            if found not in self.routes:
                # the lowest sshd no live instance has: a replaced node takes the place of the gone one
                taken = {index for instance_id, index in self.routes.items() if instance_id in live}
                self.routes[found] = min(set(range(len(self.routes) + 1)) - taken)
            return f"{self.routes[found]} {found}\n"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "-00:00")
