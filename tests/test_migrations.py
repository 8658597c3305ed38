"""The migrations build exactly the schema the code declares, on fresh SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from server.db.database import Database
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
