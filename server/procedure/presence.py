"""Who is present in a hearing, where (waiting room, hearing, consultation), and who sees whom.

Presence is live state of this node: it lives in memory. What is procedural
about it (admissions, consultations, removals) also goes into the protocol.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from server.auth.tokens import Grants
from server.procedure.court_channel import CourtChannel
from server.procedure.help_desk import HelpDesk
from server.procedure.permissions import CALLED_IN_ONLY, Action, allowed
from server.procedure.protocol import Actor
from server.roles import ProceduralRole as R

KINDS = ("audio", "video")


class Place(StrEnum):
    WAITING = "waiting"
    HEARING = "hearing"
    CONSULTATION = "consultation"
    DELIBERATION = "deliberation"  # the judge, during a recess


# Who may step out for a private consultation, and with whom.
COUNSEL = frozenset({R.LAWYER, R.REPRESENTATIVE})
PARTIES = frozenset({R.DEFENDANT, R.DETAINEE, R.VICTIM, R.PLAINTIFF, R.RESPONDENT})


@dataclass
class Presence:
    """One participant of a hearing as the court sees them."""

    id: str
    name: str
    role: R
    grants: Grants
    place: Place
    represents: str | None = None
    interprets_for: str | None = None
    # The court's seat this participant fills when it is not their own id (a
    # detainee brought by a facility unit fills the detainee seat).
    seat_id: str | None = None
    connected: bool = True
    # Dropped but within the grace period (signaling/reconnect_grace.py).
    reconnecting: bool = False
    hand_raised: bool = False
    consultation: str | None = None
    muted: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(KINDS, False))
    mute_locked: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(KINDS, False))
    publishing: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(KINDS, False))
    quality: dict[str, Any] = field(default_factory=lambda: {"grade": "unknown"})
    # The device self-test's result (server/procedure/self_test.py); not procedural.
    self_test: dict[str, Any] | None = None

    @property
    def is_court(self) -> bool:
        return allowed(self.role, Action.SEE_WAITING_ROOM)

    @property
    def hidden(self) -> bool:
        return self.grants.hidden

    def fills(self, seat_id: str | None) -> bool:
        """Whether ``seat_id`` names this participant's place in the hearing."""
        return seat_id is not None and seat_id in (self.id, self.seat_id)

    def actor(self) -> Actor:
        return Actor(self.id, self.name, str(self.role))

    def space(self) -> str:
        """The SFU space this participant's media belongs to (see ``Sfu.room``)."""
        if self.place is Place.HEARING:
            return "hearing"
        if self.place is Place.CONSULTATION and self.consultation:
            return self.consultation
        if self.place is Place.DELIBERATION:
            return "deliberation"
        return f"waiting-{self.id}"  # alone: nothing in, nothing out

    def sees(self, other: Presence) -> bool:
        """Whether this participant's screen lists ``other``."""
        if other.id == self.id:
            return False
        if self.is_court:
            return True
        if self.place is Place.WAITING:  # the waiting room shows nothing of the hearing
            return False
        return not other.hidden and other.place is not Place.WAITING

    def view(self, viewer: Presence | None) -> dict[str, Any]:
        """This participant as ``viewer`` sees them (``None``: as they see themselves)."""
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "role": str(self.role),
            "place": str(self.place),
            "connected": self.connected,
            "reconnecting": self.reconnecting,
            "hand_raised": self.hand_raised,
            "muted": dict(self.muted),
            "mute_locked": dict(self.mute_locked),
            "publishing": dict(self.publishing),
            "consultation": self.consultation,
            "can_consult": viewer is not None and may_consult(viewer, self),
            # What the court's console needs to pick controls; the server still decides.
            "court": self.is_court,
            "called_in_only": self.role in CALLED_IN_ONLY,
        }
        if viewer is None or viewer.is_court:
            data["quality"] = dict(self.quality)
            data["self_test"] = None if self.self_test is None else dict(self.self_test)
        return data


def may_consult(a: Presence, b: Presence) -> bool:
    """A lawyer or representative and the party they act for (any party, if unlinked)."""
    if a.role in COUNSEL and b.role in PARTIES:
        counsel, party = a, b
    elif b.role in COUNSEL and a.role in PARTIES:
        counsel, party = b, a
    else:
        return False
    if not all(allowed(p.role, Action.JOIN_CONSULTATION) for p in (counsel, party)):
        return False
    return counsel.represents is None or party.fills(counsel.represents)


@dataclass
class Consultation:
    id: str
    members: list[str]
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "members": list(self.members),
            "started_at": self.started_at.isoformat(),
        }


_consultation_numbers = itertools.count(1)


class HearingPresence:
    """The participants and consultations of one hearing."""

    def __init__(self, hearing_id: str) -> None:
        self.hearing_id = hearing_id
        self.participants: dict[str, Presence] = {}
        self.consultations: dict[str, Consultation] = {}
        # The court's own channel and the participants' calls for help: live, not protocol.
        self.court_channel = CourtChannel()
        self.help_desk = HelpDesk()

    def get(self, participant_id: str) -> Presence | None:
        return self.participants.get(participant_id)

    def called_in(self) -> list[Presence]:
        """Witnesses and experts currently in the hearing."""
        return [
            p
            for p in self.participants.values()
            if p.role in CALLED_IN_ONLY and p.place is Place.HEARING
        ]

    def open_consultation(self, members: list[Presence]) -> Consultation:
        consultation = Consultation(id=f"consultation-{next(_consultation_numbers)}", members=[])
        for member in members:
            member.place = Place.CONSULTATION
            member.consultation = consultation.id
            consultation.members.append(member.id)
        self.consultations[consultation.id] = consultation
        return consultation

    def close_consultation(
        self, consultation_id: str
    ) -> tuple[Consultation, list[Presence]] | None:
        """End it; its members go back to the hearing. None if it is not going on."""
        consultation = self.consultations.pop(consultation_id, None)
        if consultation is None:
            return None
        back = []
        for member_id in consultation.members:
            member = self.participants.get(member_id)
            if member is not None and member.consultation == consultation.id:
                member.consultation = None
                member.place = Place.HEARING
                back.append(member)
        return consultation, back

    def interpreter_for(self, party: Presence) -> Presence | None:
        for p in self.participants.values():
            if (
                p.role is R.INTERPRETER
                and party.fills(p.interprets_for)
                and p.place is Place.HEARING
            ):
                return p
        return None


class PresenceRegistry:
    """The presence of every hearing on this node."""

    def __init__(self) -> None:
        self._hearings: dict[str, HearingPresence] = {}

    def hearing(self, hearing_id: str) -> HearingPresence:
        presence = self._hearings.get(hearing_id)
        if presence is None:
            presence = self._hearings[hearing_id] = HearingPresence(hearing_id)
        return presence

    def drop(self, hearing_id: str) -> None:
        self._hearings.pop(hearing_id, None)

    def participant_info(self, hearing_id: str, participant_id: str) -> dict[str, str]:
        """Who a participant is, for a recording's index: id, name, procedural role."""
        hearing = self._hearings.get(hearing_id)
        me = hearing.get(participant_id) if hearing is not None else None
        if me is None:
            return {"id": participant_id, "name": "", "role": ""}
        return {"id": participant_id, "name": me.name, "role": str(me.role)}

    def participant_count(self) -> int:
        return sum(
            sum(1 for p in h.participants.values() if p.connected) for h in self._hearings.values()
        )
