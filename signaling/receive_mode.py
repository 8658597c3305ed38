"""``set_receive``: a participant on a poor link chooses sound only (docs/signaling.md).

The server stops forwarding video to them (:meth:`MediaSession.set_receive_video`)
and, when they want it back, resumes each stream from a keyframe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.procedure.permissions import Action, require
from signaling.errors import SignalingError
from signaling.events import SetReceive

if TYPE_CHECKING:
    from signaling.namespace import Connection, Handler, HearingNamespace


class ReceiveModeEvents:
    def __init__(self, namespace: HearingNamespace) -> None:
        self.ns = namespace

    def events(self) -> dict[str, tuple[type, Handler]]:
        return {"set_receive": (SetReceive, self._set_receive)}

    async def _set_receive(self, conn: Connection, request: SetReceive) -> dict[str, Any]:
        me = self.ns.me(conn)
        require(me.role, Action.SUBSCRIBE)
        if conn.media is None:
            raise SignalingError("not_joined", "join the hearing first")
        conn.media.set_receive_video(request.video)
        return {"video": request.video}
