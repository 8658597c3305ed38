"""The services one server process runs, built once from settings and shared."""

from __future__ import annotations

from dataclasses import dataclass

from server.auth.challenges import ChallengeStore
from server.auth.keys import KeyRing
from server.auth.revocation import RevocationList
from server.auth.tokens import TokenIssuer, TokenVerifier
from server.db.database import Database
from server.directory import CourtDirectory
from server.hearings import HearingRegistry
from server.settings import Settings
from server.sfu.room import Sfu


@dataclass
class ServerContext:
    settings: Settings
    keys: KeyRing
    revocations: RevocationList
    issuer: TokenIssuer
    verifier: TokenVerifier
    hearings: HearingRegistry
    sfu: Sfu
    db: Database
    directory: CourtDirectory
    challenges: ChallengeStore

    async def start(self) -> None:
        """Bring up what needs the event loop: the database schema."""
        await self.db.upgrade()

    async def stop(self) -> None:
        await self.sfu.close()
        await self.db.close()

    @classmethod
    def build(cls, settings: Settings, keys: KeyRing | None = None) -> ServerContext:
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        keys = keys or KeyRing.load_or_create(settings.data_dir / "keys")
        revocations = RevocationList()
        db = Database(settings.effective_database_url)
        return cls(
            settings=settings,
            keys=keys,
            revocations=revocations,
            issuer=TokenIssuer(
                keys=keys,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                default_ttl_seconds=settings.token_ttl_seconds,
                session_audience=settings.jwt_session_audience,
                session_ttl_seconds=settings.session_ttl_seconds,
                session_max_age_seconds=settings.session_max_age_seconds,
            ),
            verifier=TokenVerifier(
                keys=keys,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                revocations=revocations,
                leeway_seconds=settings.jwt_leeway_seconds,
                session_audience=settings.jwt_session_audience,
            ),
            hearings=HearingRegistry(),
            sfu=Sfu(settings),
            db=db,
            directory=CourtDirectory(db),
            challenges=ChallengeStore(ttl_seconds=settings.challenge_ttl_seconds),
        )
