"""Credentials, clients and waiting, for one project.

Credentials come from Application Default Credentials (`google.auth.default()`): a person's
`gcloud auth application-default login`, a service-account key named by
GOOGLE_APPLICATION_CREDENTIALS, or the metadata server of a VM. The API endpoint is Google's
unless ISAACCTL_GCP_ENDPOINT names another (a proxy, a private endpoint, or the tests' fake on
loopback), the way AWS_ENDPOINT_URL works for boto3.

Only the unary calls (insert_unary, delete_unary, start_unary, stop_unary...) are used, and
operations are waited on through the operations clients: the ExtendedOperation pollers of the
plain calls ignore a custom endpoint and would ask Google's."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from isaacctl.errors import ProviderError
from isaacctl.providers.base import Identity
from isaacctl.providers.gcp.errors import RATE, GcpFailure, from_http, from_operation, gcp_error
from isaacctl.providers.toolkit.retry import poll_until, retry_while
from isaacctl.providers.toolkit.tags import gcp_label_value, gcp_labels, identity_from_tags, unique_name

if TYPE_CHECKING:
    from isaacctl.providers.gcp.options import GcpOptions

T = TypeVar("T")
ENDPOINT_ENV = "ISAACCTL_GCP_ENDPOINT"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
CALL_TIMEOUT = 60.0
RATE_TIMEOUT = 120.0
OPERATION_TIMEOUT = 600.0
NODE_LABEL = "isaacctl-node"
REGION_KEY = "isaacctl-region"
_DESCRIBED = re.compile(r"(isaacctl-[a-z-]+)=([a-z0-9_-]*)")
_CREATED = re.compile(r"^(\d{4}-\d{2}-\d{2})t(\d{2})_(\d{2})_(\d{2})(?:_\d+)?_(\d{2})_(\d{2})$")


def resource_name(identity: Identity, suffix: str = "") -> str:
    """`isaacctl-<name>-<id>[-suffix]`: unique per project (two deployments of one name never
    collide), a valid RFC 1035 name (at most 63 characters; the name is cut, never the id)."""
    base = unique_name(identity, max_length=63 - len(suffix) - (1 if suffix else 0))
    return f"{base}-{suffix}" if suffix else base


def labels_of(identity: Identity, **extra: str) -> dict[str, str]:
    return {**gcp_labels(identity), **{key: gcp_label_value(value) for key, value in extra.items()}}


def described(text: str, identity: Identity, region: str) -> str:
    """A description carrying the identity, for resources that take no labels (firewall
    rules, networks, resource policies): the same keys and values as the labels."""
    pairs = " ".join(f"{key}={value}" for key, value in labels_of(identity, **{REGION_KEY: region}).items())
    return f"{text} [{pairs}]"


def identity_in_labels(labels: Any) -> Identity | None:
    found = identity_from_tags(dict(labels or {}))
    return _readable(found) if found else None


def identity_in_description(description: str | None) -> tuple[Identity | None, str | None]:
    """(identity, region) a description written by `described` carries; (None, None) else."""
    pairs = dict(_DESCRIBED.findall(description or ""))
    found = identity_from_tags(pairs)
    return (_readable(found) if found else None), pairs.get(REGION_KEY)


def _readable(identity: Identity) -> Identity:
    """The creation time back in ISO 8601 (labels only allow [a-z0-9_-])."""
    match = _CREATED.fullmatch(identity.created)
    if match is None:
        return identity
    day, hour, minute, second, tz_hour, tz_minute = match.groups()
    return Identity(
        identity.name, identity.id, identity.creator, f"{day}T{hour}:{minute}:{second}+{tz_hour}:{tz_minute}"
    )


def name_filter(deployment: str | None) -> str:
    """A list filter on the label of the deployment's name (any isaacctl deployment: None)."""
    if deployment is None:
        return "labels.isaacctl-deployment:*"
    return f'labels.isaacctl-deployment = "{deployment}"'


@lru_cache(maxsize=4)
def credentials() -> tuple[Any, str | None]:
    """(credentials, their project) from Application Default Credentials, once per process."""
    import os

    from isaacctl.providers.toolkit.metadata import firmware_says

    if not firmware_says("Google"):
        # Off GCE, google-auth's metadata-server probe only costs ~6 s of retries per command.
        # Read by google-auth when it is imported: set before the import below.
        os.environ.setdefault("NO_GCE_CHECK", "true")
    import google.auth

    try:
        return google.auth.default(scopes=list(SCOPES))
    except Exception as exc:  # DefaultCredentialsError, a malformed key file...
        raise gcp_error(exc, "loading Application Default Credentials") from None


def account_of(creds: Any) -> str:
    email = getattr(creds, "service_account_email", None) or getattr(creds, "signer_email", None)
    if email:
        return f"service account {email}"
    kind = type(creds).__module__.rsplit(".", 1)[-1]
    if kind == "credentials" and hasattr(creds, "refresh_token"):
        return "user credentials from 'gcloud auth application-default login'"
    return f"{type(creds).__name__} credentials"


@lru_cache(maxsize=32)
def _client(kind: str, endpoint: str | None) -> Any:
    from google.api_core.client_options import ClientOptions
    from google.cloud import compute_v1

    options = ClientOptions(api_endpoint=endpoint) if endpoint else None
    return getattr(compute_v1, kind)(credentials=credentials()[0], client_options=options)


@dataclass
class Gcp:
    """What one command needs to talk to Compute Engine in one project."""

    options: GcpOptions
    # every call made, by "Client.method" (the benchmark counts them)
    calls: list[str] = field(default_factory=list)

    @property
    def project(self) -> str:
        if not self.options.project:
            raise ProviderError(
                "credentials: no Application Default Credentials found, so no project either",
                hint="'gcloud auth application-default login', or pass --project with "
                "GOOGLE_APPLICATION_CREDENTIALS set",
            )
        return self.options.project

    @property
    def endpoint(self) -> str | None:
        return os.environ.get(ENDPOINT_ENV) or None

    def client(self, kind: str) -> Any:
        return _client(kind, self.endpoint)

    def call(self, doing: str, kind: str, method: str, **kwargs: Any) -> Any:
        """One API call, retried while Compute Engine says to slow down; any other failure
        becomes a ProviderError naming `doing`."""
        try:
            return self.raw(kind, method, **kwargs)
        except Exception as exc:
            raise gcp_error(exc, doing) from exc

    def raw(self, kind: str, method: str, **kwargs: Any) -> Any:
        """The call with its google.api_core exception left for the caller to read."""
        from google.api_core.exceptions import GoogleAPICallError, ServiceUnavailable, TooManyRequests

        operation = getattr(self.client(kind), method)

        def once() -> Any:
            self.calls.append(f"{kind.removesuffix('Client')}.{method}")
            return operation(**kwargs, timeout=CALL_TIMEOUT)

        def transient(exc: BaseException) -> bool:
            if isinstance(exc, (TooManyRequests, ServiceUnavailable)):
                return True
            return isinstance(exc, GoogleAPICallError) and from_http(exc).code in RATE

        return retry_while(once, transient, RATE_TIMEOUT)

    def listed(self, doing: str, kind: str, **kwargs: Any) -> list[Any]:
        """Every item of a list call (the pager asks for the next pages)."""
        try:
            return list(self.raw(kind, "list", request=kwargs))
        except ProviderError:
            raise
        except Exception as exc:
            raise gcp_error(exc, doing) from exc

    def aggregated(self, doing: str, kind: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """(scope such as "zones/us-central1-a", item) of an aggregated list."""
        found: list[tuple[str, Any]] = []
        try:
            # filters are not flattened arguments: they go in the request
            pager = self.raw(kind, "aggregated_list", request={"project": self.project, **kwargs})
            for scope, scoped in pager:
                for attr in ("instances", "disks", "machine_types", "accelerator_types", "resource_policies"):
                    for item in getattr(scoped, attr, []) or []:
                        found.append((scope, item))
        except Exception as exc:
            raise gcp_error(exc, doing) from exc
        return found

    # -- operations ------------------------------------------------------------------------
    def wait(
        self,
        operation: Any,
        doing: str,
        timeout: float = OPERATION_TIMEOUT,
        on_progress: Callable[[str], None] = lambda message: None,
    ) -> GcpFailure | None:
        """Wait until an operation is done; its error (None: it succeeded)."""
        from google.cloud import compute_v1

        done = compute_v1.Operation.Status.DONE
        if operation.status == done:
            return from_operation(operation)
        if operation.zone:
            kind, where = "ZoneOperationsClient", {"zone": operation.zone.rsplit("/", 1)[-1]}
        elif operation.region:
            kind, where = "RegionOperationsClient", {"region": operation.region.rsplit("/", 1)[-1]}
        else:
            kind, where = "GlobalOperationsClient", {}

        def check() -> Any:
            # `wait` answers when the operation is done or after about two minutes
            current = self.call(doing, kind, "wait", project=self.project, operation=operation.name, **where)
            return current if current.status == done else None

        finished = poll_until(check, doing, timeout, on_progress, provider="gcp")
        return from_operation(finished)

    def run(self, doing: str, kind: str, method: str, **kwargs: Any) -> None:
        """A mutating call and its operation, both succeeded, or ProviderError."""
        failure = self.wait(self.call(doing, kind, method, project=self.project, **kwargs), doing)
        if failure is not None:
            raise ProviderError(f"gcp: {doing} failed: {failure.code}: {failure.message}")
