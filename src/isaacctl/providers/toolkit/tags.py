"""A deployment's `Identity` in a cloud's tag form, and read back from tags.

The generic keys (`base.NAME_KEY`...) are valid GCP label keys; a cloud with freer tags maps
them to its own names (AWS keeps its historical `isaacctl:deployment`). GCP label values allow
only lowercase letters, digits, '_' and '-' (at most 63 characters), so `gcp_labels` sanitises
the values; the name and id are already in that alphabet, so they read back unchanged."""

from __future__ import annotations

import re
from collections.abc import Mapping

from isaacctl.providers.base import CREATED_KEY, CREATOR_KEY, ID_KEY, NAME_KEY, Identity

GCP_MAX = 63
_GCP_BAD = re.compile(r"[^a-z0-9_-]")


def cloud_tags(identity: Identity, keys: Mapping[str, str] | None = None) -> dict[str, str]:
    """The identity as {cloud key: value}; `keys` renames generic keys (missing: kept). Empty
    values are left out: some clouds refuse them, and absent reads back as "unknown"."""
    keys = keys or {}
    return {keys.get(key, key): value for key, value in identity.labels().items() if value}


def gcp_label_value(value: str) -> str:
    """A value GCP accepts as a label: lowercase, other characters as '_', at most 63."""
    return _GCP_BAD.sub("_", value.lower())[:GCP_MAX]


def gcp_labels(identity: Identity) -> dict[str, str]:
    """The identity as GCP labels (also fine for Azure and Alibaba tags)."""
    return {key[:GCP_MAX]: gcp_label_value(value) for key, value in cloud_tags(identity).items()}


def identity_from_tags(tags: Mapping[str, str], keys: Mapping[str, str] | None = None) -> Identity | None:
    """Who a resource belongs to, from its tags (None: not an isaacctl resource). A resource
    without an id tag (made before ids) reads back with id ""."""
    keys = keys or {}
    name = tags.get(keys.get(NAME_KEY, NAME_KEY))
    if name is None:
        return None
    return Identity(
        name=name,
        id=tags.get(keys.get(ID_KEY, ID_KEY), ""),
        creator=tags.get(keys.get(CREATOR_KEY, CREATOR_KEY), ""),
        created=tags.get(keys.get(CREATED_KEY, CREATED_KEY), ""),
    )


def unique_name(identity: Identity, prefix: str = "isaacctl", max_length: int = 255) -> str:
    """`isaacctl-<name>-<id>`: for resources whose name must be unique in an account or
    network (key pairs, security groups...), so two deployments of one name never collide.
    When the limit cuts, the name is shortened, never the id."""
    suffix = f"-{identity.id}" if identity.id else ""
    return f"{prefix}-{identity.name}"[: max_length - len(suffix)] + suffix
