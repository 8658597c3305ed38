"""Shared fixtures: a real Tyndau server on loopback and tokens for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web
from support.ports import free_port

from server.app import create_app
from server.auth.tokens import Grants
from server.context import ServerContext
from server.hearings import Hearing
from server.settings import Settings

HEARING_A = "hearing-a"
HEARING_B = "hearing-b"
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


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        ice_host_addresses=["127.0.0.1"],
        log_format="console",
        log_level="warning",
    )


@pytest.fixture
async def tyndau(settings: Settings) -> AsyncIterator[RunningServer]:
    ctx = ServerContext.build(settings)
    ctx.hearings.add(Hearing(id=HEARING_A, case_number="7599-23-00-1/1234", title="A"))
    ctx.hearings.add(Hearing(id=HEARING_B, case_number="7599-23-00-1/5678", title="B"))
    app = create_app(ctx=ctx)
    runner = web.AppRunner(app, shutdown_timeout=5)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield RunningServer(url=f"http://127.0.0.1:{port}", ctx=ctx, app=app)
    finally:
        await runner.cleanup()
