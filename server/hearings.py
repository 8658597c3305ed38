"""Hearings of cases, the seats the court gave people in them, and their state.

:class:`HearingRegistry` keeps every hearing this node serves in memory so the
signaling path can read them without waiting; changes are written through to
the database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from server.procedure.states import HearingState, StateAct, next_state
from server.roles import ProceduralRole

LANGUAGES = ("kk", "ru", "en")


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


class HearingRegistry:
    """Hearings in process."""

    def __init__(self) -> None:
        self._hearings: dict[str, Hearing] = {}
        self._seats: dict[str, dict[str, Seat]] = {}

    def create(self, *, case_number: str, title: str, kind: str = "court_hearing") -> Hearing:
        hearing = Hearing(id=uuid.uuid4().hex[:12], case_number=case_number, title=title, kind=kind)
        self.add(hearing)
        return hearing

    def add(self, hearing: Hearing) -> None:
        self._hearings[hearing.id] = hearing

    def get(self, hearing_id: str) -> Hearing | None:
        return self._hearings.get(hearing_id)

    def all(self) -> list[Hearing]:
        return list(self._hearings.values())

    def recording_offset(self, hearing_id: str, at: datetime) -> float | None:
        hearing = self._hearings.get(hearing_id)
        return hearing.recording_offset(at) if hearing else None

    async def change_state(
        self, hearing_id: str, act: StateAct, *, at: datetime | None = None
    ) -> Hearing:
        """Apply a state act (the caller has checked who may take it) and persist it."""
        hearing = self._hearings[hearing_id]
        hearing.apply(act, at or datetime.now(UTC))
        return hearing

    async def seat(self, hearing_id: str, participant_id: str) -> Seat | None:
        """The seat the court gave ``participant_id`` in the hearing, if it gave one."""
        return self._seats.get(hearing_id, {}).get(participant_id)

    async def seats(self, hearing_id: str) -> list[Seat]:
        return list(self._seats.get(hearing_id, {}).values())

    async def add_seat(self, seat: Seat) -> Seat:
        self._seats.setdefault(seat.hearing_id, {})[seat.id] = seat
        return seat
