"""Azure error codes, grouped by what isaacctl does about them.

By code: ARM's error envelope `{"error": {"code", "message"}}` reaches us as
HttpResponseError.error.code. One exception: Azure reports a cores quota as the generic
`OperationNotAllowed` (its message names the quota: "...exceeding approved
standardNVADSA10v5Family Cores quota..."), so that code counts as a quota error when its message
says "quota"; any other OperationNotAllowed is reported as it is."""

from __future__ import annotations

from isaacctl.errors import IsaacctlError, ProviderError

# Try the next zone, then the next location: no room for the size there now.
CAPACITY = frozenset(
    {
        "SkuNotAvailable",
        "AllocationFailed",
        "ZonalAllocationFailed",
        "OverconstrainedAllocationRequest",
        "OverconstrainedZonalAllocationRequest",
        "AllocationFailedSpotCapacityNotAvailable",
        "SpotPriceTooLow",
    }
)
QUOTA = frozenset({"QuotaExceeded", "OperationNotAllowed"})
AUTH = frozenset(
    {
        "AuthenticationFailed",
        "InvalidAuthenticationToken",
        "ExpiredAuthenticationToken",
        "InvalidAuthenticationTokenTenant",
    }
)
DENIED = frozenset({"AuthorizationFailed", "LinkedAuthorizationFailed"})

CREDENTIALS_HINT = (
    "isaacctl uses azure-identity: 'az login' (then 'az account set --subscription ID'), or a service "
    "principal in AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET, or the managed identity on an Azure "
    "VM; 'isaacctl check azure' tests them"
)


def code_of(exc: BaseException) -> str:
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    if code:
        return str(code)
    response = getattr(exc, "response", None)
    try:
        return str(response.json()["error"]["code"]) if response is not None else ""
    except Exception:  # noqa: BLE001 - not an ARM envelope
        return ""


def message_of(exc: BaseException) -> str:
    error = getattr(exc, "error", None)
    message = getattr(error, "message", None)
    return str(message) if message else str(getattr(exc, "message", "") or exc).splitlines()[0]


def is_capacity(exc: BaseException) -> bool:
    return code_of(exc) in CAPACITY


def is_quota(exc: BaseException) -> bool:
    code = code_of(exc)
    return code == "QuotaExceeded" or (code == "OperationNotAllowed" and "quota" in message_of(exc).lower())


def quota_error(
    exc: BaseException, size: str, family: str | None, cores: int | None, location: str, spot: bool
) -> ProviderError:
    quota = "lowPriorityCores (Total Regional Low-priority vCPUs)" if spot else (family or "the size's family")
    need = f"{cores} vCPUs" if cores else "more vCPUs"
    return ProviderError(
        f"quota: {size} needs {need} of the Azure quota '{quota}' in {location}, and the subscription has no "
        f"room left ({code_of(exc)}: {message_of(exc)})",
        hint=(
            f"ask for more: Azure portal > Subscriptions > Usage + quotas > {quota} in {location}, or "
            f"'az quota update' / a support request (quota type 'Compute-VM (cores-vCPUs) subscription limit "
            f"increases'); new subscriptions start at 0 vCPUs for GPU families"
        ),
    )


def azure_error(exc: BaseException, doing: str) -> IsaacctlError:
    """Any other Azure failure, as one line naming what isaacctl was doing."""
    from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

    code = code_of(exc)
    if type(exc).__name__ == "CredentialUnavailableError" or isinstance(exc, ClientAuthenticationError) and not code:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return ProviderError(f"credentials: none usable while {doing}: {first}", hint=CREDENTIALS_HINT)
    if code in AUTH:
        return ProviderError(f"credentials: Azure refused them while {doing} ({code})", hint=CREDENTIALS_HINT)
    if code in DENIED:
        return ProviderError(
            f"azure: not allowed while {doing} ({code})",
            hint="the identity needs the Contributor role (or Virtual Machine Contributor and Network "
            "Contributor) on the subscription (see docs/providers/azure.md)",
        )
    if code == "SubscriptionNotFound":
        return ProviderError(
            f"azure: the subscription was not found while {doing}",
            hint="check --subscription (or AZURE_SUBSCRIPTION_ID); 'az account list' shows yours",
        )
    if isinstance(exc, ServiceRequestError):
        return ProviderError(f"azure: cannot reach Resource Manager while {doing}: {exc}")
    return ProviderError(f"azure: {doing} failed: {code or type(exc).__name__}: {message_of(exc)}")
