"""`deploy gcp` options, validated before anything is touched: a bad zone, machine type, CIDR
or image family is a one-line error naming the flag (exit 2). The project is resolved here,
from the flag or Application Default Credentials, so the record keeps the project it was made
in: a later `gcloud config` change never sends `destroy` to another project."""

from __future__ import annotations

import os
import re

from pydantic import Field, ValidationInfo, field_validator

from isaacctl.providers.options import HostOptions
from isaacctl.providers.toolkit.ingress import DEFAULT_MYIP_URL, MYIP, MYIP_URL_ENV, normalize_cidr

DEFAULT_ZONE = "us-central1-a"
DEFAULT_MACHINE_TYPE = "g2-standard-8"
DEFAULT_DISK_GB = 256
# The Isaac Lab image (~25 GiB unpacked), caches and checkpoints (~15 GiB), and the Deep
# Learning VM's OS with the driver and CUDA (~50 GiB).
MIN_DISK_GB = 100
# Families whose machine types carry their GPUs (accelerator-optimized); the others take
# --accelerator (guestAccelerators).
GPU_FAMILIES = ("g2", "g4", "a2", "a3", "a4")

_ZONE = re.compile(r"^[a-z]+-[a-z]+[0-9]+-[a-z]$")
_MACHINE_TYPE = re.compile(r"^[a-z][a-z0-9]*-[a-z0-9-]+$")
_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_FAMILY = re.compile(r"^([a-z][a-z0-9-]{4,28}[a-z0-9]/)?[a-z][a-z0-9-]{0,62}$")


def region_of(zone: str) -> str:
    return zone.rsplit("-", 1)[0]


def family_of(machine_type: str) -> str:
    return machine_type.split("-", 1)[0]


def adc_project() -> str | None:
    """The project Application Default Credentials name (GOOGLE_CLOUD_PROJECT first, then the
    credentials' own), or None when there are no credentials (check says how to log in)."""
    from isaacctl.errors import IsaacctlError
    from isaacctl.providers.gcp.api import credentials

    try:
        _, project = credentials()
    except IsaacctlError:
        return None
    return project or None


class GcpOptions(HostOptions):
    project: str | None = Field(
        None,
        validate_default=True,
        description="Google Cloud project",
        json_schema_extra={"default_help": "GOOGLE_CLOUD_PROJECT, else the credentials' project"},
    )
    zone: str = Field(
        DEFAULT_ZONE, description="zone to try first; the region's other zones that offer the type follow"
    )
    machine_type: str = Field(DEFAULT_MACHINE_TYPE, description="Compute Engine machine type (g2 types carry an L4)")
    accelerator: str | None = Field(
        None,
        pattern=r"^nvidia-[a-z0-9-]{2,40}$",
        description="GPU to attach to a general-purpose type such as n1-standard-8 (e.g. nvidia-tesla-t4)",
        json_schema_extra={"default_help": "none: g2, a2 and a3 types carry their GPUs"},
    )
    accelerator_count: int = Field(1, ge=1, le=8, description="how many --accelerator GPUs per machine")
    disk_gb: int = Field(
        DEFAULT_DISK_GB,
        ge=MIN_DISK_GB,
        le=65536,
        description="boot disk in GiB (pd-balanced, or hyperdisk-balanced where the family needs it)",
    )
    spot: bool = Field(False, description="Spot VM (stopped, not deleted, when preempted)")
    ingress_cidr: str = Field(
        MYIP,
        description="who may SSH in: a CIDR, or 'myip'",
        json_schema_extra={"default_help": "myip, your address /32"},
    )
    image_family: str | None = Field(
        None,
        description="boot image family, FAMILY or PROJECT/FAMILY",
        json_schema_extra={"default_help": "a Deep Learning VM family with the NVIDIA driver, else ubuntu-2204-lts"},
    )
    # Where `myip` asks for the caller's public address. Not stored with the deployment.
    myip_url: str = Field(
        default_factory=lambda: os.environ.get(MYIP_URL_ENV) or DEFAULT_MYIP_URL,
        pattern=r"^https?://\S+$",
        exclude=True,
        description="where 'myip' asks for your public address",
        json_schema_extra={"envvar": MYIP_URL_ENV, "default_help": DEFAULT_MYIP_URL},
    )

    @property
    def region(self) -> str:
        return region_of(self.zone)

    @field_validator("project")
    @classmethod
    def _project(cls, value: str | None) -> str | None:
        if value is None:
            value = adc_project()
            if value is None:
                return None  # no credentials at all: `check` and deploy say how to log in
        if not _PROJECT.fullmatch(value):
            raise ValueError("expected a project id such as my-project-123 (6-30 lowercase letters, digits, '-')")
        return value

    @field_validator("zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if not _ZONE.fullmatch(value):
            raise ValueError("expected a zone such as us-central1-a")
        return value

    @field_validator("machine_type")
    @classmethod
    def _machine_type(cls, value: str) -> str:
        if not _MACHINE_TYPE.fullmatch(value):
            raise ValueError("expected a machine type such as g2-standard-8 or n1-standard-8")
        return value

    @field_validator("accelerator")
    @classmethod
    def _accelerator(cls, value: str | None, info: ValidationInfo) -> str | None:
        machine_type = info.data.get("machine_type")
        if value is not None and machine_type and family_of(machine_type) in GPU_FAMILIES:
            raise ValueError(f"{machine_type} carries its own GPUs; --accelerator is for types such as n1-standard-8")
        return value

    @field_validator("image_family")
    @classmethod
    def _family(cls, value: str | None) -> str | None:
        if value is not None and not _FAMILY.fullmatch(value):
            raise ValueError("expected an image family such as ubuntu-2204-lts or ubuntu-os-cloud/ubuntu-2204-lts")
        return value

    @field_validator("ingress_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        return normalize_cidr(value)
