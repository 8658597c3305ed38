"""The recordings' audit log: append-only, each entry hashed together with the one before.

Every listing, viewing, playback, download and refusal of a recording is one
entry. ``hash = sha256(prev_hash ‖ canonical JSON of the entry)``, where the
entry is every column but ``hash``; the first entry's ``prev_hash`` is
:data:`GENESIS`. Editing an entry changes its hash, which no longer matches
(or no longer matches the next entry's ``prev_hash``); removing one leaves a
gap in ``seq``. Removing the newest entries leaves a shorter chain that is
consistent in itself, so :func:`verify` also takes a head recorded earlier
(``tyndau audit verify`` prints it) and reports when that head is gone.

Appends are serialized: in the process by a lock, on PostgreSQL across nodes by
a transaction-scoped advisory lock, and everywhere ``seq`` is the primary key,
so two appends racing past the locks cannot both take the same place (the
loser retries on the new head).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import structlog
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from recorder.chain import canonical
from server.db.database import Database
from server.db.schema import AuditEntryRow, as_utc

log = structlog.get_logger(__name__)

GENESIS = hashlib.sha256(b"tyndau-recording-audit").hexdigest()
# Any constant: it names the one advisory lock all nodes take to append.
_PG_LOCK_KEY = 0x7479_6E64_6175  # "tyndau"
_APPEND_ATTEMPTS = 5
_PAGE = 1000


class AuditAction(StrEnum):
    LIST = "list"
    VIEW = "view"
    PLAY = "play"
    DOWNLOAD = "download"
    REFUSED = "refused"


@dataclass(frozen=True)
class AuditEntry:
    """One access, as it is hashed and stored."""

    seq: int
    at: datetime
    user_id: str | None
    iin: str | None
    action: str
    reason: str | None
    case_id: str | None
    hearing_id: str | None
    file: str | None
    remote: str | None
    prev_hash: str
    hash: str

    def body(self) -> dict[str, Any]:
        """What the hash covers: every field but the hash itself."""
        return {
            "seq": self.seq,
            "at": _iso(self.at),
            "user_id": self.user_id,
            "iin": self.iin,
            "action": self.action,
            "reason": self.reason,
            "case_id": self.case_id,
            "hearing_id": self.hearing_id,
            "file": self.file,
            "remote": self.remote,
            "prev_hash": self.prev_hash,
        }

    def public(self) -> dict[str, Any]:
        return {**self.body(), "hash": self.hash}

    @classmethod
    def from_row(cls, row: AuditEntryRow) -> AuditEntry:
        return cls(
            seq=row.seq,
            at=as_utc(row.at),
            user_id=row.user_id,
            iin=row.iin,
            action=row.action,
            reason=row.reason,
            case_id=row.case_id,
            hearing_id=row.hearing_id,
            file=row.file,
            remote=row.remote,
            prev_hash=row.prev_hash,
            hash=row.hash,
        )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(prev_hash: str, body: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(body)).hexdigest()


@dataclass(frozen=True)
class AuditProblem:
    seq: int
    problem: str  # changed, gap, broken_link, head_missing, head_changed

    def line(self) -> str:
        return f"seq {self.seq}: {self.problem}"


@dataclass(frozen=True)
class AuditReport:
    entries: int
    head_seq: int
    head_hash: str
    problem: AuditProblem | None  # the first broken link; None when the chain holds

    @property
    def ok(self) -> bool:
        return self.problem is None


class AuditLog:
    """Appends entries (one per access) and checks the chain."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = asyncio.Lock()

    async def append(
        self,
        action: AuditAction,
        *,
        user_id: str | None = None,
        iin: str | None = None,
        reason: str | None = None,
        case_id: str | None = None,
        hearing_id: str | None = None,
        file: str | None = None,
        remote: str | None = None,
    ) -> AuditEntry:
        """Write one entry at the head of the chain; raises if it cannot be written."""
        async with self._lock:
            for attempt in range(_APPEND_ATTEMPTS):
                try:
                    return await self._append_once(
                        str(action), user_id, iin, reason, case_id, hearing_id, file, remote
                    )
                except (IntegrityError, OperationalError) as exc:
                    # Another node took this seq between our read and our write (or, on
                    # SQLite, held the write lock): read the new head and try again.
                    log.info("audit_append_retry", attempt=attempt, error=type(exc).__name__)
                    await asyncio.sleep(0.01 * (attempt + 1))
            raise RuntimeError("the audit log could not be appended to")

    async def _append_once(
        self,
        action: str,
        user_id: str | None,
        iin: str | None,
        reason: str | None,
        case_id: str | None,
        hearing_id: str | None,
        file: str | None,
        remote: str | None,
    ) -> AuditEntry:
        async with self.db.session() as session:
            if self.db.engine.dialect.name == "postgresql":
                await session.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY}
                )
            last = await session.scalar(
                select(AuditEntryRow).order_by(AuditEntryRow.seq.desc()).limit(1)
            )
            seq, prev = (last.seq + 1, last.hash) if last is not None else (1, GENESIS)
            # Microseconds survive both databases; anything finer would not hash the same.
            at = datetime.now(UTC)
            draft = AuditEntry(
                seq, at, user_id, iin, action, reason, case_id, hearing_id, file,
                remote, prev, "",
            )  # fmt: skip
            entry = replace(draft, hash=entry_hash(prev, draft.body()))
            session.add(AuditEntryRow(**asdict(entry)))
            await session.flush()
        return entry

    async def entries(self, *, after: int = 0, limit: int = _PAGE) -> list[AuditEntry]:
        async with self.db.session() as session:
            rows = await session.scalars(
                select(AuditEntryRow)
                .where(AuditEntryRow.seq > after)
                .order_by(AuditEntryRow.seq)
                .limit(limit)
            )
            return [AuditEntry.from_row(r) for r in rows]

    async def _all(self) -> AsyncIterator[AuditEntry]:
        after = 0
        while page := await self.entries(after=after):
            for entry in page:
                yield entry
            after = page[-1].seq

    async def verify(self, *, expected_head: tuple[int, str] | None = None) -> AuditReport:
        """Walk the chain from the start; report the first entry that does not hold.

        ``expected_head`` is a ``(seq, hash)`` seen earlier (a printed head, a
        copy kept elsewhere): it must still be in the chain, unchanged.
        """
        prev, expected_seq, count = GENESIS, 1, 0
        head_seen = expected_head is None
        problem: AuditProblem | None = None
        if expected_head is not None and expected_head[0] == 0:
            # The head of an empty log is the genesis value itself.
            head_seen = expected_head[1] == GENESIS
            if not head_seen:
                problem = AuditProblem(0, "head_changed")
        async for entry in self._all():
            if problem is not None:
                break
            count += 1
            if entry.seq != expected_seq:
                problem = AuditProblem(expected_seq, "gap")
                break
            if entry.prev_hash != prev:
                problem = AuditProblem(entry.seq, "broken_link")
                break
            if entry_hash(entry.prev_hash, entry.body()) != entry.hash:
                problem = AuditProblem(entry.seq, "changed")
                break
            if expected_head is not None and entry.seq == expected_head[0]:
                if entry.hash != expected_head[1]:
                    problem = AuditProblem(entry.seq, "head_changed")
                    break
                head_seen = True
            prev, expected_seq = entry.hash, entry.seq + 1
        if problem is None and not head_seen and expected_head is not None:
            problem = AuditProblem(expected_head[0], "head_missing")
        return AuditReport(
            entries=count, head_seq=expected_seq - 1, head_hash=prev, problem=problem
        )
