"""How every part of a node talks to Redis (several nodes: docs/several-nodes.md)."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

# Bounded waits: a Redis that is away must cost a login or a revocation seconds at
# most, never hang it. No hidden retries: the callers decide, and a subscriber must
# see a lost connection to know it may have missed messages.
CONNECT_TIMEOUT_SECONDS = 2.0
COMMAND_TIMEOUT_SECONDS = 2.0


def redis_options() -> dict[str, Any]:
    """Keyword arguments for ``Redis.from_url`` (also handed to python-socketio's manager)."""
    return {
        "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "socket_timeout": COMMAND_TIMEOUT_SECONDS,
        "retry": Retry(NoBackoff(), 0),
    }


def connect(url: str) -> Redis:
    """A client for ``url``; it connects on first use."""
    return Redis.from_url(url, **redis_options())
