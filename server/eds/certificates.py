"""X.509 certificates, read once into the fields the verifier looks at.

asn1crypto parses lazily, so a hostile certificate could fail anywhere it is
touched. Everything needed is therefore extracted up front, inside one
``try``: a certificate either loads completely or is ``cms_malformed``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from asn1crypto import x509

from server.eds.algorithms import same_algorithm
from server.eds.errors import EdsError, EdsErrorCode
from server.eds.public_keys import PublicKey, load_public_key

# Critical extensions this verifier understands; any other critical one makes
# the certificate unusable (RFC 5280 section 4.2).
_UNDERSTOOD_CRITICAL = frozenset(
    {
        "basic_constraints",
        "key_usage",
        "extended_key_usage",
        "certificate_policies",
        "subject_alt_name",
    }
)


@dataclass(frozen=True, eq=False)
class Certificate:
    """A parsed certificate. Equality is by DER bytes."""

    der: bytes
    subject: x509.Name
    issuer: x509.Name
    subject_key: str
    """Normalised subject name (RFC 5280 matching), for looking up issuers."""
    issuer_key: str
    serial: int
    not_before: datetime
    not_after: datetime
    tbs_der: bytes
    signature_oid: str
    signature: bytes
    spki_der: bytes
    key_usage: frozenset[str] | None
    """Key usage bits by asn1crypto name, or ``None`` without the extension."""
    extended_key_usage: tuple[str, ...]
    """Dotted EKU OIDs, in certificate order."""
    is_ca: bool
    path_length: int | None
    subject_key_id: bytes | None
    authority_key_id: bytes | None
    unknown_critical: tuple[str, ...] = field(default=())

    @classmethod
    def load(cls, der: bytes) -> Certificate:
        """Parse DER; anything unreadable is ``cms_malformed``."""
        try:
            cert = x509.Certificate.load(bytes(der), strict=True)
            tbs = cert["tbs_certificate"]
            if not same_algorithm(cert["signature_algorithm"], tbs["signature"]):
                raise ValueError("signature algorithm differs inside and outside the TBS")
            validity = tbs["validity"]
            key_usage: frozenset[str] | None = None
            eku: tuple[str, ...] = ()
            is_ca, path_length = False, None
            ski = aki = None
            unknown_critical: list[str] = []
            for extension in tbs["extensions"]:
                name = extension["extn_id"].native
                value = extension["extn_value"].parsed
                if extension["critical"].native and name not in _UNDERSTOOD_CRITICAL:
                    unknown_critical.append(extension["extn_id"].dotted)
                if name == "key_usage":
                    key_usage = frozenset(value.native)
                elif name == "extended_key_usage":
                    eku = tuple(purpose.dotted for purpose in value)
                elif name == "basic_constraints":
                    is_ca = bool(value["ca"].native)
                    path_length = value["path_len_constraint"].native
                elif name == "key_identifier":
                    ski = bytes(value.native)
                elif name == "authority_key_identifier":
                    aki = value["key_identifier"].native
            return cls(
                der=bytes(der),
                subject=tbs["subject"],
                issuer=tbs["issuer"],
                subject_key=tbs["subject"].hashable,
                issuer_key=tbs["issuer"].hashable,
                serial=int(tbs["serial_number"].native),
                not_before=validity["not_before"].native,
                not_after=validity["not_after"].native,
                tbs_der=tbs.dump(),
                signature_oid=cert["signature_algorithm"]["algorithm"].dotted,
                signature=bytes(cert["signature_value"].native),
                spki_der=tbs["subject_public_key_info"].dump(),
                key_usage=key_usage,
                extended_key_usage=eku,
                is_ca=is_ca,
                path_length=path_length,
                subject_key_id=ski,
                authority_key_id=aki,
                unknown_critical=tuple(unknown_critical),
            )
        except EdsError:
            raise
        except Exception as exc:  # asn1crypto raises many types on hostile input
            raise EdsError(EdsErrorCode.CMS_MALFORMED, "malformed certificate") from exc

    @cached_property
    def fingerprint(self) -> bytes:
        """SHA-256 of the DER: identifies this exact certificate."""
        return hashlib.sha256(self.der).digest()

    @cached_property
    def public_key(self) -> PublicKey:
        """The subject's key; ``unsupported_algorithm`` for a key type that cannot be checked."""
        return load_public_key(self.spki_der)

    @property
    def serial_hex(self) -> str:
        """The serial number as NCA tools print it: lower-case hex, no separators."""
        return format(self.serial, "x")

    def may_have_issued(self, child: Certificate) -> bool:
        """Whether names (and key identifiers, when both are present) link ``child`` to us."""
        if child.issuer_key != self.subject_key:
            return False
        return (
            child.authority_key_id is None
            or self.subject_key_id is None
            or child.authority_key_id == self.subject_key_id
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Certificate) and other.der == self.der

    def __hash__(self) -> int:
        return hash(self.der)
