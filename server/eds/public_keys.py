"""Public keys from SubjectPublicKeyInfo, and checking a signature with one.

asn1crypto refuses to parse a SubjectPublicKeyInfo whose algorithm it does
not know (all GOST ones), so the structure is read with a neutral schema and
each family is handed to its own implementation: RSA to ``cryptography``,
GOST 2015 to :mod:`server.eds.gost`.
"""

from __future__ import annotations

from dataclasses import dataclass

from asn1crypto import core
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from server.eds.algorithms import (
    GOST2004_KEY,
    GOST2015_256_KEY,
    GOST2015_512_KEY,
    RSA_ENCRYPTION,
    SHA256,
    SHA384,
    SHA512,
    KeyFamily,
    SignatureScheme,
    digest,
)
from server.eds.errors import EdsError, EdsErrorCode
from server.eds.gost import GostPublicKey

_RSA_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    SHA256: hashes.SHA256,
    SHA384: hashes.SHA384,
    SHA512: hashes.SHA512,
}
_MIN_RSA_BITS = 2048


class _AlgorithmIdentifier(core.Sequence):
    _fields = [  # noqa: RUF012 - asn1crypto schema
        ("algorithm", core.ObjectIdentifier),
        ("parameters", core.Any, {"optional": True}),
    ]


class _SubjectPublicKeyInfo(core.Sequence):
    _fields = [  # noqa: RUF012 - asn1crypto schema
        ("algorithm", _AlgorithmIdentifier),
        ("public_key", core.OctetBitString),
    ]


@dataclass(frozen=True)
class PublicKey:
    """A subject's public key, able to check signatures made with it."""

    family: KeyFamily
    _rsa: rsa.RSAPublicKey | None = None
    _gost: GostPublicKey | None = None

    def verify(self, scheme: SignatureScheme, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's signature over ``message`` under ``scheme``."""
        if scheme.key_family is not self.family:
            return False
        if self._rsa is not None:
            try:
                self._rsa.verify(
                    signature, message, padding.PKCS1v15(), _RSA_HASHES[scheme.digest_oid]()
                )
            except InvalidSignature:
                return False
            return True
        if self._gost is not None:
            return self._gost.verify(digest(scheme.digest_oid, message), signature)
        return False


def load_public_key(spki_der: bytes) -> PublicKey:
    """Parse a DER SubjectPublicKeyInfo; unknown key types are ``unsupported_algorithm``."""
    try:
        spki = _SubjectPublicKeyInfo.load(spki_der)
        algorithm = spki["algorithm"]["algorithm"].dotted
        parameters = spki["algorithm"]["parameters"]
        parameters_der = None if isinstance(parameters, core.Void) else parameters.dump()
        key_bits = spki["public_key"].native
    except (ValueError, TypeError, KeyError) as exc:
        raise EdsError(EdsErrorCode.CMS_MALFORMED, "malformed public key") from exc
    if algorithm == RSA_ENCRYPTION:
        try:
            key = serialization.load_der_public_key(spki_der)
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise EdsError(EdsErrorCode.CMS_MALFORMED, "malformed RSA public key") from exc
        if not isinstance(key, rsa.RSAPublicKey) or key.key_size < _MIN_RSA_BITS:
            raise EdsError(EdsErrorCode.UNSUPPORTED_ALGORITHM, "RSA key too short")
        return PublicKey(KeyFamily.RSA, _rsa=key)
    if algorithm in (GOST2015_512_KEY, GOST2015_256_KEY):
        try:
            gost = GostPublicKey.from_spki(algorithm, parameters_der, key_bits)
        except ValueError as exc:
            raise EdsError(EdsErrorCode.CMS_MALFORMED, "malformed GOST key parameters") from exc
        return PublicKey(gost.family, _gost=gost)
    if algorithm == GOST2004_KEY:
        raise EdsError(EdsErrorCode.UNSUPPORTED_ALGORITHM, "GOST 34.310-2004 is not supported")
    raise EdsError(EdsErrorCode.UNSUPPORTED_ALGORITHM, f"unsupported public key type {algorithm}")
