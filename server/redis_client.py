"""How every part of a node talks to Redis (several nodes: docs/several-nodes.md).

``TYNDAU_REDIS_URL`` names one Redis (``redis://``, ``rediss://``, ``unix://``)
or a Sentinel-watched one: ``redis+sentinel://[:password@]host1:port1,host2:port2/db/service``
— the form python-socketio's manager reads too, parsed by the same function so
that both always reach the same master. With Sentinel, a lost master is found
again at the next connection: each command's one retry (below) asks the
sentinels where the master is now.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import urlparse

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from socketio.redis_manager import parse_redis_sentinel_url

# Bounded waits: a Redis that is away must cost a login or a revocation seconds at
# most, never hang it.
CONNECT_TIMEOUT_SECONDS = 2.0
COMMAND_TIMEOUT_SECONDS = 2.0
CLOSE_TIMEOUT_SECONDS = 2.0
SENTINEL_SCHEME = "redis+sentinel"


def redis_options(*, subscriber: bool = False) -> dict[str, Any]:
    """Keyword arguments for ``Redis.from_url`` (also handed to python-socketio's manager).

    Commands are sent once more, at once, on a fresh connection after a lost one: a
    pooled connection left from before a Redis restart (or a Sentinel failover)
    fails its first command, and a login must not fail for that (a Redis still away
    fails again at once; a timeout is not retried). A subscriber gets no retry:
    redis-py would reconnect and subscribe again unseen, and a subscriber must see
    a lost connection to know it may have missed messages.
    """
    retries = 0 if subscriber else 1
    return {
        "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "socket_timeout": COMMAND_TIMEOUT_SECONDS,
        "retry": Retry(NoBackoff(), retries, supported_errors=(RedisConnectionError,)),
    }


def sentinel_service(url: str) -> tuple[list[tuple[str, int]], str, dict[str, Any]]:
    """(sentinels, service name, connection options) of a ``redis+sentinel://`` URL.

    Raises ``ValueError`` for a malformed one, or one without its service name (the
    manager would otherwise fall back to its channel's name: another master).
    """
    try:
        sentinels, service, options = parse_redis_sentinel_url(url)
    except ValueError as exc:
        raise ValueError(f"redis+sentinel://host:port[,host:port...]/db/service: {exc}") from exc
    if not service:
        raise ValueError("a redis+sentinel:// URL names its service: .../db/service")
    return sentinels, service, options


def validate_url(url: str) -> str:
    """``url`` if it is one ``connect`` takes, else ``ValueError`` saying why."""
    scheme = urlparse(url).scheme
    if scheme == SENTINEL_SCHEME:
        sentinel_service(url)
    elif scheme not in ("redis", "rediss", "unix"):
        raise ValueError("redis://, rediss://, unix:// or redis+sentinel:// expected")
    return url


def connect(url: str, *, subscriber: bool = False) -> Redis:
    """A client for ``url``; it connects on first use. ``subscriber``: for pub/sub only."""
    options = redis_options(subscriber=subscriber)
    if urlparse(url).scheme != SENTINEL_SCHEME:
        return Redis.from_url(url, **options)
    sentinels, service, credentials = sentinel_service(url)
    timeouts = {key: options[key] for key in ("socket_connect_timeout", "socket_timeout")}
    # The sentinels' own password, if any, is not the master's: they get only timeouts.
    sentinel = Sentinel(sentinels, sentinel_kwargs=timeouts, **options, **credentials)
    return sentinel.master_for(service)


async def close_client(client: Redis) -> None:
    """Close ``client`` at shutdown, bounded: closing waits for each connection's socket
    to close, which never happens while a read is stuck on it (redis-py #3941)."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
            await client.aclose()
