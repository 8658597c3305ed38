"""Hearing tokens: minting and strict verification of the server's JWTs.

Verification pins the algorithm to EdDSA before the signature is looked at,
resolves the key only by ``kid`` from the server's own key ring, and requires
every claim a hearing needs. Each refusal maps to one stable error code.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import jwt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from server.auth.keys import KeyRing
from server.auth.revocation import RevocationList
from server.errors import CodedError

if TYPE_CHECKING:
    from server.settings import Settings

ALGORITHM = "EdDSA"
MAX_TOKEN_CHARS = 8192


class Grants(BaseModel):
    """What a participant may do in the one hearing the token names."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    publish_audio: bool = False
    publish_video: bool = False
    subscribe: bool = True
    admin: bool = False
    record: bool = False
    hidden: bool = False

    @property
    def can_publish(self) -> bool:
        return self.publish_audio or self.publish_video


class HearingClaims(BaseModel):
    """The verified content of a hearing token."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    sub: str = Field(min_length=1, max_length=128)
    hearing: str = Field(min_length=1, max_length=128)
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=64)
    grants: Grants
    jti: str = Field(min_length=1, max_length=128)
    iat: int
    nbf: int
    exp: int

    @property
    def participant_id(self) -> str:
        return self.sub


class SessionClaims(BaseModel):
    """The verified content of a session token (a person logged in by EDS)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    sub: str = Field(min_length=1, max_length=128)
    iin: str = Field(pattern=r"^\d{12}$")
    name: str = Field(min_length=1, max_length=200)
    roles: tuple[str, ...] = ()
    auth_time: int
    jti: str = Field(min_length=1, max_length=128)
    iat: int
    nbf: int
    exp: int

    # The revocation list looks tokens up by hearing; a session belongs to none.
    hearing: str = ""


ClaimsT = TypeVar("ClaimsT", HearingClaims, SessionClaims)


class TokenError(CodedError):
    """A token was refused."""


@dataclass
class TokenIssuer:
    """Mints hearing and session tokens signed with the key ring's current key."""

    keys: KeyRing
    issuer: str
    audience: str
    default_ttl_seconds: int = 4 * 3600
    session_audience: str = "tyndau-session"
    session_ttl_seconds: int = 15 * 60
    session_max_age_seconds: int = 12 * 3600

    @classmethod
    def for_settings(cls, keys: KeyRing, settings: Settings) -> TokenIssuer:
        """The issuer a node configured by ``settings`` mints with."""
        return cls(
            keys=keys,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            default_ttl_seconds=settings.token_ttl_seconds,
            session_audience=settings.jwt_session_audience,
            session_ttl_seconds=settings.session_ttl_seconds,
            session_max_age_seconds=settings.session_max_age_seconds,
        )

    def _sign(self, claims: dict[str, object]) -> str:
        key = self.keys.current
        return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})

    def issue_session(
        self,
        *,
        user_id: str,
        iin: str,
        name: str,
        roles: list[str],
        auth_time: int | None = None,
        now: int | None = None,
    ) -> tuple[str, int]:
        """A short-lived session token; a refresh keeps ``auth_time`` and never passes max age."""
        issued_at = int(time.time()) if now is None else now
        logged_in = issued_at if auth_time is None else auth_time
        expires = min(
            issued_at + self.session_ttl_seconds, logged_in + self.session_max_age_seconds
        )
        if expires <= issued_at:
            raise TokenError("session_too_old", "the login is too old; sign in again")
        claims = {
            "iss": self.issuer,
            "aud": self.session_audience,
            "sub": user_id,
            "iin": iin,
            "name": name,
            "roles": sorted(roles),
            "auth_time": logged_in,
            "jti": uuid.uuid4().hex,
            "iat": issued_at,
            "nbf": issued_at,
            "exp": expires,
        }
        return self._sign(claims), expires

    def issue(
        self,
        *,
        hearing: str,
        participant_id: str,
        name: str,
        role: str,
        grants: Grants,
        ttl_seconds: int | None = None,
        not_before: int | None = None,
        now: int | None = None,
    ) -> str:
        issued_at = int(time.time()) if now is None else now
        ttl = self.default_ttl_seconds if ttl_seconds is None else ttl_seconds
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": participant_id,
            "hearing": hearing,
            "name": name,
            "role": role,
            "grants": grants.model_dump(),
            "jti": uuid.uuid4().hex,
            "iat": issued_at,
            "nbf": issued_at if not_before is None else not_before,
            "exp": issued_at + ttl,
        }
        return self._sign(claims)


@dataclass
class TokenVerifier:
    """Checks hearing tokens; :meth:`verify` returns claims or raises :class:`TokenError`."""

    keys: KeyRing
    issuer: str
    audience: str
    revocations: RevocationList
    leeway_seconds: int = 30
    session_audience: str = "tyndau-session"
    _required: list[str] = field(
        default_factory=lambda: ["iss", "aud", "sub", "exp", "iat", "nbf", "jti"]
    )

    def verify(self, token: object) -> HearingClaims:
        """A hearing token's claims, or :class:`TokenError`."""
        return self._claims(token, self.audience, HearingClaims)

    def verify_session(self, token: object) -> SessionClaims:
        """A session token's claims, or :class:`TokenError`."""
        return self._claims(token, self.session_audience, SessionClaims)

    def _claims(self, token: object, audience: str, model: type[ClaimsT]) -> ClaimsT:
        payload = self._decode(token, audience)
        try:
            claims = model.model_validate(payload)
        except ValidationError as exc:
            raise TokenError("token_invalid", "the token lacks the claims it needs") from exc
        if self.revocations.is_revoked(claims):
            raise TokenError("token_revoked", "the token has been revoked")
        return claims

    def _decode(self, token: object, audience: str) -> dict[str, object]:
        return decode_signed(
            token,
            keys=self.keys,
            audience=audience,
            issuer=self.issuer,
            leeway_seconds=self.leeway_seconds,
            required=self._required,
        )


def decode_signed(
    token: object,
    *,
    keys: KeyRing,
    audience: str,
    issuer: str,
    leeway_seconds: int,
    required: list[str],
) -> dict[str, object]:
    """The payload of a JWT of ours (EdDSA pinned, ``kid`` in the ring), or :class:`TokenError`.

    Hearing, session and playback tokens differ only in audience and claims;
    the checks of the signature and times are these, everywhere.
    """
    if token is None or token == "":
        raise TokenError("auth_required", "a hearing token is required")
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        raise TokenError("token_malformed", "the token is not a JWT")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise TokenError("token_malformed", "the token is not a JWT") from exc
    if header.get("alg") != ALGORITHM:
        raise TokenError("token_invalid", "the token's algorithm is not accepted")
    kid = header.get("kid")
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise TokenError("token_invalid", "the token was not signed by a known key")
    try:
        payload: dict[str, object] = jwt.decode(
            token,
            key.public_key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            leeway=leeway_seconds,
            options={"require": required, "verify_iat": True},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("token_expired", "the token has expired") from exc
    except (jwt.ImmatureSignatureError, jwt.InvalidIssuedAtError) as exc:
        raise TokenError("token_not_yet_valid", "the token is not valid yet") from exc
    except jwt.InvalidAudienceError as exc:
        raise TokenError("token_wrong_audience", "the token is for another service") from exc
    except jwt.InvalidSignatureError as exc:
        raise TokenError("token_invalid", "the token's signature is not valid") from exc
    except jwt.DecodeError as exc:
        raise TokenError("token_malformed", "the token is not a JWT") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenError("token_invalid", "the token is not valid") from exc
    return payload
