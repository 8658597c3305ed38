"""Revocations shared by several nodes: Redis pub/sub for speed, the database for the record.

Every node checks its in-memory view (``RevocationList``) on every connect. The
node that revokes writes the database first, then publishes on ``CHANNEL``; every
node applies what it hears within milliseconds. A node cut off from Redis may
have missed messages, so each time it (re)subscribes it re-reads the database,
and again every minute (``server/redis_feed.py``).
"""

from __future__ import annotations

import json

import structlog

from server.auth.revocation import Revocation, RevocationList
from server.redis_feed import RESYNC_SECONDS, RedisFeed

log = structlog.get_logger(__name__)

CHANNEL = "tyndau:revocations"


class RevocationFeed(RedisFeed):
    """Publishes this node's revocations and applies everyone's."""

    channel = CHANNEL
    name = "revocation_feed"

    def __init__(
        self, revocations: RevocationList, redis_url: str, resync_seconds: float = RESYNC_SECONDS
    ) -> None:
        super().__init__(redis_url, resync_seconds)
        self._revocations = revocations
        revocations.listeners.append(self.publish)

    async def publish(self, revocation: Revocation) -> None:
        """Tell the other nodes; the revocation is in the database already, so never fail it."""
        await self.send(json.dumps(revocation.as_json()), kind=revocation.kind)

    async def catch_up(self) -> None:
        await self._revocations.load()

    async def receive(self, data: object) -> None:
        try:
            revocation = Revocation.from_json(json.loads(data))  # type: ignore[arg-type]
        except (TypeError, ValueError, KeyError) as exc:
            log.warning("revocation_message_malformed", error=str(exc))
            return
        self._revocations.apply(revocation)
