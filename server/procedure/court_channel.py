"""The judge's and secretary's text channel of one hearing.

An internal note channel of the court, like the notes a judge and a clerk pass
in a courtroom: never shown to the parties and deliberately not part of the
protocol. It lives in memory with the hearing's presence and ends with it.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from server.procedure.protocol import Actor
from server.rate_limit import BucketsByKey

# Enough for a day's hearing; older messages drop off the top.
KEPT_MESSAGES = 500
# A burst of a few lines, then one every two seconds: people typing, not a script.
BURST = 5.0
PER_SECOND = 0.5

_numbers = itertools.count(1)


@dataclass(frozen=True)
class CourtMessage:
    id: str
    sender: Actor
    text: str
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "from": {"id": self.sender.id, "name": self.sender.name, "role": self.sender.role},
            "text": self.text,
            "at": self.at.isoformat(),
        }


class CourtChannel:
    """The messages of one hearing's court channel, oldest first."""

    def __init__(self) -> None:
        self.messages: deque[CourtMessage] = deque(maxlen=KEPT_MESSAGES)
        self.rate = BucketsByKey(BURST, PER_SECOND)

    def post(self, sender: Actor, text: str) -> CourtMessage:
        message = CourtMessage(id=f"m{next(_numbers)}", sender=sender, text=text)
        self.messages.append(message)
        return message

    def history(self) -> list[dict[str, Any]]:
        return [m.public() for m in self.messages]
