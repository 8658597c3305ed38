"""How every part of a node talks to Redis (several nodes: docs/several-nodes.md)."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

# Bounded waits: a Redis that is away must cost a login or a revocation seconds at
# most, never hang it.
CONNECT_TIMEOUT_SECONDS = 2.0
COMMAND_TIMEOUT_SECONDS = 2.0


def redis_options(*, subscriber: bool = False) -> dict[str, Any]:
    """Keyword arguments for ``Redis.from_url`` (also handed to python-socketio's manager).

    Commands are sent once more, at once, on a fresh connection after a lost one: a
    pooled connection left from before a Redis restart fails its first command, and
    a login must not fail for that (a Redis still away fails again at once; a
    timeout is not retried). A subscriber gets no retry: redis-py would reconnect and
    subscribe again unseen, and a subscriber must see a lost connection to know it
    may have missed messages.
    """
    retries = 0 if subscriber else 1
    return {
        "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "socket_timeout": COMMAND_TIMEOUT_SECONDS,
        "retry": Retry(NoBackoff(), retries, supported_errors=(RedisConnectionError,)),
    }


def connect(url: str, *, subscriber: bool = False) -> Redis:
    """A client for ``url``; it connects on first use. ``subscriber``: for pub/sub only."""
    return Redis.from_url(url, **redis_options(subscriber=subscriber))
