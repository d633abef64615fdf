"""`deploy aws` options, validated offline before anything is touched: a bad region, zone,
instance type, CIDR or AMI id is a one-line error naming the flag (exit 2)."""

from __future__ import annotations

import os
import re
from functools import lru_cache

from pydantic import Field, ValidationInfo, field_validator

from isaacctl.providers.options import HostOptions
from isaacctl.providers.toolkit.ingress import (  # noqa: F401 - MYIP and WHOLE_INTERNET are used from here
    DEFAULT_MYIP_URL,
    MYIP,
    MYIP_URL_ENV,
    WHOLE_INTERNET,
    normalize_cidr,
)

DEFAULT_REGION = "us-east-1"
DEFAULT_INSTANCE_TYPE = "g6e.2xlarge"
DEFAULT_DISK_GB = 256
# The Isaac Lab image (~25 GiB unpacked), kit/shader/pip caches and a few jobs' checkpoints
# (~15 GiB), and the OS with the driver and CUDA of the Deep Learning AMI (~60 GiB).
MIN_DISK_GB = 100

_ZONE = re.compile(r"^[a-z]{2}(-[a-z0-9]+)+-\d+[a-z]$")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$")


@lru_cache(maxsize=1)
def known_regions() -> frozenset[str]:
    """EC2 regions of every partition, from botocore's bundled endpoint data (offline)."""
    from isaacctl.providers.aws.api import offline_session

    session = offline_session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("ec2", partition))
    return frozenset(regions)


@lru_cache(maxsize=1)
def known_instance_types() -> frozenset[str]:
    """Every instance type the installed botocore's EC2 model knows (offline)."""
    from isaacctl.providers.aws.api import offline_session

    model = offline_session()._session.get_service_model("ec2")
    return frozenset(model.shape_for("InstanceType").enum)


class AwsOptions(HostOptions):
    region: str = Field(DEFAULT_REGION, description="AWS region")
    zone: str | None = Field(
        None,
        description="availability zone to try first",
        json_schema_extra={"default_help": "the first that offers the type"},
    )
    instance_type: str = Field(DEFAULT_INSTANCE_TYPE, description="EC2 instance type")
    disk_gb: int = Field(DEFAULT_DISK_GB, ge=MIN_DISK_GB, le=16384, description="root disk (gp3) in GiB")
    spot: bool = Field(False, description="spot market (persistent; stops on interruption)")
    ingress_cidr: str = Field(
        MYIP,
        description="who may SSH in: a CIDR, or 'myip'",
        json_schema_extra={"default_help": "myip, your address /32"},
    )
    ami: str | None = Field(
        None,
        pattern=r"^ami-[0-9a-f]{8,17}$",
        description="machine image",
        json_schema_extra={"default_help": "the newest Deep Learning Base GPU AMI, Ubuntu 22.04"},
    )
    profile: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.@+/-]{1,128}$",
        description="AWS credentials profile",
        json_schema_extra={"default_help": "boto3's chain: environment, AWS_PROFILE, SSO..."},
    )
    # Where `myip` asks for the caller's public address. Not stored with the deployment.
    myip_url: str = Field(
        default_factory=lambda: os.environ.get(MYIP_URL_ENV) or DEFAULT_MYIP_URL,
        pattern=r"^https?://\S+$",
        exclude=True,
        description="where 'myip' asks for your public address",
        json_schema_extra={"envvar": MYIP_URL_ENV, "default_help": DEFAULT_MYIP_URL},
    )

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value not in known_regions():
            raise ValueError("expected an AWS region such as us-east-1 or eu-west-1")
        return value

    @field_validator("zone")
    @classmethod
    def _zone_shape(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if not _ZONE.fullmatch(value):
            raise ValueError("expected an availability zone such as us-east-1a")
        region = info.data.get("region")
        if region and not value.startswith(region):
            raise ValueError(f"expected a zone of --region {region}")
        return value

    @field_validator("instance_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        from isaacctl.providers.aws.pricing import catalog

        if value in catalog().types:
            return value
        if not _INSTANCE_TYPE.fullmatch(value) or value not in known_instance_types():
            raise ValueError("expected an EC2 instance type such as g6e.2xlarge or g5.xlarge")
        return value

    @field_validator("ingress_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        return normalize_cidr(value)
