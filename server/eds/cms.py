"""Reading the CMS SignedData that NCALayer produces, strictly.

Accepted shape: SignedData with exactly one SignerInfo, the content attached
(eContentType id-data), the signer's certificate among the certificates, and
signed attributes with contentType and messageDigest (signingTime is read
when present). The signature covers the DER of the signed attributes with
their ``[0]`` tag replaced by SET OF (RFC 5652 section 5.4). Nothing here
checks a signature; it only takes the message apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from asn1crypto import cms, core

from server.eds.armor import decode_cms
from server.eds.certificates import Certificate
from server.eds.errors import EdsError, EdsErrorCode

ID_DATA = "1.2.840.113549.1.7.1"
MAX_CERTIFICATES = 16


@dataclass(frozen=True)
class SignedMessage:
    """The parts of a SignedData needed to verify it."""

    content: bytes
    digest_oid: str
    signature_oid: str
    signed_attributes: bytes
    """Exactly the bytes the signature covers (signed attributes as a DER SET OF)."""
    message_digest: bytes
    signing_time: datetime | None
    signature: bytes
    signer: Certificate
    certificates: tuple[Certificate, ...]
    """Every certificate the CMS carries, the signer's included."""


def parse_signed_message(data: bytes | str) -> SignedMessage:
    """Decode and take apart a CMS; any deviation from the shape is ``cms_malformed``."""
    der = decode_cms(data)
    try:
        return _parse(der)
    except EdsError:
        raise
    except Exception as exc:  # asn1crypto raises many types on hostile input
        raise _malformed("the signature is not a readable CMS") from exc


def encapsulated_content(data: bytes | str) -> bytes:
    """The signed content of a CMS, unverified: for finding the nonce it claims to sign."""
    der = decode_cms(data)
    try:
        info = cms.ContentInfo.load(der, strict=True)
        if info["content_type"].native != "signed_data":
            raise _malformed("not a CMS SignedData")
        return _content(info["content"]["encap_content_info"])
    except EdsError:
        raise
    except Exception as exc:
        raise _malformed("the signature is not a readable CMS") from exc


def _parse(der: bytes) -> SignedMessage:
    info = cms.ContentInfo.load(der, strict=True)
    if info["content_type"].native != "signed_data":
        raise _malformed("not a CMS SignedData")
    signed_data = info["content"]
    content = _content(signed_data["encap_content_info"])

    signer_infos = signed_data["signer_infos"]
    if len(signer_infos) != 1:
        raise _malformed(f"expected exactly one signer, found {len(signer_infos)}")
    signer_info = signer_infos[0]

    certificates = _certificates(signed_data)
    signer = _find_signer(signer_info["sid"], certificates)

    attributes = signer_info["signed_attrs"]
    if not isinstance(attributes, cms.CMSAttributes) or not attributes.contents:
        raise _malformed("the signature has no signed attributes")
    content_type, message_digest, signing_time = _read_attributes(attributes)
    if content_type != ID_DATA:
        raise _malformed("contentType attribute does not match the content")

    return SignedMessage(
        content=content,
        digest_oid=signer_info["digest_algorithm"]["algorithm"].dotted,
        signature_oid=signer_info["signature_algorithm"]["algorithm"].dotted,
        signed_attributes=_as_set_of(attributes.contents),
        message_digest=message_digest,
        signing_time=signing_time,
        signature=bytes(signer_info["signature"].native),
        signer=signer,
        certificates=certificates,
    )


def _content(encap: cms.EncapsulatedContentInfo) -> bytes:
    if encap["content_type"].dotted != ID_DATA:
        raise _malformed("the signed content is not plain data")
    content = encap["content"]
    if content.native is None:
        raise _malformed("the signature is detached: the content must be attached")
    value = content.native
    if not isinstance(value, bytes):
        raise _malformed("the signed content is not an OCTET STRING")
    return value


def _certificates(signed_data: cms.SignedData) -> tuple[Certificate, ...]:
    choices = signed_data["certificates"]
    # Not .native: asn1crypto cannot turn GOST public keys into Python values.
    if isinstance(choices, core.Void) or len(choices) == 0:
        raise _malformed("the signature carries no certificate")
    if len(choices) > MAX_CERTIFICATES:
        raise _malformed("the signature carries too many certificates")
    loaded = []
    for choice in choices:
        if choice.name == "certificate":  # attribute certificates and others: not ours
            loaded.append(Certificate.load(choice.chosen.dump()))
    return tuple(loaded)


def _find_signer(sid: cms.SignerIdentifier, certificates: tuple[Certificate, ...]) -> Certificate:
    if sid.name == "issuer_and_serial_number":
        issuer = sid.chosen["issuer"].hashable
        serial = int(sid.chosen["serial_number"].native)
        matches = [c for c in certificates if c.issuer_key == issuer and c.serial == serial]
    elif sid.name == "subject_key_identifier":
        key_id = bytes(sid.chosen.native)
        matches = [c for c in certificates if c.subject_key_id == key_id]
    else:
        matches = []
    if not matches:
        raise _malformed("the signer's certificate is not included")
    return matches[0]


def _read_attributes(attributes: cms.CMSAttributes) -> tuple[str, bytes, datetime | None]:
    seen: set[str] = set()
    content_type: str | None = None
    message_digest: bytes | None = None
    signing_time: datetime | None = None
    for attribute in attributes:
        kind = attribute["type"].dotted
        if kind in seen:
            raise _malformed("a signed attribute is repeated")
        seen.add(kind)
        name = attribute["type"].native
        if name not in ("content_type", "message_digest", "signing_time"):
            continue
        values = attribute["values"]
        if len(values) != 1:
            raise _malformed(f"signed attribute {name} must have exactly one value")
        value = values[0]
        if name == "content_type":
            content_type = value.dotted
        elif name == "message_digest":
            message_digest = bytes(value.native)
        else:
            signing_time = value.native
    if content_type is None or message_digest is None:
        raise _malformed("contentType and messageDigest attributes are required")
    return content_type, message_digest, signing_time


def _as_set_of(contents: bytes) -> bytes:
    # The [0] IMPLICIT tag becomes the universal SET OF tag (0x31); the length stays.
    size = len(contents)
    if size < 0x80:
        header = bytes([0x31, size])
    else:
        length = size.to_bytes((size.bit_length() + 7) // 8, "big")
        header = bytes([0x31, 0x80 | len(length)]) + length
    return header + contents


def _malformed(message: str) -> EdsError:
    return EdsError(EdsErrorCode.CMS_MALFORMED, message)
