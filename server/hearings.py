"""Hearings of cases, the seats the court gave people in them, and their state.

:class:`HearingRegistry` keeps every hearing this node serves in memory so the
signaling path can read them without waiting; every change is written through
to the database first, so a restart comes back to the same hearings, seats and
states.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, select

from server.db.database import Database
from server.db.schema import CaseRow, HearingRow, SeatRow, as_utc
from server.errors import CodedError
from server.procedure.states import HearingState, StateAct, next_state
from server.roles import ProceduralRole

LANGUAGES = ("kk", "ru", "en")
KINDS = ("court_hearing", "sanction_session")
# As long as an invitation can be valid: a closed hearing answers "closed" that long.
RECENTLY_CLOSED = timedelta(days=7)


class HearingError(CodedError):
    """A hearing or seat could not be found, made or changed."""


@dataclass
class Hearing:
    """A hearing of a case. ``id`` is opaque; the case number is never used as a key."""

    id: str
    case_number: str
    title: str
    kind: str = "court_hearing"  # or "sanction_session"
    is_open: bool = True  # a public hearing: observers may watch
    state: HearingState = HearingState.SCHEDULED
    court: str = ""
    judge_id: str | None = None  # court directory id of the presiding judge
    secretary_id: str | None = None
    scheduled_at: datetime | None = None
    language: str = "kk"
    # Parties come in without waiting (witnesses and experts are still called in).
    auto_admit: bool = False
    state_changed_at: datetime | None = None
    # The recording runs only in session: offsets into it skip recesses.
    in_session_since: datetime | None = None
    recorded_seconds: float = 0.0
    # The case's row id (``cases.id``): known once the hearing is stored.
    case_id: str | None = None

    @property
    def closed(self) -> bool:
        return self.state is HearingState.CLOSED

    def recording_offset(self, at: datetime) -> float | None:
        """Seconds into the hearing's recording at ``at``; None before the session starts."""
        if self.in_session_since is not None:
            return self.recorded_seconds + max(0.0, (at - self.in_session_since).total_seconds())
        if self.recorded_seconds or self.state in (HearingState.RECESS, HearingState.CLOSED):
            return self.recorded_seconds
        return None

    def apply(self, act: StateAct, at: datetime) -> HearingState:
        """Move to the state after ``act`` (or raise), keeping the recording clock."""
        target = next_state(self.state, act)
        if self.in_session_since is not None:
            self.recorded_seconds += max(0.0, (at - self.in_session_since).total_seconds())
            self.in_session_since = None
        if target is HearingState.IN_SESSION:
            self.in_session_since = at
        self.state = target
        self.state_changed_at = at
        return target

    @classmethod
    def from_row(cls, row: HearingRow, case_number: str) -> Hearing:
        return cls(
            id=row.id,
            case_number=case_number,
            title=row.title,
            kind=row.kind,
            is_open=row.is_open,
            state=HearingState(row.state),
            court=row.court,
            judge_id=row.judge_id,
            secretary_id=row.secretary_id,
            scheduled_at=_aware(row.scheduled_at),
            language=row.language,
            auto_admit=row.auto_admit,
            state_changed_at=_aware(row.state_changed_at),
            in_session_since=_aware(row.in_session_since),
            recorded_seconds=row.recorded_seconds,
            case_id=row.case_id,
        )

    def write_to(self, row: HearingRow) -> None:
        """Copy what changes over a hearing's life into its row."""
        row.title = self.title
        row.kind = self.kind
        row.is_open = self.is_open
        row.state = str(self.state)
        row.court = self.court
        row.judge_id = self.judge_id
        row.secretary_id = self.secretary_id
        row.scheduled_at = self.scheduled_at
        row.language = self.language
        row.auto_admit = self.auto_admit
        row.state_changed_at = self.state_changed_at
        row.in_session_since = self.in_session_since
        row.recorded_seconds = self.recorded_seconds

    def public(self) -> dict[str, object]:
        return {
            "id": self.id,
            "case_number": self.case_number,
            "title": self.title,
            "kind": self.kind,
            "is_open": self.is_open,
            "state": str(self.state),
            "court": self.court,
            "scheduled_at": self.scheduled_at.isoformat() if self.scheduled_at else None,
            "language": self.language,
            "auto_admit": self.auto_admit,
            "state_changed_at": self.state_changed_at.isoformat()
            if self.state_changed_at
            else None,
        }


@dataclass(frozen=True)
class Seat:
    """A place the court gave one person in one hearing; ``id`` is their participant id."""

    id: str
    hearing_id: str
    role: ProceduralRole
    name: str
    iin: str | None = None
    user_id: str | None = None  # court directory id, for staff
    represents: str | None = None  # the party (seat id) a lawyer or representative acts for
    interprets_for: str | None = None  # the party (seat id) an interpreter serves

    @classmethod
    def from_row(cls, row: SeatRow) -> Seat:
        return cls(
            id=row.id,
            hearing_id=row.hearing_id,
            role=ProceduralRole(row.role),
            name=row.name,
            iin=row.iin,
            user_id=row.user_id,
            represents=row.represents,
            interprets_for=row.interprets_for,
        )

    def public(self) -> dict[str, object]:
        return {
            "id": self.id,
            "hearing_id": self.hearing_id,
            "role": str(self.role),
            "name": self.name,
            "iin_bound": self.iin is not None,
            "represents": self.represents,
            "interprets_for": self.interprets_for,
        }


def _with_case_number() -> Select[tuple[HearingRow, str]]:
    """Hearings with their case's number (every read of a hearing needs it)."""
    return select(HearingRow, CaseRow.case_number).join(CaseRow, CaseRow.id == HearingRow.case_id)


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment)


# Told after a state change is stored: (the hearing, the act, when it was taken).
StateListener = Callable[["Hearing", StateAct, datetime], Awaitable[None]]
# Told after any write of a hearing or its seats is stored (the hearing's id): with
# several nodes the hearing feed tells the others (server/hearing_feed.py).
ChangeListener = Callable[[str], Awaitable[None]]


class HearingRegistry:
    """The hearings this node serves: a write-through cache of the database.

    Reads (``get``) never wait, so the signaling path stays synchronous; every
    change goes to the database before the cache, so what the cache says was
    stored. Hearings closed long ago are not loaded: ``fetch`` reads them.

    With several nodes another node may write a hearing: ``refresh`` and
    ``resync`` read it back into memory (docs/several-nodes.md). Each hearing's
    writes and re-reads hold its lock, so a re-read never lands on top of a
    newer write of this node.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._hearings: dict[str, Hearing] = {}
        self._seats: dict[str, dict[str, Seat]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        # Bumped each time a hearing's memory is changed: a bulk re-read that started
        # before a change must not put the older rows back.
        self._generation: dict[str, int] = {}
        # Called after each state change is stored (the recorder follows the hearing).
        self.state_listeners: list[StateListener] = []
        self.change_listeners: list[ChangeListener] = []

    async def load(self) -> None:
        """Read the hearings still in use, with their seats (at start-up).

        Recently closed ones come too, so that a late link or token for one is
        told "closed", not "unknown".
        """
        closed_since = datetime.now(UTC) - RECENTLY_CLOSED
        async with self.db.session() as session:
            rows = await session.execute(
                _with_case_number().where(
                    (HearingRow.state != str(HearingState.CLOSED))
                    | (HearingRow.state_changed_at >= closed_since)
                )
            )
            hearings = [Hearing.from_row(row, number) for row, number in rows]
            seats = await session.scalars(
                select(SeatRow).where(SeatRow.hearing_id.in_([h.id for h in hearings]))
            )
            for seat in seats:
                self._seats.setdefault(seat.hearing_id, {})[seat.id] = Seat.from_row(seat)
        self._hearings.update({h.id: h for h in hearings})

    async def schedule(
        self,
        *,
        case_number: str,
        title: str,
        kind: str = "court_hearing",
        created_by: str | None = None,
        hearing_id: str | None = None,
        **fields: object,
    ) -> Hearing:
        """Put a new hearing of a case (made on first use) on the schedule."""
        hearing = Hearing(
            id=hearing_id or uuid.uuid4().hex[:16],
            case_number=case_number,
            title=title,
            kind=kind,
            **fields,  # type: ignore[arg-type]
        )
        return await self.save(hearing, created_by=created_by)

    async def save(self, hearing: Hearing, *, created_by: str | None = None) -> Hearing:
        """Store a hearing (new, or changed) and serve it from this node."""
        async with self._lock(hearing.id):
            await self._store(hearing, created_by)
        await self._changed(hearing.id)
        return hearing

    async def _store(self, hearing: Hearing, created_by: str | None) -> None:
        async with self.db.session() as session:
            case = await session.scalar(
                select(CaseRow).where(
                    CaseRow.court == hearing.court, CaseRow.case_number == hearing.case_number
                )
            )
            if case is None:
                case = CaseRow(
                    id=uuid.uuid4().hex, case_number=hearing.case_number, court=hearing.court
                )
                session.add(case)
                await session.flush()
            row = await session.get(HearingRow, hearing.id)
            if row is None:
                row = HearingRow(id=hearing.id, case_id=case.id, created_by=created_by)
                session.add(row)
            elif row.case_id != case.id:
                raise HearingError("hearing_exists", "a hearing with this id belongs to a case")
            hearing.write_to(row)
        hearing.case_id = case.id  # stored: the case's row is the hearing's
        self._remember(hearing)

    def _remember(self, hearing: Hearing) -> None:
        self._hearings[hearing.id] = hearing
        self._touch(hearing.id)

    def _touch(self, hearing_id: str) -> None:
        self._generation[hearing_id] = self._generation.get(hearing_id, 0) + 1

    def _lock(self, hearing_id: str) -> asyncio.Lock:
        return self._locks.setdefault(hearing_id, asyncio.Lock())

    async def _changed(self, hearing_id: str) -> None:
        for listener in list(self.change_listeners):
            await listener(hearing_id)

    async def refresh(self, hearing_id: str) -> Hearing | None:
        """Read a hearing and its seats back from the database into memory.

        For a hearing another node changed, or one this node takes over. No state
        listener is told: the node where the act was taken told its own. A
        hearing no longer in the database is forgotten here.
        """
        async with self._lock(hearing_id):
            async with self.db.session() as session:
                found = (
                    await session.execute(_with_case_number().where(HearingRow.id == hearing_id))
                ).first()
                seats = list(
                    await session.scalars(select(SeatRow).where(SeatRow.hearing_id == hearing_id))
                )
            if found is None:
                self._forget(hearing_id)
                return None
            return self._take(Hearing.from_row(*found), seats)

    async def resync(self) -> None:
        """Re-read every hearing still in use and every one held here, in one query.

        After this node may have missed changes (its link to Redis was down). A
        hearing written here while the query ran keeps what this node wrote.
        """
        before = dict(self._generation)
        held = list(self._hearings)
        closed_since = datetime.now(UTC) - RECENTLY_CLOSED
        async with self.db.session() as session:
            rows = (
                await session.execute(
                    _with_case_number().where(
                        (HearingRow.state != str(HearingState.CLOSED))
                        | (HearingRow.state_changed_at >= closed_since)
                        | HearingRow.id.in_(held)
                    )
                )
            ).all()
            found = {row.id: Hearing.from_row(row, number) for row, number in rows}
            seats: dict[str, list[SeatRow]] = {hearing_id: [] for hearing_id in found}
            for seat in await session.scalars(
                select(SeatRow).where(SeatRow.hearing_id.in_(list(found)))
            ):
                seats[seat.hearing_id].append(seat)
        for hearing_id in set(found) | set(held):
            lock = self._locks.get(hearing_id)
            if (lock is not None and lock.locked()) or self._generation.get(
                hearing_id
            ) != before.get(hearing_id):
                continue  # changed here meanwhile: newer than what was read
            if hearing_id in found:
                self._take(found[hearing_id], seats[hearing_id])
            else:
                self._forget(hearing_id)

    def _take(self, fresh: Hearing, seats: Iterable[SeatRow]) -> Hearing:
        """Put a hearing read from the database in memory (the held object changed in place)."""
        held = self._hearings.get(fresh.id)
        if held is not None:  # whoever holds it sees the change
            for item in fields(Hearing):
                setattr(held, item.name, getattr(fresh, item.name))
        self._remember(held or fresh)
        self._seats[fresh.id] = {seat.id: Seat.from_row(seat) for seat in seats}
        return held or fresh

    def _forget(self, hearing_id: str) -> None:
        self._hearings.pop(hearing_id, None)
        self._seats.pop(hearing_id, None)
        self._touch(hearing_id)

    def get(self, hearing_id: str) -> Hearing | None:
        """A hearing this node serves, without waiting."""
        return self._hearings.get(hearing_id)

    async def fetch(self, hearing_id: str) -> Hearing | None:
        """Any hearing, closed ones included (read from the database when not served)."""
        served = self._hearings.get(hearing_id)
        if served is not None:
            return served
        async with self.db.session() as session:
            found = (
                await session.execute(_with_case_number().where(HearingRow.id == hearing_id))
            ).first()
        return None if found is None else Hearing.from_row(*found)

    async def listing(
        self,
        *,
        since: datetime,
        until: datetime,
        judge_id: str | None = None,
        court: str | None = None,
    ) -> list[Hearing]:
        """Hearings scheduled in ``[since, until)``, of one judge or one court, by time."""
        query = (
            _with_case_number()
            .where(HearingRow.scheduled_at >= since, HearingRow.scheduled_at < until)
            .order_by(HearingRow.scheduled_at, HearingRow.id)
        )
        if judge_id is not None:
            query = query.where(HearingRow.judge_id == judge_id)
        if court is not None:
            query = query.where(HearingRow.court == court)
        async with self.db.session() as session:
            rows = await session.execute(query)
            return [self._hearings.get(r.id) or Hearing.from_row(r, n) for r, n in rows]

    def all(self) -> list[Hearing]:
        return list(self._hearings.values())

    def recording_offset(self, hearing_id: str, at: datetime) -> float | None:
        hearing = self._hearings.get(hearing_id)
        return hearing.recording_offset(at) if hearing else None

    async def change_state(
        self, hearing_id: str, act: StateAct, *, at: datetime | None = None
    ) -> Hearing:
        """Apply a state act (the caller has checked who may take it) and persist it."""
        at = at or datetime.now(UTC)
        async with self._lock(hearing_id):
            hearing = self._hearings.get(hearing_id)
            if hearing is None:
                raise HearingError("hearing_not_found", "this hearing is not served here")
            changed = replace(hearing)
            changed.apply(act, at)
            async with self.db.session() as session:
                row = await session.get(HearingRow, hearing_id)
                if row is None:
                    raise HearingError("hearing_not_found", "this hearing is not in the database")
                changed.write_to(row)
            # The cached object is shared with whoever holds it: change it in place.
            for name in ("state", "state_changed_at", "in_session_since", "recorded_seconds"):
                setattr(hearing, name, getattr(changed, name))
            self._remember(hearing)
        await self._changed(hearing_id)
        for listener in list(self.state_listeners):
            await listener(hearing, act, at)
        return hearing

    async def seat(self, hearing_id: str, participant_id: str) -> Seat | None:
        """The seat the court gave ``participant_id`` in the hearing, if it gave one."""
        return self._seats.get(hearing_id, {}).get(participant_id)

    async def seats(self, hearing_id: str) -> list[Seat]:
        if hearing_id in self._hearings:
            return list(self._seats.get(hearing_id, {}).values())
        async with self.db.session() as session:
            rows = await session.scalars(
                select(SeatRow).where(SeatRow.hearing_id == hearing_id).order_by(SeatRow.created_at)
            )
            return [Seat.from_row(r) for r in rows]

    async def seat_of(self, hearing_id: str, *, iin: str) -> Seat | None:
        """The seat bound to a person's IIN (staff and parties who log in by EDS)."""
        for seat in await self.seats(hearing_id):
            if seat.iin == iin:
                return seat
        return None

    def check_seat(self, seat: Seat) -> None:
        """Refuse a seat that cannot be given: closed hearing, unknown party, person seated."""
        hearing = self._hearings.get(seat.hearing_id)
        if hearing is None:
            raise HearingError("hearing_not_found", "no such hearing")
        if hearing.closed:
            raise HearingError("hearing_closed", "the hearing is closed")
        existing = self._seats.get(seat.hearing_id, {})
        for linked in (seat.represents, seat.interprets_for):
            if linked is not None and linked not in existing:
                raise HearingError("seat_not_found", "the linked party has no seat here")
        if seat.iin is not None and any(s.iin == seat.iin for s in existing.values()):
            raise HearingError("seat_exists", "this person already has a seat in the hearing")

    async def add_seat(self, seat: Seat) -> Seat:
        """Give a person a place in a hearing that is not closed."""
        async with self._lock(seat.hearing_id):
            self.check_seat(seat)
            async with self.db.session() as session:
                session.add(
                    SeatRow(
                        id=seat.id,
                        hearing_id=seat.hearing_id,
                        role=str(seat.role),
                        name=seat.name,
                        iin=seat.iin,
                        user_id=seat.user_id,
                        represents=seat.represents,
                        interprets_for=seat.interprets_for,
                    )
                )
            self._seats.setdefault(seat.hearing_id, {})[seat.id] = seat
            self._touch(seat.hearing_id)
        await self._changed(seat.hearing_id)
        return seat

    async def seated_in_case(self, case_id: str, *, iin: str) -> bool:
        """Whether ``iin`` is bound to a seat in any hearing of the case (recording access).

        Read from the database, which every seat is written to first: the case's
        older hearings are not in memory.
        """
        async with self.db.session() as session:
            found = await session.scalar(
                select(SeatRow.id)
                .join(HearingRow, HearingRow.id == SeatRow.hearing_id)
                .where(HearingRow.case_id == case_id, SeatRow.iin == iin)
                .limit(1)
            )
        return found is not None

    async def of_case(self, case_id: str) -> list[Hearing]:
        """Every hearing of a case, by time (closed ones included)."""
        async with self.db.session() as session:
            rows = await session.execute(
                _with_case_number()
                .where(HearingRow.case_id == case_id)
                .order_by(HearingRow.scheduled_at, HearingRow.id)
            )
            return [self._hearings.get(r.id) or Hearing.from_row(r, n) for r, n in rows]
