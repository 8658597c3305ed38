"""Revoked tokens and participants, consulted on every (re)connect.

Revoking a participant of a hearing refuses every token that names them in
that hearing, including ones minted later by a refresh, so a removed person
cannot come back with a fresh token. Revocations are written to the database
before they take effect, so a restart does not forgive anyone; checks read an
in-memory copy, because they run on every connect.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import delete, select

from server.db.database import Database
from server.db.schema import RevocationRow

PARTICIPANT_REVOCATION_SECONDS = 400 * 24 * 3600  # longer than any hearing's life


class _HasIdentity(Protocol):
    jti: str
    hearing: str
    sub: str
    exp: int


class RevocationList:
    """Revocations: an in-memory view, persisted when a database is attached."""

    def __init__(self, db: Database | None = None) -> None:
        self._db = db
        self._tokens: dict[str, int] = {}
        self._participants: set[tuple[str, str]] = set()

    async def load(self) -> None:
        """Read the revocations still in force (at start-up)."""
        if self._db is None:
            return
        now = datetime.now(UTC)
        async with self._db.session() as session:
            await session.execute(delete(RevocationRow).where(RevocationRow.expires_at < now))
            for row in await session.scalars(select(RevocationRow)):
                self._remember(row.kind, row.hearing_id, row.subject, row.expires_at)

    async def revoke_token(self, jti: str, expires_at: int) -> None:
        """Refuse this token id until it would have expired anyway."""
        await self._persist("token", "", jti, expires_at)
        self._tokens[jti] = expires_at
        self._prune()

    async def revoke_participant(self, hearing: str, participant_id: str) -> None:
        expires = int(time.time()) + PARTICIPANT_REVOCATION_SECONDS
        await self._persist("participant", hearing, participant_id, expires)
        self._participants.add((hearing, participant_id))

    def is_revoked(self, claims: _HasIdentity) -> bool:
        return claims.jti in self._tokens or (claims.hearing, claims.sub) in self._participants

    async def _persist(self, kind: str, hearing: str, subject: str, expires: int) -> None:
        if self._db is None:
            return
        async with self._db.session() as session:
            session.add(
                RevocationRow(
                    kind=kind,
                    hearing_id=hearing,
                    subject=subject,
                    expires_at=datetime.fromtimestamp(expires, UTC),
                )
            )

    def _remember(self, kind: str, hearing: str, subject: str, expires_at: datetime) -> None:
        if kind == "token":
            moment = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=UTC)
            self._tokens[subject] = int(moment.timestamp())
        else:
            self._participants.add((hearing, subject))

    def _prune(self) -> None:
        now = int(time.time())
        for jti in [jti for jti, exp in self._tokens.items() if exp < now]:
            del self._tokens[jti]
