"""Sending invitation links to people (e-mail, SMS). Pluggable; the default only logs.

The log line never contains the link itself: the link is a bearer secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class InvitationMessage:
    contact: str
    name: str
    hearing_case_number: str
    role: str
    link: str
    valid_from: str
    valid_until: str


class Notifier(Protocol):
    async def send_invitation(self, message: InvitationMessage) -> None: ...


class LogNotifier:
    """Records that an invitation would be sent; a court plugs in its SMS/e-mail gateway."""

    def __init__(self) -> None:
        self.sent: list[InvitationMessage] = []

    async def send_invitation(self, message: InvitationMessage) -> None:
        self.sent.append(message)
        log.info(
            "invitation_notified",
            contact_kind="email" if "@" in message.contact else "phone",
            case=message.hearing_case_number,
            role=message.role,
        )
