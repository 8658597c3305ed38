"""Hearing token verification: every refusal has its own stable code."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.auth.keys import KeyRing, SigningKey
from server.auth.revocation import RevocationList
from server.auth.tokens import Grants, TokenError, TokenIssuer, TokenVerifier
from server.context import ServerContext
from server.settings import Settings

AUD = "tyndau-hearing"
ISS = "tyndau"


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing([SigningKey.generate()])


@pytest.fixture
def revocations() -> RevocationList:
    return RevocationList()


@pytest.fixture
def issuer(ring: KeyRing) -> TokenIssuer:
    return TokenIssuer(keys=ring, issuer=ISS, audience=AUD)


@pytest.fixture
def verifier(ring: KeyRing, revocations: RevocationList) -> TokenVerifier:
    return TokenVerifier(
        keys=ring, issuer=ISS, audience=AUD, revocations=revocations, leeway_seconds=5
    )


def mint(issuer: TokenIssuer, **kwargs: object) -> str:
    base: dict[str, object] = {
        "hearing": "h1",
        "participant_id": "p1",
        "name": "Айгүл",
        "role": "lawyer",
        "grants": Grants(publish_audio=True),
    }
    base.update(kwargs)
    return issuer.issue(**base)  # type: ignore[arg-type]


def refusal(verifier: TokenVerifier, token: object) -> str:
    with pytest.raises(TokenError) as info:
        verifier.verify(token)
    return info.value.code


def b64(data: dict[str, object]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_valid_token_gives_its_claims(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    claims = verifier.verify(mint(issuer))
    assert (claims.hearing, claims.sub, claims.role) == ("h1", "p1", "lawyer")
    assert claims.grants.publish_audio
    assert not claims.grants.admin


def test_missing_token(verifier: TokenVerifier) -> None:
    assert refusal(verifier, None) == "auth_required"
    assert refusal(verifier, "") == "auth_required"


@pytest.mark.parametrize("garbage", ["abc", "a.b", "a.b.c", "....", 42, ["x"], "x" * 10000])
def test_garbage_is_malformed(verifier: TokenVerifier, garbage: object) -> None:
    assert refusal(verifier, garbage) in {"token_malformed", "token_invalid"}


def test_alg_none_is_refused(issuer: TokenIssuer, verifier: TokenVerifier, ring: KeyRing) -> None:
    payload = jwt.decode(mint(issuer), options={"verify_signature": False})
    unsigned = (
        b64({"alg": "none", "kid": ring.current.kid, "typ": "JWT"}) + "." + b64(payload) + "."
    )
    assert refusal(verifier, unsigned) == "token_invalid"


def test_hs256_signed_with_the_public_key_is_refused(
    issuer: TokenIssuer, verifier: TokenVerifier, ring: KeyRing
) -> None:
    payload = jwt.decode(mint(issuer), options={"verify_signature": False})
    public_pem = ring.current.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64({"alg": "HS256", "kid": ring.current.kid, "typ": "JWT"})
    body = b64(payload)
    import hashlib
    import hmac

    signature = hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    forged = f"{header}.{body}." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    assert refusal(verifier, forged) == "token_invalid"


def test_token_from_another_key_is_refused(verifier: TokenVerifier) -> None:
    stranger = TokenIssuer(keys=KeyRing([SigningKey.generate()]), issuer=ISS, audience=AUD)
    assert refusal(verifier, mint(stranger)) == "token_invalid"


def test_forged_signature_with_known_kid(
    issuer: TokenIssuer, verifier: TokenVerifier, ring: KeyRing
) -> None:
    other = SigningKey.generate()
    payload = jwt.decode(mint(issuer), options={"verify_signature": False})
    forged = jwt.encode(
        payload, other.private_key, algorithm="EdDSA", headers={"kid": ring.current.kid}
    )
    assert refusal(verifier, forged) == "token_invalid"


def test_wrong_kid(issuer: TokenIssuer, verifier: TokenVerifier, ring: KeyRing) -> None:
    payload = jwt.decode(mint(issuer), options={"verify_signature": False})
    token = jwt.encode(
        payload, ring.current.private_key, algorithm="EdDSA", headers={"kid": "nope"}
    )
    assert refusal(verifier, token) == "token_invalid"


def test_wrong_audience(ring: KeyRing, verifier: TokenVerifier) -> None:
    other = TokenIssuer(keys=ring, issuer=ISS, audience="someone-else")
    assert refusal(verifier, mint(other)) == "token_wrong_audience"


def test_wrong_issuer(ring: KeyRing, verifier: TokenVerifier) -> None:
    other = TokenIssuer(keys=ring, issuer="not-tyndau", audience=AUD)
    assert refusal(verifier, mint(other)) == "token_invalid"


def test_expired(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    old = int(time.time()) - 3600
    assert refusal(verifier, mint(issuer, now=old, ttl_seconds=600)) == "token_expired"


def test_not_yet_valid(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    later = int(time.time()) + 3600
    assert refusal(verifier, mint(issuer, not_before=later)) == "token_not_yet_valid"


def test_issued_in_the_future(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    future = int(time.time()) + 3600
    assert refusal(verifier, mint(issuer, now=future)) == "token_not_yet_valid"


def test_missing_hearing_claims(ring: KeyRing, verifier: TokenVerifier) -> None:
    now = int(time.time())
    claims = {
        "iss": ISS,
        "aud": AUD,
        "sub": "p",
        "jti": "j",
        "iat": now,
        "nbf": now,
        "exp": now + 60,
    }
    token = jwt.encode(
        claims, ring.current.private_key, algorithm="EdDSA", headers={"kid": ring.current.kid}
    )
    assert refusal(verifier, token) == "token_invalid"


async def test_revoked_token_and_revoked_participant(
    issuer: TokenIssuer, verifier: TokenVerifier, revocations: RevocationList
) -> None:
    token = mint(issuer)
    claims = verifier.verify(token)
    await revocations.revoke_token(claims.jti, claims.exp)
    assert refusal(verifier, token) == "token_revoked"
    fresh = mint(issuer)
    assert verifier.verify(fresh).sub == "p1"
    await revocations.revoke_participant("h1", "p1")
    # A refreshed token for the removed participant is refused too.
    assert refusal(verifier, mint(issuer)) == "token_revoked"
    assert verifier.verify(mint(issuer, participant_id="p2")).sub == "p2"


def test_rotation_keeps_old_tokens_valid(
    issuer: TokenIssuer, verifier: TokenVerifier, ring: KeyRing
) -> None:
    before = mint(issuer)
    old_kid = ring.current.kid
    ring.add(SigningKey.generate())
    after = mint(issuer)
    assert jwt.get_unverified_header(after)["kid"] != old_kid
    assert verifier.verify(before).sub == verifier.verify(after).sub == "p1"
    ring.retire(old_kid)
    assert refusal(verifier, before) == "token_invalid"
    with pytest.raises(ValueError, match="currently signs"):
        ring.retire(ring.current.kid)


def test_key_ring_persists_and_is_private(tmp_path) -> None:
    first = KeyRing.load_or_create(tmp_path / "keys")
    again = KeyRing.load_or_create(tmp_path / "keys")
    assert first.current.kid == again.current.kid
    (pem,) = (tmp_path / "keys").glob("*.pem")
    assert pem.stat().st_mode & 0o077 == 0
    assert first.jwks()["keys"][0]["kid"] == first.current.kid
    assert "d" not in first.jwks()["keys"][0]  # never the private part


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.one_of(st.text(max_size=400), st.binary(max_size=400).map(lambda b: b.decode("latin-1"))))
def test_random_strings_are_refused_cleanly(verifier: TokenVerifier, token: str) -> None:
    with pytest.raises(TokenError):
        verifier.verify(token)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    header=st.dictionaries(
        st.sampled_from(["alg", "kid", "typ", "x"]), st.text(max_size=20), max_size=4
    ),
    body=st.dictionaries(
        st.text(max_size=10), st.one_of(st.integers(), st.text(max_size=10)), max_size=6
    ),
    signature=st.binary(max_size=80),
)
def test_random_structured_tokens_are_refused_cleanly(
    verifier: TokenVerifier, header: dict[str, str], body: dict[str, object], signature: bytes
) -> None:
    token = (
        b64(header)
        + "."
        + b64(body)
        + "."
        + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    )
    with pytest.raises(TokenError):
        verifier.verify(token)


def test_session_tokens_refresh_within_the_max_age(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    now = int(time.time())
    token, expires = issuer.issue_session(
        user_id="u1", iin="800101300111", name="Әлия", roles=["judge"], now=now
    )
    claims = verifier.verify_session(token)
    assert (claims.iin, claims.roles, claims.auth_time) == ("800101300111", ("judge",), now)
    assert expires == now + issuer.session_ttl_seconds
    # A session token is not a hearing token, and the other way round.
    assert refusal(verifier, token) == "token_wrong_audience"
    with pytest.raises(TokenError) as info:
        verifier.verify_session(mint(issuer))
    assert info.value.code == "token_wrong_audience"
    # A refresh near the end of the max age is cut short, and past it refused.
    late = now + issuer.session_max_age_seconds - 60
    _, refreshed_expiry = issuer.issue_session(
        user_id="u1", iin="800101300111", name="Әлия", roles=[], auth_time=now, now=late
    )
    assert refreshed_expiry == now + issuer.session_max_age_seconds
    with pytest.raises(TokenError) as info:
        issuer.issue_session(
            user_id="u1",
            iin="800101300111",
            name="Әлия",
            roles=[],
            auth_time=now,
            now=now + issuer.session_max_age_seconds,
        )
    assert info.value.code == "session_too_old"


async def test_revocations_survive_a_restart(tmp_path, database_url: str) -> None:
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    first = ServerContext.build(settings)
    await first.start()
    token = first.issuer.issue(
        hearing="h1", participant_id="p1", name="P", role="witness", grants=Grants()
    )
    await first.revocations.revoke_participant("h1", "p1")
    await first.stop()
    again = ServerContext.build(settings)
    await again.start()
    try:
        with pytest.raises(TokenError) as info:
            again.verifier.verify(token)
        assert info.value.code == "token_revoked"
    finally:
        await again.stop()
