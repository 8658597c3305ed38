"""The ``/hearing`` namespace: authentication on connect, then typed events.

Every event goes through :meth:`HearingNamespace.trigger_event`: rate limit,
size limit, schema validation, then the handler. A refusal is an ``error``
event plus a negative acknowledgement, never a crash or a silent drop. A
connection's events are handled one at a time, in the order they arrived.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import socketio
import structlog
from pydantic import BaseModel, ValidationError

from server.auth.tokens import HearingClaims, TokenError
from server.context import ServerContext
from server.errors import CodedError, invalid_payload
from server.hearings import Participant
from server.procedure.protocol import Actor, EventKind
from server.sfu.session import MediaSession
from signaling.errors import SignalingError
from signaling.events import (
    IceCandidate,
    JoinRequest,
    LeaveRequest,
    PublishOffer,
    SetMute,
    SubscribeAnswer,
)

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
    tokens: float = RATE_CAPACITY
    refilled_at: float = field(default_factory=time.monotonic)

    @property
    def hearing_id(self) -> str:
        return self.claims.hearing

    @property
    def participant_id(self) -> str:
        return self.claims.sub

    def take_token(self) -> bool:
        now = time.monotonic()
        self.tokens = min(RATE_CAPACITY, self.tokens + (now - self.refilled_at) * RATE_PER_SECOND)
        self.refilled_at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def hearing_room(hearing_id: str) -> str:
    return f"hearing:{hearing_id}"


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
        if self.ctx.hearings.get(claims.hearing) is None:
            self._refuse_connection("hearing_not_found", "this hearing does not exist here")
        self.connections[sid] = Connection(sid=sid, claims=claims)
        log.info("connected", sid=sid, hearing=claims.hearing, participant=claims.sub)
        return True

    def _refuse_connection(self, code: str, message: str) -> None:
        SignalingStats.bump(self.stats.refused_connections, code)
        log.info("connection_refused", code=code)
        raise socketio.exceptions.ConnectionRefusedError(
            message, {"code": code, "message": message}
        )

    async def _disconnect(self, sid: str) -> None:
        conn = self.connections.pop(sid, None)
        if conn is None:
            return
        async with conn.lock:
            await self._remove_participant(conn)
        log.info("disconnected", sid=sid, hearing=conn.hearing_id, participant=conn.participant_id)

    # -- handlers -----------------------------------------------------------

    def _require_joined(self, conn: Connection) -> MediaSession:
        if not conn.joined or conn.media is None:
            raise SignalingError("not_joined", "join the hearing first")
        return conn.media

    async def _join(self, conn: Connection, _: JoinRequest) -> dict[str, Any]:
        if conn.joined:
            raise SignalingError("already_joined", "this connection has already joined")
        claims = conn.claims
        roster = self.ctx.hearings.roster(claims.hearing)
        await self._replace_older_connection(conn)
        participant = Participant(
            id=claims.sub, name=claims.name, role=claims.role, grants=claims.grants
        )
        roster[participant.id] = participant
        sid = conn.sid

        async def send_offer(payload: dict[str, Any]) -> None:
            await self.emit("subscribe_offer", payload, to=sid)

        room = self.ctx.sfu.room(claims.hearing)
        conn.media = await room.add_session(
            participant.id,
            can_publish_audio=claims.grants.publish_audio,
            can_publish_video=claims.grants.publish_video,
            can_subscribe=claims.grants.subscribe,
            send_offer=send_offer,
        )
        conn.joined = True
        await self.enter_room(sid, hearing_room(claims.hearing))
        if not claims.grants.hidden:
            await self.emit(
                "participant_joined",
                participant.public(),
                room=hearing_room(claims.hearing),
                skip_sid=sid,
            )
        log.info("joined", hearing=claims.hearing, participant=participant.id, role=claims.role)
        await self.ctx.protocol.append(
            claims.hearing,
            EventKind.JOINED,
            actor=Actor(participant.id, participant.name, participant.role),
        )
        others = [
            p.public() for p in roster.values() if p.id != participant.id and not p.grants.hidden
        ]
        hearing = self.ctx.hearings.get(claims.hearing)
        assert hearing is not None  # checked at connect; hearings are not deleted while joined
        return {
            "hearing": hearing.public(),
            "self": participant.public(),
            "participants": others,
            "ice_servers": [s.model_dump(exclude_none=True) for s in self.ctx.settings.ice_servers],
        }

    async def _replace_older_connection(self, conn: Connection) -> None:
        """A participant who rejoins (new tab, network change) replaces their old connection."""
        for other in list(self.connections.values()):
            if (
                other.sid != conn.sid
                and other.joined
                and other.hearing_id == conn.hearing_id
                and other.participant_id == conn.participant_id
            ):
                await self._remove_participant(other, announce=False)
                self.connections.pop(other.sid, None)
                await self.emit(
                    "error",
                    SignalingError("replaced", "you joined from another connection").payload(None),
                    to=other.sid,
                )
                await self.disconnect(other.sid)

    async def _leave(self, conn: Connection, _: LeaveRequest) -> dict[str, Any]:
        self._require_joined(conn)
        await self._remove_participant(conn)
        return {}

    async def _remove_participant(self, conn: Connection, *, announce: bool = True) -> None:
        if not conn.joined:
            return
        conn.joined = False
        hearing_id, participant_id = conn.hearing_id, conn.participant_id
        if conn.media is not None:
            room = conn.media.room  # the hearing, or a separate space they were moved to
            if room.sessions.get(participant_id) is conn.media:
                await room.remove_session(participant_id)
            await self.ctx.sfu.drop_room_if_empty(room.key)
        conn.media = None
        roster = self.ctx.hearings.roster(hearing_id)
        roster.pop(participant_id, None)
        await self.leave_room(conn.sid, hearing_room(hearing_id))
        if announce and not conn.claims.grants.hidden:
            await self.emit(
                "participant_left", {"id": participant_id}, room=hearing_room(hearing_id)
            )
        log.info("left", hearing=hearing_id, participant=participant_id)
        await self.ctx.protocol.append(
            hearing_id,
            EventKind.LEFT,
            actor=Actor(participant_id, conn.claims.name, conn.claims.role),
        )

    async def _publish_offer(self, conn: Connection, offer: PublishOffer) -> dict[str, Any]:
        media = self._require_joined(conn)
        if not conn.claims.grants.can_publish:
            raise SignalingError("forbidden", "your role may not publish media in this hearing")
        answer = await media.handle_publish_offer(offer.sdp)
        participant = self.ctx.hearings.roster(conn.hearing_id).get(conn.participant_id)
        if participant is not None:
            kinds = {t.kind for t in media.published.values()}
            participant.publishing = {"audio": "audio" in kinds, "video": "video" in kinds}
            await self._announce_update(conn, participant)
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
        self._require_joined(conn)
        participant = self.ctx.hearings.roster(conn.hearing_id).get(conn.participant_id)
        if participant is None:
            raise SignalingError("not_joined", "join the hearing first")
        participant.muted[mute.kind] = mute.muted
        await self._announce_update(conn, participant)
        return {"participant": participant.public()}

    async def _announce_update(self, conn: Connection, participant: Participant) -> None:
        if not conn.claims.grants.hidden:
            await self.emit(
                "participant_updated",
                participant.public(),
                room=hearing_room(conn.hearing_id),
                skip_sid=conn.sid,
            )

    async def close(self) -> None:
        """Disconnect everyone (graceful shutdown)."""
        for sid in list(self.connections):
            await self.disconnect(sid)
