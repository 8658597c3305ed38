"""The court hierarchy: which court is the next higher instance of which.

A judge of a higher instance (appeal, cassation) may review the recordings of
the courts below. The hierarchy is a forest: each court names at most one
court directly above it, and a court can never end up above itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from server.db.database import Database
from server.db.schema import CourtRow
from server.errors import CodedError

# Kazakhstan has three instances (district, regional, Supreme Court); the
# bound keeps a corrupt table from walking forever.
MAX_DEPTH = 16
MAX_NAME = 200


@dataclass(frozen=True)
class Court:
    name: str
    higher: str | None


class CourtHierarchy:
    """The ``courts`` table: add or re-parent a court, list them, walk upwards."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, name: str, higher: str | None = None) -> Court:
        """Add ``name`` (or change its higher court); ``higher`` must be listed already."""
        name, higher = _clean(name), _clean(higher) if higher else None
        if higher == name:
            raise CodedError("court_cycle", "a court cannot be above itself")
        async with self.db.session() as session:
            if higher is not None:
                if await session.get(CourtRow, higher) is None:
                    raise CodedError("court_unknown", f"add the higher court {higher!r} first")
                # Walking up from the new parent must not meet the court itself.
                above = higher
                for _ in range(MAX_DEPTH):
                    row = await session.get(CourtRow, above)
                    if row is None or row.higher is None:
                        break
                    if row.higher == name:
                        raise CodedError("court_cycle", f"{higher!r} is already below {name!r}")
                    above = row.higher
            row = await session.get(CourtRow, name)
            if row is None:
                row = CourtRow(name=name)
                session.add(row)
            row.higher = higher
        return Court(name, higher)

    async def all(self) -> list[Court]:
        async with self.db.session() as session:
            rows = await session.scalars(select(CourtRow).order_by(CourtRow.name))
            return [Court(r.name, r.higher) for r in rows]

    async def ancestors(self, name: str) -> list[str]:
        """The courts above ``name``, nearest first (empty for an unlisted court)."""
        found: list[str] = []
        async with self.db.session() as session:
            current = await session.get(CourtRow, name)
            while current is not None and current.higher and len(found) < MAX_DEPTH:
                if current.higher in found or current.higher == name:
                    break  # a cycle someone wrote by hand: stop, never loop
                found.append(current.higher)
                current = await session.get(CourtRow, current.higher)
        return found

    async def is_higher(self, upper: str, lower: str) -> bool:
        """Whether ``upper`` is a higher instance (at any distance) over ``lower``."""
        return bool(upper) and upper in await self.ancestors(lower)


def _clean(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME or any(ch in name for ch in "\n\r\x00"):
        raise CodedError("invalid_court", "a court name is 1-200 characters on one line")
    return name
