"""`deploy alibaba` options, validated offline before anything is touched: a bad region, zone,
instance type, CIDR or image id is a one-line error naming the flag (exit 2)."""

from __future__ import annotations

import os
import re

from pydantic import Field, ValidationInfo, field_validator

from isaacctl.providers.options import HostOptions
from isaacctl.providers.toolkit.ingress import DEFAULT_MYIP_URL, MYIP, MYIP_URL_ENV, normalize_cidr

# Singapore sells gn7i (A10) to international accounts and is where the catalog's prices hold.
DEFAULT_REGION = "ap-southeast-1"
DEFAULT_INSTANCE_TYPE = "ecs.gn7i-c16g1.4xlarge"  # what Isaac Automator uses: 16 vCPUs, one A10
DEFAULT_DISK_GB = 256
# The Isaac Lab image (~25 GiB unpacked), caches and checkpoints, Ubuntu with the driver, CUDA
# and Docker: the same floor as the other clouds.
MIN_DISK_GB = 100
MAX_DISK_GB = 2048  # an ESSD system disk's limit

# Alibaba Cloud's public regions (the ECS DescribeRegions list); a region it adds later can be
# used once this list knows it. Kept offline so a typo costs no API call.
REGIONS = frozenset(
    {
        "cn-qingdao",
        "cn-beijing",
        "cn-zhangjiakou",
        "cn-huhehaote",
        "cn-wulanchabu",
        "cn-hangzhou",
        "cn-shanghai",
        "cn-nanjing",
        "cn-fuzhou",
        "cn-wuhan-lr",
        "cn-shenzhen",
        "cn-heyuan",
        "cn-guangzhou",
        "cn-chengdu",
        "cn-hongkong",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-southeast-1",
        "ap-southeast-3",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "us-east-1",
        "us-west-1",
        "eu-west-1",
        "eu-central-1",
        "me-east-1",
        "me-central-1",
        "na-south-1",
    }
)
_ZONE = re.compile(r"^[a-z]{2}(-[a-z0-9]+)+$")
_INSTANCE_TYPE = re.compile(r"^ecs\.[a-z0-9]+(-[a-z0-9]+)?\.[a-z0-9]+$")
_IMAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,127}$")


class AlibabaOptions(HostOptions):
    region: str = Field(DEFAULT_REGION, description="Alibaba Cloud region (its id, such as ap-southeast-1)")
    zone: str | None = Field(
        None, description="zone to try first", json_schema_extra={"default_help": "the first that sells the type"}
    )
    instance_type: str = Field(DEFAULT_INSTANCE_TYPE, description="ECS instance type (gn7i A10, gn6i T4, gn8is L20...)")
    disk_gb: int = Field(DEFAULT_DISK_GB, ge=MIN_DISK_GB, le=MAX_DISK_GB, description="system disk (ESSD) in GiB")
    spot: bool = Field(False, description="preemptible instance (SpotAsPriceGo; stopped, not released, when reclaimed)")
    ingress_cidr: str = Field(
        MYIP,
        description="who may SSH in: a CIDR, or 'myip'",
        json_schema_extra={"default_help": "myip, your address /32"},
    )
    system_image: str | None = Field(
        None,
        description="ECS system image id",
        json_schema_extra={"default_help": "the newest public Ubuntu 22.04 image"},
    )
    bandwidth_mbps: int = Field(
        100, ge=1, le=200, description="public bandwidth cap in Mbit/s (pay-by-traffic: billed per GB sent)"
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
        if value not in REGIONS:
            raise ValueError("expected an Alibaba Cloud region id such as ap-southeast-1 or cn-hangzhou")
        return value

    @field_validator("zone")
    @classmethod
    def _zone_shape(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if not _ZONE.fullmatch(value):
            raise ValueError("expected a zone id such as ap-southeast-1a or cn-hangzhou-h")
        region = info.data.get("region")
        # zones are the region's id and one letter, with a dash (cn-hangzhou-h) or not (ap-southeast-1a)
        if region and value.removeprefix(region).lstrip("-") not in tuple("abcdefghijklmnopqrstuvwxyz"):
            raise ValueError(f"expected a zone of --region {region}, such as {region}-a or {region}a")
        return value

    @field_validator("instance_type")
    @classmethod
    def _type_shape(cls, value: str) -> str:
        if not _INSTANCE_TYPE.fullmatch(value):
            raise ValueError("expected an ECS instance type such as ecs.gn7i-c16g1.4xlarge")
        return value

    @field_validator("system_image")
    @classmethod
    def _image_shape(cls, value: str | None) -> str | None:
        if value is not None and not _IMAGE.fullmatch(value):
            raise ValueError("expected an image id such as ubuntu_22_04_x64_20G_alibase_20250101.vhd or m-...")
        return value

    @field_validator("ingress_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        return normalize_cidr(value)
