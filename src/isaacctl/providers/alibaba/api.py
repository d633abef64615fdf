"""The ECS, VPC and STS clients of one region, the one way isaacctl calls them, and tags.

Requests are written as the API documents them ({"RegionId": ..., "Tag": [{"Key", "Value"}]})
and turned into the SDK's request models with `from_map`; answers come back as the API's JSON
(`body.to_map()`), so this code reads like the API reference. The SDK does not retry by
default: throttling and connection errors are retried here with tenacity (safe for every
create call, which carries a ClientToken), and nothing else is.

The endpoint is the SDK's own for the region unless ISAACCTL_ALIBABA_ENDPOINT names one
(host:port; http:// only for a loopback address): a private endpoint, a proxy, or a local
emulator. Credentials come from Alibaba Cloud's default chain (alibabacloud-credentials)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from isaacctl.errors import UserError
from isaacctl.providers.alibaba.errors import THROTTLING, alibaba_error, code_of, is_api_error
from isaacctl.providers.base import NAME_KEY, Identity
from isaacctl.providers.toolkit.retry import poll_until
from isaacctl.providers.toolkit.tags import cloud_tags, identity_from_tags, unique_name

if TYPE_CHECKING:
    from collections.abc import Callable

ENDPOINT_ENV = "ISAACCTL_ALIBABA_ENDPOINT"
MAX_ATTEMPTS = 6
CALL_TIMEOUT = 60.0
PAGE_SIZE = 50  # the largest every Describe call used here accepts
_VERSIONS = {"ecs": "alibabacloud_ecs20140526", "vpc": "alibabacloud_vpc20160428", "sts": "alibabacloud_sts20150401"}


def name_of(deployment: str) -> str:
    """The name shown in the console (for people; never used to find anything)."""
    return f"isaacctl-{deployment}"


def unique_name_of(identity: Identity) -> str:
    """Key pair, security group and deployment set name: unique per account and region. Alibaba
    allows 2-128 characters starting with a letter."""
    return unique_name(identity, max_length=128)


def tags_of(identity: Identity) -> list[dict[str, str]]:
    """The identity as ECS/VPC tags; values are free text up to 128 characters."""
    return [{"Key": key, "Value": value[:128]} for key, value in cloud_tags(identity).items()]


def tag_filter(deployment: str | None) -> list[dict[str, str]]:
    """Tag.N filter for one deployment name, or any isaacctl resource (a key with no value).
    Ids are checked afterwards (`owned`): resources made before ids carry the name only."""
    return [{"Key": NAME_KEY} if deployment is None else {"Key": NAME_KEY, "Value": deployment}]


def tags_in(item: dict[str, Any]) -> dict[str, str]:
    """An ECS or VPC resource's tags as a dict (ECS: Tags.Tag[{TagKey, TagValue}], VPC:
    Tags.Tag[{Key, Value}])."""
    entries = (item.get("Tags") or {}).get("Tag") or []
    return {str(t.get("TagKey", t.get("Key"))): str(t.get("TagValue", t.get("Value", ""))) for t in entries}


def identity_in(item: dict[str, Any]) -> Identity | None:
    return identity_from_tags(tags_in(item))


def owned(items: list[dict[str, Any]], owner: Identity | None) -> list[dict[str, Any]]:
    """The items (found by the name tag) carrying `owner`'s id, or no id at all (legacy); all of
    them when owner is None."""
    if owner is None:
        return items
    result = []
    for item in items:
        who = identity_in(item)
        if who is not None and who.name == owner.name and owner.owns(who.id):
            result.append(item)
    return result


def endpoint() -> tuple[str | None, str]:
    """(host:port or None for the SDK's own, protocol) from ISAACCTL_ALIBABA_ENDPOINT."""
    value = os.environ.get(ENDPOINT_ENV, "").strip()
    if not value:
        return None, "https"
    protocol = "https"
    for scheme in ("https://", "http://"):
        if value.startswith(scheme):
            protocol, value = scheme[:-3], value[len(scheme) :]
    value = value.rstrip("/")
    host = value.rsplit(":", 1)[0] if value.count(":") == 1 else value
    if not value or "/" in value:
        raise UserError(f"{ENDPOINT_ENV}: expected host:port, such as ecs-vpc.ap-southeast-1.aliyuncs.com:443")
    if protocol == "http":
        try:
            loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise UserError(f"{ENDPOINT_ENV}: http:// only for a loopback address; credentials are never sent in clear")
    return value, protocol


@lru_cache(maxsize=1)
def _credentials() -> Any:
    """One credentials client per process: the chain is walked once."""
    import logging
    import os

    from isaacctl.providers.toolkit.metadata import firmware_says

    if not os.environ.get("ALIBABA_CLOUD_ECS_METADATA") and not firmware_says("Alibaba"):
        # Off ECS the chain's last link (the RAM role on 100.100.100.200) can only time out or
        # fail; a user on ECS names the role with ALIBABA_CLOUD_ECS_METADATA. The SDK reads this
        # when it is imported, so before the import below.
        os.environ.setdefault("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
    # The chain logs each failed link with a traceback; isaacctl reports the outcome in one line.
    logging.getLogger("alibabacloud_credentials").setLevel(logging.CRITICAL)
    from alibabacloud_credentials.client import Client as CredentialsClient

    return CredentialsClient()


@lru_cache(maxsize=16)
def _client(service: str, region: str, host: str | None, protocol: str) -> Any:
    import importlib

    credential = _credentials()  # first: it sets what the SDK reads when first imported
    from alibabacloud_tea_openapi import models as openapi_models

    config = openapi_models.Config(
        credential=credential,
        region_id=region,
        protocol=protocol,
        connect_timeout=10_000,
        read_timeout=CALL_TIMEOUT * 1000,
        user_agent="isaacctl",
    )
    if host is not None:
        config.endpoint = host
    elif service == "sts":
        config.endpoint = f"sts.{region}.aliyuncs.com"
    module = importlib.import_module(f"{_VERSIONS[service]}.client")
    return module.Client(config)


_METHODS: dict[str, dict[str, str]] = {}


def _method(service: str, client: Any, action: str) -> Any:
    """The SDK's method for an action: DescribeVSwitches -> describe_vswitches."""
    if service not in _METHODS:
        _METHODS[service] = {name.replace("_", ""): name for name in dir(client) if not name.startswith("_")}
    return getattr(client, _METHODS[service][action.lower()])


@dataclass
class Alibaba:
    """What one command needs to talk to ECS and VPC in one region; counts its calls."""

    region: str
    calls: list[str] = field(default_factory=list)

    def _request(self, service: str, action: str, params: dict[str, Any]) -> dict[str, Any]:
        import importlib

        host, protocol = endpoint()
        client = _client(service, self.region, host, protocol)
        models = importlib.import_module(f"{_VERSIONS[service]}.models")
        method = _method(service, client, action)
        request_class = getattr(models, f"{action}Request", None)  # None: an action without parameters
        self.calls.append(action)
        response = method(request_class().from_map(params)) if request_class else method()
        body: dict[str, Any] = response.body.to_map()
        return body

    def call(
        self, service: str, action: str, doing: str, params: dict[str, Any] | None = None, *, raw: bool = False
    ) -> dict[str, Any]:
        """One API call with RegionId set, retried on throttling and connection errors. With
        `raw`, API errors are raised as the SDK raised them (for callers that handle codes);
        otherwise they become one ProviderError naming `doing`."""
        from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

        params = {"RegionId": self.region, **(params or {})} if service != "sts" else dict(params or {})

        def transient(exc: BaseException) -> bool:
            if is_api_error(exc):
                return code_of(exc) in THROTTLING
            return isinstance(exc, (OSError, ConnectionError)) or type(exc).__name__ in (
                "ConnectionError",
                "Timeout",
                "ReadTimeout",
                "ConnectTimeout",
            )

        retrying = Retrying(
            retry=retry_if_exception(transient),
            wait=wait_random_exponential(multiplier=0.5, max=10),
            stop=stop_after_attempt(MAX_ATTEMPTS),
            reraise=True,
        )
        try:
            return retrying(self._request, service, action, params)
        except UserError:
            raise
        except Exception as exc:  # noqa: BLE001 - the SDK raises Tea exceptions, requests' and its own
            if raw and is_api_error(exc):
                raise
            raise alibaba_error(exc, doing) from exc

    def ecs(
        self, action: str, doing: str, params: dict[str, Any] | None = None, *, raw: bool = False
    ) -> dict[str, Any]:
        return self.call("ecs", action, doing, params, raw=raw)

    def vpc(
        self, action: str, doing: str, params: dict[str, Any] | None = None, *, raw: bool = False
    ) -> dict[str, Any]:
        return self.call("vpc", action, doing, params, raw=raw)

    def pages(
        self, service: str, action: str, doing: str, path: tuple[str, str], params: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every item of a paged Describe call (PageNumber/PageSize; `path` such as
        ("Instances", "Instance"))."""
        page = 1
        while True:
            body = self.call(service, action, doing, {**(params or {}), "PageNumber": page, "PageSize": PAGE_SIZE})
            items = (body.get(path[0]) or {}).get(path[1]) or []
            yield from items
            total = int(body.get("TotalCount") or 0)
            if not items or page * PAGE_SIZE >= total:
                return
            page += 1


def wait_until(
    check: Callable[[], Any], what: str, timeout: float, on_progress: Callable[[str], None] = lambda message: None
) -> Any:
    return poll_until(check, what, timeout, on_progress, provider="alibaba")
