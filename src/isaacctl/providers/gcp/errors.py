"""Compute Engine errors, grouped by what isaacctl does about them: by error code or reason,
never by message text. Errors come two ways: an HTTP error on the request (google.api_core
exceptions carrying `errors[].reason`), or a finished operation whose `error.errors[].code`
says what went wrong (capacity and quota usually arrive this way)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from isaacctl.errors import IsaacctlError, ProviderError

# Try the next zone: this one has no room (or no longer sells the type) right now.
CAPACITY = frozenset(
    {
        "ZONE_RESOURCE_POOL_EXHAUSTED",
        "ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS",
        "RESOURCE_POOL_EXHAUSTED",
        "UNSUPPORTED_OPERATION",
    }
)
# Stop: only the project owner can raise these.
QUOTA = frozenset({"QUOTA_EXCEEDED", "quotaExceeded"})
RATE = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"})
NOT_FOUND = frozenset({"notFound", "RESOURCE_NOT_FOUND"})
IN_USE = frozenset({"resourceInUseByAnotherResource", "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE"})

CREDENTIALS_HINT = (
    "isaacctl uses Application Default Credentials: 'gcloud auth application-default login', "
    "or GOOGLE_APPLICATION_CREDENTIALS=<service-account key file>; 'isaacctl check gcp' tests them"
)


@dataclass(frozen=True)
class GcpFailure:
    """One error, from either source, as isaacctl reads it."""

    code: str  # the operation's error code, or the HTTP error's reason
    message: str
    status: int | None = None  # HTTP status (None for operation errors)
    quota: dict[str, Any] | None = None  # quotaInfo: metricName, limitName, limit, dimensions


def from_http(exc: BaseException) -> GcpFailure:
    errors = getattr(exc, "errors", None) or []
    reason = ""
    for entry in errors:
        if isinstance(entry, dict) and entry.get("reason"):
            reason = str(entry["reason"])
            break
    status = getattr(exc, "code", None)
    message = getattr(exc, "message", None) or str(exc)
    # "GET http://...: the message": the URL says nothing a person needs
    message = (
        str(message).split(": ", 1)[1] if str(message).startswith(("GET ", "POST ", "DELETE ", "PATCH ")) else message
    )
    return GcpFailure(reason or type(exc).__name__, str(message), int(status) if isinstance(status, int) else None)


def from_operation(operation: Any) -> GcpFailure | None:
    """The first error of a finished operation, or None when it succeeded."""
    errors = list(operation.error.errors) if operation.error else []
    if not errors:
        return None
    first = errors[0]
    quota = None
    for detail in first.error_details:
        if detail.quota_info and detail.quota_info.metric_name:
            info = detail.quota_info
            quota = {
                "metric": info.metric_name,
                "limit_name": info.limit_name,
                "limit": info.limit,
                "dimensions": dict(info.dimensions),
            }
    return GcpFailure(first.code, first.message, None, quota)


def quota_error(failure: GcpFailure, project: str, what: str) -> ProviderError:
    """A quota refusal naming the quota and how to raise it."""
    import re

    named = re.search(r"Quota '([A-Z0-9_]+)'", failure.message)
    quota = named.group(1) if named else (failure.quota or {}).get("limit_name") or "a Compute Engine quota"
    where = ""
    if failure.quota and failure.quota.get("dimensions", {}).get("region"):
        where = f" in {failure.quota['dimensions']['region']}"
    elif "globally" in failure.message or quota == "GPUS_ALL_REGIONS":
        where = " (all regions)"
    return ProviderError(
        f"quota: {what} needs more of the quota {quota}{where} in project {project} "
        f"than is left ({failure.code}: {failure.message})",
        hint=(
            f"ask for more: https://console.cloud.google.com/iam-admin/quotas?project={project} "
            f"(filter by {quota}), or 'gcloud compute regions describe REGION --project {project}' to see "
            "the limits; new projects start at 0 GPUs (GPUS_ALL_REGIONS)"
        ),
    )


def gcp_error(exc: BaseException, doing: str) -> IsaacctlError:
    """Any other failure, as one line naming what isaacctl was doing."""
    from google.auth.exceptions import DefaultCredentialsError, RefreshError, TransportError

    if isinstance(exc, (DefaultCredentialsError, RefreshError)):
        return ProviderError(f"credentials: {exc}", hint=CREDENTIALS_HINT)
    if isinstance(exc, TransportError):
        return ProviderError(f"gcp: cannot reach Compute Engine while {doing}: {exc}")
    failure = from_http(exc)
    if failure.status == 401:
        return ProviderError(
            f"credentials: Compute Engine refused them while {doing} ({failure.message})", hint=CREDENTIALS_HINT
        )
    if failure.status == 403 and failure.code not in QUOTA:
        return ProviderError(
            f"gcp: not allowed while {doing} ({failure.code}: {failure.message})",
            hint="the credentials need roles/compute.instanceAdmin.v1 and roles/compute.securityAdmin "
            "(or roles/compute.admin) on the project, and the Compute Engine API enabled",
        )
    if failure.code == "ServiceUnavailable" or failure.status in (502, 503, 504):
        return ProviderError(f"gcp: Compute Engine is unavailable while {doing}: {failure.message}")
    return ProviderError(f"gcp: {doing} failed: {failure.code}: {failure.message}")
