"""The ``/hearing`` namespace: authentication on connect, then typed events.

Every event goes through :meth:`HearingNamespace.trigger_event`: rate limit,
size limit, schema validation, then the handler. A refusal is an ``error``
event plus a negative acknowledgement, never a crash or a silent drop. A
connection's events are handled one at a time, in the order they arrived.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

import socketio
import structlog
from pydantic import BaseModel, ValidationError

from server.auth.tokens import HearingClaims, TokenError
from server.context import ServerContext
from server.errors import CodedError, invalid_payload
from server.hearings import Hearing
from server.placement import PlacementUnavailable
from server.procedure.permissions import (
    ADMITTED_ON_JOIN,
    CALLED_IN_ONLY,
    MATRIX,
    STATE_ACTS,
    Action,
    allowed,
)
from server.procedure.presence import HearingPresence, Place, Presence
from server.procedure.protocol import EventKind, ProtocolEvent
from server.procedure.standing import STANDING_EVENTS, standing_of
from server.procedure.states import TRANSITIONS, HearingState
from server.rate_limit import TokenBucket
from server.roles import ProceduralRole
from server.sfu.session import MediaSession
from server.turn import ice_servers_for
from signaling.court import CourtEvents
from signaling.court_channel import CourtChannelEvents
from signaling.errors import SignalingError
from signaling.events import (
    IceCandidate,
    JoinRequest,
    LeaveRequest,
    PublishOffer,
    SetMute,
    SubscribeAnswer,
)
from signaling.help_desk import HelpDeskEvents
from signaling.quality_watch import QualityWatch
from signaling.receive_mode import ReceiveModeEvents
from signaling.reconnect_grace import ReconnectGrace
from signaling.self_test import SelfTestEvents
from signaling.speaker_watch import SpeakerWatch

log = structlog.get_logger(__name__)

NAMESPACE = "/hearing"
RATE_CAPACITY = 80.0
RATE_PER_SECOND = 40.0

Handler = Callable[["Connection", Any], Awaitable[dict[str, Any]]]


@dataclass
class Connection:
    """One authenticated Socket.IO connection."""

    sid: str
    claims: HearingClaims
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    joined: bool = False
    media: MediaSession | None = None
    # Participant ids this connection has been told about (joined, not yet left).
    known: set[str] = field(default_factory=set)
    rate: TokenBucket = field(default_factory=lambda: TokenBucket(RATE_CAPACITY, RATE_PER_SECOND))

    @property
    def hearing_id(self) -> str:
        return self.claims.hearing

    @property
    def participant_id(self) -> str:
        return self.claims.sub

    def take_token(self) -> bool:
        return self.rate.take()


def hearing_room(hearing_id: str) -> str:
    return f"hearing:{hearing_id}"


def court_room(hearing_id: str) -> str:
    """The judge's and secretary's connections: protocol and quality go only there."""
    return f"court:{hearing_id}"


def initial_place(role: ProceduralRole, hearing: Hearing) -> Place:
    """Where someone who was not here before comes in (docs/signaling.md, Places)."""
    if role in ADMITTED_ON_JOIN:
        if role is ProceduralRole.JUDGE and hearing.state is HearingState.RECESS:
            return Place.DELIBERATION
        return Place.HEARING
    if hearing.auto_admit and role not in CALLED_IN_ONLY:
        return Place.HEARING
    return Place.WAITING


def state_acts_of(role: ProceduralRole) -> list[dict[str, Any]]:
    """The state acts ``role`` may take, each with the states it is legal from.

    The client shows a state button only when the hearing is in one of them;
    the server still decides every act.
    """
    return [
        {"act": str(act), "from": [str(state) for (state, a) in TRANSITIONS if a is act]}
        for act in STATE_ACTS
        if role in STATE_ACTS[act]
    ]


class SignalingStats:
    """Counts of refusals by code, for metrics."""

    def __init__(self) -> None:
        self.refused_connections: dict[str, int] = {}
        self.event_errors: dict[str, int] = {}
        self.events: dict[str, int] = {}

    @staticmethod
    def bump(counter: dict[str, int], key: str) -> None:
        counter[key] = counter.get(key, 0) + 1


class HearingNamespace(socketio.AsyncNamespace):
    """Signaling for participants of hearings."""

    def __init__(self, ctx: ServerContext) -> None:
        super().__init__(NAMESPACE)
        self.ctx = ctx
        self.connections: dict[str, Connection] = {}
        self.stats = SignalingStats()
        self._events: dict[str, tuple[type[BaseModel], Handler]] = {
            "join": (JoinRequest, self._join),
            "leave": (LeaveRequest, self._leave),
            "publish_offer": (PublishOffer, self._publish_offer),
            "subscribe_answer": (SubscribeAnswer, self._subscribe_answer),
            "ice_candidate": (IceCandidate, self._ice_candidate),
            "set_mute": (SetMute, self._set_mute),
        }
        self.court = CourtEvents(self)
        self._events.update(self.court.events())
        for extra in (CourtChannelEvents(self), HelpDeskEvents(self), ReceiveModeEvents(self)):
            self._events.update(extra.events())
        self.self_test = SelfTestEvents(self)
        self._events.update(self.self_test.events())
        ctx.protocol.listeners.append(self._protocol_appended)
        ctx.recorder.listeners.append(self._recording_alert)
        self.quality_watch = QualityWatch(self, ctx.settings.quality_interval_seconds)
        self.grace = ReconnectGrace(ctx.settings.reconnect_grace_seconds, self._grace_over)
        ctx.facilities.listeners.append(self._facility_session_ended)
        ctx.placement.moved_listeners.append(self._hearing_moved)
        self.speaker_watch = SpeakerWatch(self)

    # -- background work ----------------------------------------------------

    async def start(self) -> None:
        """Start what runs beside the events: the connection quality and speaker watches."""
        self.quality_watch.start()
        self.speaker_watch.start()

    async def stop(self) -> None:
        """Stop it again (idempotent)."""
        await self.quality_watch.stop()
        await self.grace.close()
        await self.speaker_watch.stop()
        await self.self_test.close()

    # -- dispatch -----------------------------------------------------------

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event == "connect":
            sid, _environ, auth = (*args, None)[:3]
            return await self._connect(sid, auth)
        if event == "disconnect":
            await self._disconnect(args[0])
            return None
        sid, payloads = args[0], args[1:]
        return await self._dispatch(sid, event, payloads)

    async def _dispatch(self, sid: str, event: str, payloads: tuple[Any, ...]) -> dict[str, Any]:
        conn = self.connections.get(sid)
        try:
            if conn is None:
                raise SignalingError("not_connected", "the connection is not authenticated")
            if not conn.take_token():
                raise SignalingError("rate_limited", "too many events; slow down")
            spec = self._events.get(event)
            if spec is None:
                raise SignalingError("unknown_event", f"there is no event {event[:64]!r}")
            model, handler = spec
            payload = self._validated(model, payloads)
            async with conn.lock:
                result = await handler(conn, payload)
        except CodedError as exc:  # signaling, negotiation and media refusals alike
            return await self._refuse(sid, event, exc)
        except Exception:
            log.exception("signaling_handler_failed", socket_event=event[:64])
            return await self._refuse(
                sid, event, SignalingError("internal_error", "the server failed on this event")
            )
        SignalingStats.bump(self.stats.events, event)
        return {"ok": True, **result}

    def _validated(self, model: type[BaseModel], payloads: tuple[Any, ...]) -> BaseModel:
        if len(payloads) > 1:
            raise SignalingError("invalid_payload", "an event takes one payload object")
        payload = payloads[0] if payloads else {}
        try:
            size = len(json.dumps(payload, separators=(",", ":")))
        except (TypeError, ValueError) as exc:
            raise SignalingError("invalid_payload", "the payload must be JSON") from exc
        if size > self.ctx.settings.max_event_bytes:
            raise SignalingError(
                "payload_too_large",
                f"the payload is {size} bytes; the limit is {self.ctx.settings.max_event_bytes}",
            )
        if not isinstance(payload, dict):
            raise SignalingError("invalid_payload", "the payload must be an object")
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            raise invalid_payload(exc) from exc

    async def _refuse(self, sid: str, event: str, exc: CodedError) -> dict[str, Any]:
        SignalingStats.bump(self.stats.event_errors, exc.code)
        log.info("event_refused", sid=sid, socket_event=event[:64], code=exc.code)
        payload = {"code": exc.code, "message": exc.message, "event": event[:64]}
        await self.emit("error", payload, to=sid)
        return {"ok": False, "error": {"code": exc.code, "message": exc.message}}

    # -- connection ---------------------------------------------------------

    async def _connect(self, sid: str, auth: Any) -> bool:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            claims = self.ctx.verifier.verify(token)
        except TokenError as exc:
            self._refuse_connection(exc.code, exc.message)
        wanted = auth.get("hearing") if isinstance(auth, dict) else None
        if wanted is not None and wanted != claims.hearing:
            self._refuse_connection("hearing_mismatch", "the token is for another hearing")
        known = self.ctx.hearings.get(claims.hearing)
        if known is not None and known.closed:  # said here: a closed hearing is placed nowhere
            self._refuse_connection("hearing_closed", "the hearing is closed")
        await self._route(claims.hearing)
        hearing = self.ctx.hearings.get(claims.hearing)
        if hearing is None:
            self._refuse_connection("hearing_not_found", "this hearing does not exist here")
        if claims.role not in ProceduralRole._value2member_map_:
            self._refuse_connection("role_unknown", "the token's role is not a procedural role")
        if hearing.closed:
            self._refuse_connection("hearing_closed", "the hearing is closed")
        if claims.role == ProceduralRole.OBSERVER and not hearing.is_open:
            self._refuse_connection("hearing_not_public", "a closed-door hearing has no observers")
        self.connections[sid] = Connection(sid=sid, claims=claims)
        log.info("connected", sid=sid, hearing=claims.hearing, participant=claims.sub)
        return True

    async def _route(self, hearing_id: str) -> None:
        """Serve the hearing here only if it is placed here (docs/several-nodes.md).

        Another node's hearing: refused with ``wrong_node`` and that node's URL,
        which the client connects to instead. Without Redis every hearing is here.
        """
        try:
            node = await self.ctx.placement.place(hearing_id)
        except PlacementUnavailable as exc:
            self._refuse_connection(exc.code, exc.message)
        if node.id != self.ctx.placement.node_id:
            self._refuse_connection(
                "wrong_node", "the hearing is served by another node", node_url=node.url
            )

    def _refuse_connection(self, code: str, message: str, **extra: str) -> NoReturn:
        SignalingStats.bump(self.stats.refused_connections, code)
        log.info("connection_refused", code=code)
        raise socketio.exceptions.ConnectionRefusedError(
            message, {"code": code, "message": message, **extra}
        )

    async def _hearing_moved(self, hearing_id: str, node: str) -> None:
        """Another node serves the hearing now: everyone here goes, and reconnects there.

        Each connection is told ``moved`` and closed; its client connects again
        and is redirected. What this node knew of the hearing's presence goes too.
        """
        for conn in [c for c in self.connections.values() if c.hearing_id == hearing_id]:
            self.connections.pop(conn.sid, None)
            async with conn.lock:
                await self._close_media(conn)
            moved = SignalingError("moved", "the hearing moved to another node; reconnect")
            await self.emit("error", moved.payload(None), to=conn.sid)
            await self.disconnect(conn.sid)
        for participant_id in list(self.presence(hearing_id).participants):
            self.grace.cancel(hearing_id, participant_id)
        self.ctx.presence.drop(hearing_id)
        log.info("hearing_let_go", hearing=hearing_id, node=node)

    async def _disconnect(self, sid: str) -> None:
        await self.self_test.connection_closed(sid)
        conn = self.connections.pop(sid, None)
        if conn is None:
            return
        async with conn.lock:
            await self.depart(conn, reason="connection_lost")
        log.info("disconnected", sid=sid, hearing=conn.hearing_id, participant=conn.participant_id)

    # -- who is where, and who is told ---------------------------------------

    def presence(self, hearing_id: str) -> HearingPresence:
        return self.ctx.presence.hearing(hearing_id)

    def me(self, conn: Connection) -> Presence:
        """The joined participant behind ``conn``."""
        self._require_joined(conn)
        presence = self.presence(conn.hearing_id).get(conn.participant_id)
        if presence is None:
            raise SignalingError("not_joined", "join the hearing first")
        return presence

    def joined_connections(self, hearing_id: str) -> list[Connection]:
        return [c for c in self.connections.values() if c.joined and c.hearing_id == hearing_id]

    def connection_of(self, hearing_id: str, participant_id: str) -> Connection | None:
        for conn in self.joined_connections(hearing_id):
            if conn.participant_id == participant_id:
                return conn
        return None

    async def broadcast(self, subject: Presence, hearing_id: str) -> None:
        """Tell every connection of the hearing what it may see of ``subject``'s change."""
        hearing = self.presence(hearing_id)
        for conn in self.joined_connections(hearing_id):
            if conn.participant_id == subject.id:
                await self.emit("self_updated", subject.view(None), to=conn.sid)
                await self._resync(conn, subject, hearing)
                continue
            viewer = hearing.get(conn.participant_id)
            if viewer is None:
                continue
            if viewer.sees(subject) and subject.id in hearing.participants:
                event = "participant_updated" if subject.id in conn.known else "participant_joined"
                conn.known.add(subject.id)
                await self.emit(event, subject.view(viewer), to=conn.sid)
            elif subject.id in conn.known:
                conn.known.discard(subject.id)
                await self.emit("participant_left", {"id": subject.id}, to=conn.sid)

    async def _resync(self, conn: Connection, viewer: Presence, hearing: HearingPresence) -> None:
        """After ``viewer`` moved, tell them who they now see and who they no longer see."""
        visible = {p.id: p for p in hearing.participants.values() if viewer.sees(p)}
        for gone in conn.known - visible.keys():
            await self.emit("participant_left", {"id": gone}, to=conn.sid)
        for new in visible.keys() - conn.known:
            await self.emit("participant_joined", visible[new].view(viewer), to=conn.sid)
        conn.known = set(visible)

    async def notify(
        self,
        subject: Presence,
        hearing_id: str,
        code: str,
        *,
        by: Presence | None = None,
        kind: str | None = None,
    ) -> None:
        """Tell ``subject`` why something happened to them."""
        conn = self.connection_of(hearing_id, subject.id)
        if conn is None:
            return
        who = None if by is None else {"name": by.name, "role": str(by.role)}
        await self.emit("notice", {"code": code, "by": who, "kind": kind}, to=conn.sid)

    async def place_media(self, subject: Presence, hearing_id: str) -> None:
        """Move ``subject``'s media into the SFU space of their current place."""
        conn = self.connection_of(hearing_id, subject.id)
        if conn is None or conn.media is None:
            return
        target = self.ctx.sfu.room(hearing_id, subject.space())
        await conn.media.room.move_session(subject.id, target)

    async def _protocol_appended(self, hearing_id: str, entry: ProtocolEvent) -> None:
        await self.emit("protocol_event", entry.as_json(), room=court_room(hearing_id))

    async def _recording_alert(self, hearing_id: str, alert: dict[str, Any]) -> None:
        """The hearing's recording failed: the judge and secretary must know at once."""
        await self.emit("recording_alert", alert, room=court_room(hearing_id))

    # -- handlers -----------------------------------------------------------

    def _require_joined(self, conn: Connection) -> MediaSession:
        if not conn.joined or conn.media is None:
            raise SignalingError("not_joined", "join the hearing first")
        return conn.media

    async def _join(self, conn: Connection, _: JoinRequest) -> dict[str, Any]:
        if conn.joined:
            raise SignalingError("already_joined", "this connection has already joined")
        claims = conn.claims
        hearing = self.ctx.hearings.get(claims.hearing)
        if hearing is None:
            raise SignalingError("hearing_not_found", "this hearing does not exist here")
        if hearing.closed:
            raise SignalingError("hearing_closed", "the hearing is closed")
        await self._replace_older_connection(conn)
        here = self.presence(claims.hearing)
        me = here.get(claims.sub)
        rejoined = me is not None
        if me is None:
            seat = await self.ctx.hearings.seat(claims.hearing, claims.sub)
            # A detainee on a facility unit fills the seat the officer named.
            role = ProceduralRole(claims.role)
            filled = None
            if seat is None and role is ProceduralRole.DETAINEE:
                filled = await self.ctx.facilities.seat_filled_by(claims.hearing, claims.sub)
            # New to this node, not necessarily to the hearing (a failover, a restart).
            standing = standing_of(
                claims.sub,
                await self.ctx.protocol.events_of(claims.hearing, claims.sub, STANDING_EVENTS),
            )
            place = initial_place(role, hearing)
            if standing.place is not None and role not in ADMITTED_ON_JOIN:
                place = standing.place
            me = Presence(
                id=claims.sub,
                name=claims.name,
                role=role,
                grants=claims.grants,
                place=place,
                represents=seat.represents if seat else None,
                interprets_for=seat.interprets_for if seat else None,
                seat_id=filled,
                muted=dict(standing.mute_locked),
                mute_locked=dict(standing.mute_locked),
            )
            here.participants[me.id] = me
        me.connected = True
        me.reconnecting = False
        self.grace.cancel(claims.hearing, me.id)
        me.publishing = {"audio": False, "video": False}
        sid = conn.sid

        async def send_offer(payload: dict[str, Any]) -> None:
            await self.emit("subscribe_offer", payload, to=sid)

        room = self.ctx.sfu.room(claims.hearing, me.space())
        conn.media = await room.add_session(
            me.id,
            can_publish_audio=claims.grants.publish_audio,
            can_publish_video=claims.grants.publish_video,
            can_subscribe=claims.grants.subscribe,
            send_offer=send_offer,
        )
        for kind, locked in me.mute_locked.items():  # a lock holds across a rejoin
            if locked:
                conn.media.suppress(kind, True)
        conn.joined = True
        await self.enter_room(sid, hearing_room(claims.hearing))
        if me.is_court:
            await self.enter_room(sid, court_room(claims.hearing))
        others = [p for p in here.participants.values() if me.sees(p)]
        conn.known = {p.id for p in others}
        await self.broadcast(me, claims.hearing)
        log.info("joined", hearing=claims.hearing, participant=me.id, role=claims.role)
        await self.ctx.protocol.append(
            claims.hearing,
            EventKind.JOINED,
            actor=me.actor(),
            details={"place": str(me.place), **({"rejoined": True} if rejoined else {})},
        )
        result: dict[str, Any] = {
            "hearing": hearing.public(),
            "self": me.view(None),
            "participants": [p.view(me) for p in others],
            # TURN credentials are this participant's and die with their token (server/turn.py).
            "ice_servers": ice_servers_for(self.ctx.settings, me.id, not_after=claims.exp),
            "ice_transport_policy": self.ctx.settings.ice_transport_policy,
            "permissions": [str(a) for a in MATRIX if allowed(me.role, a)],
            "state_acts": state_acts_of(me.role),
            "consultations": [c.public() for c in here.consultations.values()]
            if me.is_court
            else [],
        }
        # The court's own channel and the calls for help (signaling/court_channel.py, help_desk.py).
        if allowed(me.role, Action.COURT_CHAT):
            result["court_messages"] = here.court_channel.history()
        if allowed(me.role, Action.HANDLE_HELP):
            result["help_requests"] = here.help_desk.open_requests()
        mine = here.help_desk.open_request_of(me.id)
        result["help"] = None if mine is None else mine.public()
        result["speaker"] = self.speaker_watch.current(claims.hearing)
        if allowed(me.role, Action.SEE_PROTOCOL):
            events = await self.ctx.protocol.events(claims.hearing)
            result["protocol"] = [e.as_json() for e in events]
        return result

    async def _replace_older_connection(self, conn: Connection) -> None:
        """A participant who rejoins (new tab, network change) replaces their old connection."""
        for other in list(self.connections.values()):
            if (
                other.sid != conn.sid
                and other.joined
                and other.hearing_id == conn.hearing_id
                and other.participant_id == conn.participant_id
            ):
                await self._close_media(other)
                self.connections.pop(other.sid, None)
                await self.emit(
                    "error",
                    SignalingError("replaced", "you joined from another connection").payload(None),
                    to=other.sid,
                )
                await self.disconnect(other.sid)

    async def _leave(self, conn: Connection, _: LeaveRequest) -> dict[str, Any]:
        self._require_joined(conn)
        await self.depart(conn, reason="left")
        return {}

    async def _close_media(self, conn: Connection) -> None:
        """Close the connection's media and take it out of the hearing's rooms."""
        if not conn.joined:
            return
        conn.joined = False
        if conn.media is not None:
            room = conn.media.room  # the hearing, or a separate space they were moved to
            if room.sessions.get(conn.participant_id) is conn.media:
                await room.remove_session(conn.participant_id)
            await self.ctx.sfu.drop_room_if_empty(room.key)
        conn.media = None
        conn.known.clear()
        await self.leave_room(conn.sid, hearing_room(conn.hearing_id))
        await self.leave_room(conn.sid, court_room(conn.hearing_id))

    async def depart(self, conn: Connection, *, reason: str) -> None:
        """The participant left (``left``, ``removed``) or their connection dropped.

        Someone whose connection dropped stays on the court's list, shown as
        disconnected, and comes back into the same place; a consultation they
        were in ends, as it does when either member leaves.
        """
        if not conn.joined:
            return
        await self._close_media(conn)
        hearing_id, participant_id = conn.hearing_id, conn.participant_id
        here = self.presence(hearing_id)
        me = here.get(participant_id)
        if me is None:
            return
        if me.consultation is not None:
            await self.court.end_consultation(hearing_id, me.consultation, ended_by=me)
        if reason == "connection_lost":
            me.connected = False
            me.reconnecting = True  # until they are back or the grace period ends
            me.publishing = {"audio": False, "video": False}
            self.grace.start(hearing_id, participant_id)
        else:
            self.grace.cancel(hearing_id, participant_id)
            del here.participants[participant_id]
        await self.broadcast(me, hearing_id)
        log.info("left", hearing=hearing_id, participant=participant_id, reason=reason)
        await self.ctx.protocol.append(
            hearing_id, EventKind.LEFT, actor=me.actor(), details={"reason": reason}
        )

    async def send_away(self, hearing_id: str, participant_id: str, *, reason: str) -> bool:
        """Take a participant out of the hearing for good (``removed``, ``session_ended``).

        Their live connection, if any, departs and is closed; a disconnected one
        is dropped from the list. False if they were not in the hearing.
        """
        conn = self.connection_of(hearing_id, participant_id)
        if conn is not None:
            self.connections.pop(conn.sid, None)
            async with conn.lock:
                await self.depart(conn, reason=reason)
            await self.disconnect(conn.sid)
            return True
        here = self.presence(hearing_id)
        gone = here.participants.pop(participant_id, None)
        if gone is None:
            return False
        self.grace.cancel(hearing_id, participant_id)
        await self.broadcast(gone, hearing_id)
        return True

    async def _grace_over(self, hearing_id: str, participant_id: str) -> None:
        """A dropped participant did not come back in time: the court sees them disconnected."""
        me = self.presence(hearing_id).get(participant_id)
        if me is None or me.connected or not me.reconnecting:
            return
        me.reconnecting = False
        await self.broadcast(me, hearing_id)

    async def _facility_session_ended(self, hearing_id: str, participant_id: str) -> None:
        """The officer ended a detainee's session: the unit leaves the hearing at once."""
        if await self.send_away(hearing_id, participant_id, reason="session_ended"):
            log.info("facility_session_ended", hearing=hearing_id, participant=participant_id)

    async def _publish_offer(self, conn: Connection, offer: PublishOffer) -> dict[str, Any]:
        media = self._require_joined(conn)
        if not conn.claims.grants.can_publish:
            raise SignalingError("forbidden", "your role may not publish media in this hearing")
        answer = await media.handle_publish_offer(offer.sdp)
        me = self.me(conn)
        kinds = {t.kind for t in media.published.values()}
        me.publishing = {"audio": "audio" in kinds, "video": "video" in kinds}
        await self.broadcast(me, conn.hearing_id)
        return {"type": answer.type, "sdp": answer.sdp}

    async def _subscribe_answer(self, conn: Connection, answer: SubscribeAnswer) -> dict[str, Any]:
        media = self._require_joined(conn)
        await media.handle_subscribe_answer(answer.sdp, answer.revision)
        return {}

    async def _ice_candidate(self, conn: Connection, candidate: IceCandidate) -> dict[str, Any]:
        media = self._require_joined(conn)
        await media.add_ice_candidate(
            candidate.target, candidate.candidate, candidate.sdp_mid, candidate.sdp_mline_index
        )
        return {}

    async def _set_mute(self, conn: Connection, mute: SetMute) -> dict[str, Any]:
        me = self.me(conn)
        if not mute.muted and me.mute_locked[mute.kind]:
            raise SignalingError("mute_locked", "the court has muted you; wait for its leave")
        me.muted[mute.kind] = mute.muted
        await self.broadcast(me, conn.hearing_id)
        return {"participant": me.view(None)}

    async def close(self) -> None:
        """Disconnect everyone (graceful shutdown)."""
        for sid in list(self.connections):
            await self.disconnect(sid)
