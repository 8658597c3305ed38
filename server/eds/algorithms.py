"""The algorithms a signature may use: OIDs, digests and signature schemes.

Only what NCA RK issues is accepted: RSA PKCS#1 v1.5 with SHA-2 (older keys)
and GOST 34.10-2015 with GOST 34.11-2015 (Streebog), 512 and 256 bit, named
by NCA's own OIDs (``1.2.398.3.10...``). GOST 34.310-2004 keys use a hash no
Python library implements, so they are refused as unsupported.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from asn1crypto import algos
from gostcrypto import gosthash

from server.eds.errors import EdsError, EdsErrorCode

# RSA (PKCS#1).
RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
SHA256_WITH_RSA = "1.2.840.113549.1.1.11"
SHA384_WITH_RSA = "1.2.840.113549.1.1.12"
SHA512_WITH_RSA = "1.2.840.113549.1.1.13"

# SHA-2 digests.
SHA256 = "2.16.840.1.101.3.4.2.1"
SHA384 = "2.16.840.1.101.3.4.2.2"
SHA512 = "2.16.840.1.101.3.4.2.3"

# GOST 34.10-2015 / 34.11-2015 as named by NCA RK.
GOST2015_256_KEY = "1.2.398.3.10.1.1.2.1"
GOST2015_512_KEY = "1.2.398.3.10.1.1.2.2"
GOST2015_256_SIGNATURE = "1.2.398.3.10.1.1.2.3.1"
GOST2015_512_SIGNATURE = "1.2.398.3.10.1.1.2.3.2"
STREEBOG_256 = "1.2.398.3.10.1.3.2"
STREEBOG_512 = "1.2.398.3.10.1.3.3"
GOST2015_256_PARAMSET_A = "1.2.398.3.10.1.1.2.1.1"
GOST2015_512_PARAMSET_A = "1.2.398.3.10.1.1.2.2.1"

# GOST 34.310-2004: recognised only to name it in the refusal.
GOST2004_KEY = "1.2.398.3.10.1.1.1.1"
GOST2004_SIGNATURE = "1.2.398.3.10.1.1.1.2"


class KeyFamily(StrEnum):
    """Which kind of public key can check a scheme's signatures."""

    RSA = "rsa"
    GOST2015_256 = "gost2015-256"
    GOST2015_512 = "gost2015-512"


@dataclass(frozen=True)
class SignatureScheme:
    """A signature algorithm together with the digest it signs."""

    name: str
    key_family: KeyFamily
    digest_oid: str


RSA_SHA256 = SignatureScheme("RSA-SHA256", KeyFamily.RSA, SHA256)
RSA_SHA384 = SignatureScheme("RSA-SHA384", KeyFamily.RSA, SHA384)
RSA_SHA512 = SignatureScheme("RSA-SHA512", KeyFamily.RSA, SHA512)
GOST_512 = SignatureScheme("GOST34.10-2015-512", KeyFamily.GOST2015_512, STREEBOG_512)
GOST_256 = SignatureScheme("GOST34.10-2015-256", KeyFamily.GOST2015_256, STREEBOG_256)

# Certificates and CRLs name the scheme with one OID that implies the digest.
_BY_SIGNATURE_OID: dict[str, SignatureScheme] = {
    SHA256_WITH_RSA: RSA_SHA256,
    SHA384_WITH_RSA: RSA_SHA384,
    SHA512_WITH_RSA: RSA_SHA512,
    GOST2015_512_SIGNATURE: GOST_512,
    GOST2015_256_SIGNATURE: GOST_256,
}


def scheme_for_signed_object(signature_oid: str) -> SignatureScheme:
    """The scheme of a certificate's or CRL's ``signatureAlgorithm``."""
    scheme = _BY_SIGNATURE_OID.get(signature_oid)
    if scheme is None:
        raise EdsError(
            EdsErrorCode.UNSUPPORTED_ALGORITHM, f"unsupported signature algorithm {signature_oid}"
        )
    return scheme


def scheme_for_signer(digest_oid: str, signature_oid: str) -> SignatureScheme:
    """The scheme of a CMS SignerInfo, which names digest and signature separately.

    CMS writers put either the combined OID or the bare key OID in
    ``signatureAlgorithm`` (``rsaEncryption`` for RSA, the GOST key OID for
    GOST); both are accepted as long as the digest agrees with it.
    """
    scheme = _BY_SIGNATURE_OID.get(signature_oid)
    if scheme is None:
        bare_key = {
            RSA_ENCRYPTION: {SHA256: RSA_SHA256, SHA384: RSA_SHA384, SHA512: RSA_SHA512},
            GOST2015_512_KEY: {STREEBOG_512: GOST_512},
            GOST2015_256_KEY: {STREEBOG_256: GOST_256},
        }.get(signature_oid, {})
        scheme = bare_key.get(digest_oid)
    if scheme is None or scheme.digest_oid != digest_oid:
        raise EdsError(
            EdsErrorCode.UNSUPPORTED_ALGORITHM,
            f"unsupported signature algorithm {signature_oid} with digest {digest_oid}",
        )
    return scheme


def same_algorithm(outer: algos.SignedDigestAlgorithm, inner: algos.SignedDigestAlgorithm) -> bool:
    """Whether a signed object's outer and TBS algorithm identifiers agree.

    Parameters that are absent and NULL count as equal: NCA's GOST CRL has
    NULL outside and nothing inside the TBS.
    """

    def _parameters(identifier: algos.SignedDigestAlgorithm) -> bytes | None:
        encoded = identifier["parameters"].dump()
        return None if encoded in (b"", b"\x05\x00") else encoded

    return outer["algorithm"].dotted == inner["algorithm"].dotted and _parameters(
        outer
    ) == _parameters(inner)


def digest(digest_oid: str, data: bytes) -> bytes:
    """Hash ``data`` with the digest named by ``digest_oid``.

    Streebog output is returned in the byte order the reference
    implementation produces; that is also what NCA puts in messageDigest.
    """
    if digest_oid == SHA256:
        return hashlib.sha256(data).digest()
    if digest_oid == SHA384:
        return hashlib.sha384(data).digest()
    if digest_oid == SHA512:
        return hashlib.sha512(data).digest()
    if digest_oid == STREEBOG_512:
        return bytes(gosthash.new("streebog512", data=data).digest())
    if digest_oid == STREEBOG_256:
        return bytes(gosthash.new("streebog256", data=data).digest())
    raise EdsError(EdsErrorCode.UNSUPPORTED_ALGORITHM, f"unsupported digest algorithm {digest_oid}")
