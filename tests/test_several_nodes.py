"""Several nodes act as one: two Tyndau nodes on loopback share PostgreSQL and Redis.

Both run in this test process on their own ports, with the same signing keys
(copied, as a deployment distributes them), the same database and the same
real ``redis-server``. What one node does must hold on the other: a revocation
within a second, a login challenge exactly once, a room event across nodes.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from support.cluster import in_process_nodes
from support.redis import RedisServer
from support.running import HEARING_A, RunningServer
from support.waiting import wait_until
from test_signaling_edge import refusal_code

from server.auth.challenges import ChallengeError, Challenges, ChallengeStore
from server.auth.redis_revocations import RevocationFeed
from server.context import ServerContext
from server.procedure.protocol import Actor, EventKind
from server.settings import Settings
from signaling.client import HearingClient

REVOCATION_DEADLINE_SECONDS = 1.0  # the issue's "refused on every node within a second"


@dataclass
class Nodes:
    a: RunningServer
    b: RunningServer


def _feed(node: RunningServer) -> RevocationFeed:
    feed = node.ctx.revocation_feed
    assert feed is not None, "TYNDAU_REDIS_URL is set: the node must follow revocations"
    return feed


async def _subscribed(node: RunningServer) -> None:
    await asyncio.wait_for(_feed(node).subscribed.wait(), timeout=30)


@pytest.fixture
async def nodes(tmp_path: Path, postgres_url: str, redis_url: str) -> AsyncIterator[Nodes]:
    async with in_process_nodes(tmp_path, postgres_url, redis_url, 2, recording_enabled=False) as (
        a,
        b,
    ):
        await _subscribed(a)
        await _subscribed(b)
        yield Nodes(a, b)


def test_without_redis_a_node_keeps_its_state_in_process(settings: Settings) -> None:
    ctx = ServerContext.build(settings)
    assert ctx.settings.redis_url is None
    assert ctx.revocation_feed is None
    assert isinstance(ctx.challenges, ChallengeStore)


async def _accepted(node: RunningServer, token: str) -> None:
    client = HearingClient(node.url, token)
    await client.connect()
    await client.close()


async def test_a_removed_participant_is_refused_on_the_other_node_within_a_second(
    nodes: Nodes,
) -> None:
    token = nodes.a.token("witness", role="witness")
    claims = nodes.b.ctx.verifier.verify(token)
    await _accepted(nodes.b, token)
    await nodes.a.ctx.revocations.revoke_participant(HEARING_A, "witness")
    await wait_until(
        lambda: nodes.b.ctx.revocations.is_revoked(claims),
        REVOCATION_DEADLINE_SECONDS,
        "node B to hear of node A's removal",
    )
    assert await refusal_code(nodes.b.url, {"token": token}) == "token_revoked"
    fresh = nodes.b.token("witness", role="witness")  # a new token does not bring them back
    assert await refusal_code(nodes.b.url, {"token": fresh}) == "token_revoked"


async def test_a_revoked_token_is_refused_on_the_other_node_within_a_second(nodes: Nodes) -> None:
    token = nodes.a.token("lawyer")
    claims = nodes.a.ctx.verifier.verify(token)
    await _accepted(nodes.b, token)
    await nodes.a.ctx.revocations.revoke_token(claims.jti, claims.exp)
    await wait_until(
        lambda: nodes.b.ctx.revocations.is_revoked(claims),
        REVOCATION_DEADLINE_SECONDS,
        "node B to hear of node A's token revocation",
    )
    assert await refusal_code(nodes.b.url, {"token": token}) == "token_revoked"
    await _accepted(nodes.b, nodes.a.token("lawyer"))  # only that token, not the person


async def _refusal(store: Challenges, nonce: bytes) -> str:
    with pytest.raises(ChallengeError) as info:
        await store.consume(nonce)
    return info.value.code


async def test_a_challenge_from_one_node_is_good_once_on_any(nodes: Nodes) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{nodes.a.url}/api/auth/challenge") as response,
    ):
        assert response.status == 200
        issued = await response.json()
    nonce = base64.b64decode(issued["nonce"])
    await nodes.b.ctx.challenges.consume(nonce)  # issued by A, used on B
    assert await _refusal(nodes.b.ctx.challenges, nonce) == "nonce_used"
    assert await _refusal(nodes.a.ctx.challenges, nonce) == "nonce_used"
    # Two nodes racing with the same signature: exactly one wins.
    raced = await nodes.a.ctx.challenges.issue()
    outcomes = await asyncio.gather(
        nodes.a.ctx.challenges.consume(raced.nonce),
        nodes.b.ctx.challenges.consume(raced.nonce),
        return_exceptions=True,
    )
    assert sum(outcome is None for outcome in outcomes) == 1, outcomes
    assert [o.code for o in outcomes if isinstance(o, ChallengeError)] == ["nonce_used"]


async def test_a_court_room_event_on_one_node_reaches_the_judge_on_the_other(
    nodes: Nodes,
) -> None:
    # The judge is on the node serving the hearing; a protocol entry written by the
    # other node (a facility officer's attestation over REST lands on any node) must
    # reach the court room there, once.
    judge = HearingClient(nodes.b.url, nodes.b.token("judge", role="judge"))
    try:
        await judge.connect()
        await judge.join()
        serving = nodes.a if judge.url.rstrip("/") == nodes.a.url.rstrip("/") else nodes.b
        other = nodes.b if serving is nodes.a else nodes.a
        assert not other.ctx.presence.hearing(HEARING_A).get("judge")

        def attested() -> list[dict[str, Any]]:
            return [e for e in judge.protocol if e["kind"] == str(EventKind.DETAINEE_ATTESTED)]

        await other.ctx.protocol.append(
            HEARING_A,
            EventKind.DETAINEE_ATTESTED,
            actor=Actor("officer-1", "Офицер", "facility_officer"),
            subject_id="detainee",
            subject_name="Қамаудағы",
            details={"facility": "СИЗО-1", "unit": "Бөлме 3"},
        )
        await wait_until(lambda: bool(attested()), 10, "the other node's protocol event")
        await asyncio.sleep(0.5)  # a duplicate (direct + through Redis) would be here by now
        assert len(attested()) == 1
    finally:
        await judge.close()


async def test_revocations_made_while_redis_was_away_hold_once_it_is_back(
    nodes: Nodes, redis_server: RedisServer
) -> None:
    token = nodes.a.token("expert", role="expert")
    claims = nodes.a.ctx.verifier.verify(token)
    before = [_feed(node).subscriptions for node in (nodes.a, nodes.b)]
    redis_server.stop()
    try:
        await nodes.a.ctx.revocations.revoke_participant(HEARING_A, "expert")  # B cannot hear
        assert nodes.a.ctx.revocations.is_revoked(claims)
    finally:
        redis_server.start()  # the same port, empty; the session's later tests need it
    # B's subscription comes back and re-reads the database, where the removal is.
    await wait_until(
        lambda: nodes.b.ctx.revocations.is_revoked(claims), 30, "node B to catch up after Redis"
    )
    assert await refusal_code(nodes.b.url, {"token": token}) == "token_revoked"
    # And the feed works again: a removal after the restart crosses at once.
    await wait_until(
        lambda: all(
            _feed(node).subscriptions > count
            for node, count in zip((nodes.a, nodes.b), before, strict=True)
        ),
        30,
        "both nodes to subscribe again",
    )
    other = nodes.b.ctx.verifier.verify(nodes.b.token("witness", role="witness"))
    await nodes.b.ctx.revocations.revoke_participant(HEARING_A, "witness")
    await wait_until(
        lambda: nodes.a.ctx.revocations.is_revoked(other),
        REVOCATION_DEADLINE_SECONDS,
        "node A to hear of B's removal",
    )
