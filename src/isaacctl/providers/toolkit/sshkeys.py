"""The deployment's SSH key: ed25519, generated here, the private half 0600 in the state folder;
the public half (OpenSSH format) is what a cloud is given."""

from __future__ import annotations

from pathlib import Path


def generate_private_key(path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from isaacctl.state import atomic_write

    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    atomic_write(path, pem, mode=0o600)


def ensure_private_key(path: Path) -> bool:
    """Generate the key unless it exists; True when it was generated now."""
    if path.is_file():
        return False
    generate_private_key(path)
    return True


def public_key(private_key_file: Path) -> bytes:
    """b"ssh-ed25519 AAAA..." of a private key file."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_ssh_private_key(Path(private_key_file).read_bytes(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
