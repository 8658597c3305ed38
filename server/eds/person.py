"""Who a certificate names, read the way NCA RK fills in its subjects.

NCA subjects carry ``serialNumber=IIN<12 digits>``, ``CN="SURNAME GIVEN"``,
``SURNAME``, ``GN`` holding the patronymic, and for a legal entity ``O`` and
``OU=BIN<12 digits>``. Extended key usage says in which capacity the holder
signs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import x509

from server.eds.certificates import Certificate

EKU_INDIVIDUAL = "1.2.398.3.3.4.1.1"
EKU_LEGAL_ENTITY = "1.2.398.3.3.4.1.2"

# Most specific role first: a certificate naming several gets the strongest one.
_LEGAL_ROLES: tuple[tuple[str, str], ...] = (
    ("1.2.398.3.3.4.1.2.1", "legal_head"),
    ("1.2.398.3.3.4.1.2.2", "legal_signer"),
    ("1.2.398.3.3.4.1.2.3", "legal_finance"),
    ("1.2.398.3.3.4.1.2.4", "legal_hr"),
    ("1.2.398.3.3.4.1.2.5", "legal_employee"),
)

_IIN = re.compile(r"IIN(\d{12})")
_BIN = re.compile(r"BIN(\d{12})")

# Short names for the issuer string (RFC 4514's where it has one).
_SHORT_NAMES: dict[str, str] = {
    "common_name": "CN",
    "country_name": "C",
    "organization_name": "O",
    "organizational_unit_name": "OU",
    "locality_name": "L",
    "state_or_province_name": "ST",
    "street_address": "STREET",
    "domain_component": "DC",
    "user_id": "UID",
    "serial_number": "SERIALNUMBER",
    "surname": "SN",
    "given_name": "GN",
    "email_address": "E",
    "business_category": "BUSINESSCATEGORY",
}


@dataclass(frozen=True)
class Person:
    """The signer as the certificate names them."""

    iin: str | None
    bin: str | None
    common_name: str | None
    surname: str | None
    given_name: str | None
    patronymic: str | None
    organization: str | None
    email: str | None
    holder_kind: str
    """``individual``, ``legal_head``, ``legal_signer``, ``legal_finance``, ``legal_hr``,
    ``legal_employee``, ``legal_entity`` (legal EKU without a known role) or ``unknown``."""
    eku: tuple[str, ...]
    serial_hex: str
    issuer: str
    not_before: datetime
    not_after: datetime


def person_from_certificate(certificate: Certificate) -> Person:
    """Read the :class:`Person` out of a (verified) leaf certificate."""
    attributes = _attributes(certificate.subject)
    iin = _first_match(_IIN, attributes.get("serial_number", []))
    bin_ = _first_match(_BIN, attributes.get("organizational_unit_name", []))
    common_name = _first(attributes, "common_name")
    surname = _first(attributes, "surname")
    given_name, patronymic = _given_and_patronymic(
        common_name, surname, _first(attributes, "given_name")
    )
    return Person(
        iin=iin,
        bin=bin_,
        common_name=common_name,
        surname=surname,
        given_name=given_name,
        patronymic=patronymic,
        organization=_first(attributes, "organization_name"),
        email=_first(attributes, "email_address"),
        holder_kind=holder_kind(certificate.extended_key_usage),
        eku=certificate.extended_key_usage,
        serial_hex=certificate.serial_hex,
        issuer=format_name(certificate.issuer),
        not_before=certificate.not_before,
        not_after=certificate.not_after,
    )


def holder_kind(eku: tuple[str, ...]) -> str:
    """The holder's capacity from NCA's extended key usage OIDs."""
    for oid, role in _LEGAL_ROLES:
        if oid in eku:
            return role
    if EKU_LEGAL_ENTITY in eku:
        return "legal_entity"
    if EKU_INDIVIDUAL in eku:
        return "individual"
    return "unknown"


def format_name(name: x509.Name) -> str:
    """A distinguished name in certificate order, as openssl and NCA tools print it.

    E.g. ``CN=ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (GOST) TEST 2022, C=KZ``; values are
    escaped as in RFC 4514 (whose own string form would list the RDNs reversed).
    """
    parts: list[str] = []
    for rdn in name.chosen:
        attributes = []
        for attribute in rdn:
            kind = attribute["type"]
            label = _SHORT_NAMES.get(kind.native, kind.dotted)
            attributes.append(f"{label}={_escape(_text(attribute['value'].native))}")
        parts.append("+".join(attributes))
    return ", ".join(parts)


def _attributes(name: x509.Name) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for rdn in name.chosen:
        for attribute in rdn:
            found.setdefault(attribute["type"].native, []).append(_text(attribute["value"].native))
    return found


def _given_and_patronymic(
    common_name: str | None, surname: str | None, gn: str | None
) -> tuple[str | None, str | None]:
    # NCA: CN = "SURNAME GIVEN" and GN = patronymic. Some issuers instead put
    # "GIVEN PATRONYMIC" in GN; recognise that when GN starts with the given name.
    given = None
    if common_name and surname and common_name.startswith(surname + " "):
        given = common_name[len(surname) + 1 :].strip() or None
    if gn is None:
        return given, None
    words = gn.split()
    if given and len(words) >= 2 and words[0] == given:
        return given, " ".join(words[1:])
    if given is None and len(words) >= 2:
        return words[0], " ".join(words[1:])
    return given, gn


def _first(attributes: dict[str, list[str]], kind: str) -> str | None:
    values = attributes.get(kind)
    return values[0] if values else None


def _first_match(pattern: re.Pattern[str], values: list[str]) -> str | None:
    for value in values:
        match = pattern.fullmatch(value.strip())
        if match:
            return match.group(1)
    return None


def _text(value: object) -> str:
    return value if isinstance(value, str) else str(value)


def _escape(value: str) -> str:
    escaped = "".join("\\" + ch if ch in ',+"\\<>;=' else ch for ch in value)
    if escaped.startswith((" ", "#")):
        escaped = "\\" + escaped
    if escaped.endswith(" ") and not escaped.endswith("\\ "):
        escaped = escaped[:-1] + "\\ "
    return escaped
