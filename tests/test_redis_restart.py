"""Redis dies mid-hearing and comes back: the hearing goes on, the nodes catch up.

Two real nodes share PostgreSQL and a real ``redis-server`` (the ``nodes``
fixture of test_several_nodes.py). A judge and a lawyer, real aiortc peers, are
in a hearing on node A. Redis is stopped, then started again on the same port,
empty — what a node sees when Redis is restarted. Meanwhile media keeps
flowing (packets received keep going up), the hearing's own signaling works
(a mute, a recess), and a login is refused with the retryable
``too_many_challenges`` (never accepted unchecked). Once Redis is back, both
nodes' revocation and hearing feeds subscribe again and catch up, a revocation
on either node holds on the other within a second, and a court-room event
crosses nodes again; both nodes are in the node registry again and the
hearing's placement is back, on the node that serves it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from redis.asyncio import Redis
from support.media import color_close
from support.peers import join_and_publish, seen_color
from support.redis import RedisServer
from support.running import HEARING_A, RunningServer
from support.waiting import wait_until
from test_several_nodes import Nodes, nodes  # noqa: F401 (the two-node fixture)

from server.app import SIGNALING
from server.auth.challenges import ChallengeError
from server.context import ServerContext
from server.hearing_feed import HearingFeed
from server.nodes import node_key
from server.placement import placement_key
from server.procedure.protocol import EventKind
from server.procedure.states import HearingState
from server.redis_feed import RedisFeed
from server.roles import ProceduralRole, grants_for
from signaling.client import HearingClient
from signaling.redis_manager import NodeRedisManager

pytestmark = pytest.mark.integration

JUDGE, LAWYER = (220, 40, 40), (50, 70, 220)
DEADLINE_SECONDS = 1.0  # the issue's "within a second", once Redis is back
OUTAGE_NOTICED_SECONDS = 30.0  # a node learns of it on its next read of the subscription
PACKETS = 100  # ~2 s of one video and one audio stream


class Hearing:
    """The judge and the lawyer, on the hearing's node (``home``), closed at the end."""

    def __init__(
        self, judge: HearingClient, lawyer: HearingClient, home: RunningServer, other: RunningServer
    ) -> None:
        self.judge = judge
        self.lawyer = lawyer
        self.home = home
        self.other = other


@pytest.fixture
async def hearing(nodes: Nodes) -> AsyncIterator[Hearing]:  # noqa: F811
    clients: list[HearingClient] = []
    try:
        for participant, role, colour in (("judge", "judge", JUDGE), ("lawyer", "lawyer", LAWYER)):
            token = nodes.a.token(participant, role=role, grants=grants_for(ProceduralRole(role)))
            clients.append(await join_and_publish(nodes.a.url, token, colour, tone=440.0))
        judge, lawyer = clients
        for viewer, seen, colour in ((judge, "lawyer", LAWYER), (lawyer, "judge", JUDGE)):
            await wait_until(
                lambda v=viewer, p=seen: _video(v, p) is not None,  # type: ignore[misc]
                20,
                f"{seen}'s video",
            )
            shown = await seen_color(_video(viewer, seen), colour)  # type: ignore[arg-type]
            assert color_close(shown, colour), (seen, shown)
        # Entered through A; with placement the hearing may be served by B (a redirect).
        home, other = (
            (nodes.a, nodes.b)
            if nodes.a.app[SIGNALING].connection_of(HEARING_A, "judge")
            else (nodes.b, nodes.a)
        )
        assert home.app[SIGNALING].connection_of(HEARING_A, "lawyer") is not None
        yield Hearing(judge, lawyer, home, other)
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)


def _video(client: HearingClient, participant_id: str):  # type: ignore[no-untyped-def]
    for remote in client.active_tracks():
        if remote.participant_id == participant_id and remote.kind == "video":
            return remote
    return None


async def _packets(client: HearingClient) -> int:
    """RTP packets this participant's receiving connection has taken in so far."""
    assert client.subscribe_pc is not None
    stats = await client.subscribe_pc.getStats()
    return sum(s.packetsReceived for s in stats.values() if s.type == "inbound-rtp")


async def _packets_rise(client: HearingClient, by: int, what: str) -> None:
    start = await _packets(client)
    deadline = time.monotonic() + 15
    while await _packets(client) < start + by:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} to receive {by} packets")
        await asyncio.sleep(0.1)


def _feeds(ctx: ServerContext) -> list[RedisFeed]:
    assert ctx.revocation_feed is not None and ctx.hearing_feed is not None
    return [ctx.revocation_feed, ctx.hearing_feed]


def _manager(node: RunningServer) -> NodeRedisManager:
    manager = node.app[SIGNALING].server.manager
    assert isinstance(manager, NodeRedisManager)
    return manager


def _hearing_feed(ctx: ServerContext) -> HearingFeed:
    assert ctx.hearing_feed is not None
    return ctx.hearing_feed


async def _placement_restored(redis_server: RedisServer, hearing: Hearing) -> None:
    redis = Redis.from_url(redis_server.url())
    home, other = hearing.home.ctx.settings.node_id, hearing.other.ctx.settings.node_id
    try:
        deadline = time.monotonic() + 30
        while True:
            alive = [await redis.exists(node_key(node)) for node in (home, other)]
            placed = await redis.get(placement_key(HEARING_A))
            if all(alive) and placed is not None and placed.decode() == home:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"after the restart: nodes {alive}, placement {placed!r}")
            await asyncio.sleep(0.1)
    finally:
        await redis.aclose()


async def _challenge(url: str) -> tuple[int, str | None]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/api/auth/challenge") as response,
    ):
        body = await response.json()
        return response.status, (body.get("error") or {}).get("code")


async def test_a_hearing_goes_on_while_redis_restarts_and_the_nodes_catch_up(
    nodes: Nodes,  # noqa: F811
    hearing: Hearing,
    redis_server: RedisServer,
) -> None:
    a, b = hearing.home.ctx, hearing.other.ctx  # the hearing is on a; b is the other node
    feeds = _feeds(a) + _feeds(b)
    for feed in feeds:
        await asyncio.wait_for(feed.subscribed.wait(), timeout=30)
    subscriptions = [feed.subscriptions for feed in feeds]
    managers = [_manager(hearing.home), _manager(hearing.other)]
    await wait_until(
        lambda: all(m.subscriptions > 0 for m in managers), 30, "the Socket.IO managers to listen"
    )
    listening = [manager.subscriptions for manager in managers]
    issued_before = await a.challenges.issue()

    redis_server.stop()
    try:
        await wait_until(
            lambda: not any(feed.subscribed.is_set() for feed in feeds),
            OUTAGE_NOTICED_SECONDS,
            "both nodes to notice Redis is gone",
        )
        # Media is forwarded node-locally: it never touched Redis.
        await _packets_rise(hearing.judge, PACKETS, "the judge, during the outage")
        await _packets_rise(hearing.lawyer, PACKETS, "the lawyer, during the outage")
        # The hearing's own signaling: events for this node's sockets go directly.
        await hearing.lawyer.set_mute("audio", True)
        await wait_until(
            lambda: (
                hearing.judge.participants.get("lawyer", {}).get("muted", {}).get("audio") is True
            ),
            10,
            "the judge to see the lawyer muted, during the outage",
        )
        await hearing.judge.call("set_state", {"act": "recess"})  # stored; the announcement waits
        await wait_until(
            lambda: (hearing.lawyer.hearing or {}).get("state") == "recess",
            10,
            "the lawyer to be told of the recess, during the outage",
        )
        assert a.hearings.get(HEARING_A).state is HearingState.RECESS  # type: ignore[union-attr]
        # Logins: refused with the retryable code, and a nonce never accepted unchecked.
        for node in (hearing.home, hearing.other):
            assert await _challenge(node.url) == (429, "too_many_challenges")
        with pytest.raises(ChallengeError) as refused:
            await b.challenges.consume(issued_before.nonce)
        assert refused.value.code == "too_many_challenges"
    finally:
        redis_server.start()  # the same port, empty; the session's later tests need it

    # Both nodes subscribe again; each feed re-reads the database before it counts.
    await wait_until(
        lambda: all(
            feed.subscriptions > count for feed, count in zip(feeds, subscriptions, strict=True)
        ),
        30,
        "every feed on both nodes to subscribe again",
    )
    assert b.hearings.get(HEARING_A).state is HearingState.RECESS  # type: ignore[union-attr]
    # Redis came back empty: both nodes are registered again, and the hearing's node
    # asserted its placement again (the hearing stayed where it was).
    await _placement_restored(redis_server, hearing)
    # The hearing feed works again: the resumption reaches B within a second.
    count = _hearing_feed(b).refreshed
    await hearing.judge.call("set_state", {"act": "resume"})
    await wait_until(
        lambda: _hearing_feed(b).refreshed > count, DEADLINE_SECONDS, "B to hear of the resume"
    )
    assert b.hearings.get(HEARING_A).state is HearingState.IN_SESSION  # type: ignore[union-attr]
    # Revocations made after the restart hold on both nodes within a second.
    for revoking, other, participant in ((a, b, "witness"), (b, a, "expert")):
        claims = other.verifier.verify(nodes.a.token(participant, role=participant))
        await revoking.revocations.revoke_participant(HEARING_A, participant)
        await wait_until(
            lambda: other.revocations.is_revoked(claims),  # noqa: B023
            DEADLINE_SECONDS,
            f"the other node to refuse the {participant} after the restart",
        )
    # Logins work again.
    for node in (hearing.home, hearing.other):
        assert (await _challenge(node.url))[0] == 200
    # A court-room event written on the other node reaches the judge again, once
    # both nodes' Socket.IO managers listen again.
    await wait_until(
        lambda: all(m.subscriptions > n for m, n in zip(managers, listening, strict=True)),
        30,
        "both Socket.IO managers to subscribe again",
    )
    entry = await b.protocol.append(
        HEARING_A, EventKind.QUALITY_ALERT, details={"note": "after the Redis restart"}
    )
    await wait_until(
        lambda: any(e["seq"] == entry.seq for e in hearing.judge.protocol),
        DEADLINE_SECONDS,
        "the other node's protocol event to reach the judge",
    )
    # And the media never stopped.
    await _packets_rise(hearing.lawyer, PACKETS, "the lawyer, after the restart")
