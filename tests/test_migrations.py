"""The migrations build exactly the schema the code declares, on fresh SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from support.postgres import PostgresServer

from server.db.database import Database, alembic_config
from server.db.schema import Base


async def test_migrations_match_the_models(database_url: str) -> None:
    db = Database(database_url)
    await db.upgrade()
    async with db.engine.connect() as connection:
        differences = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    await db.close()
    assert differences == []
    assert set(Base.metadata.tables) <= tables


async def test_nodes_starting_together_migrate_one_after_the_other(
    postgres_server: PostgresServer,
) -> None:
    # Several nodes of one service start at once against an empty database: without
    # the migration lock two of them create the same tables and one start fails.
    url = postgres_server.url(postgres_server.create_database())
    nodes = [Database(url) for _ in range(4)]
    try:
        # Bounded: without the lock the racing migrations can also wait on each other.
        await asyncio.wait_for(asyncio.gather(*(db.upgrade() for db in nodes)), timeout=60)
        async with nodes[0].engine.connect() as connection:
            version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
            differences = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
    finally:
        await asyncio.gather(*(db.close() for db in nodes))
    assert differences == []
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()
