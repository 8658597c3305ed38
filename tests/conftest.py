"""Shared fixtures: a real Tyndau server on loopback and tokens for it, and databases.

Tests that take ``database_url`` (or ``tyndau_db``) run twice: on SQLite, the
embedded default, and on PostgreSQL, the production database, each time on a
fresh, empty database. One throwaway PostgreSQL server serves the whole session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from support.postgres import PostgresServer, PostgresUnavailable, start_postgres
from support.running import RunningServer, running_server

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


@pytest.fixture
async def tyndau(settings: Settings) -> AsyncIterator[RunningServer]:
    async with running_server(settings) as server:
        yield server


@pytest.fixture
async def tyndau_db(db_settings: Settings) -> AsyncIterator[RunningServer]:
    """The ``tyndau`` server, once on SQLite and once on PostgreSQL."""
    async with running_server(db_settings) as server:
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
