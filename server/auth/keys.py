"""The server's signing key ring: Ed25519 keys with a ``kid``, kept on disk.

Several keys may be active: the newest signs, all of them verify. Rotation adds
a key (new tokens use it) and retires an old one only once no token signed by
it can still be valid, so nobody is logged out by a rotation.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class SigningKey:
    """One Ed25519 key and its identifier (RFC 7638 thumbprint, truncated)."""

    kid: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @classmethod
    def generate(cls) -> SigningKey:
        return cls.from_private(Ed25519PrivateKey.generate())

    @classmethod
    def from_private(cls, private_key: Ed25519PrivateKey) -> SigningKey:
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        # RFC 7638 thumbprint over the required OKP members, in lexicographic order.
        canonical = json.dumps(
            {"crv": "Ed25519", "kty": "OKP", "x": _b64url(raw)}, separators=(",", ":")
        )
        kid = _b64url(hashlib.sha256(canonical.encode()).digest())[:16]
        return cls(kid=kid, private_key=private_key)

    def public_jwk(self) -> dict[str, str]:
        raw = self.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _b64url(raw),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        }


class KeyRing:
    """The active signing keys. The last one added signs new tokens."""

    def __init__(self, keys: list[SigningKey]) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one key")
        self._keys: dict[str, SigningKey] = {key.kid: key for key in keys}
        self._current = keys[-1]

    @property
    def current(self) -> SigningKey:
        return self._current

    def get(self, kid: str) -> SigningKey | None:
        return self._keys.get(kid)

    def kids(self) -> list[str]:
        return list(self._keys)

    def add(self, key: SigningKey) -> None:
        """Make ``key`` the signing key; older keys keep verifying."""
        self._keys[key.kid] = key
        self._current = key

    def retire(self, kid: str) -> None:
        if kid == self._current.kid:
            raise ValueError("cannot retire the key that currently signs")
        self._keys.pop(kid, None)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [key.public_jwk() for key in self._keys.values()]}

    @classmethod
    def load_or_create(cls, directory: Path) -> KeyRing:
        """Load ``*.pem`` keys from ``directory`` (oldest first), creating one if none.

        Files are written owner-only; the directory is created ``0700``.
        """
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        paths = sorted(_token_key_paths(directory), key=lambda p: (p.stat().st_mtime, p.name))
        keys: list[SigningKey] = []
        for path in paths:
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(private, Ed25519PrivateKey):
                raise ValueError(f"{path} is not an Ed25519 private key")
            keys.append(SigningKey.from_private(private))
        if not keys:
            key = SigningKey.generate()
            write_private_key(directory / f"{key.kid}.pem", key)
            keys.append(key)
        return cls(keys)


def rotate(directory: Path) -> SigningKey:
    """Add a new key: it signs from the next start on; older keys keep verifying."""
    ring = KeyRing.load_or_create(directory)
    key = SigningKey.generate()
    write_private_key(directory / f"{key.kid}.pem", key)
    # Order is by modification time; make the new key strictly the newest.
    newest = max(p.stat().st_mtime for p in _token_key_paths(directory))
    os.utime(directory / f"{key.kid}.pem", (newest + 1, newest + 1))
    ring.add(key)
    return key


def retire(directory: Path, kid: str) -> None:
    """Remove a key once no token it signed can still be valid (after the token TTL)."""
    ring = KeyRing.load_or_create(directory)
    if ring.get(kid) is None:
        raise ValueError(f"no key {kid}")
    ring.retire(kid)  # refuses the signing key
    (directory / f"{kid}.pem").unlink()


def _token_key_paths(directory: Path) -> list[Path]:
    """The token keys' files: the archive's signing keys (``archive-*.pem``) share the
    directory but must never sign tokens (recorder/archive_keys.py)."""
    return [p for p in directory.glob("*.pem") if not p.name.startswith("archive-")]


def write_private_key(path: Path, key: SigningKey) -> None:
    """Write a key as unencrypted PKCS#8 PEM readable by the owner only."""
    pem = key.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
