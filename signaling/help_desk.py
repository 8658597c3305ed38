"""``help_request`` and ``help_answer``: a participant calls the court for help.

The judge and secretary get every change as ``help_update`` (court room); the
person who asked gets the updates of their own request. State and limits:
:mod:`server.procedure.help_desk`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.procedure.help_desk import HelpRequest as OpenRequest
from server.procedure.help_desk import HelpState
from server.procedure.permissions import Action, require
from signaling.events import HelpAnswer, HelpRequest

if TYPE_CHECKING:
    from signaling.namespace import Connection, Handler, HearingNamespace


class HelpDeskEvents:
    def __init__(self, namespace: HearingNamespace) -> None:
        self.ns = namespace

    def events(self) -> dict[str, tuple[type, Handler]]:
        return {"help_request": (HelpRequest, self._ask), "help_answer": (HelpAnswer, self._answer)}

    async def _ask(self, conn: Connection, _: HelpRequest) -> dict[str, Any]:
        me = self.ns.me(conn)
        require(me.role, Action.ASK_HELP)
        request, new = self.ns.presence(conn.hearing_id).help_desk.ask(me.actor())
        if new:
            await self._tell(conn.hearing_id, request)
        return {"help": request.public()}

    async def _answer(self, conn: Connection, answer: HelpAnswer) -> dict[str, Any]:
        me = self.ns.me(conn)
        require(me.role, Action.HANDLE_HELP)
        desk = self.ns.presence(conn.hearing_id).help_desk
        request = desk.answer(answer.request_id, HelpState(answer.state), me.actor())
        await self._tell(conn.hearing_id, request)
        return {"help": request.public()}

    async def _tell(self, hearing_id: str, request: OpenRequest) -> None:
        from signaling.namespace import court_room  # namespace.py imports this module

        payload = request.public()
        await self.ns.emit("help_update", payload, room=court_room(hearing_id))
        asker = self.ns.connection_of(hearing_id, request.asker.id)
        if asker is not None:
            await self.ns.emit("help_update", payload, to=asker.sid)
