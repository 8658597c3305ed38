"""The services one server process runs, built once from settings and shared."""

from __future__ import annotations

from dataclasses import dataclass

from server.auth.keys import KeyRing
from server.auth.revocation import RevocationList
from server.auth.tokens import TokenIssuer, TokenVerifier
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

    @classmethod
    def build(cls, settings: Settings, keys: KeyRing | None = None) -> ServerContext:
        keys = keys or KeyRing.load_or_create(settings.data_dir / "keys")
        revocations = RevocationList()
        return cls(
            settings=settings,
            keys=keys,
            revocations=revocations,
            issuer=TokenIssuer(
                keys=keys,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                default_ttl_seconds=settings.token_ttl_seconds,
            ),
            verifier=TokenVerifier(
                keys=keys,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                revocations=revocations,
                leeway_seconds=settings.jwt_leeway_seconds,
            ),
            hearings=HearingRegistry(),
            sfu=Sfu(settings),
        )
