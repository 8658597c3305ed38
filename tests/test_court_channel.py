"""The court's own text channel and the participants' calls for help, over signaling.

The judge and secretary write to each other and nobody else receives a word of
it, nor finds it in the protocol; every participant may call for help, the
court sees who and when, says it is on it and marks it handled, and the person
who asked sees each step. Both are validated, permitted by the one matrix and
rate-limited.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from support.running import RunningServer
from support.waiting import wait_until

from server.hearings import Hearing
from server.procedure.permissions import MATRIX, Action
from server.roles import ProceduralRole, grants_for
from signaling.client import HearingClient, SignalingRefused

pytestmark = pytest.mark.integration

HEARING = "chat-1"


class People:
    """Signaling-only participants (no media: these events need none)."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.clients: list[HearingClient] = []

    async def join(self, participant_id: str, role: str) -> HearingClient:
        token = self.server.token(
            participant_id,
            hearing=HEARING,
            role=role,
            grants=grants_for(ProceduralRole(role)),
        )
        client = HearingClient(self.server.url, token)
        await client.connect()
        client.join_reply = await client.join()  # type: ignore[attr-defined]
        self.clients.append(client)
        return client

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)


@pytest.fixture
async def people(tyndau: RunningServer) -> AsyncIterator[People]:
    await tyndau.ctx.hearings.save(
        Hearing(id=HEARING, case_number="7599-26-00-1/0100", title="Чат", is_open=True)
    )
    opened = People(tyndau)
    try:
        yield opened
    finally:
        await opened.close()


async def refused(client: HearingClient, event: str, payload: Any) -> str:
    with pytest.raises(SignalingRefused) as info:
        await client.call(event, payload)
    return info.value.code


async def test_judge_and_secretary_write_to_each_other_and_nobody_else_sees_it(
    people: People,
) -> None:
    judge = await people.join("judge", "judge")
    secretary = await people.join("secretary", "secretary")
    lawyer = await people.join("lawyer", "lawyer")
    observer = await people.join("observer", "observer")

    reply = await judge.call("court_message", {"text": "  Is the detainee's unit connected?  "})
    sent = reply["message"]
    assert sent["text"] == "Is the detainee's unit connected?"  # trimmed
    assert sent["from"] == {"id": "judge", "name": "Judge", "role": "judge"}
    await secretary.call("court_message", {"text": "Yes, room 3.\nThe officer is there."})
    await wait_until(lambda: len(secretary.court_messages) == 2, 10, "the secretary's copy")
    await wait_until(lambda: len(judge.court_messages) == 2, 10, "the judge's copy")
    assert [m["text"] for m in judge.court_messages] == [
        "Is the detainee's unit connected?",
        "Yes, room 3.\nThe officer is there.",
    ]
    assert judge.court_messages[1]["from"]["role"] == "secretary" and judge.court_messages[1]["at"]

    # The parties never receive it, cannot write to it, and it is not in the protocol.
    await asyncio.sleep(0.5)
    assert lawyer.court_messages == observer.court_messages == []
    assert await refused(lawyer, "court_message", {"text": "hello?"}) == "forbidden"
    assert await refused(observer, "court_message", {"text": "hello?"}) == "forbidden"
    events = await people.server.ctx.protocol.events(HEARING)
    assert not any("unit connected" in str(e.as_json()) for e in events)
    assert "court_messages" not in lawyer.join_reply  # type: ignore[attr-defined]

    # Kept for the hearing: a secretary who rejoins gets the history in the join ack.
    late = await people.join("secretary", "secretary")
    history = late.join_reply["court_messages"]  # type: ignore[attr-defined]
    assert [m["id"] for m in history] == [m["id"] for m in judge.court_messages]


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"text": ""},
        {"text": "   \n "},
        {"text": "x" * 1001},
        {"text": "bell\x07"},
        {"text": 5},
        {"text": "hi", "to": "lawyer"},
        [],
    ],
)
async def test_malformed_court_messages_are_refused(people: People, payload: Any) -> None:
    judge = await people.join("judge", "judge")
    assert await refused(judge, "court_message", payload) == "invalid_payload"
    assert judge.court_messages == []


async def test_court_messages_are_rate_limited(people: People) -> None:
    judge = await people.join("judge", "judge")
    codes = []
    for number in range(12):
        try:
            await judge.call("court_message", {"text": f"line {number}"})
            codes.append("ok")
        except SignalingRefused as exc:
            codes.append(exc.code)
    assert codes[:5] == ["ok"] * 5 and "rate_limited" in codes
    assert set(codes) == {"ok", "rate_limited"}
    await judge.call("set_state", {"act": "open"})  # the connection goes on


async def test_help_reaches_the_court_and_the_asker_sees_it_handled(people: People) -> None:
    judge = await people.join("judge", "judge")
    secretary = await people.join("secretary", "secretary")
    lawyer = await people.join("lawyer", "lawyer")
    prosecutor = await people.join("prosecutor", "prosecutor")

    asked = (await lawyer.call("help_request"))["help"]
    assert asked["state"] == "asked" and asked["participant"]["id"] == "lawyer"
    assert asked["asked_at"] and asked["by"] is None
    # Asking again while it is open is the same request, not a new alert.
    assert (await lawyer.call("help_request"))["help"]["id"] == asked["id"]
    for court in (judge, secretary):
        await wait_until(lambda c=court: len(c.help_updates) == 1, 10, "the court's alert")
        assert court.help_updates[0]["participant"] == {
            "id": "lawyer",
            "name": "Lawyer",
            "role": "lawyer",
        }
    assert prosecutor.help_updates == []
    await wait_until(lambda: len(lawyer.help_updates) == 1, 10, "the asker's copy")

    # A secretary who joins now sees the open request.
    late = await people.join("secretary", "secretary")
    assert [r["id"] for r in late.join_reply["help_requests"]] == [asked["id"]]  # type: ignore[attr-defined]

    on_it = await late.call("help_answer", {"request_id": asked["id"], "state": "handling"})
    assert on_it["help"]["state"] == "handling"
    assert on_it["help"]["by"] == {"name": "Secretary", "role": "secretary"}
    await wait_until(lambda: lawyer.help_updates[-1]["state"] == "handling", 10, "on it")
    await judge.call("help_answer", {"request_id": asked["id"], "state": "handled"})
    await wait_until(lambda: lawyer.help_updates[-1]["state"] == "handled", 10, "handled")
    await wait_until(lambda: judge.help_updates[-1]["state"] == "handled", 10, "court told")
    assert await refused(judge, "help_answer", {"request_id": asked["id"], "state": "handled"}) == (
        "help_not_found"
    )

    # The parties may not answer, the court may not ask; a new request after the last is handled.
    again = (await lawyer.call("help_request"))["help"]
    assert again["id"] != asked["id"]
    payload = {"request_id": again["id"], "state": "handled"}
    assert await refused(prosecutor, "help_answer", payload) == "forbidden"
    assert await refused(judge, "help_request", {}) == "forbidden"


async def test_help_requests_are_rate_limited_and_validated(people: People) -> None:
    judge = await people.join("judge", "judge")
    lawyer = await people.join("lawyer", "lawyer")
    codes = []
    for _ in range(5):
        try:
            request = (await lawyer.call("help_request"))["help"]
            await judge.call("help_answer", {"request_id": request["id"], "state": "handled"})
            codes.append("ok")
        except SignalingRefused as exc:
            codes.append(exc.code)
    assert codes[:3] == ["ok"] * 3 and codes[3:] == ["rate_limited"] * 2
    for payload in (
        {"request_id": "help-1", "state": "done"},
        {"request_id": "", "state": "handled"},
        {"state": "handled"},
        {"request_id": "x" * 65, "state": "handling"},
    ):
        assert await refused(judge, "help_answer", payload) == "invalid_payload"
    assert await refused(lawyer, "help_request", {"urgent": True}) == "invalid_payload"
    assert await refused(judge, "help_answer", {"request_id": "nope", "state": "handling"}) == (
        "help_not_found"
    )


def test_who_may_chat_and_ask_for_help() -> None:
    court = {ProceduralRole.JUDGE, ProceduralRole.SECRETARY}
    assert MATRIX[Action.COURT_CHAT] == court == MATRIX[Action.HANDLE_HELP]
    assert MATRIX[Action.ASK_HELP] == set(ProceduralRole) - court


async def test_a_second_session_sees_events_only_after_join(people: People) -> None:
    """Not joined: the new events are refused like every other."""
    token = people.server.token(
        "judge", hearing=HEARING, role="judge", grants=grants_for(ProceduralRole.JUDGE)
    )
    client = HearingClient(people.server.url, token)
    await client.connect()
    people.clients.append(client)
    for event, payload in (
        ("court_message", {"text": "hi"}),
        ("help_request", {}),
        ("help_answer", {"request_id": "help-1", "state": "handled"}),
        ("set_receive", {"video": False}),
    ):
        assert await refused(client, event, payload) == "not_joined"
