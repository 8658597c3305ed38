"""The hearing procedure through signaling, with real aiortc peers, on SQLite and PostgreSQL.

Waiting room, admission, witnesses called in one at a time, private
consultations that nobody in the hearing sees or hears, the judge's state
changes (recess takes the judge out of the room), mute locks, removal, and
a dropped participant coming back into the same place.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.media import color_close
from support.peers import join_and_publish, seen_color
from support.running import RunningServer, running_server
from support.waiting import wait_until
from test_signaling_edge import refusal_code

from server.hearings import Hearing, Seat
from server.procedure.permissions import MATRIX, STATE_ACTS, Action
from server.procedure.states import HearingState, StateAct
from server.roles import ProceduralRole, grants_for
from server.settings import Settings
from signaling.client import HearingClient, SignalingRefused

pytestmark = pytest.mark.integration

SANCTION = "sanction-1"
PUBLIC = "public-1"
JUDGE, PROSECUTOR, LAWYER, DETAINEE = (220, 40, 40), (40, 180, 60), (50, 70, 220), (240, 200, 30)


async def save_court_hearings(server: RunningServer) -> None:
    """A closed-door sanction session with a waiting room, and a public hearing."""
    await server.ctx.hearings.save(
        Hearing(
            id=SANCTION,
            case_number="7599-26-00-1/0042",
            title="Санкция",
            kind="sanction_session",
            is_open=False,
        )
    )
    await server.ctx.hearings.save(
        Hearing(id=PUBLIC, case_number="7599-26-00-1/0043", title="Ашық", is_open=True)
    )


@pytest.fixture
async def court(tyndau_db: RunningServer) -> RunningServer:
    await save_court_hearings(tyndau_db)
    return tyndau_db


class Room:
    """The clients a test opened; all closed at the end."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.clients: list[HearingClient] = []

    def token(self, participant_id: str, role: str, hearing: str = SANCTION) -> str:
        return self.server.token(
            participant_id,
            hearing=hearing,
            role=role,
            grants=grants_for(ProceduralRole(role)),
        )

    async def join(
        self,
        participant_id: str,
        role: str,
        *,
        rgb: tuple[int, int, int] | None = None,
        hearing: str = SANCTION,
    ) -> HearingClient:
        client = await join_and_publish(
            self.server.url, self.token(participant_id, role, hearing), rgb
        )
        self.clients.append(client)
        return client

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)


@pytest.fixture
async def room(court: RunningServer) -> AsyncIterator[Room]:
    opened = Room(court)
    try:
        yield opened
    finally:
        await opened.close()


def owners(client: HearingClient) -> set[str]:
    """Whose media reaches ``client`` now."""
    return {r.participant_id for r in client.active_tracks()}


def kinds(client: HearingClient) -> list[str]:
    return [entry["kind"] for entry in client.protocol]


async def refused(client: HearingClient, event: str, payload: dict[str, Any] | None = None) -> str:
    with pytest.raises(SignalingRefused) as info:
        await client.call(event, payload)
    return info.value.code


async def test_the_waiting_room_keeps_people_out_until_the_judge_admits_them(room: Room) -> None:
    judge = await room.join("judge", "judge", rgb=JUDGE)
    lawyer = await room.join("lawyer", "lawyer", rgb=LAWYER)
    prosecutor = await room.join("prosecutor", "prosecutor", rgb=PROSECUTOR)
    assert judge.me["place"] == "hearing"
    assert lawyer.me["place"] == "waiting" and prosecutor.me["place"] == "waiting"
    # The court sees the waiting room; the parties see nobody who waits.
    await wait_until(lambda: {"lawyer", "prosecutor"} <= set(judge.participants), 10, "the list")
    assert judge.participants["lawyer"]["place"] == "waiting"
    assert "lawyer" not in prosecutor.participants and "judge" not in lawyer.participants
    await asyncio.sleep(1)
    assert owners(judge) == owners(lawyer) == owners(prosecutor) == set()

    await judge.call("set_state", {"act": "open"})
    reply = await judge.call("admit", {"participant_id": "lawyer"})
    assert reply["participant"]["place"] == "hearing"
    await wait_until(
        lambda: owners(judge) == {"lawyer"} and owners(lawyer) == {"judge"}, 20, "admitted media"
    )
    video = next(r for r in judge.active_tracks() if r.kind == "video")
    assert color_close(await seen_color(video, LAWYER), LAWYER)
    assert lawyer.me["place"] == "hearing" and "admitted" in lawyer.notice_codes()
    assert lawyer.notices[-1]["by"] == {"name": "Judge", "role": "judge"}
    assert owners(prosecutor) == set() and "lawyer" not in prosecutor.participants

    assert (await judge.call("admit_all"))["admitted"] == ["prosecutor"]
    await wait_until(lambda: owners(prosecutor) == {"judge", "lawyer"}, 20, "everyone in")
    assert await refused(judge, "admit", {"participant_id": "prosecutor"}) == "not_waiting"

    await judge.call("dismiss", {"participant_id": "lawyer"})
    await wait_until(
        lambda: owners(judge) == {"prosecutor"} and owners(lawyer) == set(), 20, "lawyer out"
    )
    await wait_until(lambda: "lawyer" not in prosecutor.participants, 10, "prosecutor's list")
    assert lawyer.me["place"] == "waiting" and "dismissed" in lawyer.notice_codes()
    assert judge.participants["lawyer"]["place"] == "waiting"
    await wait_until(lambda: "dismissed" in kinds(judge), 10, "the live protocol")
    assert [k for k in kinds(judge) if k in {"admitted", "dismissed"}] == [
        "admitted",
        "admitted",
        "dismissed",
    ]


async def test_witnesses_are_called_in_one_at_a_time_and_sent_back(room: Room) -> None:
    secretary = await room.join("secretary", "secretary")
    first = await room.join("witness-1", "witness")
    second = await room.join("witness-2", "witness")
    expert = await room.join("expert", "expert")
    lawyer = await room.join("lawyer", "lawyer")
    await wait_until(lambda: len(secretary.participants) == 4, 10, "the waiting room")
    # The console is told who is only ever called in, so it offers "call in", not "admit".
    flags = {pid: p["called_in_only"] for pid, p in secretary.participants.items()}
    assert flags == {"witness-1": True, "witness-2": True, "expert": True, "lawyer": False}

    assert await refused(secretary, "admit", {"participant_id": "witness-1"}) == "called_in_only"
    assert (await secretary.call("admit_all"))["admitted"] == ["lawyer"]
    assert first.me["place"] == second.me["place"] == expert.me["place"] == "waiting"
    assert await refused(secretary, "call_in", {"participant_id": "lawyer"}) == (
        "not_called_in_role"
    )

    await secretary.call("call_in", {"participant_id": "witness-1"})
    await wait_until(lambda: first.me.get("place") == "hearing", 10, "the witness in")
    assert "called_in" in first.notice_codes()
    await wait_until(lambda: "witness-1" in lawyer.participants, 10, "the lawyer to see them")
    assert await refused(secretary, "call_in", {"participant_id": "witness-2"}) == (
        "witness_present"
    )
    assert await refused(secretary, "call_in", {"participant_id": "expert"}) == "witness_present"

    await secretary.call("dismiss", {"participant_id": "witness-1"})
    await secretary.call("call_in", {"participant_id": "witness-2"})
    await wait_until(
        lambda: first.me["place"] == "waiting" and second.me["place"] == "hearing", 10, "swap"
    )
    await wait_until(lambda: "witness-1" not in lawyer.participants, 10, "the first gone")


async def test_a_private_consultation_is_neither_seen_nor_heard_in_the_hearing(
    room: Room,
) -> None:
    judge = await room.join("judge", "judge", rgb=JUDGE)
    prosecutor = await room.join("prosecutor", "prosecutor", rgb=PROSECUTOR)
    lawyer = await room.join("lawyer", "lawyer", rgb=LAWYER)
    detainee = await room.join("detainee", "detainee", rgb=DETAINEE)
    await wait_until(lambda: len(judge.participants) == 3, 10, "everyone waiting")
    await judge.call("admit_all")
    everyone = {"judge", "prosecutor", "lawyer", "detainee"}
    clients = {"judge": judge, "prosecutor": prosecutor, "lawyer": lawyer, "detainee": detainee}
    await wait_until(
        lambda: all(owners(c) == everyone - {pid} for pid, c in clients.items()), 30, "all media"
    )
    assert lawyer.participants["detainee"]["can_consult"] is True
    assert lawyer.participants["prosecutor"]["can_consult"] is False

    started = await lawyer.call("start_consultation", {"participant_id": "detainee"})
    consultation = started["consultation"]
    assert sorted(consultation["members"]) == ["detainee", "lawyer"]
    await wait_until(
        lambda: (
            owners(judge) == {"prosecutor"}
            and owners(prosecutor) == {"judge"}
            and owners(lawyer) == {"detainee"}
            and owners(detainee) == {"lawyer"}
        ),
        20,
        "the consultation to be apart",
    )
    seen = next(r for r in lawyer.active_tracks() if r.kind == "video")
    assert color_close(await seen_color(seen, DETAINEE), DETAINEE)
    # The judge sees that it is going on; the prosecutor sees them stepped out.
    await wait_until(
        lambda: judge.participants["lawyer"]["place"] == "consultation", 10, "judge's view"
    )
    assert judge.participants["detainee"]["consultation"] == consultation["id"]
    assert "consultation_started" in detainee.notice_codes()
    assert await refused(prosecutor, "start_consultation", {"participant_id": "judge"}) == (
        "forbidden"
    )

    await judge.call("recall_consultation", {"consultation_id": consultation["id"]})
    await wait_until(
        lambda: all(owners(c) == everyone - {pid} for pid, c in clients.items()), 30, "back"
    )
    assert "consultation_recalled" in lawyer.notice_codes()
    assert lawyer.me["place"] == detainee.me["place"] == "hearing"
    assert await refused(judge, "recall_consultation", consultation_id(consultation)) == (
        "consultation_not_found"
    )

    # Either member ends it by leaving the consultation.
    await detainee.call("start_consultation", {"participant_id": "lawyer"})
    await wait_until(lambda: owners(judge) == {"prosecutor"}, 20, "apart again")
    await detainee.call("end_consultation")
    await wait_until(lambda: owners(judge) == everyone - {"judge"}, 20, "back again")
    assert "consultation_ended" in lawyer.notice_codes()
    assert await refused(lawyer, "end_consultation") == "not_in_consultation"
    await wait_until(lambda: kinds(judge).count("consultation_ended") == 2, 10, "protocol")
    ended = [e for e in judge.protocol if e["kind"] == "consultation_ended"]
    assert [e["details"]["recalled"] for e in ended] == [True, False]


def consultation_id(consultation: dict[str, Any]) -> dict[str, Any]:
    return {"consultation_id": consultation["id"]}


async def test_counsel_consults_only_the_party_they_act_for(room: Room) -> None:
    hearings = room.server.ctx.hearings
    for seat in (
        Seat("defendant", SANCTION, ProceduralRole.DEFENDANT, "D"),
        Seat("victim", SANCTION, ProceduralRole.VICTIM, "V"),
        Seat("lawyer", SANCTION, ProceduralRole.LAWYER, "L", represents="defendant"),
        Seat("interpreter", SANCTION, ProceduralRole.INTERPRETER, "I", interprets_for="defendant"),
    ):
        await hearings.add_seat(seat)
    judge = await room.join("judge", "judge")
    lawyer = await room.join("lawyer", "lawyer")
    defendant = await room.join("defendant", "defendant")
    victim = await room.join("victim", "victim")
    interpreter = await room.join("interpreter", "interpreter")
    await wait_until(lambda: len(judge.participants) == 4, 10, "the waiting room")
    assert await refused(lawyer, "start_consultation", {"participant_id": "defendant"}) == (
        "not_in_hearing"
    )
    await judge.call("admit_all")
    await wait_until(lambda: "victim" in lawyer.participants, 10, "the lawyer's list")
    assert lawyer.participants["victim"]["can_consult"] is False
    assert await refused(lawyer, "start_consultation", {"participant_id": "victim"}) == (
        "consultation_not_allowed"
    )
    assert await refused(victim, "start_consultation", {"participant_id": "lawyer"}) == (
        "consultation_not_allowed"
    )
    assert await refused(lawyer, "start_consultation", {"participant_id": "nobody"}) == (
        "participant_not_found"
    )
    started = await defendant.call("start_consultation", {"participant_id": "lawyer"})
    # The defendant's interpreter goes with them.
    assert sorted(started["consultation"]["members"]) == ["defendant", "interpreter", "lawyer"]
    await wait_until(lambda: interpreter.me["place"] == "consultation", 10, "interpreter along")


async def test_the_join_tells_each_role_which_state_acts_it_may_take(room: Room) -> None:
    judge = await room.join("judge", "judge")
    secretary = await room.join("secretary", "secretary")
    lawyer = await room.join("lawyer", "lawyer")
    acts = {}
    for client in (judge, secretary, lawyer):
        reply = await client.call("leave")
        assert reply == {"ok": True}
        again = await client.join()
        acts[client.me["role"]] = {a["act"]: set(a["from"]) for a in again["state_acts"]}
    assert acts["judge"] == {
        "open": {"scheduled"},
        "start": {"open"},
        "recess": {"in_session"},
        "resume": {"recess"},
        "close": {"scheduled", "open", "in_session", "recess"},
    }
    assert acts["secretary"] == {"open": {"scheduled"}}
    assert acts["lawyer"] == {}
    assert secretary.participants["judge"]["court"] is True
    assert secretary.participants["lawyer"]["court"] is False


async def test_the_judge_runs_the_hearing_through_its_states(room: Room) -> None:
    judge = await room.join("judge", "judge", rgb=JUDGE)
    secretary = await room.join("secretary", "secretary", rgb=PROSECUTOR)
    lawyer = await room.join("lawyer", "lawyer", rgb=LAWYER)
    assert judge.hearing["state"] == "scheduled"
    assert await refused(judge, "set_state", {"act": "resume"}) == "illegal_transition"
    await secretary.call("set_state", {"act": "open"})
    await wait_until(lambda: lawyer.hearing["state"] == "open", 10, "everyone told")
    assert await refused(secretary, "set_state", {"act": "start"}) == "forbidden"
    assert await refused(lawyer, "set_state", {"act": "recess"}) == "forbidden"
    await judge.call("admit", {"participant_id": "lawyer"})
    await judge.call("set_state", {"act": "start"})
    await wait_until(lambda: owners(lawyer) == {"judge", "secretary"}, 20, "in session")

    # Recess: the judge retires to deliberate, neither seen nor heard; the rest stay.
    await judge.call("set_state", {"act": "recess"})
    await wait_until(
        lambda: owners(lawyer) == {"secretary"} and owners(judge) == set(), 20, "deliberation"
    )
    assert judge.me["place"] == "deliberation" and lawyer.hearing["state"] == "recess"
    assert await refused(judge, "set_state", {"act": "recess"}) == "illegal_transition"
    await judge.call("set_state", {"act": "resume"})
    await wait_until(lambda: owners(lawyer) == {"judge", "secretary"}, 20, "resumed")

    await judge.call("set_state", {"act": "close"})
    await wait_until(lambda: not lawyer.sio.connected and not judge.sio.connected, 10, "cut off")
    assert lawyer.hearing["state"] == "closed" and "hearing_closed" in lawyer.notice_codes()
    protocol = await room.server.ctx.protocol.events(SANCTION)
    states = [
        e
        for e in protocol
        if e.kind in {"hearing_opened", "session_started", "recess", "resumed", "hearing_closed"}
    ]
    assert [str(e.kind) for e in states] == [
        "hearing_opened",
        "session_started",
        "recess",
        "resumed",
        "hearing_closed",
    ]
    opened, started, recess, resumed, closed = states
    assert opened.recording_offset is None and started.recording_offset == 0
    # The recording pauses in recess: resuming continues from where the recess began.
    assert 0 < recess.recording_offset == resumed.recording_offset <= closed.recording_offset
    hearing = room.server.ctx.hearings.get(SANCTION)
    assert hearing is not None and hearing.state is HearingState.CLOSED
    late = {"token": room.token("late", "lawyer")}
    assert await refusal_code(room.server.url, late) == "hearing_closed"


async def packets_from(client: HearingClient, participant_id: str, kind: str) -> int:
    """RTP packets ``client`` has received of ``participant_id``'s ``kind`` track."""
    assert client.subscribe_pc is not None
    mids = {
        r.mid
        for r in client.remote.values()
        if r.participant_id == participant_id and r.kind == kind and r.active
    }
    total = 0
    for transceiver in client.subscribe_pc.getTransceivers():
        if transceiver.mid in mids:
            stats = await transceiver.receiver.getStats()
            total += sum(s.packetsReceived for s in stats.values() if s.type == "inbound-rtp")
    return total


async def still_arriving(client: HearingClient, participant_id: str, kind: str) -> bool:
    before = await packets_from(client, participant_id, kind)
    await asyncio.sleep(1.0)
    return await packets_from(client, participant_id, kind) > before


async def test_a_locked_mute_cannot_be_lifted_by_the_participant(room: Room) -> None:
    judge = await room.join("judge", "judge")
    lawyer = await join_and_publish(room.server.url, room.token("lawyer", "lawyer"), LAWYER, 440)
    room.clients.append(lawyer)
    await wait_until(lambda: "lawyer" in judge.participants, 10, "the waiting room")
    await judge.call("admit", {"participant_id": "lawyer"})
    await lawyer.call("raise_hand", {"raised": True})
    await wait_until(lambda: judge.participants["lawyer"]["hand_raised"], 10, "the hand")

    await judge.call("mute", {"participant_id": "lawyer", "kind": "audio", "locked": True})
    await wait_until(lambda: "muted_by_court" in lawyer.notice_codes(), 10, "the notice")
    assert lawyer.notices[-1]["kind"] == "audio"
    assert lawyer.me["muted"]["audio"] and lawyer.me["mute_locked"]["audio"]
    assert await refused(lawyer, "set_mute", {"kind": "audio", "muted": False}) == "mute_locked"
    await lawyer.set_mute("video", True)  # other kinds stay the participant's own
    await lawyer.set_mute("video", False)
    # The lock is the server's: the lawyer's client still sends, nobody receives it.
    await asyncio.sleep(0.3)  # packets already on their way
    assert not await still_arriving(judge, "lawyer", "audio")
    assert await still_arriving(judge, "lawyer", "video")

    await judge.call("release_mute", {"participant_id": "lawyer", "kind": "audio"})
    await wait_until(lambda: "mute_released" in lawyer.notice_codes(), 10, "released")
    assert await still_arriving(judge, "lawyer", "audio")
    assert not lawyer.me["hand_raised"]  # given the floor
    await lawyer.set_mute("audio", False)
    await wait_until(lambda: not judge.participants["lawyer"]["muted"]["audio"], 10, "unmuted")
    await wait_until(lambda: "unmuted" in kinds(judge), 10, "the protocol")
    muted = next(e for e in judge.protocol if e["kind"] == "muted")
    assert muted["subject"]["id"] == "lawyer" and muted["details"] == {
        "kind": "audio",
        "locked": True,
    }


async def test_a_removed_participant_is_cut_off_and_cannot_return(room: Room) -> None:
    judge = await room.join("judge", "judge")
    secretary = await room.join("secretary", "secretary")
    lawyer = await room.join("lawyer", "lawyer")
    await wait_until(lambda: "lawyer" in judge.participants, 10, "the waiting room")
    assert await refused(secretary, "remove", {"participant_id": "lawyer"}) == "forbidden"
    assert await refused(judge, "remove", {"participant_id": "secretary"}) == "forbidden"
    await judge.call("remove", {"participant_id": "lawyer"})
    await wait_until(lambda: not lawyer.sio.connected, 10, "the lawyer cut off")
    assert "removed" in lawyer.notice_codes()
    await wait_until(lambda: "lawyer" not in secretary.participants, 10, "gone from the list")
    again = {"token": room.token("lawyer", "lawyer")}
    assert await refusal_code(room.server.url, again) == "token_revoked"
    await wait_until(lambda: "removed" in kinds(judge), 10, "the protocol")


async def test_a_dropped_participant_comes_back_into_the_same_place(room: Room) -> None:
    judge = await room.join("judge", "judge", rgb=JUDGE)
    lawyer = await room.join("lawyer", "lawyer", rgb=LAWYER)
    detainee = await room.join("detainee", "detainee", rgb=DETAINEE)
    await wait_until(lambda: len(judge.participants) == 2, 10, "the waiting room")
    await judge.call("admit", {"participant_id": "lawyer"})
    await judge.call("admit", {"participant_id": "detainee"})
    await lawyer.call("start_consultation", {"participant_id": "detainee"})
    await wait_until(lambda: judge.participants["lawyer"]["place"] == "consultation", 10, "out")

    await lawyer.close()  # the network drops: no leave
    await wait_until(lambda: not judge.participants["lawyer"]["connected"], 10, "disconnected")
    # A consultation ends when either member is gone.
    await wait_until(lambda: detainee.me["place"] == "hearing", 10, "the detainee back")
    assert "consultation_ended" in detainee.notice_codes()

    back = await room.join("lawyer", "lawyer", rgb=LAWYER)
    assert back.me["place"] == "hearing"  # not the waiting room again
    await wait_until(lambda: judge.participants["lawyer"]["connected"], 10, "connected again")
    await wait_until(lambda: owners(judge) == {"lawyer", "detainee"}, 20, "media again")
    await wait_until(lambda: "left" in kinds(judge), 10, "the protocol")
    left = next(e for e in judge.protocol if e["kind"] == "left")
    assert left["details"] == {"reason": "connection_lost"}
    rejoined = [e for e in judge.protocol if e["kind"] == "joined" and e["actor"]["id"] == "lawyer"]
    assert rejoined[-1]["details"] == {"place": "hearing", "rejoined": True}


async def test_a_restarted_node_keeps_who_was_admitted_and_what_the_court_locked(
    db_settings: Settings,
) -> None:
    """Presence lives in memory; the protocol in the database gives it back (the same
    happens on the node a hearing fails over to: tests/test_placement.py)."""
    async with running_server(db_settings) as first:
        await save_court_hearings(first)
        room = Room(first)
        try:
            judge = await room.join("judge", "judge")
            for participant in ("lawyer", "prosecutor", "detainee"):
                await room.join(participant, participant)
            await wait_until(lambda: len(judge.participants) == 3, 10, "the waiting room")
            await judge.call("admit", {"participant_id": "lawyer"})
            await judge.call("admit", {"participant_id": "detainee"})
            await judge.call("mute", {"participant_id": "lawyer", "kind": "audio", "locked": True})
            await room.clients[-1].leave()  # the detainee leaves on purpose
        finally:
            await room.close()  # then the node goes down: the others' connections drop

    async with running_server(db_settings) as second:  # the same database, nothing in memory
        room = Room(second)
        try:
            judge = await room.join("judge", "judge")
            token = room.token("lawyer", "lawyer")
            lawyer = await join_and_publish(second.url, token, LAWYER, 440)
            room.clients.append(lawyer)
            prosecutor = await room.join("prosecutor", "prosecutor")
            detainee = await room.join("detainee", "detainee")
            assert lawyer.me["place"] == "hearing"  # not the waiting room again
            assert lawyer.me["mute_locked"] == {"audio": True, "video": False}
            assert prosecutor.me["place"] == "waiting"  # never admitted
            assert detainee.me["place"] == "waiting"  # left: comes in as anyone new
            await wait_until(lambda: owners(judge) == {"lawyer"}, 20, "the lawyer's media")
            assert await still_arriving(judge, "lawyer", "video")
            assert not await still_arriving(judge, "lawyer", "audio")  # the lock holds
            assert await refused(lawyer, "set_mute", {"kind": "audio", "muted": False}) == (
                "mute_locked"
            )
        finally:
            await room.close()


async def test_observers_watch_only_public_hearings_and_never_speak(room: Room) -> None:
    closed_door = {"token": room.token("observer", "observer")}
    assert await refusal_code(room.server.url, closed_door) == "hearing_not_public"
    judge = await room.join("judge", "judge", rgb=JUDGE, hearing=PUBLIC)
    observer = await room.join("observer", "observer", hearing=PUBLIC)
    assert observer.me["place"] == "waiting"
    await judge.call("admit", {"participant_id": "observer"})
    await wait_until(lambda: owners(observer) == {"judge"}, 20, "the observer to watch")
    assert await refused(observer, "raise_hand", {"raised": True}) == "forbidden"
    assert await refused(observer, "publish_offer", {"type": "offer", "sdp": "v=0"}) == "forbidden"


COURT_ACTS: list[tuple[str, Action, dict[str, Any]]] = [
    ("admit", Action.ADMIT, {"participant_id": "target"}),
    ("dismiss", Action.DISMISS, {"participant_id": "target"}),
    ("call_in", Action.CALL_WITNESS, {"participant_id": "target"}),
    ("mute", Action.MUTE_OTHERS, {"participant_id": "target", "kind": "audio", "locked": True}),
    ("release_mute", Action.MUTE_OTHERS, {"participant_id": "target", "kind": "audio"}),
    ("recall_consultation", Action.RECALL_CONSULTATION, {"consultation_id": "consultation-0"}),
    ("raise_hand", Action.RAISE_HAND, {"raised": True}),
    ("remove", Action.REMOVE, {"participant_id": "nobody"}),
]


async def test_every_role_is_held_to_the_matrix_over_signaling(room: Room) -> None:
    """Each role tries each act: refused ``forbidden`` exactly where the matrix says so."""
    target = await room.join("target", "witness")
    for role in ProceduralRole:
        hearing = PUBLIC if role is ProceduralRole.OBSERVER else SANCTION
        client = await room.join(f"as-{role}", str(role), hearing=hearing)
        for event, action, payload in COURT_ACTS:
            try:
                await client.call(event, payload)
                outcome = "done"
            except SignalingRefused as exc:
                outcome = exc.code
            if role in MATRIX[action]:
                assert outcome != "forbidden", (role, event)
            else:
                assert outcome == "forbidden", (role, event, outcome)
        for act in (StateAct.START, StateAct.OPEN):
            try:
                await client.call("set_state", {"act": str(act)})
                outcome = "done"
            except SignalingRefused as exc:
                outcome = exc.code
            assert (outcome == "forbidden") == (role not in STATE_ACTS[act]), (role, act, outcome)
        await client.close()
    assert target.sio.connected


participant_ids = st.sampled_from(["lawyer", "judge", "nobody", ""]) | st.text(max_size=140)
procedure_payloads = st.one_of(
    st.fixed_dictionaries({"participant_id": participant_ids}),
    st.fixed_dictionaries(
        {
            "participant_id": participant_ids,
            "kind": st.sampled_from(["audio", "video", "smell"]),
            "locked": st.one_of(st.booleans(), st.integers(), st.none()),
        }
    ),
    st.fixed_dictionaries({"act": st.sampled_from(["open", "start", "recess", "resume", "x"])}),
    st.fixed_dictionaries({"raised": st.one_of(st.booleans(), st.text(max_size=3))}),
    st.fixed_dictionaries({"consultation_id": st.text(max_size=80)}),
    st.dictionaries(st.text(max_size=10), st.integers() | st.text(max_size=5), max_size=3),
    st.lists(st.integers(), max_size=3),
    st.none(),
)
fuzz_numbers = itertools.count()
procedure_events = st.sampled_from(
    [
        "set_state",
        "admit",
        "admit_all",
        "dismiss",
        "call_in",
        "mute",
        "release_mute",
        "remove",
        "raise_hand",
        "start_consultation",
        "end_consultation",
        "recall_consultation",
    ]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(event=procedure_events, payload=procedure_payloads)
async def test_malformed_procedure_events_get_codes_and_the_hearing_goes_on(
    court: RunningServer, event: str, payload: Any
) -> None:
    room = Room(court)
    number = next(fuzz_numbers)  # fresh people each time: an example may remove someone
    lawyer_id = f"lawyer-{number}"
    if isinstance(payload, dict) and payload.get("participant_id") == "lawyer":
        payload = {**payload, "participant_id": lawyer_id}
    try:
        judge = await room.join(f"judge-{number}", "judge")
        lawyer = await room.join(lawyer_id, "lawyer")
        for client in (judge, lawyer):
            if (
                client is lawyer
                and lawyer_id not in court.ctx.presence.hearing(SANCTION).participants
            ):
                continue  # the judge's example removed them
            reply = await client.sio.call(event, payload, namespace="/hearing", timeout=10)
            assert isinstance(reply, dict) and isinstance(reply.get("ok"), bool), reply
            if not reply["ok"]:
                assert reply["error"]["code"] != "internal_error", reply
        # The hearing goes on: the court can still act and the lawyer is still there.
        present = court.ctx.presence.hearing(SANCTION).participants
        if lawyer_id in present:
            if present[lawyer_id].place == "waiting":
                await judge.call("admit", {"participant_id": lawyer_id})
            await lawyer.call("raise_hand", {"raised": False})
        await judge.call("mute", {"participant_id": f"judge-{number}", "kind": "video"})
    finally:
        await room.close()
