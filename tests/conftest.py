"""Shared fixtures: a real Tyndau server on loopback and tokens for it, and databases.

Tests that take ``database_url`` (or ``tyndau_db``) run twice: on SQLite, the
embedded default, and on PostgreSQL, the production database, each time on a
fresh, empty database. One throwaway PostgreSQL server serves the whole session.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Protocol, TypeVar

import pytest
from support.postgres import PostgresServer, PostgresUnavailable, start_postgres
from support.redis import RedisServer, RedisUnavailable, start_redis
from support.running import RunningServer, running_server

from server.settings import Settings

ServerT = TypeVar("ServerT", bound="_Stoppable")


if os.environ.get("TYNDAU_TEST_EVENT_LOOP") == "uvloop":

    @pytest.fixture(scope="session")
    def event_loop_policy() -> asyncio.AbstractEventLoopPolicy:
        """``TYNDAU_TEST_EVENT_LOOP=uvloop``: every test on uvloop, the server's default loop
        (pytest-asyncio calls this override deprecated; it is only defined on request)."""
        import uvloop

        return uvloop.EventLoopPolicy()


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


@pytest.fixture
async def tyndau(settings: Settings) -> AsyncIterator[RunningServer]:
    async with running_server(settings) as server:
        yield server


@pytest.fixture
async def tyndau_db(db_settings: Settings) -> AsyncIterator[RunningServer]:
    """The ``tyndau`` server, once on SQLite and once on PostgreSQL."""
    async with running_server(db_settings) as server:
        yield server


class _Stoppable(Protocol):
    def stop(self) -> None: ...


def _session_server(
    start: Callable[[], ServerT], unavailable: type[Exception]
) -> Iterator[ServerT]:
    """Start a throwaway server for the session, stop it at the end; fail if it is missing."""
    missing = None
    try:
        server = start()
    except unavailable as error:
        missing = str(error)
    if missing is not None:
        # Not a skip: these variants must run for the suite to count as passing.
        pytest.fail(missing, pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the session (started on first use)."""
    yield from _session_server(start_postgres, PostgresUnavailable)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A throwaway redis-server for the session (started on first use)."""
    yield from _session_server(start_redis, RedisUnavailable)


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied for this test."""
    redis_server.flush()
    return redis_server.url()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh PostgreSQL database for this test (several nodes share it), dropped after."""
    name = postgres_server.create_database()
    try:
        yield postgres_server.url(name)
    finally:
        postgres_server.drop_database(name)


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
