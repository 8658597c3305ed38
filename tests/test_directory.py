"""The court directory, on the real database schema the migrations create (SQLite, PostgreSQL)."""

from __future__ import annotations

import pytest

from server.db.database import Database
from server.directory import CourtDirectory, StaffRole


@pytest.fixture
async def directory(database_url: str) -> CourtDirectory:
    db = Database(database_url)
    await db.upgrade()
    await db.upgrade()  # idempotent: a restart does not migrate twice
    yield CourtDirectory(db)
    await db.close()


async def test_known_people_have_their_roles_and_strangers_have_none(directory) -> None:
    await directory.upsert(
        iin="800101300111", full_name="Серікова Әлия", roles=[StaffRole.JUDGE], court="Астана"
    )
    judge = await directory.find_by_iin("800101300111")
    assert judge is not None
    assert judge.roles == (StaffRole.JUDGE,)
    assert await directory.find_by_iin("900101300222") is None


async def test_update_and_deactivate(directory) -> None:
    await directory.upsert(iin="800101300111", full_name="A", roles=[StaffRole.SECRETARY])
    await directory.upsert(
        iin="800101300111", full_name="A B", roles=[StaffRole.JUDGE, StaffRole.SECRETARY]
    )
    entry = await directory.find_by_iin("800101300111")
    assert entry is not None
    assert set(entry.roles) == {StaffRole.JUDGE, StaffRole.SECRETARY}
    assert entry.full_name == "A B"
    await directory.upsert(iin="800101300111", full_name="A B", roles=[], active=False)
    assert await directory.find_by_iin("800101300111") is None
    assert len(await directory.all()) == 1


async def test_bad_entries_are_refused(directory) -> None:
    with pytest.raises(ValueError, match="12 digits"):
        await directory.upsert(iin="12345", full_name="X", roles=[])
    with pytest.raises(ValueError, match="licence"):
        await directory.upsert(iin="800101300111", full_name="X", roles=[StaffRole.LAWYER])
    lawyer = await directory.upsert(
        iin="800101300111", full_name="X", roles=[StaffRole.LAWYER], lawyer_licence="0123"
    )
    assert lawyer.lawyer_licence == "0123"
