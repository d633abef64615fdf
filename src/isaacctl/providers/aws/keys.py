"""The deployment's SSH key: an ed25519 pair generated here (toolkit.sshkeys), the private half
0600 in the state folder, the public half imported as an EC2 key pair named
`isaacctl-<name>-<id>` and tagged with the deployment."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from isaacctl.providers.aws.api import Aws, owned, tag_filter, tag_spec, unique_name_of
from isaacctl.providers.toolkit.sshkeys import ensure_private_key, public_key

if TYPE_CHECKING:
    from isaacctl.providers.aws.options import AwsOptions
    from isaacctl.providers.base import DeployContext, Identity


def find_key_pairs(aws: Aws, deployment: str, owner: Identity | None = None) -> list[dict[str, Any]]:
    """Key pairs tagged with the name; with `owner`, only those carrying its id (or none)."""
    found = aws.call("listing key pairs", aws.ec2.describe_key_pairs, Filters=tag_filter(deployment))
    return owned(found.get("KeyPairs", []), owner)


def ensure_key_pair(aws: Aws, ctx: DeployContext[AwsOptions]) -> str:
    """The key pair's name; imported unless it exists and its private half is in state."""
    identity = ctx.identity
    key_name = unique_name_of(identity)
    private = Path(ctx.private_key_file)
    existing = find_key_pairs(aws, ctx.name, identity)
    if private.is_file() and any(pair["KeyName"] == key_name for pair in existing):
        return key_name
    for pair in existing:  # its private half is lost (or a legacy pair): replace it
        aws.call("deleting a stale key pair", aws.ec2.delete_key_pair, KeyName=pair["KeyName"])
        ctx.deleted("key-pair", pair["KeyPairId"], key_name=pair["KeyName"], reason="private key not in state")
    ensure_private_key(private)
    ctx.creating("key-pair", key_name, private_key=str(private))
    made = aws.call(
        "importing the SSH key pair",
        aws.ec2.import_key_pair,
        KeyName=key_name,
        PublicKeyMaterial=public_key(private),
        TagSpecifications=[tag_spec("key-pair", identity)],
    )
    ctx.created("key-pair", made.get("KeyPairId", key_name), key_name=key_name, fingerprint=made.get("KeyFingerprint"))
    return key_name
