"""Revoked tokens and participants, consulted on every (re)connect.

Revoking a participant of a hearing refuses every token that names them in
that hearing, including ones minted later by a refresh, so a removed person
cannot come back with a fresh token. Revocations are written to the database
before they take effect, so a restart does not forgive anyone; checks read an
in-memory copy, because they run on every connect.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from sqlalchemy import delete, select

from server.db.database import Database
from server.db.schema import RevocationRow

PARTICIPANT_REVOCATION_SECONDS = 400 * 24 * 3600  # longer than any hearing's life


class _HasIdentity(Protocol):
    jti: str
    hearing: str
    sub: str
    exp: int


@dataclass(frozen=True)
class Revocation:
    """One revocation: a token id, or a participant of a hearing."""

    kind: Literal["token", "participant"]
    hearing: str  # "" for a token id
    subject: str  # the token id, or the participant id
    expires_at: int  # unix time; refused until then

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Revocation:
        kind = data["kind"]
        if kind not in ("token", "participant"):
            raise ValueError(f"unknown revocation kind {kind!r}")
        return cls(
            kind=kind,
            hearing=str(data["hearing"]),
            subject=str(data["subject"]),
            expires_at=int(data["expires_at"]),
        )


RevocationListener = Callable[[Revocation], Awaitable[None]]


class RevocationList:
    """Revocations: an in-memory view, persisted when a database is attached."""

    def __init__(self, db: Database | None = None) -> None:
        self._db = db
        self._tokens: dict[str, int] = {}
        self._participants: set[tuple[str, str]] = set()
        # Told once a revocation is recorded and in force here; with several nodes
        # the Redis feed (server/auth/redis_revocations.py) tells the others.
        self.listeners: list[RevocationListener] = []

    async def load(self) -> None:
        """Read the revocations in force (at start-up, and after a node may have missed some)."""
        if self._db is None:
            return
        now = datetime.now(UTC)
        async with self._db.session() as session:
            await session.execute(delete(RevocationRow).where(RevocationRow.expires_at < now))
            for row in await session.scalars(select(RevocationRow)):
                moment = (
                    row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
                )
                kind = "token" if row.kind == "token" else "participant"
                self.apply(Revocation(kind, row.hearing_id, row.subject, int(moment.timestamp())))

    async def revoke_token(self, jti: str, expires_at: int) -> None:
        """Refuse this token id until it would have expired anyway."""
        await self._revoke(Revocation("token", "", jti, expires_at))

    async def revoke_participant(self, hearing: str, participant_id: str) -> None:
        expires = int(time.time()) + PARTICIPANT_REVOCATION_SECONDS
        await self._revoke(Revocation("participant", hearing, participant_id, expires))

    def is_revoked(self, claims: _HasIdentity) -> bool:
        return claims.jti in self._tokens or (claims.hearing, claims.sub) in self._participants

    def apply(self, revocation: Revocation) -> None:
        """Put a revocation in force here without recording it (it is recorded already)."""
        if revocation.kind == "token":
            self._tokens[revocation.subject] = revocation.expires_at
            self._prune()
        else:
            self._participants.add((revocation.hearing, revocation.subject))

    async def _revoke(self, revocation: Revocation) -> None:
        # The database first: a revocation other nodes hear of must already be durable,
        # so one that re-reads the database after missing a message finds it.
        await self._persist(revocation)
        self.apply(revocation)
        for listener in self.listeners:
            await listener(revocation)

    async def _persist(self, revocation: Revocation) -> None:
        if self._db is None:
            return
        async with self._db.session() as session:
            session.add(
                RevocationRow(
                    kind=revocation.kind,
                    hearing_id=revocation.hearing,
                    subject=revocation.subject,
                    expires_at=datetime.fromtimestamp(revocation.expires_at, UTC),
                )
            )

    def _prune(self) -> None:
        now = int(time.time())
        for jti in [jti for jti, exp in self._tokens.items() if exp < now]:
            del self._tokens[jti]
