"""The procedure's events: the court's controls, raised hands and private consultations.

Every act is checked against the one permission matrix, changes who is where
(:mod:`server.procedure.presence`), moves media between the hearing's SFU
spaces, tells the person concerned why, and goes into the protocol.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog

from server.procedure.permissions import (
    CALLED_IN_ONLY,
    Action,
    require,
    require_state_act,
)
from server.procedure.presence import Place, Presence, may_consult
from server.procedure.protocol import EventKind
from server.procedure.states import StateAct
from server.roles import ProceduralRole
from signaling.errors import SignalingError
from signaling.events import (
    AdmitAll,
    EndConsultation,
    MuteParticipant,
    RaiseHand,
    RecallConsultation,
    ReleaseMute,
    SetState,
    StartConsultation,
    TargetParticipant,
)

if TYPE_CHECKING:
    from signaling.namespace import Connection, Handler, HearingNamespace

log = structlog.get_logger(__name__)

STATE_EVENTS = {
    StateAct.OPEN: EventKind.HEARING_OPENED,
    StateAct.START: EventKind.SESSION_STARTED,
    StateAct.RECESS: EventKind.RECESS,
    StateAct.RESUME: EventKind.RESUMED,
    StateAct.CLOSE: EventKind.HEARING_CLOSED,
}

# Time for the last events of a closed hearing to reach the clients before they are cut off.
CLOSE_GRACE_SECONDS = 0.5


class CourtEvents:
    """Handlers of the procedure's events, registered on the ``/hearing`` namespace."""

    def __init__(self, namespace: HearingNamespace) -> None:
        self.ns = namespace
        self.ctx = namespace.ctx
        self._closing: set[asyncio.Task[None]] = set()

    def events(self) -> dict[str, tuple[type, Handler]]:
        return {
            "set_state": (SetState, self._set_state),
            "admit": (TargetParticipant, self._admit),
            "admit_all": (AdmitAll, self._admit_all),
            "dismiss": (TargetParticipant, self._dismiss),
            "call_in": (TargetParticipant, self._call_in),
            "mute": (MuteParticipant, self._mute),
            "release_mute": (ReleaseMute, self._release_mute),
            "remove": (TargetParticipant, self._remove),
            "raise_hand": (RaiseHand, self._raise_hand),
            "start_consultation": (StartConsultation, self._start_consultation),
            "end_consultation": (EndConsultation, self._end_consultation),
            "recall_consultation": (RecallConsultation, self._recall_consultation),
        }

    # -- common steps ---------------------------------------------------------

    def _target(self, conn: Connection, participant_id: str) -> Presence:
        target = self.ns.presence(conn.hearing_id).get(participant_id)
        if target is None:
            raise SignalingError("participant_not_found", "no such participant in this hearing")
        return target

    async def _moved(self, subject: Presence, hearing_id: str) -> None:
        await self.ns.place_media(subject, hearing_id)
        await self.ns.broadcast(subject, hearing_id)

    async def _record(
        self,
        hearing_id: str,
        what: EventKind,
        actor: Presence | None,
        subject: Presence | None = None,
        at: datetime | None = None,
        **details: Any,
    ) -> None:
        await self.ctx.protocol.append(
            hearing_id,
            what,
            actor=actor.actor() if actor else None,
            subject_id=subject.id if subject else None,
            subject_name=subject.name if subject else None,
            details=details,
            at=at,
        )

    # -- the hearing's state --------------------------------------------------

    async def _set_state(self, conn: Connection, request: SetState) -> dict[str, Any]:
        me = self.ns.me(conn)
        act = StateAct(request.act)
        require_state_act(me.role, act)
        hearing_id = conn.hearing_id
        at = datetime.now(UTC)
        hearing = await self.ctx.hearings.change_state(hearing_id, act, at=at)
        await self._record(hearing_id, STATE_EVENTS[act], me, at=at)
        log.info("hearing_state_changed", hearing=hearing_id, state=str(hearing.state), by=me.id)
        by = {"name": me.name, "role": str(me.role)}
        await self.ns.emit(
            "hearing_state",
            {"hearing": hearing.public(), "by": by},
            room=f"hearing:{hearing_id}",
        )
        here = self.ns.presence(hearing_id)
        judges = [p for p in here.participants.values() if p.role is ProceduralRole.JUDGE]
        if act is StateAct.RECESS:
            for judge in judges:  # retires to deliberate: neither seen nor heard meanwhile
                if judge.place is Place.HEARING:
                    judge.place = Place.DELIBERATION
                    await self._moved(judge, hearing_id)
        elif act is StateAct.RESUME:
            for judge in judges:
                if judge.place is Place.DELIBERATION:
                    judge.place = Place.HEARING
                    await self._moved(judge, hearing_id)
        elif act is StateAct.CLOSE:
            await self._close(hearing_id, me)
        return {"hearing": hearing.public()}

    async def _close(self, hearing_id: str, by: Presence) -> None:
        """End every consultation, tell everyone, then disconnect them all."""
        here = self.ns.presence(hearing_id)
        for consultation_id in list(here.consultations):
            await self.end_consultation(hearing_id, consultation_id, ended_by=by)
        for participant in list(here.participants.values()):
            await self.ns.notify(participant, hearing_id, "hearing_closed", by=by)

        async def disconnect_all() -> None:
            # Not inside the closing event: the judge's own connection is among them.
            await asyncio.sleep(CLOSE_GRACE_SECONDS)
            for conn in self.ns.joined_connections(hearing_id):
                self.ns.connections.pop(conn.sid, None)
                async with conn.lock:
                    await self.ns.depart(conn, reason="hearing_closed")
                await self.ns.disconnect(conn.sid)
            self.ctx.presence.drop(hearing_id)

        task = asyncio.create_task(disconnect_all())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    # -- the waiting room -----------------------------------------------------

    async def _admit(self, conn: Connection, request: TargetParticipant) -> dict[str, Any]:
        me = self.ns.me(conn)
        require(me.role, Action.ADMIT)
        target = self._target(conn, request.participant_id)
        if target.role in CALLED_IN_ONLY:
            raise SignalingError("called_in_only", "witnesses and experts are called in: call_in")
        if target.place is not Place.WAITING:
            raise SignalingError("not_waiting", "this participant is not in the waiting room")
        await self._let_in(conn.hearing_id, target, me)
        return {"participant": target.view(me)}

    async def _admit_all(self, conn: Connection, _: AdmitAll) -> dict[str, Any]:
        me = self.ns.me(conn)
        require(me.role, Action.ADMIT)
        waiting = [
            p
            for p in self.ns.presence(conn.hearing_id).participants.values()
            if p.place is Place.WAITING and p.connected and p.role not in CALLED_IN_ONLY
        ]
        for target in waiting:
            await self._let_in(conn.hearing_id, target, me)
        return {"admitted": [p.id for p in waiting]}

    async def _let_in(self, hearing_id: str, target: Presence, by: Presence) -> None:
        target.place = Place.HEARING
        await self._moved(target, hearing_id)
        await self.ns.notify(target, hearing_id, "admitted", by=by)
        await self._record(hearing_id, EventKind.ADMITTED, by, target)

    async def _dismiss(self, conn: Connection, request: TargetParticipant) -> dict[str, Any]:
        me = self.ns.me(conn)
        require(me.role, Action.DISMISS)
        target = self._target(conn, request.participant_id)
        if target.is_court:
            raise SignalingError("forbidden", "the court is not sent to the waiting room")
        if target.place is not Place.HEARING:
            raise SignalingError("not_admitted", "this participant is not in the hearing")
        target.place = Place.WAITING
        target.hand_raised = False
        await self._moved(target, conn.hearing_id)
        await self.ns.notify(target, conn.hearing_id, "dismissed", by=me)
        await self._record(conn.hearing_id, EventKind.DISMISSED, me, target)
        return {"participant": target.view(me)}

    async def _call_in(self, conn: Connection, request: TargetParticipant) -> dict[str, Any]:
        me = self.ns.me(conn)
        require(me.role, Action.CALL_WITNESS)
        target = self._target(conn, request.participant_id)
        if target.role not in CALLED_IN_ONLY:
            raise SignalingError("not_called_in_role", "only witnesses and experts are called in")
        if target.place is not Place.WAITING:
            raise SignalingError("not_waiting", "this participant is not in the waiting room")
        present = self.ns.presence(conn.hearing_id).called_in()
        if present:
            raise SignalingError(
                "witness_present", f"{present[0].name} is still in the hearing; send them back"
            )
        target.place = Place.HEARING
        await self._moved(target, conn.hearing_id)
        await self.ns.notify(target, conn.hearing_id, "called_in", by=me)
        await self._record(conn.hearing_id, EventKind.WITNESS_CALLED, me, target)
        return {"participant": target.view(me)}

    # -- the floor ------------------------------------------------------------

    async def _mute(self, conn: Connection, request: MuteParticipant) -> dict[str, Any]:
        me = self.ns.me(conn)
        require(me.role, Action.MUTE_OTHERS)
        target = self._target(conn, request.participant_id)
        target.muted[request.kind] = True
        target.mute_locked[request.kind] = request.locked
        self._enforce_lock(conn.hearing_id, target, request.kind)
        await self.ns.broadcast(target, conn.hearing_id)
        await self.ns.notify(target, conn.hearing_id, "muted_by_court", by=me, kind=request.kind)
        await self._record(
            conn.hearing_id,
            EventKind.MUTED,
            me,
            target,
            kind=request.kind,
            locked=request.locked,
        )
        return {"participant": target.view(me)}

    async def _release_mute(self, conn: Connection, request: ReleaseMute) -> dict[str, Any]:
        me = self.ns.me(conn)
        require(me.role, Action.MUTE_OTHERS)
        target = self._target(conn, request.participant_id)
        target.mute_locked[request.kind] = False
        self._enforce_lock(conn.hearing_id, target, request.kind)
        if request.kind == "audio":
            target.hand_raised = False  # given the floor
        await self.ns.broadcast(target, conn.hearing_id)
        await self.ns.notify(target, conn.hearing_id, "mute_released", by=me, kind=request.kind)
        await self._record(conn.hearing_id, EventKind.UNMUTED, me, target, kind=request.kind)
        return {"participant": target.view(me)}

    def _enforce_lock(self, hearing_id: str, target: Presence, kind: str) -> None:
        """The server itself stops forwarding a locked kind: no client can unmute past it."""
        target_conn = self.ns.connection_of(hearing_id, target.id)
        if target_conn is not None and target_conn.media is not None:
            target_conn.media.suppress(kind, target.mute_locked[kind])

    async def _remove(self, conn: Connection, request: TargetParticipant) -> dict[str, Any]:
        me = self.ns.me(conn)
        require(me.role, Action.REMOVE)
        target = self._target(conn, request.participant_id)
        if target.id == me.id or target.is_court:
            raise SignalingError("forbidden", "the court is not removed from its own hearing")
        hearing_id = conn.hearing_id
        await self.ctx.revocations.revoke_participant(hearing_id, target.id)
        await self.ns.notify(target, hearing_id, "removed", by=me)
        await self._record(hearing_id, EventKind.REMOVED, me, target)
        await self.ns.send_away(hearing_id, target.id, reason="removed")
        log.info("participant_removed", hearing=hearing_id, participant=target.id, by=me.id)
        return {}

    async def _raise_hand(self, conn: Connection, request: RaiseHand) -> dict[str, Any]:
        me = self.ns.me(conn)
        require(me.role, Action.RAISE_HAND)
        me.hand_raised = request.raised
        await self.ns.broadcast(me, conn.hearing_id)
        return {"participant": me.view(None)}

    # -- private consultations -------------------------------------------------

    async def _start_consultation(
        self, conn: Connection, request: StartConsultation
    ) -> dict[str, Any]:
        me = self.ns.me(conn)
        require(me.role, Action.JOIN_CONSULTATION)
        other = self._target(conn, request.participant_id)
        if not may_consult(me, other):
            raise SignalingError(
                "consultation_not_allowed", "a consultation is between counsel and their client"
            )
        if any(p.place is not Place.HEARING or not p.connected for p in (me, other)):
            raise SignalingError("not_in_hearing", "both must be in the hearing to step out")
        here = self.ns.presence(conn.hearing_id)
        party = other if me.role in (ProceduralRole.LAWYER, ProceduralRole.REPRESENTATIVE) else me
        members = [me, other]
        interpreter = here.interpreter_for(party)
        if interpreter is not None:
            members.append(interpreter)
        consultation = here.open_consultation(members)
        for member in members:
            await self._moved(member, conn.hearing_id)
            await self.ns.notify(member, conn.hearing_id, "consultation_started", by=me)
        await self._record(
            conn.hearing_id,
            EventKind.CONSULTATION_STARTED,
            me,
            other,
            consultation=consultation.id,
            members=consultation.members,
        )
        return {"consultation": consultation.public()}

    async def _end_consultation(self, conn: Connection, _: EndConsultation) -> dict[str, Any]:
        me = self.ns.me(conn)
        if me.consultation is None:
            raise SignalingError("not_in_consultation", "you are not in a consultation")
        await self.end_consultation(conn.hearing_id, me.consultation, ended_by=me)
        return {}

    async def _recall_consultation(
        self, conn: Connection, request: RecallConsultation
    ) -> dict[str, Any]:
        me = self.ns.me(conn)
        require(me.role, Action.RECALL_CONSULTATION)
        if request.consultation_id not in self.ns.presence(conn.hearing_id).consultations:
            raise SignalingError("consultation_not_found", "no such consultation is going on")
        await self.end_consultation(conn.hearing_id, request.consultation_id, ended_by=me)
        return {}

    async def end_consultation(
        self, hearing_id: str, consultation_id: str, *, ended_by: Presence
    ) -> None:
        """Bring a consultation's members back into the hearing (either left, or recalled)."""
        closed = self.ns.presence(hearing_id).close_consultation(consultation_id)
        if closed is None:
            return
        consultation, members = closed
        code = (
            "consultation_ended" if ended_by.id in consultation.members else "consultation_recalled"
        )
        for member in members:
            await self._moved(member, hearing_id)
            if member.id != ended_by.id:
                await self.ns.notify(member, hearing_id, code, by=ended_by)
        await self._record(
            hearing_id,
            EventKind.CONSULTATION_ENDED,
            ended_by,
            None,
            consultation=consultation.id,
            recalled=code == "consultation_recalled",
        )
