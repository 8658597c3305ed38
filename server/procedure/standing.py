"""Where the protocol last left a participant: their place and the court's mute locks.

Presence lives in the memory of the node serving the hearing. When a node that
did not see someone's admission meets them (the hearing failed over to it, or
the node restarted), the protocol in the database still knows: replaying what
the court did to them gives back the place they had, so nobody is sent to the
waiting room again and no mute the court locked comes undone.

The replay matches what a node that saw everything keeps in memory: a dropped
connection keeps the place; leaving on purpose (or being removed) does not, and
the next arrival is a new one (``signaling.namespace.initial_place``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from server.procedure.presence import KINDS, Place
from server.procedure.protocol import EventKind, ProtocolEvent

# The entries that decide a participant's standing (the ``subject`` of each, but
# ``left``, whose ``actor`` is the one who left).
STANDING_EVENTS = (
    EventKind.ADMITTED,
    EventKind.WITNESS_CALLED,
    EventKind.DISMISSED,
    EventKind.REMOVED,
    EventKind.LEFT,
    EventKind.MUTED,
    EventKind.UNMUTED,
)
_PLACES = {
    EventKind.ADMITTED: Place.HEARING,
    EventKind.WITNESS_CALLED: Place.HEARING,
    EventKind.DISMISSED: Place.WAITING,
}
KEPT_ON_LEAVING = "connection_lost"  # the ``left`` reason that keeps a place


@dataclass
class Standing:
    """What the protocol says of one participant now. ``place`` None: a new arrival.

    Only locked mutes: a participant unmutes themselves after a court's plain mute,
    and that is not procedural (not in the protocol).
    """

    place: Place | None = None
    mute_locked: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(KINDS, False))


def standing_of(participant_id: str, events: Iterable[ProtocolEvent]) -> Standing:
    """Replay ``events`` (in protocol order) for ``participant_id``."""
    standing = Standing()
    for event in events:
        if event.kind is EventKind.LEFT:
            by_them = event.actor is not None and event.actor.id == participant_id
            if by_them and event.details.get("reason") != KEPT_ON_LEAVING:
                standing = Standing()  # gone: whatever they had went with them
            continue
        if event.subject_id != participant_id:
            continue
        if event.kind is EventKind.REMOVED:
            standing = Standing()
        elif event.kind in _PLACES:
            standing.place = _PLACES[event.kind]
        elif event.kind in (EventKind.MUTED, EventKind.UNMUTED):
            kind = event.details.get("kind")
            if kind not in KINDS:
                continue
            locked = event.kind is EventKind.MUTED and event.details.get("locked") is True
            standing.mute_locked[kind] = locked
    return standing
