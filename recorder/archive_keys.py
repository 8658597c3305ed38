"""The archive signing keys: Ed25519, ``<data dir>/keys/archive-<key id>.pem``, 0600.

Separate from the token keys in the same directory (those never sign archives,
these never sign tokens). The newest key signs; every archive key present is
trusted when verifying, so a rotated-out key still verifies what it sealed.
A verifier without the private keys trusts ``archive-*.pem`` public keys too.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PREFIX = "archive-"


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """A key's id: the first 16 hex digits of the SHA-256 of its raw public key."""
    return hashlib.sha256(raw_public(key)).hexdigest()[:16]


def public_b64(key: Ed25519PublicKey) -> str:
    return base64.b64encode(raw_public(key)).decode("ascii")


def public_from_b64(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))


@dataclass(frozen=True)
class ArchiveKey:
    """The key that signs new manifests."""

    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data)

    def public_pem(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def _key_files(directory: Path) -> list[Path]:
    """Archive key files, oldest first (the last one signs)."""
    if not directory.is_dir():
        return []
    return sorted(directory.glob(f"{PREFIX}*.pem"), key=lambda p: (p.stat().st_mtime_ns, p.name))


def _write_private(directory: Path, key: Ed25519PrivateKey) -> Path:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / f"{PREFIX}{key_id(key.public_key())}.pem"
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    return path


def signing_key(directory: Path) -> ArchiveKey:
    """The newest archive private key in ``directory``, made on first use."""
    for path in reversed(_key_files(directory)):
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if isinstance(private, Ed25519PrivateKey):
            return ArchiveKey(private)
    private = Ed25519PrivateKey.generate()
    _write_private(directory, private)
    return ArchiveKey(private)


def rotate(directory: Path) -> ArchiveKey:
    """Add a new archive key that signs from now on; older ones keep verifying."""
    files = _key_files(directory)
    private = Ed25519PrivateKey.generate()
    path = _write_private(directory, private)
    if files:
        # Order is by modification time; make the new key strictly the newest.
        newest = max(p.stat().st_mtime_ns for p in files)
        os.utime(path, ns=(newest + 1_000_000, newest + 1_000_000))
    return ArchiveKey(private)


def load_public_pem(data: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM that holds either the private or the public key."""
    if b"PRIVATE KEY" in data:
        private = serialization.load_pem_private_key(data, password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise ValueError("not an Ed25519 key")
        return private.public_key()
    public = serialization.load_pem_public_key(data)
    if not isinstance(public, Ed25519PublicKey):
        raise ValueError("not an Ed25519 key")
    return public


def trusted_keys(directory: Path) -> dict[str, Ed25519PublicKey]:
    """Every archive key in ``directory`` (private or public PEM), by key id."""
    found: dict[str, Ed25519PublicKey] = {}
    for path in _key_files(directory):
        try:
            public = load_public_pem(path.read_bytes())
        except ValueError:
            continue  # not a key of ours: it is not trusted, and not fatal
        found[key_id(public)] = public
    return found


def keys_from_pem_files(paths: list[Path]) -> dict[str, Ed25519PublicKey]:
    """Keys named on the command line (``--trusted-key``); unreadable ones are an error."""
    found: dict[str, Ed25519PublicKey] = {}
    for path in paths:
        try:
            public = load_public_pem(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: not an Ed25519 key ({exc})") from exc
        found[key_id(public)] = public
    return found
