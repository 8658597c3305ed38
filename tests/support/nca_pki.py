"""A test PKI shaped like NCA RK's, in RSA, GOST 34.10-2015 512 and 256 bit.

Each algorithm gets a root, an intermediate "ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (…)
TEST", a CRL from the intermediate (one revoked serial, one on
certificateHold), good leaves with NCA subjects and EKUs, deliberately bad
leaves, and a look-alike CA nobody trusts. Certificates are assembled with
asn1crypto and signed with ``cryptography`` (RSA) or ``gostcrypto`` (GOST, in
NCA's little-endian conventions). :func:`pki` caches one per algorithm per
test session: GOST 512 key generation and signing are pure Python.

:func:`sign_cms` makes what NCALayer makes: SignedData, content attached,
signed attributes contentType, signingTime and messageDigest, the signer's
certificate included.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache

from asn1crypto import algos, cms, core, keys, x509
from asn1crypto import crl as asn1_crl
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from gostcrypto import gosthash, gostsignature

from server.eds.gost import gost_engine

RSA = "rsa"
GOST512 = "gost512"
GOST256 = "gost256"
ALGORITHMS = (RSA, GOST512, GOST256)

EKU_INDIVIDUAL = "1.2.398.3.3.4.1.1"
EKU_LEGAL = "1.2.398.3.3.4.1.2"
EKU_LEGAL_HEAD = "1.2.398.3.3.4.1.2.1"
EKU_LEGAL_EMPLOYEE = "1.2.398.3.3.4.1.2.5"
EKU_EMAIL_PROTECTION = "1.3.6.1.5.5.7.3.4"
POLICY_NCA = "1.2.398.3.3.2"

IIN_INDIVIDUAL = "123456789011"
IIN_EMPLOYEE = "123456789012"
BIN_COMPANY = "123456789021"


@dataclass(frozen=True)
class _Gost:
    key_oid: str
    signature_oid: str
    digest_oid: str
    param_set_oid: str
    curve: str
    size: int
    hash_name: str


_GOST: dict[str, _Gost] = {
    GOST512: _Gost(
        key_oid="1.2.398.3.10.1.1.2.2",
        signature_oid="1.2.398.3.10.1.1.2.3.2",
        digest_oid="1.2.398.3.10.1.3.3",
        param_set_oid="1.2.398.3.10.1.1.2.2.1",
        curve="id-tc26-gost-3410-12-512-paramSetA",
        size=64,
        hash_name="streebog512",
    ),
    GOST256: _Gost(
        key_oid="1.2.398.3.10.1.1.2.1",
        signature_oid="1.2.398.3.10.1.1.2.3.1",
        digest_oid="1.2.398.3.10.1.3.2",
        # NCA's OID for TC26 256-bit parameter set A (RFC 7836, Weierstrass form).
        param_set_oid="1.2.398.3.10.1.1.2.1.1",
        curve="id-tc26-gost-3410-2012-256-paramSetA",
        size=32,
        hash_name="streebog256",
    ),
}

SHA256_WITH_RSA = "1.2.840.113549.1.1.11"
SHA256 = "2.16.840.1.101.3.4.2.1"


def _gost_engine(algorithm: str) -> gostsignature.GOST34102012:
    # The verifier's engine: gostcrypto with a fast modular inverse (same results).
    spec = _GOST[algorithm]
    return gost_engine(spec.size, spec.curve)


def gost_digest(algorithm: str, data: bytes) -> bytes:
    """Streebog digest as NCA stores it (messageDigest holds these bytes)."""
    return bytes(gosthash.new(_GOST[algorithm].hash_name, data=data).digest())


def gost_sign(algorithm: str, private_scalar_le: bytes, data: bytes) -> bytes:
    """A GOST 34.10-2015 signature over ``data`` the NCA way: ``r || s``, little-endian halves."""
    spec = _GOST[algorithm]
    digest_as_integer_be = gost_digest(algorithm, data)[::-1]  # NCA reads the digest little-endian
    signature_be = _gost_engine(algorithm).sign(
        bytearray(private_scalar_le[::-1]), bytearray(digest_as_integer_be)
    )
    r, s = bytes(signature_be[: spec.size]), bytes(signature_be[spec.size :])
    return r[::-1] + s[::-1]


def gost_public_point(algorithm: str, private_scalar_le: bytes) -> bytes:
    """``x || y`` (each little-endian) for a private scalar."""
    spec = _GOST[algorithm]
    point_be = bytes(
        _gost_engine(algorithm).public_key_generate(bytearray(private_scalar_le[::-1]))
    )
    return point_be[: spec.size][::-1] + point_be[spec.size :][::-1]


@dataclass(frozen=True)
class KeyPair:
    """A private key of one algorithm, with its SubjectPublicKeyInfo."""

    algorithm: str
    spki_der: bytes
    rsa_key: rsa.RSAPrivateKey | None = field(default=None, repr=False)
    gost_scalar_le: bytes | None = field(default=None, repr=False)

    @property
    def signature_oid(self) -> str:
        return SHA256_WITH_RSA if self.algorithm == RSA else _GOST[self.algorithm].signature_oid

    @property
    def digest_oid(self) -> str:
        return SHA256 if self.algorithm == RSA else _GOST[self.algorithm].digest_oid

    def digest(self, data: bytes) -> bytes:
        if self.algorithm == RSA:
            return hashlib.sha256(data).digest()
        return gost_digest(self.algorithm, data)

    def sign(self, data: bytes) -> bytes:
        if self.rsa_key is not None:
            return self.rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        assert self.gost_scalar_le is not None
        return gost_sign(self.algorithm, self.gost_scalar_le, data)


def new_key(algorithm: str) -> KeyPair:
    if algorithm == RSA:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        spki = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return KeyPair(RSA, spki, rsa_key=private)
    spec = _GOST[algorithm]
    order = gostsignature.CURVES_R_1323565_1_024_2019[spec.curve]["q"]
    scalar = int.from_bytes(os.urandom(spec.size + 8), "big") % (order - 1) + 1
    scalar_le = scalar.to_bytes(spec.size, "little")
    return KeyPair(algorithm, gost_spki(algorithm, scalar_le), gost_scalar_le=scalar_le)


def gost_spki(algorithm: str, private_scalar_le: bytes) -> bytes:
    """SubjectPublicKeyInfo DER for a GOST key, with curve and digest parameters like NCA's."""
    spec = _GOST[algorithm]
    parameters = _sequence(
        core.ObjectIdentifier(spec.param_set_oid).dump()
        + core.ObjectIdentifier(spec.digest_oid).dump()
    )
    algorithm_id = _sequence(core.ObjectIdentifier(spec.key_oid).dump() + parameters)
    point = core.OctetString(gost_public_point(algorithm, private_scalar_le)).dump()
    return _sequence(algorithm_id + core.OctetBitString(point).dump())


def _sequence(contents: bytes) -> bytes:
    size = len(contents)
    if size < 0x80:
        return bytes([0x30, size]) + contents
    body = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x30, 0x80 | len(body)]) + body + contents


@dataclass(frozen=True)
class Issued:
    """A certificate and the key it certifies."""

    name: str
    certificate_der: bytes = field(repr=False)
    key: KeyPair = field(repr=False)

    @property
    def certificate(self) -> x509.Certificate:
        return x509.Certificate.load(self.certificate_der)

    @property
    def serial(self) -> int:
        return int(self.certificate["tbs_certificate"]["serial_number"].native)


def build_name(attributes: Sequence[tuple[str, str]]) -> x509.Name:
    """A Name with one attribute per RDN, in the given order (NCA's order matters for display)."""
    rdns = []
    for kind, value in attributes:
        if kind in ("country_name", "serial_number"):
            typed: core.Asn1Value = core.PrintableString(value)
        elif kind == "email_address":
            typed = x509.EmailAddress(value)
        else:
            typed = x509.DirectoryString(name="utf8_string", value=value)
        rdns.append(
            x509.RelativeDistinguishedName([x509.NameTypeAndValue({"type": kind, "value": typed})])
        )
    return x509.Name(name="", value=x509.RDNSequence(rdns))


def _time(moment: datetime) -> x509.Time:
    if moment.year < 2050:
        return x509.Time(name="utc_time", value=moment)
    return x509.Time(name="general_time", value=moment)


def _signature_algorithm(oid: str) -> algos.SignedDigestAlgorithm:
    return algos.SignedDigestAlgorithm({"algorithm": oid, "parameters": core.Null()})


def _key_id(key: KeyPair) -> bytes:
    return hashlib.sha1(key.spki_der).digest()  # noqa: S324 - RFC 5280 key identifier method 1


def issue_certificate(
    *,
    subject: x509.Name,
    key: KeyPair,
    issuer: Issued | None,
    issuer_key: KeyPair | None = None,
    not_before: datetime,
    not_after: datetime,
    ca: bool = False,
    key_usage: set[str] | None = None,
    eku: Sequence[str] = (),
    serial: int | None = None,
    extra_extensions: Sequence[dict[str, object]] = (),
    name: str = "",
) -> Issued:
    """Sign a certificate for ``key``; ``issuer=None`` makes it self-signed."""
    signer = key if issuer is None else issuer.key
    if issuer_key is not None:
        signer = issuer_key
    issuer_name = subject if issuer is None else issuer.certificate["tbs_certificate"]["subject"]
    extensions: list[dict[str, object]] = []
    if ca:
        extensions.append(
            {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": True}}
        )
    usage = (
        key_usage
        if key_usage is not None
        else ({"key_cert_sign", "crl_sign"} if ca else {"digital_signature", "non_repudiation"})
    )
    if usage:
        extensions.append(
            {"extn_id": "key_usage", "critical": True, "extn_value": x509.KeyUsage(usage)}
        )
    if eku:
        extensions.append(
            {"extn_id": "extended_key_usage", "critical": False, "extn_value": list(eku)}
        )
    extensions.append({"extn_id": "key_identifier", "critical": False, "extn_value": _key_id(key)})
    extensions.append(
        {
            "extn_id": "authority_key_identifier",
            "critical": False,
            "extn_value": {"key_identifier": _key_id(signer)},
        }
    )
    extensions.append(
        {
            "extn_id": "certificate_policies",
            "critical": False,
            "extn_value": [{"policy_identifier": POLICY_NCA}],
        }
    )
    extensions.extend(extra_extensions)
    tbs = x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": serial
            if serial is not None
            else int.from_bytes(os.urandom(19), "big"),
            "signature": _signature_algorithm(signer.signature_oid),
            "issuer": issuer_name,
            "validity": {"not_before": _time(not_before), "not_after": _time(not_after)},
            "subject": subject,
            "subject_public_key_info": keys.PublicKeyInfo.load(key.spki_der),
            "extensions": extensions,
        }
    )
    tbs_der = tbs.dump()
    certificate = x509.Certificate(
        {
            "tbs_certificate": x509.TbsCertificate.load(tbs_der),
            "signature_algorithm": _signature_algorithm(signer.signature_oid),
            "signature_value": signer.sign(tbs_der),
        }
    )
    return Issued(name=name, certificate_der=certificate.dump(), key=key)


def issue_crl(
    issuer: Issued,
    revoked: Sequence[tuple[int, datetime, str | None]],
    *,
    this_update: datetime,
    next_update: datetime,
    number: int = 1,
) -> bytes:
    """A CRL signed by ``issuer``; ``revoked`` holds (serial, date, reason or None)."""
    entries = []
    for serial, when, reason in revoked:
        entry: dict[str, object] = {"user_certificate": serial, "revocation_date": _time(when)}
        if reason is not None:
            entry["crl_entry_extensions"] = [
                {"extn_id": "crl_reason", "critical": False, "extn_value": reason}
            ]
        entries.append(entry)
    tbs = asn1_crl.TbsCertList(
        {
            "version": "v2",
            "signature": _signature_algorithm(issuer.key.signature_oid),
            "issuer": issuer.certificate["tbs_certificate"]["subject"],
            "this_update": _time(this_update),
            "next_update": _time(next_update),
            "revoked_certificates": entries,
            "crl_extensions": [
                {"extn_id": "crl_number", "critical": False, "extn_value": number},
                {
                    "extn_id": "authority_key_identifier",
                    "critical": False,
                    "extn_value": {"key_identifier": _key_id(issuer.key)},
                },
            ],
        }
    )
    tbs_der = tbs.dump()
    return asn1_crl.CertificateList(
        {
            "tbs_cert_list": asn1_crl.TbsCertList.load(tbs_der),
            "signature_algorithm": _signature_algorithm(issuer.key.signature_oid),
            "signature": issuer.key.sign(tbs_der),
        }
    ).dump()


def individual_subject(
    surname: str = "ТЕСТОВ",
    given: str = "ТЕСТ",
    patronymic: str = "ТЕСТОВИЧ",
    iin: str = IIN_INDIVIDUAL,
) -> x509.Name:
    return build_name(
        [
            ("common_name", f"{surname} {given}"),
            ("surname", surname),
            ("serial_number", f"IIN{iin}"),
            ("country_name", "KZ"),
            ("given_name", patronymic),
        ]
    )


def legal_subject(
    surname: str = "ТЕСТОВ",
    given: str = "ТЕСТ",
    patronymic: str = "ТЕСТОВИЧ",
    iin: str = IIN_INDIVIDUAL,
    bin_: str = BIN_COMPANY,
    organization: str = 'АО "ТЕСТ"',
) -> x509.Name:
    return build_name(
        [
            ("common_name", f"{surname} {given}"),
            ("surname", surname),
            ("serial_number", f"IIN{iin}"),
            ("country_name", "KZ"),
            ("organization_name", organization),
            ("organizational_unit_name", f"BIN{bin_}"),
            ("given_name", patronymic),
            ("email_address", "test@example.kz"),
        ]
    )


@dataclass(frozen=True)
class NcaPki:
    """One algorithm's CA hierarchy, CRL and leaves. Leaves by name, see :func:`pki`."""

    algorithm: str
    root: Issued
    intermediate: Issued
    untrusted_root: Issued
    crl_der: bytes = field(repr=False)
    leaves: dict[str, Issued] = field(repr=False)
    revoked_at: datetime

    @property
    def anchors(self) -> list[bytes]:
        return [self.root.certificate_der]

    def leaf(self, name: str) -> Issued:
        return self.leaves[name]


def _ca_label(algorithm: str) -> str:
    return {RSA: "RSA", GOST512: "GOST", GOST256: "GOST 256"}[algorithm]


@cache
def pki(algorithm: str) -> NcaPki:
    """The (cached) test PKI for ``algorithm``: ``rsa``, ``gost512`` or ``gost256``.

    Leaves: ``individual``, ``legal_head``, ``legal_employee`` (valid, not revoked),
    ``revoked``, ``on_hold``, ``expired``, ``not_yet_valid``, ``no_digital_signature``,
    ``untrusted`` (issued by a look-alike CA that no verifier trusts).
    """
    now = datetime.now(UTC).replace(microsecond=0)
    label = _ca_label(algorithm)
    root = issue_certificate(
        subject=build_name(
            [
                ("common_name", f"НЕГІЗГІ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ ({label}) TEST"),
                ("country_name", "KZ"),
            ]
        ),
        key=new_key(algorithm),
        issuer=None,
        not_before=now - timedelta(days=3650),
        not_after=now + timedelta(days=3650),
        ca=True,
        name="root",
    )
    intermediate_name = build_name(
        [("common_name", f"ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ ({label}) TEST"), ("country_name", "KZ")]
    )
    intermediate = issue_certificate(
        subject=intermediate_name,
        key=new_key(algorithm),
        issuer=root,
        not_before=now - timedelta(days=1000),
        not_after=now + timedelta(days=2000),
        ca=True,
        name="intermediate",
    )
    # Same name as the real intermediate, different key, self-signed: must not be trusted.
    untrusted_root = issue_certificate(
        subject=intermediate_name,
        key=new_key(algorithm),
        issuer=None,
        not_before=now - timedelta(days=1000),
        not_after=now + timedelta(days=2000),
        ca=True,
        name="untrusted_root",
    )

    valid_from, valid_to = now - timedelta(days=30), now + timedelta(days=335)
    individual_eku = (EKU_EMAIL_PROTECTION, EKU_INDIVIDUAL)

    def leaf(name: str, **kwargs: object) -> Issued:
        settings: dict[str, object] = {
            "subject": individual_subject(),
            "key": new_key(algorithm),
            "issuer": intermediate,
            "not_before": valid_from,
            "not_after": valid_to,
            "eku": individual_eku,
            "name": name,
        }
        settings.update(kwargs)
        return issue_certificate(**settings)  # type: ignore[arg-type]

    leaves = {
        "individual": leaf("individual"),
        "legal_head": leaf("legal_head", subject=legal_subject(), eku=(EKU_LEGAL, EKU_LEGAL_HEAD)),
        "legal_employee": leaf(
            "legal_employee",
            subject=legal_subject(
                surname="ТЕСТТОВ", given="ТЕСТТ", patronymic="ТЕСТТОВИЧ", iin=IIN_EMPLOYEE
            ),
            eku=(EKU_LEGAL, EKU_LEGAL_EMPLOYEE),
        ),
        "revoked": leaf("revoked"),
        "on_hold": leaf("on_hold"),
        "expired": leaf(
            "expired", not_before=now - timedelta(days=400), not_after=now - timedelta(days=35)
        ),
        "not_yet_valid": leaf(
            "not_yet_valid", not_before=now + timedelta(days=2), not_after=now + timedelta(days=367)
        ),
        "no_digital_signature": leaf("no_digital_signature", key_usage={"non_repudiation"}),
        "untrusted": leaf("untrusted", issuer=untrusted_root),
    }
    revoked_at = now - timedelta(days=3)
    crl_der = issue_crl(
        intermediate,
        [
            (leaves["revoked"].serial, revoked_at, "key_compromise"),
            (leaves["on_hold"].serial, revoked_at, "certificate_hold"),
            (int.from_bytes(os.urandom(19), "big"), revoked_at, None),
        ],
        this_update=now - timedelta(days=1),
        next_update=now + timedelta(days=7),
    )
    return NcaPki(
        algorithm=algorithm,
        root=root,
        intermediate=intermediate,
        untrusted_root=untrusted_root,
        crl_der=crl_der,
        leaves=leaves,
        revoked_at=revoked_at,
    )


def sign_cms(
    content: bytes,
    key: KeyPair,
    certificate_der: bytes,
    chain: Sequence[bytes] = (),
    *,
    signing_time: datetime | None = None,
    message_digest: bytes | None = None,
    digest_oid: str | None = None,
    signature_oid: str | None = None,
    include_signer_certificate: bool = True,
    attach_content: bool = True,
) -> bytes:
    """A CMS SignedData (DER) as NCALayer makes it; keywords bend it for negative tests."""
    certificate = x509.Certificate.load(certificate_der)
    tbs = certificate["tbs_certificate"]
    moment = (signing_time or datetime.now(UTC)).replace(microsecond=0)
    attributes = cms.CMSAttributes(
        [
            cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
            cms.CMSAttribute(
                {"type": "signing_time", "values": [cms.Time(name="utc_time", value=moment)]}
            ),
            cms.CMSAttribute(
                {
                    "type": "message_digest",
                    "values": [
                        message_digest if message_digest is not None else key.digest(content)
                    ],
                }
            ),
        ]
    )
    signature = key.sign(attributes.dump())
    digest_algorithm = algos.DigestAlgorithm(
        {"algorithm": digest_oid or key.digest_oid, "parameters": core.Null()}
    )
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                name="issuer_and_serial_number",
                value=cms.IssuerAndSerialNumber(
                    {"issuer": tbs["issuer"], "serial_number": tbs["serial_number"]}
                ),
            ),
            "digest_algorithm": digest_algorithm,
            "signed_attrs": attributes,
            "signature_algorithm": _signature_algorithm(signature_oid or key.signature_oid),
            "signature": signature,
        }
    )
    carried = ([certificate_der] if include_signer_certificate else []) + list(chain)
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [digest_algorithm],
            "encap_content_info": {
                "content_type": "data",
                "content": content if attach_content else None,
            },
            "certificates": [
                cms.CertificateChoices(name="certificate", value=x509.Certificate.load(der))
                for der in carried
            ],
            "signer_infos": [signer_info],
        }
    )
    return cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()
