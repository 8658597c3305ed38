"""Several nodes on a Redis watched by Sentinel: the master dies, the replica takes over.

Real processes: a master, its replica and three ``redis-server --sentinel``
(tests/support/redis.py, SentinelGroup); nodes are given the
``redis+sentinel://`` URL (server/redis_client.py). The master is SIGKILLed;
the sentinels promote the replica within seconds; what was in Redis is still
there (replicated), and the nodes carry on against the new master.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.exceptions import RedisError
from support.cluster import in_process_nodes
from support.peers import join_and_publish, seen_color
from support.redis import SentinelGroup, read_until_lost, start_redis
from support.running import HEARING_A, RunningServer
from support.waiting import wait_until
from test_signaling_edge import refusal_code

from server.placement import Placement
from server.redis_client import connect
from server.settings import Settings

pytestmark = pytest.mark.integration

HEARTBEAT_SECONDS = 0.25
DEAD_SECONDS = 1.0  # shorter than the failover: every node's heartbeat lapses meanwhile
RED = (220, 40, 40)


@pytest.fixture
def sentinels(tmp_path: Path) -> Iterator[SentinelGroup]:
    start_redis().stop()  # says what to install if redis-server is missing
    group = SentinelGroup(tmp_path / "sentinel")
    (tmp_path / "sentinel").mkdir()
    try:
        group.start()
        yield group
    finally:
        group.stop()


def test_a_sentinel_url_must_name_its_service() -> None:
    assert Settings(redis_url="redis+sentinel://127.0.0.1:1,127.0.0.1:2/0/tyndau").redis_url
    for wrong in ("redis+sentinel://127.0.0.1:26379/0", "redis+sentinel://nohost/0/x", "http://x"):
        with pytest.raises(ValueError, match="redis"):
            Settings(redis_url=wrong)


async def test_commands_reach_the_new_master_and_subscribers_see_the_loss(
    sentinels: SentinelGroup,
) -> None:
    client = connect(sentinels.url())
    subscriber = connect(sentinels.url(), subscriber=True)
    pubsub = subscriber.pubsub(ignore_subscribe_messages=True)
    try:
        await client.set("tyndau:test", "kept")
        await pubsub.subscribe("tyndau:test")
        await client.wait(1, 2000)  # on the replica too
        sentinels.master.kill()
        await asyncio.to_thread(sentinels.wait_for_failover)
        # The same client, its pooled connection to a dead master: one retry asks the
        # sentinels again and lands on the promoted replica.
        assert await client.get("tyndau:test") == b"kept"
        await client.set("tyndau:test", "after")
        with pytest.raises(RedisError):  # the subscriber learns it may have missed messages
            await read_until_lost(pubsub)
    finally:
        await pubsub.aclose()
        await subscriber.aclose()
        await client.aclose()


@pytest.fixture
async def two_nodes(
    tmp_path: Path, postgres_url: str, sentinels: SentinelGroup
) -> AsyncIterator[list[RunningServer]]:
    async with in_process_nodes(
        tmp_path,
        postgres_url,
        sentinels.url(),
        2,
        node_heartbeat_seconds=HEARTBEAT_SECONDS,
        node_dead_seconds=DEAD_SECONDS,
        recording_enabled=False,
    ) as nodes:
        yield nodes


def _placement(node: RunningServer) -> Placement:
    assert isinstance(node.ctx.placement, Placement)
    return node.ctx.placement


async def test_the_master_dies_mid_hearing_and_the_nodes_carry_on(
    two_nodes: list[RunningServer], sentinels: SentinelGroup
) -> None:
    entry, _ = two_nodes
    judge = await join_and_publish(entry.url, entry.token("judge", role="judge"), RED)
    lawyer = await join_and_publish(entry.url, entry.token("lawyer"), (50, 70, 220))
    try:
        owner = next(n for n in two_nodes if n.url == judge.url)
        other = next(n for n in two_nodes if n is not owner)
        assert lawyer.url == owner.url
        remote = next(r for r in lawyer.active_tracks() if r.participant_id == "judge")

        sentinels.master.kill()
        await asyncio.to_thread(sentinels.wait_for_failover)
        # Every heartbeat lapsed during the failover, and the registry kept their old
        # entries: neither node may take the other's hearing for that.
        settle = time.monotonic() + 4 * DEAD_SECONDS
        while time.monotonic() < settle:
            assert HEARING_A in _placement(owner).held, "the hearing was taken from its node"
            await asyncio.sleep(0.05)
        assert HEARING_A not in _placement(other).held
        assert judge.url == lawyer.url == owner.url and judge.rejoins == lawyer.rejoins == 0
        assert await seen_color(remote, RED)  # media never depended on Redis

        # Redis-backed work resumes on the new master: placement redirects, revocations
        # reach the other node.
        assert await refusal_code(other.url, {"token": other.token("expert")}) == "wrong_node"
        token = owner.token("witness", role="witness")
        claims = other.ctx.verifier.verify(token)
        await owner.ctx.revocations.revoke_participant(HEARING_A, "witness")
        await wait_until(
            lambda: other.ctx.revocations.is_revoked(claims), 30, "the revocation on the other"
        )
        assert await refusal_code(other.url, {"token": token}) == "token_revoked"
    finally:
        await asyncio.gather(judge.close(), lawyer.close(), return_exceptions=True)
