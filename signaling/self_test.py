"""The device self-test's events: the network check's probe, and the result for the court.

``probe_offer`` needs only an authenticated connection, not a join: the
self-test runs before the person joins (a separate, short-lived connection)
and again from the hearing. ``self_test`` returns the verdict in both cases;
once joined it is also kept on the participant's presence, where the judge
and secretary see it (and nothing of it goes into the protocol).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog

from server.procedure.self_test import judge_self_test
from server.sfu.probe import Probes
from server.turn import ice_servers_for
from signaling.events import IceConfigRequest, ProbeOffer, SelfTestReport

if TYPE_CHECKING:
    from signaling.namespace import Connection, Handler, HearingNamespace

log = structlog.get_logger(__name__)


class SelfTestEvents:
    """Handlers of ``probe_offer`` and ``self_test``, registered on the namespace."""

    def __init__(self, namespace: HearingNamespace) -> None:
        self.ns = namespace
        self.probes = Probes(namespace.ctx.sfu)

    def events(self) -> dict[str, tuple[type, Handler]]:
        return {
            "ice_config": (IceConfigRequest, self._ice_config),
            "probe_offer": (ProbeOffer, self._probe_offer),
            "self_test": (SelfTestReport, self._self_test),
        }

    async def connection_closed(self, sid: str) -> None:
        """A probe does not outlive the connection that started it."""
        await self.probes.close(sid)

    async def close(self) -> None:
        await self.probes.close_all()

    async def _ice_config(self, conn: Connection, _: IceConfigRequest) -> dict[str, Any]:
        """What the join ack will say about ICE, so a check before joining goes the same way.

        Behind a firewall that lets only TURN through, a check without the
        TURN servers would say "will not work" of a hearing that works.
        """
        settings = self.ns.ctx.settings
        servers = ice_servers_for(settings, conn.participant_id, not_after=conn.claims.exp)
        return {
            "ice_servers": servers,
            "ice_transport_policy": settings.ice_transport_policy,
        }

    async def _probe_offer(self, conn: Connection, offer: ProbeOffer) -> dict[str, Any]:
        answer = await self.probes.answer(conn.sid, offer.sdp)
        return {"type": answer.type, "sdp": answer.sdp, "seconds": self.probes.seconds}

    async def _self_test(self, conn: Connection, report: SelfTestReport) -> dict[str, Any]:
        result = judge_self_test(
            rtt_ms=report.rtt_ms,
            loss_percent=report.loss_percent,
            camera=report.camera,
            microphone=report.microphone,
        )
        me = self.ns.presence(conn.hearing_id).get(conn.participant_id) if conn.joined else None
        if me is not None:
            me.self_test = result
            await self.ns.broadcast(me, conn.hearing_id)
            log.info("self_test", participant=me.id, verdict=result["verdict"])
        return {"self_test": result}
