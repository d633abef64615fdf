"""`deploy azure` options, validated offline before anything is touched: a bad location, size,
CIDR, subscription or image is a one-line error naming the flag (exit 2)."""

from __future__ import annotations

import os
import re

from pydantic import Field, field_validator

from isaacctl.providers.options import HostOptions
from isaacctl.providers.toolkit.ingress import DEFAULT_MYIP_URL, MYIP, MYIP_URL_ENV, normalize_cidr

DEFAULT_LOCATION = "westus3"
DEFAULT_SIZE = "Standard_NV36ads_A10_v5"
DEFAULT_DISK_GB = 256
# The Isaac Lab image (~25 GiB unpacked), caches and checkpoints (~15 GiB), Ubuntu with the
# driver and Docker (~15 GiB), and room to pull a second image version.
MIN_DISK_GB = 100
MAX_DISK_GB = 4095  # Azure's limit for an OS disk
SUBSCRIPTION_ENV = "AZURE_SUBSCRIPTION_ID"

# Azure's public regions (az account list-locations, physical ones): checked offline, so a typo
# never reaches Azure. A region opened later is accepted after an isaacctl update.
LOCATIONS = frozenset(
    {
        "australiacentral",
        "australiaeast",
        "australiasoutheast",
        "brazilsouth",
        "canadacentral",
        "canadaeast",
        "centralindia",
        "centralus",
        "eastasia",
        "eastus",
        "eastus2",
        "francecentral",
        "germanywestcentral",
        "israelcentral",
        "italynorth",
        "japaneast",
        "japanwest",
        "koreacentral",
        "koreasouth",
        "mexicocentral",
        "newzealandnorth",
        "northcentralus",
        "northeurope",
        "norwayeast",
        "polandcentral",
        "qatarcentral",
        "southafricanorth",
        "southcentralus",
        "southindia",
        "southeastasia",
        "spaincentral",
        "swedencentral",
        "switzerlandnorth",
        "uaenorth",
        "uksouth",
        "ukwest",
        "westcentralus",
        "westeurope",
        "westindia",
        "westus",
        "westus2",
        "westus3",
    }
)
_SIZE = re.compile(r"^(Standard|Basic)_[A-Za-z0-9_]+$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_URN = re.compile(r"^[A-Za-z0-9._-]+:[A-Za-z0-9._-]+:[A-Za-z0-9._-]+:(latest|[0-9][0-9.]*)$")


def default_subscription() -> str | None:
    """AZURE_SUBSCRIPTION_ID, else the Azure CLI's default subscription."""
    from isaacctl.providers.azure.api import cli_default_subscription

    return os.environ.get(SUBSCRIPTION_ENV) or cli_default_subscription()


class AzureOptions(HostOptions):
    subscription: str | None = Field(
        default_factory=default_subscription,
        description="Azure subscription id",
        json_schema_extra={"default_help": f"{SUBSCRIPTION_ENV}, else the Azure CLI's default ('az account show')"},
    )
    location: str = Field(DEFAULT_LOCATION, description="Azure region (location), e.g. westus3 or eastus")
    # a managed job's recovery moves a preempted deployment to the zone after the lost one
    zone: str | None = Field(
        None,
        description="availability zone to try first (1, 2 or 3); the location's others follow",
        json_schema_extra={"default_help": "the location's zones in order"},
    )
    size: str = Field(DEFAULT_SIZE, description="VM size")
    disk_gb: int = Field(
        DEFAULT_DISK_GB, ge=MIN_DISK_GB, le=MAX_DISK_GB, description="OS disk (Premium SSD) in GiB, deleted with the VM"
    )
    spot: bool = Field(False, description="Spot VM (evicted VMs are deallocated, not deleted; max price: on-demand)")
    ingress_cidr: str = Field(
        MYIP,
        description="who may SSH in: a CIDR, or 'myip'",
        json_schema_extra={"default_help": "myip, your address /32"},
    )
    vm_image: str | None = Field(
        None,
        description="VM image URN publisher:offer:sku:version",
        json_schema_extra={"default_help": "Canonical Ubuntu 22.04 LTS gen2, latest"},
    )
    # Where `myip` asks for the caller's public address. Not stored with the deployment.
    myip_url: str = Field(
        default_factory=lambda: os.environ.get(MYIP_URL_ENV) or DEFAULT_MYIP_URL,
        pattern=r"^https?://\S+$",
        exclude=True,
        description="where 'myip' asks for your public address",
        json_schema_extra={"envvar": MYIP_URL_ENV, "default_help": DEFAULT_MYIP_URL},
    )

    @field_validator("subscription")
    @classmethod
    def _guid(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _GUID.fullmatch(value.strip()):
            raise ValueError("expected a subscription id such as 00000000-0000-0000-0000-000000000000")
        return value.strip().lower()

    @field_validator("location")
    @classmethod
    def _known_location(cls, value: str) -> str:
        name = value.strip().lower().replace(" ", "")
        if name not in LOCATIONS:
            raise ValueError("expected an Azure region such as westus3, eastus or westeurope")
        return name

    @field_validator("zone")
    @classmethod
    def _zone_number(cls, value: str | None) -> str | None:
        if value is not None and value not in ("1", "2", "3"):
            raise ValueError("expected an availability zone: 1, 2 or 3")
        return value

    @field_validator("size")
    @classmethod
    def _size_shape(cls, value: str) -> str:
        if not _SIZE.fullmatch(value):
            raise ValueError("expected a VM size such as Standard_NV36ads_A10_v5 or Standard_NC8as_T4_v3")
        return value

    @field_validator("vm_image")
    @classmethod
    def _urn(cls, value: str | None) -> str | None:
        if value is not None and not _URN.fullmatch(value):
            raise ValueError(
                "expected an image URN publisher:offer:sku:version, e.g. "
                "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest"
            )
        return value

    @field_validator("ingress_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        return normalize_cidr(value)
