"""``court_message``: the judge's and secretary's own text channel (docs/signaling.md).

Delivered to the court room only (the judge's and secretary's connections),
kept in memory for the hearing (:mod:`server.procedure.court_channel`), never
written to the protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.procedure.permissions import Action, require
from signaling.errors import SignalingError
from signaling.events import CourtMessage

if TYPE_CHECKING:
    from signaling.namespace import Connection, Handler, HearingNamespace


class CourtChannelEvents:
    def __init__(self, namespace: HearingNamespace) -> None:
        self.ns = namespace

    def events(self) -> dict[str, tuple[type, Handler]]:
        return {"court_message": (CourtMessage, self._post)}

    async def _post(self, conn: Connection, request: CourtMessage) -> dict[str, Any]:
        from signaling.namespace import court_room  # namespace.py imports this module

        me = self.ns.me(conn)
        require(me.role, Action.COURT_CHAT)
        channel = self.ns.presence(conn.hearing_id).court_channel
        if not channel.rate.take(me.id):
            raise SignalingError("rate_limited", "too many messages; wait a moment")
        message = channel.post(me.actor(), request.text).public()
        await self.ns.emit("court_message", message, room=court_room(conn.hearing_id))
        return {"message": message}
