"""The court directory: who the court knows (by IIN) and their staff roles.

A valid NCA certificate only proves who someone is. What they may do in the
court comes from this directory; an IIN that is not in it gets no staff rights.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select

from server.db.database import Database
from server.db.schema import CourtUser

IIN_PATTERN = re.compile(r"^\d{12}$")


class StaffRole(StrEnum):
    JUDGE = "judge"
    SECRETARY = "secretary"
    PROSECUTOR = "prosecutor"
    INVESTIGATOR = "investigator"
    LAWYER = "lawyer"
    FACILITY_OFFICER = "facility_officer"
    ARCHIVIST = "archivist"
    ADMINISTRATOR = "administrator"


@dataclass(frozen=True)
class DirectoryEntry:
    id: str
    iin: str
    full_name: str
    roles: tuple[StaffRole, ...]
    court: str | None
    lawyer_licence: str | None
    active: bool

    @classmethod
    def from_row(cls, row: CourtUser) -> DirectoryEntry:
        return cls(
            id=row.id,
            iin=row.iin,
            full_name=row.full_name,
            roles=tuple(StaffRole(r) for r in row.roles if r in StaffRole._value2member_map_),
            court=row.court,
            lawyer_licence=row.lawyer_licence,
            active=row.active,
        )


class CourtDirectory:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def find_by_iin(self, iin: str) -> DirectoryEntry | None:
        """The active entry for ``iin``; deactivated people are treated as unknown."""
        async with self.db.session() as session:
            row = await session.scalar(select(CourtUser).where(CourtUser.iin == iin))
            if row is None or not row.active:
                return None
            return DirectoryEntry.from_row(row)

    async def upsert(
        self,
        *,
        iin: str,
        full_name: str,
        roles: list[StaffRole],
        court: str | None = None,
        lawyer_licence: str | None = None,
        active: bool = True,
    ) -> DirectoryEntry:
        if not IIN_PATTERN.match(iin):
            raise ValueError("an IIN is 12 digits")
        if StaffRole.LAWYER in roles and not lawyer_licence:
            raise ValueError("a lawyer needs a licence number")
        async with self.db.session() as session:
            row = await session.scalar(select(CourtUser).where(CourtUser.iin == iin))
            if row is None:
                row = CourtUser(id=uuid.uuid4().hex, iin=iin)
                session.add(row)
            row.full_name = full_name
            row.roles = sorted({str(r) for r in roles})
            row.court = court
            row.lawyer_licence = lawyer_licence
            row.active = active
            await session.flush()
            return DirectoryEntry.from_row(row)

    async def all(self) -> list[DirectoryEntry]:
        async with self.db.session() as session:
            rows = await session.scalars(select(CourtUser).order_by(CourtUser.full_name))
            return [DirectoryEntry.from_row(r) for r in rows]
