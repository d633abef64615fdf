"""Alibaba Cloud error codes, grouped by what isaacctl does about them (by code, never by message
text). The SDK raises a Tea exception carrying `.code`, `.message` and `.status_code`."""

from __future__ import annotations

from isaacctl.errors import IsaacctlError, ProviderError

THROTTLING = frozenset(
    {
        "Throttling",
        "Throttling.User",
        "Throttling.Api",
        "ServiceUnavailable",
        "IncorrectInstanceStatus",
        "LastTokenProcessing",
        "OperationConflict",
    }
)
# Try the next zone: this one has no room, or does not sell the type (or spot) right now.
CAPACITY = frozenset(
    {
        "OperationDenied.NoStock",
        "Zone.NotOnSale",
        "InvalidInstanceType.ZoneNotSupported",
        "InvalidInstanceType.NotSupported",
        "OperationDenied.ZoneNotAllowed",
        "InvalidZoneId.NotSupportShareEncryptedImage",
        "InvalidResourceType.NotSupported",
        "ResourceNotAvailable",
        "InvalidZoneId.NotSupportSpot",
        "OperationDenied.ZoneSystemCategoryNotMatch",
    }
)
# Stop: only the account owner can raise these, or top the balance up.
QUOTA = frozenset(
    {
        "QuotaExceed.PostPaidInstance",
        "QuotaExceed.Instance",
        "QuotaExceed.ElasticQuota",
        "QuotaExceeded.PrivateIpAddress",
        "QuotaExceed.SpotInstance",
        "OperationDenied.QuotaExceed",
    }
)
BALANCE = frozenset(
    {
        "InvalidAccountStatus.NotEnoughBalance",
        "Account.Arrearage",
        "InvalidPayMethod",
        "OperationDenied.InsufficientBalance",
        "InvalidAccountStatus.SnapshotServiceUnavailable",
    }
)
CREDENTIALS = frozenset(
    {
        "InvalidAccessKeyId.NotFound",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "InvalidSecurityToken.Expired",
        "InvalidAccessKeyId.Inactive",
    }
)
DENIED = frozenset({"Forbidden.RAM", "Forbidden", "NoPermission", "Forbidden.SubUser", "InvalidUser.Unauthorized"})
IN_USE = frozenset(
    {
        "DependencyViolation",
        "DependencyViolation.Instance",
        "DependencyViolation.SecurityGroup",
        "DependencyViolation.VSwitch",
        "DependencyViolation.NetworkInterface",
        "IncorrectVpcStatus",
        "IncorrectVSwitchStatus",
        "InvalidOperation.ResourceManagedByCloudProduct",
        "DependencyViolation.Instances",
        "OperationConflict",
    }
)
NOT_FOUND_SUFFIXES = (".NotFound", "NotFound")

CREDENTIALS_HINT = (
    "isaacctl uses Alibaba Cloud's credentials chain: ALIBABA_CLOUD_ACCESS_KEY_ID and "
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET, the aliyun CLI's profile ('aliyun configure'; "
    "ALIBABA_CLOUD_PROFILE picks one), or ~/.alibabacloud/credentials.ini; 'isaacctl check alibaba' tests them"
)


def code_of(exc: BaseException) -> str:
    return str(getattr(exc, "code", "") or "")


def message_of(exc: BaseException) -> str:
    data = getattr(exc, "data", None)
    if isinstance(data, dict) and data.get("Message"):
        return str(data["Message"])
    return str(getattr(exc, "message", "") or exc)


def is_not_found(exc: BaseException) -> bool:
    return code_of(exc).endswith(NOT_FOUND_SUFFIXES)


def is_api_error(exc: BaseException) -> bool:
    """An answer from the API (it carries a code), as opposed to a network failure."""
    from alibabacloud_tea_openapi.exceptions import AlibabaCloudException

    return isinstance(exc, AlibabaCloudException)


def quota_error(exc: BaseException, instance_type: str, vcpus: int | None, region: str, spot: bool) -> ProviderError:
    need = f"{vcpus} vCPUs of " if vcpus else ""
    kind = "preemptible (spot)" if spot else "pay-as-you-go"
    return ProviderError(
        f"quota: {instance_type} needs {need}the {kind} instance quota in {region}, and the account has no room "
        f"left ({code_of(exc)}: {message_of(exc)})",
        hint=(
            "raise it in the Quota Center (ECS > Privileges & Quotas: 'vCPU quota for pay-as-you-go instances' "
            f"for the GPU family) in {region}, or release instances you no longer use"
        ),
    )


def balance_error(exc: BaseException) -> ProviderError:
    return ProviderError(
        f"balance: Alibaba Cloud refused a pay-as-you-go instance ({code_of(exc)}: {message_of(exc)})",
        hint="top up the account (Expenses and Costs > Recharge): pay-as-you-go ECS needs a balance of at least "
        "100 CNY or the equivalent, and no overdue payment",
    )


def alibaba_error(exc: BaseException, doing: str) -> IsaacctlError:
    """Any other failure, as one line naming what isaacctl was doing."""
    code = code_of(exc)
    if exc.__class__.__name__ == "CredentialException" or code in CREDENTIALS:
        return ProviderError(
            f"credentials: Alibaba Cloud refused them while {doing} ({code or exc})", hint=CREDENTIALS_HINT
        )
    if code in DENIED:
        return ProviderError(
            f"alibaba: not allowed while {doing} ({code})",
            hint="the RAM user needs AliyunECSFullAccess and AliyunVPCFullAccess, or the actions listed in "
            "docs/providers/alibaba.md",
        )
    if code in BALANCE:
        return balance_error(exc)
    if "unable to load credentials" in str(exc):
        # The chain found nothing (its own message lists every link it tried): say so plainly.
        return ProviderError("credentials: no Alibaba Cloud credentials found", hint=CREDENTIALS_HINT)
    if not is_api_error(exc):
        return ProviderError(f"alibaba: cannot reach the API while {doing}: {type(exc).__name__}: {exc}")
    return ProviderError(f"alibaba: {doing} failed: {code or type(exc).__name__}: {message_of(exc)}")
