"""How a node's Redis clients behave across a Redis restart (server/redis_client.py).

Real ``redis-server``, restarted on the same port.
"""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from support.redis import RedisServer, read_until_lost

from server.redis_client import connect

pytestmark = pytest.mark.integration


async def test_a_command_after_a_redis_restart_succeeds_on_a_fresh_connection(
    redis_server: RedisServer,
) -> None:
    client = connect(redis_server.url())
    try:
        await client.set("tyndau:test", "before")
        # Its pooled connection now leads to a process that is gone.
        await asyncio.to_thread(redis_server.restart)
        assert await client.get("tyndau:test") is None  # empty, and no error
        await client.set("tyndau:test", "after")
        assert await client.get("tyndau:test") == b"after"
    finally:
        await client.aclose()


async def test_a_command_while_redis_is_away_fails_at_once(redis_server: RedisServer) -> None:
    client = connect(redis_server.url())
    try:
        await client.ping()
        await asyncio.to_thread(redis_server.stop)
        with pytest.raises(RedisConnectionError):
            async with asyncio.timeout(5):  # refused, twice: no waiting
                await client.ping()
    finally:
        await asyncio.to_thread(redis_server.start)
        await client.aclose()


async def test_a_subscriber_sees_the_lost_connection(redis_server: RedisServer) -> None:
    """It must: messages sent meanwhile are lost, and only the subscriber can catch up."""
    subscriber = connect(redis_server.url(), subscriber=True)
    pubsub = subscriber.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe("tyndau:test")
        assert await pubsub.get_message(timeout=0.1) is None
        await asyncio.to_thread(redis_server.restart)
        with pytest.raises(RedisError):
            await read_until_lost(pubsub)
    finally:
        await pubsub.aclose()
        await subscriber.aclose()
