"""boto3 sessions and clients for one region, the retry policy, tags, and waiting.

Retries: botocore's own `standard` mode for every call (it backs off exponentially with jitter
on Throttling / RequestLimitExceeded and on connection errors). The exception is launching and
starting instances: AWS answers InsufficientInstanceCapacity with HTTP 500, which standard mode
would retry five times in the same zone before isaacctl could try the next one. Those two calls
go through a client without botocore retries, wrapped in tenacity retrying only throttling and
connection errors (safe for RunInstances: the ClientToken makes a repeat return the same
instance)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from isaacctl.providers.aws.errors import THROTTLING, aws_error, code_of
from isaacctl.providers.base import CREATED_KEY, CREATOR_KEY, DEPLOYMENT_TAG, ID_KEY, NAME_KEY, Identity
from isaacctl.providers.toolkit.retry import poll_until
from isaacctl.providers.toolkit.tags import cloud_tags, identity_from_tags, unique_name

if TYPE_CHECKING:
    import boto3

    from isaacctl.providers.aws.options import AwsOptions

T = TypeVar("T")
MAX_ATTEMPTS = 8


# AWS's tag keys for the generic identity keys: the name keeps its historical key.
TAG_KEYS = {
    NAME_KEY: DEPLOYMENT_TAG,
    ID_KEY: "isaacctl:deployment-id",
    CREATOR_KEY: "isaacctl:creator",
    CREATED_KEY: "isaacctl:created",
}
ID_TAG = TAG_KEYS[ID_KEY]


def name_of(deployment: str) -> str:
    """The Name tag of a deployment's resources (for people; never used to find them)."""
    return f"isaacctl-{deployment}"


def unique_name_of(identity: Identity) -> str:
    """Key pair, security group and placement group name: unique per account and VPC, so two
    deployments of one name (two state folders) never collide."""
    return unique_name(identity)


def tags_of(identity: Identity) -> list[dict[str, str]]:
    tags = [{"Key": key, "Value": value} for key, value in cloud_tags(identity, TAG_KEYS).items()]
    return [*tags, {"Key": "Name", "Value": name_of(identity.name)}]


def tag_spec(resource_type: str, identity: Identity) -> dict[str, Any]:
    return {"ResourceType": resource_type, "Tags": tags_of(identity)}


def tag_filter(deployment: str | None) -> list[dict[str, Any]]:
    """Filter for resources of one deployment name, or of any isaacctl deployment (None). Ids
    are checked afterwards (`owned`): resources made before ids carry the name tag only."""
    if deployment is None:
        return [{"Name": "tag-key", "Values": [DEPLOYMENT_TAG]}]
    return [{"Name": f"tag:{DEPLOYMENT_TAG}", "Values": [deployment]}]


def tag_value(tags: list[dict[str, str]] | None, key: str = DEPLOYMENT_TAG) -> str | None:
    for tag in tags or []:
        if tag.get("Key") == key:
            return tag.get("Value")
    return None


def identity_in(tags: list[dict[str, str]] | None) -> Identity | None:
    """The deployment a resource's tags name (id "" when it has none), or None."""
    return identity_from_tags({t["Key"]: t.get("Value", "") for t in tags or [] if "Key" in t}, TAG_KEYS)


def owned(items: list[dict[str, Any]], owner: Identity | None, tags_key: str = "Tags") -> list[dict[str, Any]]:
    """The items (found by the name tag) that carry `owner`'s id, or no id at all (legacy);
    all of them when owner is None."""
    if owner is None:
        return items
    return [item for item in items if owner.owns(tag_value(item.get(tags_key), ID_TAG))]


@lru_cache(maxsize=8)
def _session(profile: str | None, region: str) -> boto3.session.Session:
    """One session per profile and region for the whole process: a botocore session loads the
    endpoint data and the EC2 model (~0.3 s of JSON) once, and every client shares them."""
    import boto3.session

    try:
        return boto3.session.Session(profile_name=profile, region_name=region)
    except Exception as exc:  # ProfileNotFound and friends
        raise aws_error(exc, "opening the AWS session") from None


def offline_session() -> boto3.session.Session:
    """For data bundled with botocore (regions, the EC2 model): the default session, which a
    deploy with default flags then reuses for its clients."""
    from isaacctl.providers.aws.options import DEFAULT_REGION

    return _session(None, DEFAULT_REGION)


@lru_cache(maxsize=16)
def _client(profile: str | None, region: str, service: str, attempts: int) -> Any:
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "total_max_attempts": attempts},
        connect_timeout=10,
        read_timeout=60,
        user_agent_appid="isaacctl",
    )
    return _session(profile, region).client(service, config=config)


@dataclass
class Aws:
    """What one command needs to talk to EC2 in one region (clients shared per process)."""

    options: AwsOptions

    def _client(self, service: str, attempts: int) -> Any:
        return _client(self.options.profile, self.options.region, service, attempts)

    @property
    def ec2(self) -> Any:
        return self._client("ec2", MAX_ATTEMPTS)

    @property
    def ec2_launch(self) -> Any:
        """For RunInstances and StartInstances: capacity errors must reach isaacctl at once."""
        return self._client("ec2", 1)

    @property
    def sts(self) -> Any:
        return self._client("sts", MAX_ATTEMPTS)

    def call(self, doing: str, operation: Callable[..., T], **kwargs: Any) -> T:
        """One API call; failures other than the caller's own handling become ProviderError."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return operation(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(exc, doing) from exc

    def launch_call(self, operation: Callable[..., T], **kwargs: Any) -> T:
        """RunInstances / StartInstances with throttling and connection retries only."""
        from botocore.exceptions import ClientError
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from tenacity import retry, retry_if_exception, stop_after_attempt, wait_random_exponential

        def transient(exc: BaseException) -> bool:
            if isinstance(exc, ClientError):
                return code_of(exc) in THROTTLING
            return isinstance(exc, BotoConnectionError)

        retrying = retry(
            retry=retry_if_exception(transient),
            wait=wait_random_exponential(multiplier=0.5, max=20),
            stop=stop_after_attempt(MAX_ATTEMPTS),
            reraise=True,
        )
        return retrying(operation)(**kwargs)

    def pages(self, doing: str, operation: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            for page in self.ec2.get_paginator(operation).paginate(**kwargs):
                yield from page.get(key, [])
        except (ClientError, BotoCoreError) as exc:
            raise aws_error(exc, doing) from exc


def wait_until(
    check: Callable[[], T | None],
    what: str,
    timeout: float,
    on_progress: Callable[[str], None] = lambda message: None,
) -> T:
    """Poll `check` until it returns something: at once, then after 1, 2, 4, 5, 5... s."""
    return poll_until(check, what, timeout, on_progress, provider="aws")
