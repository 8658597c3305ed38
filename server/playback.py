"""Playback tokens: a short-lived URL a ``<video>`` element can play without a header.

A media element cannot send ``Authorization``, and a session token in a URL
would be good for the whole API for its lifetime. So a request that *is*
authorized (a session allowed to see the recording) gets a playback token for
one file of one hearing, and the file is then fetched with ``?playback=…``.

The token is a JWT signed like every other (EdDSA, the server's key ring, the
algorithm pinned, ``kid`` resolved in the ring), but with its own audience
(``<issuer>-playback``), so it is never a session or hearing token and they
are never it. Claims: ``sub`` (the user), ``iin``, ``hearing``, ``file``,
``sid`` (the session's ``jti``: signing out ends its playback tokens too),
``reason`` (why access was granted, for the audit log), ``jti``, ``iat``,
``nbf``, ``exp`` (10 minutes). It is accepted only for the file it names.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from server.auth.keys import KeyRing
from server.auth.revocation import RevocationList
from server.auth.tokens import ALGORITHM, SessionClaims, TokenError, decode_signed
from server.errors import CodedError

PLAYBACK_TTL_SECONDS = 10 * 60


class PlaybackClaims(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    sub: str = Field(min_length=1, max_length=128)
    iin: str = Field(pattern=r"^\d{12}$")
    hearing: str = Field(min_length=1, max_length=128)
    file: str = Field(min_length=1, max_length=300)
    sid: str = Field(min_length=1, max_length=128)
    reason: str = Field(min_length=1, max_length=64)
    jti: str
    iat: int
    nbf: int
    exp: int


class PlaybackMismatch(CodedError):
    """A valid token used for another file: forbidden (403), and the audit log knows whose."""

    def __init__(self, claims: PlaybackClaims) -> None:
        super().__init__("forbidden", "the playback link is for another file")
        self.claims = claims


@dataclass(frozen=True)
class _SessionRef:
    """What the revocation list looks at: the session's token id."""

    jti: str
    sub: str
    hearing: str = ""


@dataclass
class PlaybackTokens:
    keys: KeyRing
    issuer: str
    revocations: RevocationList
    ttl_seconds: int = PLAYBACK_TTL_SECONDS
    leeway_seconds: int = 30

    @property
    def audience(self) -> str:
        return f"{self.issuer}-playback"

    def issue(
        self, session: SessionClaims, *, hearing: str, file: str, reason: str,
        now: int | None = None,
    ) -> tuple[str, int]:  # fmt: skip
        """A token for one file of one hearing, and when it expires (Unix seconds)."""
        issued = int(time.time()) if now is None else now
        # Never outlive the session that asked for it.
        expires = min(issued + self.ttl_seconds, session.exp)
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": session.sub,
            "iin": session.iin,
            "hearing": hearing,
            "file": file,
            "sid": session.jti,
            "reason": reason,
            "jti": uuid.uuid4().hex,
            "iat": issued,
            "nbf": issued,
            "exp": expires,
        }
        key = self.keys.current
        token = jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})
        return token, expires

    def verify(self, token: str, *, hearing: str, file: str) -> PlaybackClaims:
        """The claims, if ``token`` is a live playback token for exactly this file."""
        payload = decode_signed(
            token,
            keys=self.keys,
            audience=self.audience,
            issuer=self.issuer,
            leeway_seconds=self.leeway_seconds,
            required=["iss", "aud", "sub", "exp", "iat", "nbf", "jti"],
        )
        try:
            claims = PlaybackClaims.model_validate(payload)
        except ValidationError as exc:
            raise TokenError("token_invalid", "the playback token lacks its claims") from exc
        if claims.hearing != hearing or claims.file != file:
            raise PlaybackMismatch(claims)
        if self.revocations.is_revoked(_SessionRef(jti=claims.sid, sub=claims.sub)):
            raise TokenError("token_revoked", "the session that asked for this link has ended")
        return claims
