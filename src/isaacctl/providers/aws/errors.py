"""EC2 error codes, grouped by what isaacctl does about them (by code, never by message text)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from isaacctl.errors import IsaacctlError, ProviderError, UserError

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

THROTTLING = frozenset({"RequestLimitExceeded", "Throttling", "ThrottlingException", "TooManyRequestsException"})
# Try the next zone: this one has no room (or does not sell the type) right now.
CAPACITY = frozenset(
    {
        "InsufficientInstanceCapacity",
        "InsufficientHostCapacity",
        "InsufficientCapacity",
        "InsufficientReservedInstanceCapacity",
        "Unsupported",
        "InsufficientFreeAddressesInSubnet",
        "SpotMaxPriceTooLow",
        "InsufficientCapacityOnHost",
    }
)
# Stop: only the account owner can raise these.
QUOTA = frozenset({"VcpuLimitExceeded", "MaxSpotInstanceCountExceeded", "InstanceLimitExceeded"})
NOT_FOUND_SUFFIXES = (".NotFound", ".Malformed")

# Service Quotas codes for running instances, by instance family class.
_ON_DEMAND_QUOTAS = {
    "g": ("L-DB2E81BA", "Running On-Demand G and VT instances"),
    "p": ("L-417A185B", "Running On-Demand P instances"),
    "standard": ("L-1216C47A", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances"),
}
_SPOT_QUOTAS = {
    "g": ("L-3819A6DF", "All G and VT Spot Instance Requests"),
    "p": ("L-7212CCBC", "All P Spot Instance Requests"),
    "standard": ("L-34B43A08", "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests"),
}


def code_of(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def message_of(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Message", "")) or str(exc)


def is_not_found(exc: BaseException) -> bool:
    return code_of(exc).endswith(NOT_FOUND_SUFFIXES)


def quota_for(instance_type: str, spot: bool) -> tuple[str, str]:
    family = instance_type.split(".")[0]
    group = "g" if family.startswith(("g", "vt")) else "p" if family.startswith("p") else "standard"
    return (_SPOT_QUOTAS if spot else _ON_DEMAND_QUOTAS)[group]


def quota_error(exc: ClientError, instance_type: str, vcpus: int | None, region: str, spot: bool) -> ProviderError:
    code, name = quota_for(instance_type, spot)
    need = f"{vcpus} vCPUs" if vcpus else "more vCPUs"
    return ProviderError(
        f"quota: {instance_type} needs {need} of the EC2 quota '{name}' ({code}) in {region}, "
        f"and the account has no room left ({code_of(exc)}: {message_of(exc)})",
        hint=(
            f"ask AWS to raise it: aws service-quotas request-service-quota-increase "
            f"--service-code ec2 --quota-code {code} --desired-value {vcpus or 8} --region {region} "
            f"(or Service Quotas in the console); new accounts often start at 0 vCPUs for GPU types"
        ),
    )


def aws_error(exc: BaseException, doing: str) -> IsaacctlError:
    """Any other AWS failure, as one line naming what isaacctl was doing."""
    from botocore.exceptions import (
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        ProfileNotFound,
        TokenRetrievalError,
    )

    if isinstance(exc, ProfileNotFound):
        return UserError(f"--profile: {exc}", hint="'aws configure list-profiles' shows the profiles")
    if isinstance(exc, (NoCredentialsError, TokenRetrievalError)):
        return ProviderError(f"credentials: {exc}", hint=CREDENTIALS_HINT)
    if isinstance(exc, NoRegionError):
        return UserError("--region: expected an AWS region such as us-east-1")
    if isinstance(exc, EndpointConnectionError):
        return ProviderError(f"aws: cannot reach EC2 while {doing}: {exc}")
    code = code_of(exc)
    if code in ("UnauthorizedOperation", "AccessDenied", "AccessDeniedException"):
        return ProviderError(
            f"aws: not allowed while {doing} ({code})",
            hint="the credentials need EC2 permissions for instances, key pairs, security groups "
            "and VPCs (see docs/providers/aws.md)",
        )
    if code in (
        "AuthFailure",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
    ):
        return ProviderError(f"credentials: AWS refused them while {doing} ({code})", hint=CREDENTIALS_HINT)
    return ProviderError(f"aws: {doing} failed: {code or type(exc).__name__}: {message_of(exc)}")


CREDENTIALS_HINT = (
    "isaacctl uses boto3's own chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or "
    "--profile, 'aws sso login --profile P', or an instance role; 'isaacctl check aws' tests them"
)
