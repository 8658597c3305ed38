"""Participants' calls for help, and the court's answers to them.

Anyone but the court may ask (a frozen picture, a question about the
procedure); the secretary and judge see who asked and when, say they are on
it, and mark it handled. One open request per person: asking again while one
is open returns it. Kept in memory with the hearing's presence, not in the
protocol (it is about the connection, not the case).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from server.errors import CodedError
from server.procedure.protocol import Actor
from server.rate_limit import BucketsByKey

# A few requests close together (asked, handled, asked again), then one a minute.
BURST = 3.0
PER_SECOND = 1 / 60


class HelpState(StrEnum):
    ASKED = "asked"
    HANDLING = "handling"  # someone of the court is on it
    HANDLED = "handled"


_numbers = itertools.count(1)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class HelpRequest:
    id: str
    asker: Actor
    asked_at: datetime = field(default_factory=_now)
    state: HelpState = HelpState.ASKED
    updated_at: datetime = field(default_factory=_now)
    by: Actor | None = None  # who of the court answered last

    @property
    def open(self) -> bool:
        return self.state is not HelpState.HANDLED

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "participant": {"id": self.asker.id, "name": self.asker.name, "role": self.asker.role},
            "asked_at": self.asked_at.isoformat(),
            "state": str(self.state),
            "updated_at": self.updated_at.isoformat(),
            "by": None if self.by is None else {"name": self.by.name, "role": self.by.role},
        }


class HelpDesk:
    """The help requests of one hearing."""

    def __init__(self) -> None:
        self.requests: dict[str, HelpRequest] = {}
        self.rate = BucketsByKey(BURST, PER_SECOND)

    def open_request_of(self, participant_id: str) -> HelpRequest | None:
        for request in self.requests.values():
            if request.asker.id == participant_id and request.open:
                return request
        return None

    def ask(self, asker: Actor) -> tuple[HelpRequest, bool]:
        """The asker's open request, or a new one; True if it is new."""
        existing = self.open_request_of(asker.id)
        if existing is not None:
            return existing, False
        if not self.rate.take(asker.id):
            raise CodedError("rate_limited", "help was asked for just now; the court has it")
        request = HelpRequest(id=f"help-{next(_numbers)}", asker=asker)
        self.requests[request.id] = request
        return request, True

    def answer(self, request_id: str, state: HelpState, by: Actor) -> HelpRequest:
        """The court is on it (``handling``) or has dealt with it (``handled``)."""
        request = self.requests.get(request_id)
        if request is None or not request.open:
            raise CodedError("help_not_found", "no such open help request")
        request.state = state
        request.by = by
        request.updated_at = _now()
        return request

    def open_requests(self) -> list[dict[str, Any]]:
        return [r.public() for r in self.requests.values() if r.open]
