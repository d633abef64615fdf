"""boto3 sessions and clients for one region, the retry policy, tags, and waiting.

Retries: botocore's own `standard` mode for every call (it backs off exponentially with jitter
on Throttling / RequestLimitExceeded and on connection errors). The exception is launching and
starting instances: AWS answers InsufficientInstanceCapacity with HTTP 500, which standard mode
would retry five times in the same zone before isaacctl could try the next one. Those two calls
go through a client without botocore retries, wrapped in tenacity retrying only throttling and
connection errors (safe for RunInstances: the ClientToken makes a repeat return the same
instance)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from isaacctl.errors import ProviderError
from isaacctl.providers.aws.errors import THROTTLING, aws_error, code_of
from isaacctl.providers.base import DEPLOYMENT_TAG

if TYPE_CHECKING:
    import boto3

    from isaacctl.providers.aws.options import AwsOptions

T = TypeVar("T")
MAX_ATTEMPTS = 8


def name_of(deployment: str) -> str:
    """The Name tag, key pair name and security group name of a deployment's resources."""
    return f"isaacctl-{deployment}"


def tag_spec(resource_type: str, deployment: str) -> dict[str, Any]:
    return {
        "ResourceType": resource_type,
        "Tags": [{"Key": DEPLOYMENT_TAG, "Value": deployment}, {"Key": "Name", "Value": name_of(deployment)}],
    }


def tag_filter(deployment: str | None) -> list[dict[str, Any]]:
    """Filter for resources of one deployment, or of any isaacctl deployment (None)."""
    if deployment is None:
        return [{"Name": "tag-key", "Values": [DEPLOYMENT_TAG]}]
    return [{"Name": f"tag:{DEPLOYMENT_TAG}", "Values": [deployment]}]


def tag_value(tags: list[dict[str, str]] | None, key: str = DEPLOYMENT_TAG) -> str | None:
    for tag in tags or []:
        if tag.get("Key") == key:
            return tag.get("Value")
    return None


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
        from botocore.exceptions import ClientError, ConnectionError as BotoConnectionError
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
    check: Callable[[], T | None], what: str, timeout: float,
    on_progress: Callable[[str], None] = lambda message: None,
) -> T:
    """Poll `check` until it returns something: at once, then after 1, 2, 4, 5, 5... s."""
    deadline = time.monotonic() + timeout
    delay = 1.0
    on_progress(f"waiting for {what}")
    while True:
        value = check()
        if value is not None:
            return value
        if time.monotonic() + delay > deadline:
            raise ProviderError(f"aws: timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
