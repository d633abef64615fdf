"""moto's EC2 emulator on loopback for the AWS provider's tests and benchmark.

``MotoServer`` runs moto's real server app in this process (werkzeug, 127.0.0.1, a free port)
behind ``FaultInjector``, a thin WSGI middleware that:

- answers chosen EC2 actions with EC2 error XML (capacity, quota, throttling...), matched on
  the action, the region and request parameters, a number of times or always;
- delays requests (so a test can SIGKILL a CLI between two API calls);
- logs every request (service, region, action) for assertions and the call-count benchmark;
- serves ``GET /isaacctl-test/myip``, the "what is my address" lookup, on loopback;
- serves ``GET /isaacctl-test/route?host=ADDRESS``: which loopback sshd ("machine" 0, 1...) the
  instance with that public or private address is, assigned per instance id on first sight
  (so it is stable across stop/start); tests/harness/ssh_route.py, an ssh_config ProxyCommand,
  asks it and connects SSH to that sshd (distinct host keys per node);
- answers the EC2 placement-group actions moto does not implement (Create, Describe with tag
  filters, Delete) from a small in-memory table, so a multi-node deploy runs against it.

moto has no recent AMIs: ``AMIS`` (a Deep Learning Base GPU AMI owned by Amazon in two
releases, and Canonical's Ubuntu 22.04) is written to a JSON file that MOTO_AMIS_PATH names
before moto is imported. The CLI under test only gets AWS_ENDPOINT_URL and dummy credentials
(``env()``): no test-only code path in the product.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from urllib.request import Request, urlopen
from xml.sax.saxutils import escape

MYIP_PATH = "/isaacctl-test/myip"
ROUTE_PATH = "/isaacctl-test/route"
PLACEMENT_ACTIONS = ("CreatePlacementGroup", "DescribePlacementGroups", "DeletePlacementGroup")
MYIP_ADDRESS = "203.0.113.10"  # documentation range: never dialled
DLAMI_NAME = "Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) {}"
UBUNTU_NAME = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-{}"


def _ami(ami_id: str, name: str, owner: str, created: str, description: str) -> dict[str, Any]:
    return {
        "ami_id": ami_id,
        "name": name,
        "description": description,
        "owner_id": owner,
        "public": True,
        "virtualization_type": "hvm",
        "architecture": "x86_64",
        "state": "available",
        "platform": None,
        "image_type": "machine",
        "hypervisor": "xen",
        "root_device_name": "/dev/sda1",
        "root_device_type": "ebs",
        "sriov": "simple",
        "creation_date": created,
    }


AMIS = [
    _ami(
        "ami-0d1a0000000000001",
        DLAMI_NAME.format("20250301"),
        "898082745236",
        "2025-03-01T10:00:00.000Z",
        "Deep Learning Base GPU AMI, an older release",
    ),
    _ami(
        "ami-0d1a0000000000002",
        DLAMI_NAME.format("20250601"),
        "898082745236",
        "2025-06-01T10:00:00.000Z",
        "Deep Learning Base GPU AMI, the newest release",
    ),
    _ami(
        "ami-0c0a0000000000001",
        UBUNTU_NAME.format("20250516"),
        "099720109477",
        "2025-05-16T10:00:00.000Z",
        "Canonical, Ubuntu, 22.04 LTS, amd64 jammy",
    ),
]
DLAMI_NEWEST = "ami-0d1a0000000000002"
UBUNTU = "ami-0c0a0000000000001"

_ERROR_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
    "<Message>{message}</Message></Error></Errors><RequestID>isaacctl-test-fault</RequestID></Response>"
)
_REGION = re.compile(r"Credential=[^/]+/\d+/([^/]+)/([^/]+)/")


@dataclass
class Fault:
    """Answer ``action`` (or "*") with error ``code`` when every ``params`` item matches."""

    action: str
    code: str = ""  # empty: no error, only the delay
    message: str = "injected by the isaacctl test harness"
    status: int = 400
    params: dict[str, str] = field(default_factory=dict)
    region: str | None = None
    times: int | None = None  # None: always
    delay: float = 0.0
    hits: int = 0

    def matches(self, action: str, region: str | None, params: dict[str, str]) -> bool:
        if self.action not in ("*", action):
            return False
        if self.region is not None and region != self.region:
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        # "*": the parameter is there, whatever its value
        return all(params.get(key) == value or (value == "*" and key in params) for key, value in self.params.items())


@dataclass
class Call:
    service: str | None
    region: str | None
    action: str | None
    params: dict[str, str]
    at: float


class FaultInjector:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.faults: list[Fault] = []
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self.myip = MYIP_ADDRESS  # what the "what is my address" lookup answers
        self.routes: dict[str, int] = {}  # instance id -> index of the sshd it is routed to
        self.placement_groups: dict[tuple[str | None, str], dict[str, Any]] = {}  # (region, name) -> group

    def inject(self, action: str, code: str = "", **kwargs: Any) -> Fault:
        fault = Fault(action, code, **kwargs)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.calls.clear()

    def reset_state(self) -> None:
        """What the middleware itself emulates (routes, placement groups): with moto's reset."""
        with self._lock:
            self.myip = MYIP_ADDRESS
            self.routes.clear()
            self.placement_groups.clear()

    def actions(self, service: str = "ec2") -> list[str]:
        return [c.action for c in self.calls if c.service == service and c.action]

    def __call__(self, environ: dict, start_response: Any) -> Any:
        if environ.get("PATH_INFO") == MYIP_PATH:
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [f"{self.myip}\n".encode()]
        if environ.get("PATH_INFO") == ROUTE_PATH:
            return self._route(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        params = {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()}
        match = _REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
        region, service = (match.group(1), match.group(2)) if match else (None, None)
        action = params.get("Action")
        with self._lock:
            self.calls.append(Call(service, region, action, params, time.monotonic()))
            chosen = [f for f in self.faults if action and f.matches(action, region, params)]
            for fault in chosen:
                fault.hits += 1
        delay = sum(f.delay for f in chosen)
        if delay:
            time.sleep(delay)
        error = next((f for f in chosen if f.code), None)
        if error is None and service == "ec2" and action in PLACEMENT_ACTIONS:
            return self._placement(action, region, params, start_response)
        if error is None:
            return self.app(environ, start_response)
        payload = _ERROR_XML.format(code=error.code, message=error.message).encode()
        start_response(
            f"{error.status} Injected", [("Content-Type", "text/xml"), ("Content-Length", str(len(payload)))]
        )
        return [payload]

    # -- routing SSH to loopback sshds, per instance -------------------------------------------
    def _route(self, environ: dict, start_response: Any) -> Any:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ec2.models import ec2_backends

        host = parse_qs(environ.get("QUERY_STRING", "")).get("host", [""])[0]
        found, live = None, set()
        for backend in list(ec2_backends[DEFAULT_ACCOUNT_ID].values()):
            for instance in backend.all_instances():
                if instance._state.name not in ("terminated", "shutting-down"):
                    live.add(instance.id)
                if host and host in (instance.public_ip, instance.private_ip):
                    found = instance.id
        if found is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [f"no instance has the address {host!r}\n".encode()]
        with self._lock:
            if found not in self.routes:
                # the lowest sshd no live instance has: a node replaced by a resumed deploy
                # takes the place of the one that was terminated
                taken = {index for instance_id, index in self.routes.items() if instance_id in live}
                self.routes[found] = min(set(range(len(self.routes) + 1)) - taken)
            index = self.routes[found]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"{index} {found}\n".encode()]

    # -- placement groups (not in moto) -------------------------------------------------------
    def _placement(self, action: str, region: str | None, params: dict[str, str], start_response: Any) -> Any:
        def reply(body: str, status: str = "200 OK") -> list[bytes]:
            payload = (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<{action}Response xmlns='
                f'"http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>isaacctl-test</requestId>'
                f"{body}</{action}Response>"
            ).encode()
            start_response(status, [("Content-Type", "text/xml"), ("Content-Length", str(len(payload)))])
            return [payload]

        def error(code: str, message: str) -> list[bytes]:
            payload = _ERROR_XML.format(code=code, message=message).encode()
            start_response("400 Bad Request", [("Content-Type", "text/xml"), ("Content-Length", str(len(payload)))])
            return [payload]

        def item(group: dict[str, Any]) -> str:
            tags = "".join(
                f"<item><key>{escape(k)}</key><value>{escape(v)}</value></item>" for k, v in group["tags"].items()
            )
            return (
                f"<groupName>{escape(group['name'])}</groupName><state>available</state>"
                f"<strategy>{group['strategy']}</strategy><groupId>{group['id']}</groupId>"
                f"<tagSet>{tags}</tagSet>"
            )

        name = params.get("GroupName", "")
        with self._lock:
            if action == "CreatePlacementGroup":
                if (region, name) in self.placement_groups:
                    return error("InvalidPlacementGroup.Duplicate", f"The placement group '{name}' already exists.")
                tags = {
                    params[k]: params.get(k[: -len("Key")] + "Value", "")
                    for k in params
                    if re.fullmatch(r"TagSpecification\.\d+\.Tag\.\d+\.Key", k)
                }
                group = {
                    "name": name,
                    "strategy": params.get("Strategy", "cluster"),
                    "tags": tags,
                    "id": f"pg-{len(self.placement_groups) + 1:017x}",
                }
                self.placement_groups[(region, name)] = group
                return reply(f"<placementGroup>{item(group)}</placementGroup>")
            if action == "DeletePlacementGroup":
                if self.placement_groups.pop((region, name), None) is None:
                    return error("InvalidPlacementGroup.Unknown", f"The Placement Group '{name}' is unknown.")
                return reply("<return>true</return>")
            groups = [g for (r, _), g in self.placement_groups.items() if r == region]
        wanted = [v for k, v in params.items() if re.fullmatch(r"GroupName\.\d+", k)]
        if wanted:
            groups = [g for g in groups if g["name"] in wanted]
        for key, filter_name in params.items():
            match = re.fullmatch(r"Filter\.(\d+)\.Name", key)
            if not match:
                continue
            values = [v for k, v in params.items() if re.fullmatch(rf"Filter\.{match.group(1)}\.Value\.\d+", k)]
            if filter_name == "tag-key":
                groups = [g for g in groups if set(values) & set(g["tags"])]
            elif filter_name.startswith("tag:"):
                groups = [g for g in groups if g["tags"].get(filter_name[4:]) in values]
            elif filter_name == "group-name":
                groups = [g for g in groups if g["name"] in values]
        return reply(
            "<placementGroupSet>" + "".join(f"<item>{item(g)}</item>" for g in groups) + "</placementGroupSet>"
        )


class MotoServer:
    """moto in a thread on 127.0.0.1:<free port>, behind the FaultInjector (``.faults``)."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = Path(work_dir)
        self.port: int | None = None
        self.faults: FaultInjector | None = None
        self._server = None
        self._thread: threading.Thread | None = None

    def start(self) -> MotoServer:
        amis = self.work_dir / "amis.json"
        amis.write_text(json.dumps(AMIS, indent=1))
        # moto reads these when its modules are imported: set them first.
        os.environ["MOTO_AMIS_PATH"] = str(amis)
        os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "false")
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        self.faults = FaultInjector(DomainDispatcherApplication(create_backend_app))
        self._server = make_server("127.0.0.1", 0, self.faults, threaded=True, request_handler=MotoRequestHandler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="moto")
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
        with urlopen(Request(f"{self.url}/moto-api/reset", method="POST", data=b""), timeout=30) as response:
            response.read()
        assert self.faults is not None
        self.faults.clear()
        self.faults.reset_state()

    def env(self, region: str = "us-east-1") -> dict[str, str | None]:
        """What a CLI subprocess needs: the endpoint, dummy credentials, no shared config and no
        instance-metadata lookups (those would leave loopback)."""
        missing = str(self.work_dir / "no-such-aws-file")
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": None,
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": None,
            "AWS_PROFILE": None,
            "AWS_CONFIG_FILE": missing,
            "AWS_SHARED_CREDENTIALS_FILE": missing,
            "AWS_EC2_METADATA_DISABLED": "true",
            "ISAACCTL_MYIP_URL": f"{self.url}{MYIP_PATH}",
        }

    def client(self, service: str = "ec2", region: str = "us-east-1") -> Any:
        import boto3

        return boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name=region,
        ).client(service, endpoint_url=self.url)

    def tagged(self, deployment: str, region: str = "us-east-1") -> list[tuple[str, str]]:
        """(kind, id) of every live resource tagged isaacctl:deployment=<deployment>, by the
        same describe calls a person would make (terminated instances do not count)."""
        ec2 = self.client("ec2", region)
        flt = [{"Name": "tag:isaacctl:deployment", "Values": [deployment]}]
        found = [
            ("instance", i["InstanceId"])
            for r in ec2.describe_instances(Filters=flt)["Reservations"]
            for i in r["Instances"]
            if i["State"]["Name"] != "terminated"
        ]
        found += [("volume", v["VolumeId"]) for v in ec2.describe_volumes(Filters=flt)["Volumes"]]
        found += [
            ("network-interface", n["NetworkInterfaceId"])
            for n in ec2.describe_network_interfaces(Filters=flt)["NetworkInterfaces"]
        ]
        found += [("security-group", g["GroupId"]) for g in ec2.describe_security_groups(Filters=flt)["SecurityGroups"]]
        found += [("key-pair", k["KeyPairId"]) for k in ec2.describe_key_pairs(Filters=flt)["KeyPairs"]]
        found += [("subnet", s["SubnetId"]) for s in ec2.describe_subnets(Filters=flt)["Subnets"]]
        found += [
            ("internet-gateway", g["InternetGatewayId"])
            for g in ec2.describe_internet_gateways(Filters=flt)["InternetGateways"]
        ]
        found += [("vpc", v["VpcId"]) for v in ec2.describe_vpcs(Filters=flt)["Vpcs"]]
        found += [
            ("placement-group", g["GroupName"]) for g in ec2.describe_placement_groups(Filters=flt)["PlacementGroups"]
        ]
        return found

    def tagged_for(self, deployment: str, deployment_id: str, region: str = "us-east-1") -> list[tuple[str, str]]:
        """tagged(), only the resources that also carry isaacctl:deployment-id=<deployment_id>."""
        ec2 = self.client("ec2", region)
        flt = [
            {"Name": "tag:isaacctl:deployment", "Values": [deployment]},
            {"Name": "tag:isaacctl:deployment-id", "Values": [deployment_id]},
        ]
        found = [
            ("instance", i["InstanceId"])
            for r in ec2.describe_instances(Filters=flt)["Reservations"]
            for i in r["Instances"]
            if i["State"]["Name"] != "terminated"
        ]
        found += [("security-group", g["GroupId"]) for g in ec2.describe_security_groups(Filters=flt)["SecurityGroups"]]
        found += [("key-pair", k["KeyPairId"]) for k in ec2.describe_key_pairs(Filters=flt)["KeyPairs"]]
        found += [("volume", v["VolumeId"]) for v in ec2.describe_volumes(Filters=flt)["Volumes"]]
        found += [
            ("placement-group", g["GroupName"]) for g in ec2.describe_placement_groups(Filters=flt)["PlacementGroups"]
        ]
        return sorted(found)

    def delete_default_vpc(self, region: str = "us-east-1") -> None:
        """Make the region look like an account without a default VPC."""
        ec2 = self.client("ec2", region)
        for vpc in ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]:
            vpc_id = vpc["VpcId"]
            for subnet in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]:
                ec2.delete_subnet(SubnetId=subnet["SubnetId"])
            for igw in ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])[
                "InternetGateways"
            ]:
                ec2.detach_internet_gateway(InternetGatewayId=igw["InternetGatewayId"], VpcId=vpc_id)
                ec2.delete_internet_gateway(InternetGatewayId=igw["InternetGatewayId"])
            ec2.delete_vpc(VpcId=vpc_id)
