"""A Tyndau server running in the test's event loop, and tokens for it."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from server.auth.tokens import Grants
from server.context import ServerContext

HEARING_A = "hearing-a"
HEARING_B = "hearing-b"
# The court the fixture hearings belong to; its secretaries manage them.
TEST_COURT = "Астана қаласының мамандандырылған тергеу соты"
SPEAKER = Grants(publish_audio=True, publish_video=True, subscribe=True)


@dataclass
class RunningServer:
    url: str
    ctx: ServerContext
    app: web.Application

    def token(
        self,
        participant_id: str,
        *,
        hearing: str = HEARING_A,
        role: str = "lawyer",
        name: str | None = None,
        grants: Grants = SPEAKER,
        **kwargs: object,
    ) -> str:
        return self.ctx.issuer.issue(
            hearing=hearing,
            participant_id=participant_id,
            name=name or participant_id.title(),
            role=role,
            grants=grants,
            **kwargs,  # type: ignore[arg-type]
        )
