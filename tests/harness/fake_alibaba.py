"""A stateful fake of Alibaba Cloud's ECS (2014-05-26), VPC (2016-04-28) and STS (2015-04-01)
APIs on loopback, for the Alibaba provider's tests and benchmark. No emulator exists; this one
is driven by the real alibabacloud SDK clients (the product only gets
ISAACCTL_ALIBABA_ENDPOINT=http://127.0.0.1:PORT and credentials in the environment).

What it checks, like the real API:
- every request is signed with ACS3-HMAC-SHA256: the canonical request (method, path, sorted
  query, the signed headers, the payload's SHA-256) is rebuilt and the HMAC compared with the
  one in the Authorization header, for a known AccessKey id; the x-acs-date must be within 15
  minutes and a nonce is accepted once; errors as the API gives them
  (InvalidAccessKeyId.NotFound, SignatureDoesNotMatch, SignatureNonceUsed...);
- parameters: required ones, enumerations, ranges, JSON-array parameters, tag rules, the
  existence of what a request names (image, vSwitch in the zone, security group in the VPC,
  key pair, deployment set), CIDRs inside the VPC; unknown actions and versions are refused;
- errors as JSON {"RequestId", "HostId", "Code", "Message", "Recommend"} with the API's status;
- ClientToken idempotency: the same token with the same parameters answers what the first call
  answered (no second resource); with other parameters IdempotentParameterMismatch;
- state: VPCs (Pending until first described), vSwitches, security groups and rules, key pairs,
  deployment sets, instances (public address from InternetMaxBandwidthOut, released by a
  StopCharging stop and given anew on start), tags, dependency errors on delete.

Test hooks (not part of any API): ``inject`` faults (an error code for an action whose
parameters match, some times or always; or a delay), ``reclaim`` a spot instance (stopped, as
SpotInterruptionBehavior=Stop does), ``delete_default_vpc``, ``calls`` (every action seen),
``GET /isaacctl-test/myip`` and ``GET /isaacctl-test/route?host=ADDRESS`` (which loopback sshd
an instance's address is routed to, assigned per instance on first sight; see ssh_route.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, quote, urlsplit

ACCESS_KEY_ID = "LTAI5tFakeIsaacctlTest01"
ACCESS_KEY_SECRET = "fake-secret-for-the-isaacctl-tests-0123"
ACCOUNT_ID = "5123456789012345"
MYIP_PATH = "/isaacctl-test/myip"
ROUTE_PATH = "/isaacctl-test/route"
MYIP_ADDRESS = "203.0.113.20"  # documentation range: never dialled
VERSIONS = {"2014-05-26": "ecs", "2016-04-28": "vpc", "2015-04-01": "sts"}
REQUIRED_SIGNED = (
    "host",
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
)

# region -> zones; the default region of the provider and one other
ZONES = {
    "ap-southeast-1": ["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"],
    "cn-hangzhou": ["cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"],
}
# instance type -> (vCPUs, GiB memory, GPUs, GPU spec, zones of each region that sell it)
TYPES: dict[str, dict[str, Any]] = {
    "ecs.gn7i-c16g1.4xlarge": {
        "cpu": 16,
        "mem": 60.0,
        "gpus": 1,
        "gpu": "NVIDIA A10",
        "family": "ecs.gn7i",
        "zones": ["ap-southeast-1a", "ap-southeast-1b", "cn-hangzhou-h", "cn-hangzhou-i"],
    },
    "ecs.gn7i-c8g1.2xlarge": {
        "cpu": 8,
        "mem": 30.0,
        "gpus": 1,
        "gpu": "NVIDIA A10",
        "family": "ecs.gn7i",
        "zones": ["ap-southeast-1a", "ap-southeast-1b", "cn-hangzhou-h"],
    },
    "ecs.gn6i-c4g1.xlarge": {
        "cpu": 4,
        "mem": 15.0,
        "gpus": 1,
        "gpu": "NVIDIA T4",
        "family": "ecs.gn6i",
        "zones": ["ap-southeast-1a", "ap-southeast-1c", "cn-hangzhou-i"],
    },
    "ecs.gn8is.2xlarge": {
        "cpu": 8,
        "mem": 64.0,
        "gpus": 1,
        "gpu": "NVIDIA L20",
        "family": "ecs.gn8is",
        "zones": ["ap-southeast-1b", "cn-hangzhou-j"],
    },
    "ecs.gn7e-c16g1.4xlarge": {
        "cpu": 16,
        "mem": 125.0,
        "gpus": 1,
        "gpu": "NVIDIA A100 80GB",
        "family": "ecs.gn7e",
        "zones": ["ap-southeast-1b", "cn-hangzhou-h"],
    },
    "ecs.g7.xlarge": {
        "cpu": 4,
        "mem": 16.0,
        "gpus": 0,
        "gpu": "",
        "family": "ecs.g7",
        "zones": ["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c", "cn-hangzhou-h"],
    },
}
IMAGES = [
    {
        "ImageId": "ubuntu_22_04_x64_20G_alibase_20250317.vhd",
        "ImageName": "ubuntu_22_04_x64_20G_alibase_20250317.vhd",
        "OSName": "Ubuntu  22.04 64 bit",
        "CreationTime": "2025-03-17T09:00:00Z",
    },
    {
        "ImageId": "ubuntu_22_04_x64_20G_alibase_20250722.vhd",
        "ImageName": "ubuntu_22_04_x64_20G_alibase_20250722.vhd",
        "OSName": "Ubuntu  22.04 64 bit",
        "CreationTime": "2025-07-22T09:00:00Z",
    },
    {
        "ImageId": "ubuntu_24_04_x64_20G_alibase_20250722.vhd",
        "ImageName": "ubuntu_24_04_x64_20G_alibase_20250722.vhd",
        "OSName": "Ubuntu  24.04 64 bit",
        "CreationTime": "2025-07-22T10:00:00Z",
    },
    {
        "ImageId": "aliyun_3_x64_20G_alibase_20250629.vhd",
        "ImageName": "aliyun_3_x64_20G_alibase_20250629.vhd",
        "OSName": "Alibaba Cloud Linux  3.2104 LTS 64 bit",
        "CreationTime": "2025-06-29T09:00:00Z",
    },
]
UBUNTU_NEWEST = "ubuntu_22_04_x64_20G_alibase_20250722.vhd"
INSTANCE_STATES = ("Pending", "Running", "Starting", "Stopping", "Stopped")


class ApiError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


@dataclass
class Fault:
    """Answer ``action`` (or "*") with ``code`` when every ``params`` item matches."""

    action: str
    code: str = ""  # empty: only the delay
    message: str = "injected by the isaacctl test harness"
    status: int = 400
    params: dict[str, str] = field(default_factory=dict)
    times: int | None = None  # None: always
    delay: float = 0.0
    after: bool = False  # do the work, then answer with the error (an answer lost on the way)
    hits: int = 0

    def matches(self, action: str, params: dict[str, str]) -> bool:
        if self.action not in ("*", action) or (self.times is not None and self.hits >= self.times):
            return False
        return all(params.get(k) == v or (v == "*" and k in params) for k, v in self.params.items())


@dataclass
class Call:
    service: str
    action: str
    params: dict[str, str]
    at: float


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


def _indexed(params: dict[str, str], prefix: str) -> list[dict[str, str]]:
    """Tag.1.Key=a&Tag.1.Value=b -> [{"Key": "a", "Value": "b"}] (by index order)."""
    found: dict[int, dict[str, str]] = {}
    for key, value in params.items():
        if key.startswith(prefix + "."):
            rest = key[len(prefix) + 1 :]
            index, _, name = rest.partition(".")
            if index.isdigit():
                found.setdefault(int(index), {})[name] = value
    return [found[i] for i in sorted(found)]


def _listed(params: dict[str, str], prefix: str) -> list[str]:
    """InstanceId.1=a&InstanceId.2=b -> [a, b]."""
    found = {
        int(k[len(prefix) + 1 :]): v
        for k, v in params.items()
        if k.startswith(prefix + ".") and k[len(prefix) + 1 :].isdigit()
    }
    return [found[i] for i in sorted(found)]


def _json_list(params: dict[str, str], name: str, limit: int = 100) -> list[str] | None:
    if name not in params:
        return None
    try:
        value = json.loads(params[name])
    except ValueError:
        raise ApiError(
            f"InvalidParameter.{name}", f"The specified parameter {name} is not a valid JSON array."
        ) from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(f"InvalidParameter.{name}", f"The specified parameter {name} is not a valid JSON array.")
    if len(value) > limit:
        raise ApiError(f"InvalidParameter.{name}", f"The specified parameter {name} has more than {limit} items.")
    return value


class FakeAlibaba:
    """The whole fake: ``start()``, ``url``, ``env()``, ``reset()``, hooks; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.faults: list[Fault] = []
        self.calls: list[Call] = []
        self.myip = MYIP_ADDRESS
        self.routes: dict[str, int] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._reset_state()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeAlibaba:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # no line per request
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                fake._serve(self)

            def do_POST(self) -> None:  # noqa: N802
                fake._serve(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="fake-alibaba")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str | None]:
        """What a CLI subprocess needs: the endpoint, keys through the credentials chain's
        environment variables, and no metadata-service lookups (those would leave loopback)."""
        return {
            "ISAACCTL_ALIBABA_ENDPOINT": self.url,
            "ALIBABA_CLOUD_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
            "ALIBABA_CLOUD_SECURITY_TOKEN": None,
            "ALIBABA_CLOUD_PROFILE": None,
            "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
            "ALIBABA_CLOUD_CREDENTIALS_URI": None,
            "ALIBABA_CLOUD_ROLE_ARN": None,
            "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": None,
            "ISAACCTL_MYIP_URL": f"{self.url}{MYIP_PATH}",
        }

    def reset(self) -> None:
        with self._lock:
            self.faults.clear()
            self.calls.clear()
            self.myip = MYIP_ADDRESS
            self.routes.clear()
            self._reset_state()

    def _reset_state(self) -> None:
        self.vpcs: dict[str, dict[str, Any]] = {}
        self.vswitches: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, dict[str, Any]] = {}
        self.key_pairs: dict[tuple[str, str], dict[str, Any]] = {}
        self.deployment_sets: dict[str, dict[str, Any]] = {}
        self.instances: dict[str, dict[str, Any]] = {}
        self.tags: dict[str, dict[str, str]] = {}  # resource id -> tags
        self.tokens: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        self.nonces: set[str] = set()
        self._ids = itertools.count(1)
        self._addresses = itertools.count(1)
        for region, zones in ZONES.items():
            vpc = self._add_vpc(region, "172.16.0.0/12", "default", is_default=True)
            vpc["Status"] = "Available"
            for i, zone in enumerate(zones[:2]):
                self._add_vswitch(vpc, zone, f"172.16.{16 * i}.0/20", "default", is_default=True)

    # -- test hooks ----------------------------------------------------------------------------
    def inject(self, action: str, code: str = "", **kwargs: Any) -> Fault:
        fault = Fault(action, code, **kwargs)
        with self._lock:
            self.faults.append(fault)
        return fault

    def actions(self, service: str | None = None) -> list[str]:
        with self._lock:
            return [c.action for c in self.calls if service in (None, c.service)]

    def reclaim(self, instance_id: str) -> None:
        """The cloud takes a spot instance back: with SpotInterruptionBehavior=Stop it is stopped
        (disk kept, no compute billed) and its public address released."""
        with self._lock:
            instance = self.instances[instance_id]
            assert instance["SpotStrategy"] != "NoSpot", "only spot instances are reclaimed"
            instance["Status"] = "Stopped"
            instance["StoppedMode"] = "StopCharging"
            instance["PublicIpAddress"]["IpAddress"] = []
            if instance["SpotInterruptionBehavior"] == "Terminate":
                self._release(instance_id)

    def delete_default_vpc(self, region: str = "ap-southeast-1") -> None:
        with self._lock:
            for vpc_id in [v for v, vpc in self.vpcs.items() if vpc["RegionId"] == region and vpc["IsDefault"]]:
                for vsw_id in [s for s, vsw in self.vswitches.items() if vsw["VpcId"] == vpc_id]:
                    del self.vswitches[vsw_id]
                del self.vpcs[vpc_id]

    def live(self, deployment: str, region: str | None = None) -> list[tuple[str, str]]:
        """(kind, id) of every resource tagged isaacctl-deployment=<deployment>, read from the
        fake's state (released instances do not count)."""
        with self._lock:
            found = []
            for kind, table in (
                ("vpc", self.vpcs),
                ("vswitch", self.vswitches),
                ("security-group", self.groups),
                ("deployment-set", self.deployment_sets),
                ("instance", self.instances),
            ):
                for rid, item in table.items():
                    if (
                        region in (None, item["RegionId"])
                        and self.tags.get(rid, {}).get("isaacctl-deployment") == deployment
                    ):
                        found.append((kind, rid))
            for (reg, name), pair in self.key_pairs.items():
                if region in (None, reg) and self.tags.get(pair["_id"], {}).get("isaacctl-deployment") == deployment:
                    found.append(("key-pair", name))
            return sorted(found)

    def ids_of(self, deployment: str) -> set[str]:
        with self._lock:
            return {
                tags.get("isaacctl-deployment-id", "")
                for tags in self.tags.values()
                if tags.get("isaacctl-deployment") == deployment
            }

    def instances_of(self, deployment: str) -> list[dict[str, Any]]:
        with self._lock:
            return [
                json.loads(json.dumps(i))
                for iid, i in sorted(self.instances.items(), key=lambda kv: kv[1]["_n"])
                if self.tags.get(iid, {}).get("isaacctl-deployment") == deployment
            ]

    # -- HTTP ------------------------------------------------------------------------------------
    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        if split.path == MYIP_PATH:
            return self._reply(handler, 200, f"{self.myip}\n".encode(), "text/plain")
        if split.path == ROUTE_PATH:
            return self._route(handler, parse_qs(split.query).get("host", [""])[0])
        request_id = str(uuid.uuid4()).upper()
        try:
            service, action, params = self._authenticate(handler, split, body)
            with self._lock:
                self.calls.append(Call(service, action, params, time.monotonic()))
                chosen = [f for f in self.faults if f.matches(action, params)]
                for fault in chosen:
                    fault.hits += 1
            delay = sum(f.delay for f in chosen)
            if delay:
                time.sleep(delay)
            error = next((f for f in chosen if f.code), None)
            if error is not None and not error.after:
                raise ApiError(error.code, error.message, error.status)
            with self._lock:
                result = self._dispatch(service, action, params)
            if error is not None:
                raise ApiError(error.code, error.message, error.status)
        except ApiError as exc:
            payload = {
                "RequestId": request_id,
                "HostId": handler.headers.get("host", ""),
                "Code": exc.code,
                "Message": exc.message,
                "Recommend": f"https://api.aliyun.com/troubleshoot?q={exc.code}",
            }
            return self._reply(handler, exc.status, json.dumps(payload).encode(), "application/json;charset=utf-8")
        result = {"RequestId": request_id, **result}
        return self._reply(handler, 200, json.dumps(result).encode(), "application/json;charset=utf-8")

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: int, payload: bytes, content_type: str) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _authenticate(
        self, handler: BaseHTTPRequestHandler, split: Any, body: bytes
    ) -> tuple[str, str, dict[str, str]]:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        version, action = headers.get("x-acs-version", ""), headers.get("x-acs-action", "")
        if version not in VERSIONS:
            raise ApiError("InvalidVersion", f"Specified parameter Version is not valid: {version!r}.")
        if not action:
            raise ApiError("MissingParameter.Action", "The input parameter Action that is mandatory is missing.")
        auth = headers.get("authorization", "")
        algorithm, _, rest = auth.partition(" ")
        if algorithm != "ACS3-HMAC-SHA256":
            raise ApiError("IncompleteSignature", "The request signature does not conform to Aliyun standards.")
        fields = dict(part.split("=", 1) for part in rest.split(",") if "=" in part)
        key_id, signed, signature = (
            fields.get("Credential", ""),
            fields.get("SignedHeaders", ""),
            fields.get("Signature", ""),
        )
        if key_id != ACCESS_KEY_ID:
            raise ApiError("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
        signed_names = signed.split(";")
        if signed_names != sorted(signed_names) or not set(REQUIRED_SIGNED) <= set(signed_names):
            raise ApiError("IncompleteSignature", f"The headers {', '.join(REQUIRED_SIGNED)} must be signed.")
        if hashlib.sha256(body).hexdigest() != headers.get("x-acs-content-sha256"):
            raise ApiError("SignatureDoesNotMatch", "The x-acs-content-sha256 header does not match the body.")
        query = parse_qsl(split.query, keep_blank_values=True)
        canonical_query = "&".join(f"{k}={quote(v, safe='~')}" for k, v in sorted(query))
        canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed_names)
        canonical = "\n".join(
            [
                handler.command,
                split.path or "/",
                canonical_query,
                canonical_headers,
                signed,
                headers["x-acs-content-sha256"],
            ]
        )
        to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
        expected = hmac.new(ACCESS_KEY_SECRET.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise ApiError("SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
        try:
            sent = datetime.strptime(headers.get("x-acs-date", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            raise ApiError(
                "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted."
            ) from None
        if abs((datetime.now(timezone.utc) - sent).total_seconds()) > 900:
            raise ApiError("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        nonce = headers.get("x-acs-signature-nonce", "")
        with self._lock:
            if nonce in self.nonces:
                raise ApiError("SignatureNonceUsed", "Specified signature nonce was used already.")
            self.nonces.add(nonce)
        params = dict(query)
        if body and headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
        return VERSIONS[version], action, params

    def _route(self, handler: BaseHTTPRequestHandler, host: str) -> None:
        with self._lock:
            found = None
            for instance_id, instance in self.instances.items():
                addresses = (
                    instance["PublicIpAddress"]["IpAddress"]
                    + instance["VpcAttributes"]["PrivateIpAddress"]["IpAddress"]
                )
                if host and host in addresses:
                    found = instance_id
            if found is None:
                return self._reply(handler, 404, f"no instance has the address {host!r}\n".encode(), "text/plain")
            if found not in self.routes:
                taken = {index for iid, index in self.routes.items() if iid in self.instances}
                self.routes[found] = min(set(range(len(self.routes) + 1)) - taken)
            index = self.routes[found]
        return self._reply(handler, 200, f"{index} {found}\n".encode(), "text/plain")

    # -- dispatch ------------------------------------------------------------------------------
    def _dispatch(self, service: str, action: str, params: dict[str, str]) -> dict[str, Any]:
        handler = getattr(self, f"_{service}_{action}", None)
        if handler is None:
            raise ApiError(
                "InvalidAction.NotFound", f"Specified api {action} is not found, please check your url and method.", 404
            )
        if service != "sts" and action not in ("DescribeInstanceTypes",):  # the one regionless action used
            region = params.get("RegionId")
            if not region:
                raise ApiError("MissingRegionId", "RegionId is mandatory for this action.")
            if region not in ZONES:
                raise ApiError("InvalidRegionId.NotFound", f"The specified RegionId {region} does not exist.", 404)
        token = params.get("ClientToken")
        if token is not None:
            if len(token) > 64 or not token.isascii():
                raise ApiError("InvalidClientToken.Malformed", "The specified ClientToken is not valid.")
            key = (action, token)
            fingerprint = json.dumps({k: v for k, v in sorted(params.items()) if k != "ClientToken"})
            if key in self.tokens:
                seen, answer = self.tokens[key]
                if seen != fingerprint:
                    raise ApiError(
                        "IdempotentParameterMismatch",
                        "The request uses the same client token as a previous, but non-identical request.",
                    )
                return answer
            answer = handler(params)
            self.tokens[key] = (fingerprint, answer)
            return answer
        return handler(params)

    # -- helpers ---------------------------------------------------------------------------------
    def _new_id(self, prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:20]}"

    @staticmethod
    def _require(params: dict[str, str], *names: str) -> None:
        for name in names:
            if not params.get(name):
                raise ApiError(
                    f"MissingParameter.{name}" if name != "RegionId" else "MissingRegionId",
                    f"The input parameter {name} that is mandatory for processing this request is not supplied.",
                )

    def _tags_from(self, params: dict[str, str], for_filter: bool = False) -> dict[str, str]:
        tags = _indexed(params, "Tag")
        if len(tags) > 20:
            raise ApiError("InvalidTagCount", "The number of tags exceeds 20.")
        result: dict[str, str] = {}
        for tag in tags:
            key = tag.get("Key", "")
            if not key:
                raise ApiError("InvalidTagKey.Malformed", "The specified Tag.n.Key is not valid.")
            if not for_filter and (
                key.startswith(("aliyun", "acs:")) or "http://" in key or "https://" in key or len(key) > 128
            ):
                raise ApiError("InvalidTagKey.Malformed", f"The specified Tag.n.Key {key!r} is not valid.")
            value = tag.get("Value")
            if value is not None and (len(value) > 128 or value.startswith(("aliyun", "acs:"))):
                raise ApiError("InvalidTagValue.Malformed", f"The specified Tag.n.Value {value!r} is not valid.")
            result[key] = value if value is not None else ("" if not for_filter else "\0any")
        return result

    def _tag_match(self, resource_id: str, wanted: dict[str, str]) -> bool:
        have = self.tags.get(resource_id, {})
        return all(k in have and (v == "\0any" or have[k] == v) for k, v in wanted.items())

    def _ecs_tags(self, resource_id: str) -> dict[str, Any]:
        return {"Tag": [{"TagKey": k, "TagValue": v} for k, v in self.tags.get(resource_id, {}).items()]}

    def _vpc_tags(self, resource_id: str) -> dict[str, Any]:
        return {"Tag": [{"Key": k, "Value": v} for k, v in self.tags.get(resource_id, {}).items()]}

    @staticmethod
    def _page(items: list[Any], params: dict[str, str], limit: int = 100) -> tuple[list[Any], dict[str, Any]]:
        try:
            number, size = int(params.get("PageNumber", "1")), int(params.get("PageSize", "10"))
        except ValueError:
            raise ApiError("InvalidParameter", "PageNumber and PageSize must be integers.") from None
        if number < 1 or not 1 <= size <= limit:
            raise ApiError("InvalidParameter.PageSize", f"PageSize must be between 1 and {limit}.")
        return items[(number - 1) * size : number * size], {
            "TotalCount": len(items),
            "PageNumber": number,
            "PageSize": size,
        }

    @staticmethod
    def _name(value: str | None, what: str) -> None:
        if value is None:
            return
        if not 2 <= len(value) <= 128 or not value[0].isalpha() or value.startswith(("http://", "https://")):
            raise ApiError(
                f"InvalidParameter.{what}",
                f"The specified {what} {value!r} is not valid: 2 to 128 characters, starting with a letter.",
            )

    def _region_of(
        self, table: dict[str, dict[str, Any]], resource_id: str, params: dict[str, str], code: str, what: str
    ) -> dict[str, Any]:
        item = table.get(resource_id)
        if item is None or item["RegionId"] != params["RegionId"]:
            raise ApiError(code, f"The specified {what} {resource_id} does not exist.", 404)
        return item

    # -- STS ---------------------------------------------------------------------------------------
    def _sts_GetCallerIdentity(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        return {
            "AccountId": ACCOUNT_ID,
            "UserId": "213456789012345678",
            "IdentityType": "RAMUser",
            "Arn": f"acs:ram::{ACCOUNT_ID}:user/isaacctl-test",
            "PrincipalId": "213456789012345678",
        }

    # -- VPC ---------------------------------------------------------------------------------------
    def _add_vpc(self, region: str, cidr: str, name: str, is_default: bool = False) -> dict[str, Any]:
        vpc_id = self._new_id("vpc")
        vpc = {
            "VpcId": vpc_id,
            "RegionId": region,
            "CidrBlock": cidr,
            "VpcName": name,
            "IsDefault": is_default,
            "Status": "Pending",
            "CreationTime": _now(),
            "VRouterId": self._new_id("vrt"),
            "Description": "",
        }
        self.vpcs[vpc_id] = vpc
        return vpc

    def _add_vswitch(
        self, vpc: dict[str, Any], zone: str, cidr: str, name: str, is_default: bool = False
    ) -> dict[str, Any]:
        vsw_id = self._new_id("vsw")
        vsw = {
            "VSwitchId": vsw_id,
            "VpcId": vpc["VpcId"],
            "RegionId": vpc["RegionId"],
            "ZoneId": zone,
            "CidrBlock": cidr,
            "VSwitchName": name,
            "IsDefault": is_default,
            "Status": "Available",
            "CreationTime": _now(),
            "_next_host": 10,
        }
        self.vswitches[vsw_id] = vsw
        return vsw

    def _vpc_CreateVpc(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        cidr = params.get("CidrBlock", "172.16.0.0/12")
        try:
            network = ipaddress.ip_network(cidr)
        except ValueError:
            raise ApiError("InvalidCidrBlock.Malformed", f"The specified CidrBlock {cidr} is malformed.") from None
        allowed = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
        if network.version != 4 or not 8 <= network.prefixlen <= 28 or not any(network.subnet_of(n) for n in allowed):
            raise ApiError("InvalidCidrBlock.Malformed", f"The specified CidrBlock {cidr} is not a private /8-/28.")
        self._name(params.get("VpcName"), "VpcName")
        tags = self._tags_from(params)
        vpc = self._add_vpc(params["RegionId"], str(network), params.get("VpcName", ""))
        vpc["Description"] = params.get("Description", "")
        self.tags[vpc["VpcId"]] = tags
        return {
            "VpcId": vpc["VpcId"],
            "VRouterId": vpc["VRouterId"],
            "RouteTableId": self._new_id("vtb"),
            "ResourceGroupId": "rg-default",
        }

    def _vpc_DescribeVpcs(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        wanted = self._tags_from(params, for_filter=True)
        found = []
        for vpc in self.vpcs.values():
            if vpc["RegionId"] != params["RegionId"]:
                continue
            if params.get("VpcId") and vpc["VpcId"] not in params["VpcId"].split(","):
                continue
            if params.get("IsDefault") and str(vpc["IsDefault"]).lower() != params["IsDefault"].lower():
                continue
            if not self._tag_match(vpc["VpcId"], wanted):
                continue
            shown = dict(
                vpc,
                Tags=self._vpc_tags(vpc["VpcId"]),
                VSwitchIds={"VSwitchId": [s for s, v in self.vswitches.items() if v["VpcId"] == vpc["VpcId"]]},
            )
            found.append(shown)
            if vpc["Status"] == "Pending":
                vpc["Status"] = "Available"  # a VPC is ready a moment after it is made
        page, meta = self._page(found, params, 50)
        return {"Vpcs": {"Vpc": page}, **meta}

    def _vpc_CreateVSwitch(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        self._require(params, "VpcId", "ZoneId", "CidrBlock")
        vpc = self._region_of(self.vpcs, params["VpcId"], params, "InvalidVpcId.NotFound", "VpcId")
        if vpc["Status"] != "Available":
            raise ApiError("IncorrectVpcStatus", "The current status of the VPC does not support this operation.")
        if params["ZoneId"] not in ZONES[params["RegionId"]]:
            raise ApiError("InvalidZoneId.NotFound", f"The specified zone {params['ZoneId']} does not exist.", 404)
        try:
            network = ipaddress.ip_network(params["CidrBlock"])
        except ValueError:
            raise ApiError("InvalidCidrBlock.Malformed", "The specified CidrBlock is malformed.") from None
        if not network.subnet_of(ipaddress.ip_network(vpc["CidrBlock"])) or not 16 <= network.prefixlen <= 29:
            raise ApiError("InvalidCidrBlock.Malformed", "The vSwitch CIDR must be a /16-/29 inside the VPC's.")
        for other in self.vswitches.values():
            if other["VpcId"] == vpc["VpcId"] and network.overlaps(ipaddress.ip_network(other["CidrBlock"])):
                raise ApiError("InvalidCidrBlock.Overlapped", "The specified CidrBlock overlaps another vSwitch's.")
        self._name(params.get("VSwitchName"), "VSwitchName")
        vsw = self._add_vswitch(vpc, params["ZoneId"], str(network), params.get("VSwitchName", ""))
        self.tags[vsw["VSwitchId"]] = self._tags_from(params)
        return {"VSwitchId": vsw["VSwitchId"]}

    def _vpc_DescribeVSwitches(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        wanted = self._tags_from(params, for_filter=True)
        found = []
        for vsw in self.vswitches.values():
            if vsw["RegionId"] != params["RegionId"] or not self._tag_match(vsw["VSwitchId"], wanted):
                continue
            if any(params.get(k) and str(vsw[k]) != params[k] for k in ("VpcId", "ZoneId", "VSwitchId")):
                continue
            if params.get("IsDefault") and str(vsw["IsDefault"]).lower() != params["IsDefault"].lower():
                continue
            used = sum(1 for i in self.instances.values() if i["VpcAttributes"]["VSwitchId"] == vsw["VSwitchId"])
            size = ipaddress.ip_network(vsw["CidrBlock"]).num_addresses - 6
            found.append(
                {k: v for k, v in vsw.items() if not k.startswith("_")}
                | {"Tags": self._vpc_tags(vsw["VSwitchId"]), "AvailableIpAddressCount": size - used}
            )
        page, meta = self._page(found, params, 50)
        return {"VSwitches": {"VSwitch": page}, **meta}

    def _vpc_DeleteVSwitch(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        self._require(params, "VSwitchId")
        vsw = self._region_of(self.vswitches, params["VSwitchId"], params, "InvalidVSwitchId.NotFound", "VSwitchId")
        if any(i["VpcAttributes"]["VSwitchId"] == vsw["VSwitchId"] for i in self.instances.values()):
            raise ApiError("DependencyViolation", "The specified vSwitch has dependent instances.")
        del self.vswitches[vsw["VSwitchId"]]
        self.tags.pop(vsw["VSwitchId"], None)
        return {}

    def _vpc_DeleteVpc(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        self._require(params, "VpcId")
        vpc = self._region_of(self.vpcs, params["VpcId"], params, "InvalidVpcId.NotFound", "VpcId")
        if any(v["VpcId"] == vpc["VpcId"] for v in self.vswitches.values()):
            raise ApiError("DependencyViolation.VSwitch", "The specified VPC still has vSwitches.")
        if any(g["VpcId"] == vpc["VpcId"] for g in self.groups.values()):
            raise ApiError("DependencyViolation.SecurityGroup", "The specified VPC still has security groups.")
        del self.vpcs[vpc["VpcId"]]
        self.tags.pop(vpc["VpcId"], None)
        return {}

    # -- ECS: catalog ----------------------------------------------------------------------------
    def _ecs_DescribeInstanceTypes(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        wanted = _listed(params, "InstanceTypes")
        found = [
            {
                "InstanceTypeId": name,
                "CpuCoreCount": t["cpu"],
                "MemorySize": t["mem"],
                "GPUAmount": t["gpus"],
                "GPUSpec": t["gpu"],
                "InstanceTypeFamily": t["family"],
            }
            for name, t in TYPES.items()
            if not wanted or name in wanted
        ]
        return {"InstanceTypes": {"InstanceType": found}}

    def _ecs_DescribeAvailableResource(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        self._require(params, "DestinationResource")
        if params["DestinationResource"] not in (
            "Zone",
            "IoOptimized",
            "InstanceType",
            "SystemDisk",
            "DataDisk",
            "Network",
            "ddh",
        ):
            raise ApiError("InvalidParameter.DestinationResource", "The specified DestinationResource is not valid.")
        if params.get("InstanceChargeType", "PostPaid") not in ("PrePaid", "PostPaid"):
            raise ApiError("InvalidInstanceChargeType.ValueNotSupported", "InstanceChargeType is not valid.")
        if params.get("SpotStrategy", "NoSpot") not in ("NoSpot", "SpotWithPriceLimit", "SpotAsPriceGo"):
            raise ApiError("InvalidSpotStrategy", "SpotStrategy is not valid.")
        wanted = params.get("InstanceType")
        zones = []
        for zone in ZONES[params["RegionId"]]:
            if params.get("ZoneId") and zone != params["ZoneId"]:
                continue
            offered = [name for name, t in TYPES.items() if zone in t["zones"] and wanted in (None, name)]
            if not offered:
                continue
            zones.append(
                {
                    "ZoneId": zone,
                    "RegionId": params["RegionId"],
                    "Status": "Available",
                    "StatusCategory": "WithStock",
                    "AvailableResources": {
                        "AvailableResource": [
                            {
                                "Type": "InstanceType",
                                "SupportedResources": {
                                    "SupportedResource": [
                                        {"Value": name, "Status": "Available", "StatusCategory": "WithStock"}
                                        for name in offered
                                    ]
                                },
                            }
                        ]
                    },
                }
            )
        return {"AvailableZones": {"AvailableZone": zones}}

    def _ecs_DescribeImages(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        found = []
        for image in IMAGES:
            if params.get("ImageId") and image["ImageId"] != params["ImageId"]:
                continue
            if params.get("ImageName") and params["ImageName"].rstrip("*") not in image["ImageName"]:
                continue  # the API's fuzzy match
            if params.get("ImageOwnerAlias") not in (None, "system"):
                continue
            if params.get("OSType") not in (None, "linux") or params.get("Architecture") not in (None, "x86_64"):
                continue
            found.append(
                dict(
                    image,
                    OSType="linux",
                    Platform="Ubuntu" if "ubuntu" in image["ImageId"] else "Aliyun",
                    Architecture="x86_64",
                    Size=20,
                    Status="Available",
                    ImageOwnerAlias="system",
                    IsSupportCloudinit=True,
                    Usage="instance",
                )
            )
        found.sort(key=lambda i: i["CreationTime"], reverse=True)
        page, meta = self._page(found, params)
        return {"Images": {"Image": page}, **meta}

    # -- ECS: key pairs ----------------------------------------------------------------------------
    def _ecs_ImportKeyPair(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        self._require(params, "KeyPairName", "PublicKeyBody")
        name = params["KeyPairName"]
        self._name(name, "KeyPairName")
        key = (params["RegionId"], name)
        if key in self.key_pairs:
            raise ApiError("KeyPair.AlreadyExist", "The key pair already exists.")
        parts = params["PublicKeyBody"].split()
        if len(parts) < 2 or parts[0] not in ("ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256"):
            raise ApiError("InvalidPublicKeyBody.Malformed", "The specified PublicKeyBody is not a valid public key.")
        try:
            raw = base64.b64decode(parts[1], validate=True)
        except ValueError:
            raise ApiError("InvalidPublicKeyBody.Malformed", "The specified PublicKeyBody is not base64.") from None
        fingerprint = hashlib.md5(raw).hexdigest()  # noqa: S324 - what the API shows
        pair_id = self._new_id("kp")
        self.key_pairs[key] = {
            "KeyPairName": name,
            "KeyPairFingerPrint": fingerprint,
            "CreationTime": _now(),
            "PublicKeyBody": params["PublicKeyBody"],
            "_id": pair_id,
            "RegionId": params["RegionId"],
        }
        self.tags[pair_id] = self._tags_from(params)
        return {"KeyPairName": name, "KeyPairFingerPrint": fingerprint, "KeyPairId": pair_id}

    def _ecs_DescribeKeyPairs(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        wanted = self._tags_from(params, for_filter=True)
        found = [
            {
                "KeyPairName": p["KeyPairName"],
                "KeyPairFingerPrint": p["KeyPairFingerPrint"],
                "CreationTime": p["CreationTime"],
                "Tags": self._ecs_tags(p["_id"]),
            }
            for (region, name), p in sorted(self.key_pairs.items())
            if region == params["RegionId"]
            and params.get("KeyPairName") in (None, name)
            and self._tag_match(p["_id"], wanted)
        ]
        page, meta = self._page(found, params, 50)
        return {"KeyPairs": {"KeyPair": page}, **meta}

    def _ecs_DeleteKeyPairs(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        self._require(params, "KeyPairNames")
        for name in _json_list(params, "KeyPairNames") or []:
            pair = self.key_pairs.pop((params["RegionId"], name), None)
            if pair is not None:
                self.tags.pop(pair["_id"], None)
        return {}

    # -- ECS: security groups ----------------------------------------------------------------------
    def _ecs_CreateSecurityGroup(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        self._require(params, "VpcId")
        vpc = self.vpcs.get(params["VpcId"])
        if vpc is None or vpc["RegionId"] != params["RegionId"]:
            raise ApiError("InvalidVpcId.NotFound", "The specified VpcId does not exist.", 404)
        if params.get("SecurityGroupType", "normal") not in ("normal", "enterprise"):
            raise ApiError("InvalidSecurityGroupType.Malformed", "SecurityGroupType must be normal or enterprise.")
        self._name(params.get("SecurityGroupName"), "SecurityGroupName")
        group_id = self._new_id("sg")
        self.groups[group_id] = {
            "SecurityGroupId": group_id,
            "RegionId": params["RegionId"],
            "VpcId": params["VpcId"],
            "SecurityGroupName": params.get("SecurityGroupName", ""),
            "Description": params.get("Description", ""),
            "CreationTime": _now(),
            "SecurityGroupType": params.get("SecurityGroupType", "normal"),
            "Permissions": [],
        }
        self.tags[group_id] = self._tags_from(params)
        return {"SecurityGroupId": group_id}

    def _ecs_DescribeSecurityGroups(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        wanted = self._tags_from(params, for_filter=True)
        ids = _json_list(params, "SecurityGroupIds")
        found = [
            {k: v for k, v in g.items() if k != "Permissions"} | {"Tags": self._ecs_tags(g["SecurityGroupId"])}
            for g in self.groups.values()
            if g["RegionId"] == params["RegionId"]
            and params.get("VpcId") in (None, g["VpcId"])
            and (ids is None or g["SecurityGroupId"] in ids)
            and self._tag_match(g["SecurityGroupId"], wanted)
        ]
        page, meta = self._page(found, params, 50)
        return {"SecurityGroups": {"SecurityGroup": page}, **meta}

    def _permission(self, group: dict[str, Any], entry: dict[str, str]) -> dict[str, str]:
        protocol = entry.get("IpProtocol", "").upper()
        if protocol not in ("TCP", "UDP", "ICMP", "ICMPV6", "GRE", "ALL"):
            raise ApiError("InvalidIpProtocol.Malformed", "The specified IpProtocol is not valid.")
        ports = entry.get("PortRange", "")
        try:
            low, high = (int(p) for p in ports.split("/"))
        except ValueError:
            raise ApiError("InvalidIpPortRange.Malformed", f"The specified PortRange {ports!r} is not valid.") from None
        if protocol in ("TCP", "UDP") and not 1 <= low <= high <= 65535:
            raise ApiError("InvalidIpPortRange.Malformed", f"The specified PortRange {ports!r} is not valid.")
        if protocol not in ("TCP", "UDP") and (low, high) != (-1, -1):
            raise ApiError("InvalidIpPortRange.Malformed", "PortRange must be -1/-1 for this protocol.")
        sources = [k for k in ("SourceCidrIp", "Ipv6SourceCidrIp", "SourceGroupId") if entry.get(k)]
        if len(sources) != 1:
            raise ApiError("InvalidParam.Source", "Exactly one of SourceCidrIp, Ipv6SourceCidrIp and SourceGroupId.")
        if entry.get("SourceGroupId") and entry["SourceGroupId"] not in self.groups:
            raise ApiError("InvalidSecurityGroupId.NotFound", "The specified SourceGroupId does not exist.", 404)
        for key in ("SourceCidrIp", "Ipv6SourceCidrIp"):
            if entry.get(key):
                try:
                    ipaddress.ip_network(entry[key], strict=False)
                except ValueError:
                    raise ApiError(f"Invalid{key}.Malformed", f"The specified {key} is not valid.") from None
        if entry.get("Policy", "accept").lower() not in ("accept", "drop"):
            raise ApiError("InvalidPolicy.Malformed", "Policy must be accept or drop.")
        return {
            "IpProtocol": protocol,
            "PortRange": f"{low}/{high}",
            "SourceCidrIp": entry.get("SourceCidrIp", ""),
            "Ipv6SourceCidrIp": entry.get("Ipv6SourceCidrIp", ""),
            "SourceGroupId": entry.get("SourceGroupId", ""),
            "Policy": entry.get("Policy", "Accept").capitalize(),
            "Description": entry.get("Description", ""),
            "Direction": "ingress",
            "Priority": entry.get("Priority", "1"),
        }

    @staticmethod
    def _same_rule(a: dict[str, str], b: dict[str, str]) -> bool:
        keys = ("IpProtocol", "PortRange", "SourceCidrIp", "Ipv6SourceCidrIp", "SourceGroupId", "Policy")
        return all(a.get(k, "") == b.get(k, "") for k in keys)

    def _ecs_AuthorizeSecurityGroup(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        self._require(params, "SecurityGroupId")
        group = self._region_of(
            self.groups, params["SecurityGroupId"], params, "InvalidSecurityGroupId.NotFound", "SecurityGroupId"
        )
        entries = _indexed(params, "Permissions")
        if not entries:
            raise ApiError("MissingParameter.Permissions", "At least one permission is required.")
        for entry in entries:
            rule = self._permission(group, entry)
            if not any(self._same_rule(rule, have) for have in group["Permissions"]):  # a repeat is a no-op
                rule["SecurityGroupRuleId"] = self._new_id("sgr")
                group["Permissions"].append(rule)
        return {}

    def _ecs_RevokeSecurityGroup(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        self._require(params, "SecurityGroupId")
        group = self._region_of(
            self.groups, params["SecurityGroupId"], params, "InvalidSecurityGroupId.NotFound", "SecurityGroupId"
        )
        for entry in _indexed(params, "Permissions"):
            rule = self._permission(group, entry)
            group["Permissions"] = [p for p in group["Permissions"] if not self._same_rule(rule, p)]
        return {}

    def _ecs_DescribeSecurityGroupAttribute(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        self._require(params, "SecurityGroupId")
        group = self._region_of(
            self.groups, params["SecurityGroupId"], params, "InvalidSecurityGroupId.NotFound", "SecurityGroupId"
        )
        return {
            "SecurityGroupId": group["SecurityGroupId"],
            "VpcId": group["VpcId"],
            "InnerAccessPolicy": "Accept",
            "Permissions": {"Permission": [dict(p) for p in group["Permissions"]]},
        }

    def _ecs_DeleteSecurityGroup(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        self._require(params, "SecurityGroupId")
        group = self._region_of(
            self.groups, params["SecurityGroupId"], params, "InvalidSecurityGroupId.NotFound", "SecurityGroupId"
        )
        if any(group["SecurityGroupId"] in i["SecurityGroupIds"]["SecurityGroupId"] for i in self.instances.values()):
            raise ApiError("DependencyViolation", "There are still instances in the security group.", 403)
        del self.groups[group["SecurityGroupId"]]
        self.tags.pop(group["SecurityGroupId"], None)
        return {}

    # -- ECS: deployment sets and tags -------------------------------------------------------------
    def _ecs_CreateDeploymentSet(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        if params.get("Strategy", "Availability") not in ("Availability", "AvailabilityGroup", "LowLatency"):
            raise ApiError("InvalidParameter.Strategy", "The specified Strategy is not valid.")
        self._name(params.get("DeploymentSetName"), "DeploymentSetName")
        set_id = self._new_id("ds")
        self.deployment_sets[set_id] = {
            "DeploymentSetId": set_id,
            "RegionId": params["RegionId"],
            "DeploymentSetName": params.get("DeploymentSetName", ""),
            "Strategy": params.get("Strategy", "Availability"),
            "CreationTime": _now(),
        }
        self.tags[set_id] = {}
        return {"DeploymentSetId": set_id}

    def _ecs_DescribeDeploymentSets(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        ids = _json_list(params, "DeploymentSetIds")
        found = []
        for set_id, ds in self.deployment_sets.items():
            if ds["RegionId"] != params["RegionId"] or (ids is not None and set_id not in ids):
                continue
            if params.get("DeploymentSetName") not in (None, ds["DeploymentSetName"]):
                continue
            members = [i for i, inst in self.instances.items() if inst.get("DeploymentSetId") == set_id]
            found.append(dict(ds, InstanceAmount=len(members), InstanceIds={"InstanceId": members}))
        page, meta = self._page(found, params, 50)
        return {"DeploymentSets": {"DeploymentSet": page}, **meta}

    def _ecs_DeleteDeploymentSet(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        self._require(params, "DeploymentSetId")
        ds = self._region_of(
            self.deployment_sets,
            params["DeploymentSetId"],
            params,
            "InvalidDeploymentSetId.NotFound",
            "DeploymentSetId",
        )
        if any(i.get("DeploymentSetId") == ds["DeploymentSetId"] for i in self.instances.values()):
            raise ApiError("DependencyViolation.Instances", "The deployment set still has instances.", 403)
        del self.deployment_sets[ds["DeploymentSetId"]]
        self.tags.pop(ds["DeploymentSetId"], None)
        return {}

    _TAGGABLE = {"deploymentset": "deployment_sets", "securitygroup": "groups", "instance": "instances"}

    def _ecs_TagResources(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        self._require(params, "ResourceType")
        table = self._TAGGABLE.get(params["ResourceType"])
        if table is None:
            raise ApiError("InvalidResourceType.NotSupported", "The specified ResourceType is not supported.")
        tags = self._tags_from(params)
        if not tags:
            raise ApiError("MissingParameter.Tag", "Tag.N is mandatory.")
        for resource_id in _listed(params, "ResourceId"):
            self._region_of(getattr(self, table), resource_id, params, "InvalidResourceId.NotFound", "ResourceId")
            self.tags.setdefault(resource_id, {}).update(tags)
        return {}

    def _ecs_ListTagResources(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        self._require(params, "ResourceType")
        table = self._TAGGABLE.get(params["ResourceType"])
        if table is None:
            raise ApiError("InvalidResourceType.NotSupported", "The specified ResourceType is not supported.")
        wanted = self._tags_from(params, for_filter=True)
        ids = _listed(params, "ResourceId")
        found = []
        for resource_id, item in getattr(self, table).items():
            if item["RegionId"] != params["RegionId"] or (ids and resource_id not in ids):
                continue
            if not self._tag_match(resource_id, wanted):
                continue
            found += [
                {"ResourceId": resource_id, "ResourceType": params["ResourceType"], "TagKey": k, "TagValue": v}
                for k, v in self.tags.get(resource_id, {}).items()
            ]
        return {"TagResources": {"TagResource": found}, "NextToken": ""}

    # -- ECS: instances ---------------------------------------------------------------------------
    def _ecs_RunInstances(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        self._require(params, "ImageId", "InstanceType", "SecurityGroupId", "VSwitchId")
        region = params["RegionId"]
        kind = TYPES.get(params["InstanceType"])
        if kind is None:
            raise ApiError(
                "InvalidInstanceType.NotFound",
                f"The specified InstanceType {params['InstanceType']} does not exist.",
                404,
            )
        if not any(i["ImageId"] == params["ImageId"] for i in IMAGES):
            raise ApiError("InvalidImageId.NotFound", f"The specified ImageId {params['ImageId']} does not exist.", 404)
        vsw = self._region_of(self.vswitches, params["VSwitchId"], params, "InvalidVSwitchId.NotFound", "VSwitchId")
        zone = params.get("ZoneId", vsw["ZoneId"])
        if zone != vsw["ZoneId"]:
            raise ApiError("InvalidParameter.Mismatch", "The specified ZoneId is not the vSwitch's zone.")
        group = self._region_of(
            self.groups, params["SecurityGroupId"], params, "InvalidSecurityGroupId.NotFound", "SecurityGroupId"
        )
        if group["VpcId"] != vsw["VpcId"]:
            raise ApiError(
                "InvalidSecurityGroupId.NotMatchVpc", "The security group and the vSwitch are in different VPCs."
            )
        if zone not in kind["zones"]:
            raise ApiError(
                "InvalidInstanceType.ZoneNotSupported",
                f"The specified zone does not support the instance type {params['InstanceType']}.",
                403,
            )
        if params.get("KeyPairName") and (region, params["KeyPairName"]) not in self.key_pairs:
            raise ApiError("InvalidKeyPairName.NotFound", "The specified KeyPairName does not exist.", 404)
        try:
            amount, min_amount = int(params.get("Amount", "1")), int(params.get("MinAmount", params.get("Amount", "1")))
            bandwidth = int(params.get("InternetMaxBandwidthOut", "0"))
            disk = int(params.get("SystemDisk.Size", "20"))
        except ValueError:
            raise ApiError(
                "InvalidParameter", "Amount, MinAmount, InternetMaxBandwidthOut and SystemDisk.Size are integers."
            ) from None
        if not 1 <= amount <= 100 or not 1 <= min_amount <= amount:
            raise ApiError("InvalidParameter.Amount", "Amount must be 1-100 and MinAmount at most Amount.")
        if not 0 <= bandwidth <= 200:
            raise ApiError("InvalidInternetMaxBandwidthOut.Malformed", "InternetMaxBandwidthOut must be 0-200.")
        if bandwidth and params.get("InternetChargeType", "PayByTraffic") not in ("PayByTraffic", "PayByBandwidth"):
            raise ApiError("InvalidInternetChargeType.ValueNotSupported", "InternetChargeType is not valid.")
        if not 20 <= disk <= 2048:
            raise ApiError("InvalidSystemDiskSize.ValueNotSupported", "SystemDisk.Size must be 20-2048 GiB.")
        if params.get("SystemDisk.Category", "cloud_essd") not in (
            "cloud_essd",
            "cloud_auto",
            "cloud_efficiency",
            "cloud_ssd",
            "cloud_essd_entry",
        ):
            raise ApiError("InvalidSystemDiskCategory.ValueNotSupported", "SystemDisk.Category is not valid.")
        if params.get("InstanceChargeType", "PostPaid") not in ("PrePaid", "PostPaid"):
            raise ApiError("InvalidInstanceChargeType.ValueNotSupported", "InstanceChargeType is not valid.")
        spot = params.get("SpotStrategy", "NoSpot")
        if spot not in ("NoSpot", "SpotWithPriceLimit", "SpotAsPriceGo"):
            raise ApiError("InvalidSpotStrategy", "SpotStrategy is not valid.")
        if spot != "NoSpot" and params.get("InstanceChargeType", "PostPaid") != "PostPaid":
            raise ApiError("InvalidParameter.SpotStrategy", "Spot instances must be PostPaid.")
        behaviour = params.get("SpotInterruptionBehavior", "Terminate")
        if behaviour not in ("Terminate", "Stop"):
            raise ApiError("InvalidParameter.SpotInterruptionBehavior", "SpotInterruptionBehavior is not valid.")
        if "UserData" in params:
            try:
                raw = base64.b64decode(params["UserData"], validate=True)
            except ValueError:
                raise ApiError("InvalidUserData.Base64FormatInvalid", "The UserData is not base64 encoded.") from None
            if len(raw) > 32 * 1024:
                raise ApiError("InvalidUserData.SizeExceeded", "The UserData exceeds 32 KB.")
        self._name(params.get("InstanceName"), "InstanceName")
        set_id = params.get("DeploymentSetId")
        if set_id:
            self._region_of(self.deployment_sets, set_id, params, "InvalidDeploymentSetId.NotFound", "DeploymentSetId")
            members = sum(1 for i in self.instances.values() if i.get("DeploymentSetId") == set_id)
            if members + amount > 20:
                raise ApiError(
                    "InvalidParameter.DeploymentSet", "A deployment set holds at most 20 instances per zone."
                )
        host_name = params.get("HostName")
        if host_name is not None and (
            not 2 <= len(host_name) <= 64
            or host_name[0] in ".-"
            or host_name[-1] in ".-"
            or not all(c.isalnum() or c in ".-" for c in host_name)
        ):
            raise ApiError("InvalidHostName.Malformed", f"The specified HostName {host_name!r} is not valid.")
        suffix = params.get("UniqueSuffix", "false").lower() == "true"
        tags = self._tags_from(params)
        made = []
        for n in range(amount):
            instance_id = self._new_id("i")
            host = vsw["_next_host"]
            vsw["_next_host"] += 1
            network = ipaddress.ip_network(vsw["CidrBlock"])
            self.instances[instance_id] = {
                "InstanceId": instance_id,
                "RegionId": region,
                "ZoneId": zone,
                "_n": next(self._ids),
                "InstanceName": params.get("InstanceName", instance_id) + (f"{n + 1:03d}" if suffix else ""),
                "HostName": (host_name or instance_id) + (f"{n + 1:03d}" if suffix else ""),
                "InstanceType": params["InstanceType"],
                "ImageId": params["ImageId"],
                "Status": "Pending",
                "Cpu": kind["cpu"],
                "Memory": int(kind["mem"] * 1024),
                "GPUAmount": kind["gpus"],
                "GPUSpec": kind["gpu"],
                "InstanceChargeType": params.get("InstanceChargeType", "PostPaid"),
                "SpotStrategy": spot,
                "SpotInterruptionBehavior": behaviour,
                "StoppedMode": "Not-applicable",
                "InternetMaxBandwidthOut": bandwidth,
                "KeyPairName": params.get("KeyPairName", ""),
                "DeploymentSetId": set_id or "",
                "CreationTime": _now(),
                "VpcAttributes": {
                    "VpcId": vsw["VpcId"],
                    "VSwitchId": vsw["VSwitchId"],
                    "PrivateIpAddress": {"IpAddress": [str(network.network_address + host)]},
                },
                "PublicIpAddress": {"IpAddress": [self._public_address()] if bandwidth else []},
                "EipAddress": {"IpAddress": "", "AllocationId": ""},
                "SecurityGroupIds": {"SecurityGroupId": [group["SecurityGroupId"]]},
                "OperationLocks": {"LockReason": []},
                "_user_data": params.get("UserData", ""),
            }
            self.tags[instance_id] = dict(tags)
            made.append(instance_id)
        return {"InstanceIdSets": {"InstanceIdSet": made}, "OrderId": str(next(self._ids)), "TradePrice": 0.0}

    def _public_address(self) -> str:
        n = next(self._addresses)
        return f"47.{236 + n // 65536 % 8}.{n // 256 % 256}.{n % 256}"

    def _shown(self, instance: dict[str, Any]) -> dict[str, Any]:
        shown = {k: json.loads(json.dumps(v)) for k, v in instance.items() if not k.startswith("_")}
        shown["Tags"] = self._ecs_tags(instance["InstanceId"])
        # a new instance is Pending when first described, then runs (a boot in no time)
        if instance["Status"] == "Pending":
            instance["Status"] = "Running"
        elif instance["Status"] == "Starting":
            instance["Status"] = "Running"
        elif instance["Status"] == "Stopping":
            instance["Status"] = "Stopped"
        return shown

    def _ecs_DescribeInstances(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        wanted = self._tags_from(params, for_filter=True)
        ids = _json_list(params, "InstanceIds")
        status = params.get("Status")
        if status is not None and status not in INSTANCE_STATES:
            raise ApiError("InvalidStatus.ValueNotSupported", f"The specified Status {status} is not valid.")
        found = [
            self._shown(i)
            for i in sorted(self.instances.values(), key=lambda i: i["_n"])
            if i["RegionId"] == params["RegionId"]
            and (ids is None or i["InstanceId"] in ids)
            and params.get("ZoneId") in (None, i["ZoneId"])
            and status in (None, i["Status"])
            and self._tag_match(i["InstanceId"], wanted)
        ]
        page, meta = self._page(found, params, 100)
        return {"Instances": {"Instance": page}, **meta}

    def _instances_named(self, params: dict[str, str]) -> list[dict[str, Any]]:
        ids = _listed(params, "InstanceId")
        if not ids:
            raise ApiError("MissingParameter.InstanceId", "InstanceId.N is mandatory.")
        if len(ids) > 100:
            raise ApiError("InvalidParameter.InstanceId", "At most 100 instances at a time.")
        return [self._region_of(self.instances, i, params, "InvalidInstanceId.NotFound", "InstanceId") for i in ids]

    def _ecs_StopInstances(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        mode = params.get("StoppedMode", "KeepCharging")
        if mode not in ("StopCharging", "KeepCharging"):
            raise ApiError("InvalidParameter.StoppedMode", "StoppedMode must be StopCharging or KeepCharging.")
        answers = []
        for instance in self._instances_named(params):
            previous = instance["Status"]
            if previous not in ("Running", "Pending", "Starting"):
                answers.append(
                    {
                        "InstanceId": instance["InstanceId"],
                        "Code": "IncorrectInstanceStatus",
                        "Message": "The current status of the resource does not support this operation.",
                        "PreviousStatus": previous,
                        "CurrentStatus": previous,
                    }
                )
                continue
            instance["Status"] = "Stopping"
            instance["StoppedMode"] = mode
            if mode == "StopCharging":
                instance["PublicIpAddress"]["IpAddress"] = []  # released with the compute resources
            answers.append(
                {
                    "InstanceId": instance["InstanceId"],
                    "Code": "200",
                    "Message": "success",
                    "PreviousStatus": previous,
                    "CurrentStatus": "Stopping",
                }
            )
        return {"InstanceResponses": {"InstanceResponse": answers}}

    def _ecs_StartInstances(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        answers = []
        for instance in self._instances_named(params):
            previous = instance["Status"]
            if previous != "Stopped":
                answers.append(
                    {
                        "InstanceId": instance["InstanceId"],
                        "Code": "IncorrectInstanceStatus",
                        "Message": "The current status of the resource does not support this operation.",
                        "PreviousStatus": previous,
                        "CurrentStatus": previous,
                    }
                )
                continue
            instance["Status"] = "Starting"
            if instance["InternetMaxBandwidthOut"] and not instance["PublicIpAddress"]["IpAddress"]:
                instance["PublicIpAddress"]["IpAddress"] = [self._public_address()]
            instance["StoppedMode"] = "Not-applicable"
            answers.append(
                {
                    "InstanceId": instance["InstanceId"],
                    "Code": "200",
                    "Message": "success",
                    "PreviousStatus": previous,
                    "CurrentStatus": "Starting",
                }
            )
        return {"InstanceResponses": {"InstanceResponse": answers}}

    def _release(self, instance_id: str) -> None:
        self.instances.pop(instance_id, None)
        self.tags.pop(instance_id, None)

    def _ecs_DeleteInstances(self, params: dict[str, str]) -> dict[str, Any]:  # noqa: N802
        instances = self._instances_named(params)
        force = params.get("Force", "false").lower() == "true"
        for instance in instances:
            if instance["Status"] != "Stopped" and not force:
                raise ApiError(
                    "IncorrectInstanceStatus",
                    "The current status of the resource does not support "
                    "this operation: stop it first, or pass Force=true.",
                    403,
                )
        for instance in instances:
            self._release(instance["InstanceId"])
        return {}
