"""The deployment's SSH key: an ed25519 pair generated here, the private half 0600 in the state
folder, the public half imported as an EC2 key pair tagged with the deployment."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from isaacctl.providers.aws.api import Aws, name_of, tag_filter, tag_spec

if TYPE_CHECKING:
    from isaacctl.providers.base import DeployContext


def _public_key(private_key_file: Path) -> bytes:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_ssh_private_key(private_key_file.read_bytes(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)


def generate_private_key(path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from isaacctl.state import atomic_write

    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    atomic_write(path, pem, mode=0o600)


def find_key_pairs(aws: Aws, deployment: str) -> list[dict]:
    found = aws.call("listing key pairs", aws.ec2.describe_key_pairs, Filters=tag_filter(deployment))
    return found.get("KeyPairs", [])


def ensure_key_pair(aws: Aws, ctx: DeployContext) -> str:
    """The key pair's name; imported unless it exists and its private half is in state."""
    key_name = name_of(ctx.name)
    private = Path(ctx.private_key_file)
    existing = find_key_pairs(aws, ctx.name)
    if existing and private.is_file():
        return key_name
    for pair in existing:  # its private half is lost: replace it
        aws.call("deleting a stale key pair", aws.ec2.delete_key_pair, KeyName=pair["KeyName"])
        ctx.deleted("key-pair", pair["KeyPairId"], key_name=pair["KeyName"], reason="private key not in state")
    if not private.is_file():
        generate_private_key(private)
    ctx.creating("key-pair", key_name, private_key=str(private))
    made = aws.call(
        "importing the SSH key pair", aws.ec2.import_key_pair,
        KeyName=key_name, PublicKeyMaterial=_public_key(private),
        TagSpecifications=[tag_spec("key-pair", ctx.name)],
    )
    ctx.created("key-pair", made.get("KeyPairId", key_name), key_name=key_name,
                fingerprint=made.get("KeyFingerprint"))
    return key_name
