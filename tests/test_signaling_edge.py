"""The signaling edge: refused tokens and bad events get clear codes; others keep being served."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
import socketio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.peers import join_and_publish
from support.waiting import wait_until

from server.auth.keys import KeyRing, SigningKey
from server.auth.tokens import Grants, TokenIssuer
from signaling.client import HearingClient
from signaling.namespace import NAMESPACE

OBSERVER = Grants(subscribe=True)


async def refusal_code(url: str, auth: dict[str, Any] | None) -> str:
    """Connect with ``auth`` and return the refusal code the server gave."""
    client = socketio.AsyncClient(reconnection=False)
    refused: list[Any] = []
    client.on("connect_error", lambda data: refused.append(data), namespace=NAMESPACE)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            url, namespaces=[NAMESPACE], transports=["websocket"], auth=auth, wait_timeout=5
        )
    await client.disconnect()
    assert refused, "the server refused without saying why"
    data = refused[0]
    assert isinstance(data, dict), data
    assert "code" in data.get("data", {}), data
    return str(data["data"]["code"])


async def connected(tyndau, participant: str, **kwargs: Any) -> HearingClient:
    client = HearingClient(tyndau.url, tyndau.token(participant, **kwargs))
    await client.connect()
    return client


async def test_refused_connections_have_codes(tyndau) -> None:
    url = tyndau.url
    assert await refusal_code(url, None) == "auth_required"
    assert await refusal_code(url, {"token": ""}) == "auth_required"
    assert await refusal_code(url, {"token": "not-a-jwt"}) == "token_malformed"
    stranger = TokenIssuer(
        keys=KeyRing([SigningKey.generate()]), issuer="tyndau", audience="tyndau-hearing"
    )
    forged = stranger.issue(
        hearing="hearing-a", participant_id="x", name="X", role="judge", grants=Grants(admin=True)
    )
    assert await refusal_code(url, {"token": forged}) == "token_invalid"
    expired = tyndau.token("late", now=int(time.time()) - 7200, ttl_seconds=600)
    assert await refusal_code(url, {"token": expired}) == "token_expired"
    token_a = tyndau.token("lawyer")
    assert await refusal_code(url, {"token": token_a, "hearing": "hearing-b"}) == "hearing_mismatch"
    nowhere = tyndau.token("lawyer", hearing="no-such-hearing")
    assert await refusal_code(url, {"token": nowhere}) == "hearing_not_found"
    assert 'tyndau_connections_refused_total{code="token_expired"} 1.0' in await metrics_text(
        tyndau.url
    )


async def metrics_text(url: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as response:
        return await response.text()


async def test_revocation_is_checked_on_every_reconnect(tyndau) -> None:
    token = tyndau.token("witness", role="witness")
    client = HearingClient(tyndau.url, token)
    await client.connect()
    await client.join()
    await client.close()
    await tyndau.ctx.revocations.revoke_participant("hearing-a", "witness")
    assert await refusal_code(tyndau.url, {"token": token}) == "token_revoked"
    refreshed = tyndau.token("witness", role="witness")
    assert await refusal_code(tyndau.url, {"token": refreshed}) == "token_revoked"


async def expect_refused(client: HearingClient, event: str, payload: Any, code: str) -> None:
    before = len(client.errors)
    reply = await client.sio.call(event, payload, namespace=NAMESPACE, timeout=10)
    assert reply["ok"] is False, reply
    assert reply["error"]["code"] == code, reply
    await wait_until(lambda: len(client.errors) > before, 5, f"an error event for {event}")
    assert client.errors[-1]["code"] == code
    assert client.errors[-1]["event"] == event


async def test_bad_events_get_errors_and_the_hearing_goes_on(tyndau) -> None:
    judge = await join_and_publish(tyndau.url, tyndau.token("judge", role="judge"), (200, 30, 30))
    lawyer = await join_and_publish(tyndau.url, tyndau.token("lawyer"), (30, 30, 200))
    attacker = await connected(tyndau, "prosecutor", role="prosecutor")
    try:
        await expect_refused(
            attacker, "publish_offer", {"type": "offer", "sdp": "v=0"}, "not_joined"
        )
        await attacker.join()
        await expect_refused(attacker, "join", {}, "already_joined")
        await expect_refused(attacker, "no_such_event", {}, "unknown_event")
        await expect_refused(attacker, "publish_offer", "v=0", "invalid_payload")
        await expect_refused(attacker, "publish_offer", [1, 2], "invalid_payload")
        await expect_refused(
            attacker, "publish_offer", {"type": "answer", "sdp": "x"}, "invalid_payload"
        )
        await expect_refused(attacker, "publish_offer", {"type": "offer"}, "invalid_payload")
        await expect_refused(
            attacker, "publish_offer", {"type": "offer", "sdp": "x", "extra": 1}, "invalid_payload"
        )
        await expect_refused(
            attacker, "set_mute", {"kind": "screen", "muted": True}, "invalid_payload"
        )
        await expect_refused(
            attacker, "set_mute", {"kind": "audio", "muted": "yes"}, "invalid_payload"
        )
        await expect_refused(
            attacker,
            "ice_candidate",
            {"target": "publish", "candidate": "x" * 5000},
            "invalid_payload",
        )
        await expect_refused(
            attacker, "publish_offer", {"type": "offer", "sdp": "x" * 70_000}, "payload_too_large"
        )
        await expect_refused(
            attacker, "publish_offer", {"type": "offer", "sdp": "v=0\r\nnonsense"}, "sdp_rejected"
        )
        await expect_refused(
            attacker,
            "subscribe_answer",
            {"type": "answer", "sdp": "v=0", "revision": 99},
            "stale_answer",
        )
        await expect_refused(
            attacker,
            "ice_candidate",
            {"target": "publish", "candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host"},
            "not_negotiated",
        )
        observer = await connected(tyndau, "observer", role="observer", grants=OBSERVER)
        await observer.join()
        await expect_refused(
            observer, "publish_offer", {"type": "offer", "sdp": "v=0"}, "forbidden"
        )
        # The attacker's connection still works for valid events.
        reply = await attacker.set_mute("audio", True)
        assert reply["participant"]["muted"]["audio"] is True
        await observer.close()
        # Those who behaved were not disturbed: media still flows between them.
        before = tyndau.ctx.sfu.counters.packets_forwarded
        await wait_until(
            lambda: tyndau.ctx.sfu.counters.packets_forwarded > before + 50,
            10,
            "forwarding to go on",
        )
        assert {r.participant_id for r in judge.active_tracks()} == {"lawyer"}
        assert "prosecutor" in judge.participants
        assert judge.participants["prosecutor"]["muted"]["audio"] is True
    finally:
        await asyncio.gather(judge.close(), lawyer.close(), attacker.close())


async def test_flooding_is_rate_limited(tyndau) -> None:
    client = await connected(tyndau, "flooder")
    try:
        replies = await asyncio.gather(
            *(
                client.sio.call("set_mute", {"kind": "audio"}, namespace=NAMESPACE, timeout=20)
                for _ in range(200)
            )
        )
        codes = {r["error"]["code"] for r in replies if not r["ok"]}
        assert "rate_limited" in codes
    finally:
        await client.close()


async def test_hearings_are_isolated(tyndau) -> None:
    a1 = await join_and_publish(tyndau.url, tyndau.token("judge", role="judge"), (200, 30, 30), 440)
    a2 = await join_and_publish(tyndau.url, tyndau.token("lawyer"), (30, 200, 30), 660)
    b1 = await join_and_publish(
        tyndau.url, tyndau.token("judge", role="judge", hearing="hearing-b"), (30, 30, 200), 880
    )
    b2 = HearingClient(tyndau.url, tyndau.token("lawyer-b", hearing="hearing-b"))
    await b2.connect()
    joined = await b2.join()
    try:
        # The same participant id in two hearings are two different people.
        assert {p["id"] for p in joined["participants"]} == {"judge"}
        assert joined["hearing"]["id"] == "hearing-b"
        assert joined["hearing"]["case_number"] == "7599-23-00-1/5678"
        await wait_until(lambda: len(a1.active_tracks()) == 2, 15, "judge A to receive lawyer A")
        await wait_until(lambda: len(b2.active_tracks()) == 2, 15, "lawyer B to receive judge B")
        await asyncio.sleep(1)
        assert {r.participant_id for r in a1.active_tracks()} == {"lawyer"}
        assert {r.participant_id for r in a2.active_tracks()} == {"judge"}
        assert len(a2.active_tracks()) == 2
        assert b1.remote == {} or {r.participant_id for r in b1.remote.values()} <= {"lawyer-b"}
        assert set(a1.participants) == {"lawyer"}
        assert set(b1.participants) == {"lawyer-b"}
        for client in (a1, a2):
            for remote in client.remote.values():
                assert remote.participant_id in {"judge", "lawyer"}
        room_a = tyndau.ctx.sfu.room("hearing-a")
        room_b = tyndau.ctx.sfu.room("hearing-b")
        assert {t.owner_id for t in room_b.tracks.values()} == {"judge"}
        for track in room_a.tracks.values():
            assert set(track.downstreams) <= {"judge", "lawyer"}
        for track in room_b.tracks.values():
            assert set(track.downstreams) == {"lawyer-b"}
    finally:
        await asyncio.gather(a1.close(), a2.close(), b1.close(), b2.close())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
event_names = st.sampled_from(
    ["join", "leave", "publish_offer", "subscribe_answer", "ice_candidate", "set_mute"]
) | st.text(min_size=1, max_size=20)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(event=event_names, payload=json_values)
async def test_fuzzed_events_never_break_the_server(tyndau, event: str, payload: Any) -> None:
    if event in {"connect", "disconnect", "connect_error", "message"}:
        return  # reserved by Socket.IO itself
    client = HearingClient(tyndau.url, tyndau.token("fuzzer"))
    await client.connect()
    try:
        reply = await client.sio.call(event, payload, namespace=NAMESPACE, timeout=10)
        assert isinstance(reply, dict), reply
        assert isinstance(reply.get("ok"), bool), reply
        if not reply["ok"]:
            assert reply["error"]["code"] != "internal_error", reply
        # The server still answers a well-formed event on the same connection.
        after = await client.sio.call(
            "set_mute", {"kind": "audio", "muted": False}, namespace=NAMESPACE, timeout=10
        )
        assert after["ok"] or after["error"]["code"] in {"not_joined", "rate_limited"}, after
    finally:
        await client.close()
