"""The version -> image table (templates/isaaclab/versions.yaml), and which generation a
deployment's Isaac Lab version belongs to."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from isaacctl.isaaclab.tables import table

if TYPE_CHECKING:
    from isaacctl.isaaclab.generation import Generation


@dataclass(frozen=True)
class VersionInfo:
    version: str  # major.minor, as DeploymentRecord.isaaclab_version holds it
    image: str
    generation: str
    python: str
    min_driver: str
    isaac_sim: bool  # the image carries Isaac Sim (Kit), and so needs RT cores

    @property
    def kitless(self) -> bool:
        return not self.isaac_sim


@lru_cache(maxsize=1)
def versions() -> tuple[VersionInfo, ...]:
    return tuple(
        VersionInfo(
            version=str(row["version"]),
            image=row["image"],
            generation=str(row["generation"]),
            python=str(row["python"]),
            min_driver=str(row["min_driver"]),
            isaac_sim=bool(row["isaac_sim"]),
        )
        for row in table("versions")["versions"]
    )


def default_version() -> VersionInfo:
    """What a new deployment gets."""
    return version_info(None)


def version_info(version: str | None, image: str | None = None, *, isaac_sim: bool | None = None) -> VersionInfo:
    """The row of a version (major.minor, or a full 3.0.0), the image's own row when the image
    is listed. A missing version is the image tag's, else the default's; an unknown one the
    default's. isaac_sim (read from the image) picks the row of that kind."""
    rows = versions()
    if image is not None:
        for row in rows:
            if row.image == image and (isaac_sim is None or row.isaac_sim == isaac_sim):
                return row
    version = major_minor(version) or (isaaclab_version(image) if image is not None else None)
    matching = [row for row in rows if row.version == version]
    if not matching:
        matching = [row for row in rows if row.version == str(table("versions")["default"])]
    if isaac_sim is None and image is not None and _kitless_tag(image):
        isaac_sim = False
    if isaac_sim is not None:
        return next((row for row in matching if row.isaac_sim == isaac_sim), matching[0])
    return matching[0]


def major_minor(version: str | None) -> str | None:
    """'3.0' for 3.0, 3.0.0 or v3.0.0-rc1; None for anything else."""
    match = re.match(r"v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+.]\w[\w.+-]*)?$", (version or "").strip())
    return f"{match.group(1)}.{match.group(2)}" if match else None


def known_versions() -> tuple[str, ...]:
    return tuple(dict.fromkeys(row.version for row in versions()))


def image_for(version: str | None) -> str:
    """The image a new deployment of this version gets (its first row)."""
    return version_info(version).image


def _kitless_tag(image: str) -> bool:
    return image.rsplit("/", 1)[-1].partition(":")[2].endswith("-kitless")


def isaaclab_version(image: str) -> str | None:
    """'2.3' for ...isaac-lab:2.3.2, None when the tag does not say."""
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    match = re.match(r"v?(\d+)\.(\d+)", tag)
    return f"{match.group(1)}.{match.group(2)}" if match else None


def generation_for(version: str | None, image: str | None = None) -> Generation:
    """The generation of a deployment's Isaac Lab version (record.isaaclab_version, and
    record.image to tell a kit-less image apart)."""
    from isaacctl.isaaclab.generation import generation

    return generation(version_info(version, image).generation)
