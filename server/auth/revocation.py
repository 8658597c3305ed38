"""Revoked tokens and participants, consulted on every (re)connect.

Revoking a participant of a hearing refuses every token that names them in
that hearing, including ones minted later by a refresh, so a removed person
cannot come back with a fresh token.
"""

from __future__ import annotations

import time
from typing import Protocol


class _HasIdentity(Protocol):
    jti: str
    hearing: str
    sub: str
    exp: int


class RevocationList:
    """In-process revocations (the embedded default; Redis replaces it with several nodes)."""

    def __init__(self) -> None:
        self._tokens: dict[str, int] = {}
        self._participants: set[tuple[str, str]] = set()

    def revoke_token(self, jti: str, expires_at: int) -> None:
        """Refuse this token id until it would have expired anyway."""
        self._tokens[jti] = expires_at
        self._prune()

    def revoke_participant(self, hearing: str, participant_id: str) -> None:
        self._participants.add((hearing, participant_id))

    def is_revoked(self, claims: _HasIdentity) -> bool:
        return claims.jti in self._tokens or (claims.hearing, claims.sub) in self._participants

    def _prune(self) -> None:
        now = int(time.time())
        for jti in [jti for jti, exp in self._tokens.items() if exp < now]:
            del self._tokens[jti]
