"""Hearings known to this node and who is present in each.

This is the embedded, in-process registry; the persistent hearing model
(cases, schedules, procedural state) replaces it in a later step.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from server.auth.tokens import Grants


@dataclass
class Hearing:
    """A hearing of a case. ``id`` is opaque; the case number is never used as a key."""

    id: str
    case_number: str
    title: str
    kind: str = "court_hearing"
    is_open: bool = True
    closed: bool = False

    def public(self) -> dict[str, object]:
        return {
            "id": self.id,
            "case_number": self.case_number,
            "title": self.title,
            "kind": self.kind,
            "is_open": self.is_open,
        }


@dataclass
class Participant:
    """Someone present in a hearing, as the others see them."""

    id: str
    name: str
    role: str
    grants: Grants
    muted: dict[str, bool] = field(default_factory=lambda: {"audio": False, "video": False})
    publishing: dict[str, bool] = field(default_factory=lambda: {"audio": False, "video": False})

    def public(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "muted": dict(self.muted),
            "publishing": dict(self.publishing),
        }


class HearingRegistry:
    """Hearings and their rosters, in process."""

    def __init__(self) -> None:
        self._hearings: dict[str, Hearing] = {}
        self._rosters: dict[str, dict[str, Participant]] = {}

    def create(self, *, case_number: str, title: str, kind: str = "court_hearing") -> Hearing:
        hearing = Hearing(id=uuid.uuid4().hex[:12], case_number=case_number, title=title, kind=kind)
        self.add(hearing)
        return hearing

    def add(self, hearing: Hearing) -> None:
        self._hearings[hearing.id] = hearing
        self._rosters.setdefault(hearing.id, {})

    def get(self, hearing_id: str) -> Hearing | None:
        return self._hearings.get(hearing_id)

    def all(self) -> list[Hearing]:
        return list(self._hearings.values())

    def roster(self, hearing_id: str) -> dict[str, Participant]:
        return self._rosters.setdefault(hearing_id, {})

    def participant_count(self) -> int:
        return sum(len(r) for r in self._rosters.values())
