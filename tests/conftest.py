"""Shared fixtures: a real Tyndau server on loopback and tokens for it, and databases.

Tests that take ``database_url`` (or ``tyndau_db``) run twice: on SQLite, the
embedded default, and on PostgreSQL, the production database, each time on a
fresh, empty database. One throwaway PostgreSQL server serves the whole session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from support.ports import free_port
from support.postgres import PostgresServer, PostgresUnavailable, start_postgres
from support.running import HEARING_A, HEARING_B, TEST_COURT, RunningServer

from server.app import create_app
from server.context import ServerContext
from server.hearings import Hearing
from server.procedure.states import HearingState
from server.settings import Settings


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        ice_host_addresses=["127.0.0.1"],
        log_format="console",
        log_level="warning",
        **overrides,  # type: ignore[arg-type]
    )


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Settings for a server on SQLite in the test's temporary directory."""
    return _settings(tmp_path)


@pytest.fixture
def db_settings(tmp_path, database_url: str) -> Settings:
    """Like ``settings``, on each database in turn (see ``database_url``)."""
    return _settings(tmp_path, database_url=database_url)


@asynccontextmanager
async def _running(settings: Settings) -> AsyncIterator[RunningServer]:
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
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield RunningServer(url=f"http://127.0.0.1:{port}", ctx=ctx, app=app)
    finally:
        await runner.cleanup()


@pytest.fixture
async def tyndau(settings: Settings) -> AsyncIterator[RunningServer]:
    async with _running(settings) as server:
        yield server


@pytest.fixture
async def tyndau_db(db_settings: Settings) -> AsyncIterator[RunningServer]:
    """The ``tyndau`` server, once on SQLite and once on PostgreSQL."""
    async with _running(db_settings) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the session (started on first use)."""
    missing = None
    try:
        server = start_postgres()
    except PostgresUnavailable as error:
        missing = str(error)
    if missing is not None:
        # Not a skip: the PostgreSQL variants must run for the suite to count as passing.
        pytest.fail(missing, pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"], ids=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of a fresh, empty database: SQLite file, then a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'tyndau.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database()
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)
