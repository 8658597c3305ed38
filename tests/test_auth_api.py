"""EDS login over HTTP with the project's own NCA-shaped test PKI: every refusal has its code."""

from __future__ import annotations

import base64
import time

import pytest
from support.eds_login import api, challenge, eds_login, signer_for, verifier_for
from support.nca_pki import GOST512, IIN_INDIVIDUAL, RSA, pki, sign_cms

from server.auth.challenges import ChallengeStore
from server.directory import StaffRole


@pytest.fixture
async def server(tyndau):
    tyndau.ctx.eds = verifier_for(pki(GOST512))
    await tyndau.ctx.directory.upsert(
        iin=IIN_INDIVIDUAL, full_name="Тестов Тест", roles=[StaffRole.JUDGE], court="Астана"
    )
    return tyndau


async def test_login_gives_a_session_with_the_directory_roles(server) -> None:
    status, body = await eds_login(server.url, signer_for(pki(GOST512), "individual"))
    assert status == 200, body
    assert body["person"]["iin"] == IIN_INDIVIDUAL
    assert body["person"]["holder_kind"] == "individual"
    assert body["roles"] == ["judge"]
    status, me = await api(server.url, "GET", "/api/me", token=body["token"])
    assert status == 200
    assert me["roles"] == ["judge"]
    assert me["name"] == "Тестов Тест"


async def test_a_person_not_in_the_directory_has_no_staff_rights(server) -> None:
    status, body = await eds_login(server.url, signer_for(pki(GOST512), "legal_employee"))
    assert status == 200, body
    assert body["roles"] == []
    assert body["person"]["bin"] is not None
    status, refused = await api(
        server.url,
        "POST",
        "/api/hearings/hearing-a/invitations",
        json={"role": "witness", "name": "W"},
        token=body["token"],
    )
    assert status == 403
    assert refused["error"]["code"] == "forbidden"


async def test_rsa_certificates_still_work(tyndau) -> None:
    tyndau.ctx.eds = verifier_for(pki(RSA))
    status, body = await eds_login(tyndau.url, signer_for(pki(RSA), "individual"))
    assert status == 200, body
    assert body["person"]["iin"] == IIN_INDIVIDUAL


async def refused(server, cms: str) -> tuple[int, str]:
    status, body = await api(server.url, "POST", "/api/auth/eds", json={"cms": cms})
    assert "error" in body, body
    return status, body["error"]["code"]


@pytest.mark.parametrize(
    ("leaf", "code"),
    [
        ("untrusted", "certificate_untrusted"),
        ("expired", "certificate_expired"),
        ("not_yet_valid", "certificate_not_yet_valid"),
        ("revoked", "certificate_revoked"),
        ("on_hold", "certificate_revoked"),
        ("no_digital_signature", "key_usage_missing"),
    ],
)
async def test_certificate_refusals(server, leaf: str, code: str) -> None:
    nonce = await challenge(server.url)
    status, got = await refused(server, signer_for(pki(GOST512), leaf)(nonce))
    assert (status, got) == (400, code)


async def test_signature_and_nonce_refusals(server) -> None:
    sign = signer_for(pki(GOST512), "individual")
    # Content that is not a nonce we issued.
    assert await refused(server, sign(b"x" * 32)) == (400, "nonce_unknown")
    # A signature used twice.
    nonce = await challenge(server.url)
    cms = sign(nonce)
    status, _ = await api(server.url, "POST", "/api/auth/eds", json={"cms": cms})
    assert status == 200
    assert await refused(server, cms) == (400, "nonce_used")
    # A bad signature: the last bytes of the DER are the signature value.
    nonce = await challenge(server.url)
    der = bytearray(base64.b64decode(sign(nonce)))
    der[-5] ^= 0xFF
    assert await refused(server, base64.b64encode(bytes(der)).decode()) == (
        400,
        "signature_invalid",
    )
    # The signed digest does not match the content.
    nonce = await challenge(server.url)
    leaf = pki(GOST512).leaf("individual")
    wrong_digest = sign_cms(nonce, leaf.key, leaf.certificate_der, message_digest=b"\0" * 64)
    assert await refused(server, base64.b64encode(wrong_digest).decode()) == (
        400,
        "digest_mismatch",
    )


async def test_an_expired_nonce_is_refused(server) -> None:
    now = [time.time()]
    server.ctx.challenges = ChallengeStore(ttl_seconds=60, clock=lambda: now[0])
    nonce = await challenge(server.url)
    now[0] += 61
    cms = signer_for(pki(GOST512), "individual")(nonce)
    assert await refused(server, cms) == (400, "nonce_expired")


@pytest.mark.parametrize(
    "cms",
    ["!!!not base64!!!", base64.b64encode(b"\x30\x03\x02\x01\x01").decode(), "MIIB", " "],
)
async def test_malformed_cms(server, cms: str) -> None:
    assert await refused(server, cms) == (400, "cms_malformed")


async def test_bad_requests(server) -> None:
    status, body = await api(server.url, "POST", "/api/auth/eds", json={"cms": 1})
    assert (status, body["error"]["code"]) == (400, "invalid_payload")
    status, body = await api(server.url, "POST", "/api/auth/eds", json={"cms": "x", "more": 1})
    assert (status, body["error"]["code"]) == (400, "invalid_payload")
    status, body = await api(server.url, "POST", "/api/auth/eds", data=b"cms=x")
    assert (status, body["error"]["code"]) == (415, "unsupported_media_type")
    status, body = await api(server.url, "POST", "/api/auth/eds", json={"cms": "A" * 300_000})
    assert (status, body["error"]["code"]) == (413, "payload_too_large")
    status, body = await api(server.url, "GET", "/api/nothing-here")
    assert (status, body["error"]["code"]) == (404, "not_found")


async def test_refresh_and_logout(server) -> None:
    _, body = await eds_login(server.url, signer_for(pki(GOST512), "individual"))
    first = body["token"]
    status, refreshed = await api(server.url, "POST", "/api/auth/refresh", token=first)
    assert status == 200
    second = refreshed["token"]
    # A refreshed-away token is dead, so a stolen old one cannot be refreshed again.
    status, body = await api(server.url, "POST", "/api/auth/refresh", token=first)
    assert (status, body["error"]["code"]) == (401, "token_revoked")
    # A demoted person loses the role at the next refresh.
    await server.ctx.directory.upsert(iin=IIN_INDIVIDUAL, full_name="Тестов Тест", roles=[])
    status, body = await api(server.url, "POST", "/api/auth/refresh", token=second)
    assert status == 200
    third = body["token"]
    status, me = await api(server.url, "GET", "/api/me", token=third)
    assert me["roles"] == []
    status, _ = await api(server.url, "POST", "/api/auth/logout", token=third)
    assert status == 200
    status, body = await api(server.url, "GET", "/api/me", token=third)
    assert (status, body["error"]["code"]) == (401, "token_revoked")
    status, body = await api(server.url, "GET", "/api/me")
    assert (status, body["error"]["code"]) == (401, "auth_required")


async def test_without_trust_anchors_eds_login_is_off(tyndau) -> None:
    status, body = await api(tyndau.url, "POST", "/api/auth/eds", json={"cms": "x"})
    assert (status, body["error"]["code"]) == (503, "eds_unavailable")
