"""EDS verification against NCA RK's real public test keys, CAs and CRLs.

The data lives outside the repository (``<repo>/../shared/fixtures/nca-test``,
see its README); without it these tests are skipped. GOST 2015 keys are
valid 2026-05-08 .. 2027-05-08; RSA ones are long expired, so their tests pin
the validation time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from support.nca_pki import GOST512, RSA, KeyPair, gost_public_point, gost_spki, sign_cms
from support.pkcs12_gost import GostKeyAndCertificate, Pkcs12Error, load_gost_pkcs12

from server.eds import Certificate, CrlStore, EdsError, EdsErrorCode, EdsVerifier
from server.eds.algorithms import scheme_for_signed_object

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT.parent / "shared" / "fixtures" / "nca-test"
GOST = FIXTURES / "gost2015"
PASSWORD = "Qwerty12"
NONCE = b"tyndau-login:4f1d2a"

pytestmark = pytest.mark.skipif(
    not (GOST / "root_test_gost_2022.cer").is_file(),
    reason=f"NCA test fixtures not found at {FIXTURES}",
)

# The GOST keys are valid 2026-05-08 .. 2027-05-08 and the CRL until 2027-02-07;
# pin a moment inside both so the tests do not rot.
GOST_AT = datetime(2026, 11, 1, tzinfo=UTC)
RSA_2020_AT = datetime(2020, 6, 1, tzinfo=UTC)


@cache
def gost_key(relative: str) -> GostKeyAndCertificate:
    return load_gost_pkcs12((GOST / relative).read_bytes(), PASSWORD)


def gost_cms(relative: str, content: bytes = NONCE) -> bytes:
    """Sign ``content`` with a fixture key the way NCALayer does."""
    loaded = gost_key(relative)
    key = KeyPair(
        GOST512,
        gost_spki(GOST512, loaded.private_scalar_le),
        gost_scalar_le=loaded.private_scalar_le,
    )
    return sign_cms(content, key, loaded.certificate_der)


@cache
def gost_verifier() -> EdsVerifier:
    return EdsVerifier(
        [(GOST / "root_test_gost_2022.cer").read_bytes()],
        intermediates=[(GOST / "nca_gost2022_test.cer").read_bytes()],
        crls=CrlStore(files=[GOST / "nca_gost2022_test.crl"]),
    )


def refusal(verifier: EdsVerifier, cms: bytes | str, expected: bytes, at: datetime) -> str:
    with pytest.raises(EdsError) as info:
        verifier.verify(cms, expected, at=at)
    return info.value.code


# -- the NCA conventions themselves -----------------------------------------------


def test_nca_gost_ca_signatures_verify() -> None:
    root = Certificate.load((GOST / "root_test_gost_2022.cer").read_bytes())
    nca = Certificate.load((GOST / "nca_gost2022_test.cer").read_bytes())
    scheme = scheme_for_signed_object(nca.signature_oid)
    assert root.public_key.verify(scheme, root.tbs_der, root.signature)  # self-signed
    assert root.public_key.verify(scheme, nca.tbs_der, nca.signature)
    assert not nca.public_key.verify(scheme, nca.tbs_der, nca.signature)


def test_pkcs12_reader_gives_the_key_of_the_certificate() -> None:
    loaded = gost_key("individual/valid/individual_valid.p12")
    assert loaded.key_algorithm == "1.2.398.3.10.1.1.2.2"
    assert len(loaded.private_scalar_le) == 64
    certificate = Certificate.load(loaded.certificate_der)
    # The certificate's point is x || y, each little-endian, wrapped in an OCTET STRING.
    assert certificate.spki_der.endswith(gost_public_point(GOST512, loaded.private_scalar_le))
    with pytest.raises(Pkcs12Error):
        load_gost_pkcs12((GOST / "individual/valid/individual_valid.p12").read_bytes(), "wrong")


# -- GOST 34.10-2015 (512) keys that are valid now -----------------------------------


def test_individual_valid_signs_in() -> None:
    result = gost_verifier().verify(
        gost_cms("individual/valid/individual_valid.p12"), NONCE, at=GOST_AT
    )
    person = result.person
    assert result.algorithm == "GOST34.10-2015-512"
    assert (person.iin, person.bin) == ("123456789011", None)
    assert (person.common_name, person.surname) == ("ТЕСТОВ ТЕСТ", "ТЕСТОВ")
    assert (person.given_name, person.patronymic) == ("ТЕСТ", "ТЕСТОВИЧ")
    assert person.holder_kind == "individual"
    assert person.issuer == "CN=ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (GOST) TEST 2022, C=KZ"
    assert person.serial_hex == "6c425659bd2fc6dc587b871aede1857727cf8451"


def test_individual_valid_signs_in_now() -> None:
    now = datetime.now(UTC)
    if not datetime(2026, 5, 9, tzinfo=UTC) < now < datetime(2027, 2, 7, tzinfo=UTC):
        pytest.skip("the GOST test keys or their CRL are outside their validity today")
    person = gost_verifier().verify(gost_cms("individual/valid/individual_valid.p12"), NONCE).person
    assert person.iin == "123456789011"


@pytest.mark.parametrize(
    ("relative", "iin", "kind"),
    [
        ("legal/valid/head.p12", "123456789011", "legal_head"),
        ("legal/valid/employee_signright.p12", "123456789012", "legal_signer"),
        ("legal/valid/treasury_client.p12", None, "legal_entity"),
    ],
)
def test_legal_entity_keys(relative: str, iin: str | None, kind: str) -> None:
    person = gost_verifier().verify(gost_cms(relative), NONCE, at=GOST_AT).person
    assert (person.iin, person.bin, person.holder_kind) == (iin, "123456789021", kind)
    assert person.organization == 'АО "ТЕСТ"'


@pytest.mark.parametrize(
    "relative",
    [
        "individual/revoked/individual_revoked.p12",
        "legal/revoked/head.p12",
        "legal/revoked/employee.p12",
        "legal/revoked/employee_signright.p12",
        "legal/revoked/infosystem.p12",
        "legal/revoked/treasury_client.p12",
        # Named "valid" but listed in the CRL (superseded, 2026-06-02): see the README.
        "legal/valid/employee.p12",
        "legal/valid/infosystem.p12",
    ],
)
def test_revoked_keys_are_refused(relative: str) -> None:
    assert (
        refusal(gost_verifier(), gost_cms(relative), NONCE, GOST_AT)
        == EdsErrorCode.CERTIFICATE_REVOKED
    )


def test_real_key_signing_another_content_is_refused() -> None:
    cms = gost_cms("individual/valid/individual_valid.p12", content=b"a captured old nonce")
    assert refusal(gost_verifier(), cms, NONCE, GOST_AT) == EdsErrorCode.CONTENT_MISMATCH


def test_after_the_crl_next_update_revocation_is_unknown() -> None:
    at = datetime(2027, 3, 1, tzinfo=UTC)  # the CRL says nextUpdate 2027-02-07
    cms = gost_cms("individual/valid/individual_valid.p12")
    assert refusal(gost_verifier(), cms, NONCE, at) == EdsErrorCode.REVOCATION_UNKNOWN


def test_after_the_keys_expire() -> None:
    at = datetime(2027, 6, 1, tzinfo=UTC)
    cms = gost_cms("individual/valid/individual_valid.p12")
    assert refusal(gost_verifier(), cms, NONCE, at) == EdsErrorCode.CERTIFICATE_EXPIRED


def test_real_crl_lookup() -> None:
    store = CrlStore(files=[GOST / "nca_gost2022_test.crl"])
    issuer = (GOST / "nca_gost2022_test.cer").read_bytes()
    revoked = Certificate.load(gost_key("legal/revoked/head.p12").certificate_der)
    valid = Certificate.load(gost_key("legal/valid/head.p12").certificate_der)
    assert store.is_revoked(issuer, revoked.serial, at=GOST_AT)
    assert not store.is_revoked(issuer, valid.serial, at=GOST_AT)
    (crl,) = store.crls
    assert len(crl.entries) == 195
    reasons = {entry.reason for entry in crl.entries.values()}
    assert "certificate_hold" in reasons


# -- RSA (expired long ago: pinned validation time) -------------------------------------

RSA_2020 = FIXTURES / "rsa" / "ncanode-go-2020"
RSA_CA = FIXTURES / "ca-rsa"


@cache
def rsa_verifier() -> EdsVerifier:
    return EdsVerifier(
        [(RSA_CA / "nca_rsa_test.crt").read_bytes()],
        crls=CrlStore(files=[RSA_CA / "nca_rsa_test.crl"]),
    )


@pytest.mark.parametrize(
    ("name", "kind", "bin_"),
    [
        (
            "personal/active/AUTH_RSA256_b2c70a9ff7a5dc59de0ccc3c0ddde3437cc1f12d",
            "individual",
            None,
        ),
        ("personal/active/RSA256_11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9", "individual", None),
        (
            "organization/active/AUTH_RSA256_d682726b55b3e62600ea8fe1c74e75fc96f47790",
            "legal_head",
            "123456789021",
        ),
        # Revoked by NCA after mid-2020; the 2022 CRL here does not list them.
        ("personal/revoked/RSA256_346a7e57c2995259140b6fc375b6ff3bba7e852f", "individual", None),
    ],
)
def test_ncanode_rsa_cms_verifies_in_2020(name: str, kind: str, bin_: str | None) -> None:
    cms = (RSA_2020 / f"{name}.cms").read_text()
    result = rsa_verifier().verify(cms, b"asdasd", at=RSA_2020_AT)
    assert result.algorithm == "RSA-SHA256"
    assert (result.person.iin, result.person.bin) == ("123456789011", bin_)
    assert result.person.holder_kind == kind
    assert result.signing_time is not None
    assert result.signing_time.year == 2020


def test_ncanode_rsa_cms_is_expired_now() -> None:
    cms = (
        RSA_2020 / "personal/active/RSA256_11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9.cms"
    ).read_text()
    with pytest.raises(EdsError) as info:
        rsa_verifier().verify(cms, b"asdasd")
    assert info.value.code == EdsErrorCode.CERTIFICATE_EXPIRED
    assert refusal(rsa_verifier(), cms, b"qwerty", RSA_2020_AT) == EdsErrorCode.CONTENT_MISMATCH


def _rsa_p12_cms(name: str) -> bytes:
    path = FIXTURES / "rsa" / "ncanode-2021-2022" / name
    key, certificate, _ = pkcs12.load_key_and_certificates(path.read_bytes(), PASSWORD.encode())
    assert certificate is not None
    der = certificate.public_bytes(Encoding.DER)
    return sign_cms(NONCE, KeyPair(RSA, b"", rsa_key=key), der)  # type: ignore[arg-type]


def test_rsa_2021_key_verifies_while_valid() -> None:
    cms = _rsa_p12_cms("KEY_INDIVIDUAL_VALID_SIGN_2004.p12")
    at = datetime(2021, 6, 1, tzinfo=UTC)
    assert rsa_verifier().verify(cms, NONCE, at=at).person.iin == "123456789011"


@pytest.mark.parametrize(
    "name", ["KEY_INDIVIDUAL_AUTH_REVOKED_2004.p12", "KEY_INDIVIDUAL_SIGN_REVOKED_2004.p12"]
)
def test_rsa_keys_listed_in_the_real_crl_are_revoked(name: str) -> None:
    at = datetime(2022, 4, 1, tzinfo=UTC)  # after their revocation, before the CRL's nextUpdate
    assert (
        refusal(rsa_verifier(), _rsa_p12_cms(name), NONCE, at) == EdsErrorCode.CERTIFICATE_REVOKED
    )
