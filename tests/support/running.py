"""A Tyndau server running in the test's event loop, and tokens for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from server.app import create_app
from server.auth.tokens import Grants
from server.context import ServerContext
from server.hearings import Hearing
from server.procedure.states import HearingState
from server.settings import Settings
from support.ports import free_port

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


@asynccontextmanager
async def running_server(settings: Settings, port: int = 0) -> AsyncIterator[RunningServer]:
    """A real server on a loopback port, with two hearings in session (admitted on arrival).

    ``port``: 0 picks a free one; a node of several is given its own (its ``node_url``).
    """
    ctx = ServerContext.build(settings)
    app = create_app(ctx=ctx)
    runner = web.AppRunner(app, shutdown_timeout=5)
    await runner.setup()  # the context starts: the database is migrated
    # In session, parties admitted on arrival: the media tests need no judge to let them in.
    for hearing_id, number, title in (
        (HEARING_A, "7599-23-00-1/1234", "A"),
        (HEARING_B, "7599-23-00-1/5678", "B"),
    ):
        await ctx.hearings.save(
            Hearing(
                id=hearing_id,
                case_number=number,
                title=title,
                state=HearingState.IN_SESSION,
                auto_admit=True,
                court=TEST_COURT,
            )
        )
    port = port or free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield RunningServer(url=f"http://127.0.0.1:{port}", ctx=ctx, app=app)
    finally:
        await runner.cleanup()
