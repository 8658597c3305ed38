"""Hearings shared by several nodes: who changed which hearing, told through Redis.

Every node keeps the hearings in memory (``HearingRegistry``) so the signaling
path never waits. A node that writes a hearing or its seats writes the database
first, then announces the hearing's id on ``CHANNEL``; every other node reads
that hearing back (``HearingRegistry.refresh``) without telling its state
listeners: the node where the act was taken told its own. A node that may have
missed announcements re-reads all hearings whenever it (re)subscribes and every
minute (``server/redis_feed.py``).

Announcing never holds up the write: the ids wait in a set that one task sends,
so a judge's state act does not wait on a Redis that is away; one that could not
be sent is covered by the other nodes' re-reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid

import structlog

from server.hearings import HearingRegistry
from server.redis_feed import RESYNC_SECONDS, RedisFeed

log = structlog.get_logger(__name__)

CHANNEL = "tyndau:hearings"


class HearingFeed(RedisFeed):
    """Announces this node's hearing writes and reads back everyone else's."""

    channel = CHANNEL
    name = "hearing_feed"

    def __init__(
        self, hearings: HearingRegistry, redis_url: str, resync_seconds: float = RESYNC_SECONDS
    ) -> None:
        super().__init__(redis_url, resync_seconds)
        self._hearings = hearings
        # Its own announcements come back: this node's memory is written through already.
        self._sender = uuid.uuid4().hex
        self._pending: dict[str, None] = {}  # hearing ids to announce, in order, once each
        self._wake = asyncio.Event()
        self._sending: asyncio.Task[None] | None = None
        self.refreshed = 0  # hearings read back on another node's word (tests watch it)
        hearings.change_listeners.append(self.publish)

    def start(self) -> None:
        super().start()
        self._sending = asyncio.create_task(self._send_pending(), name="hearing-feed-send")

    async def stop(self) -> None:
        if self._sending is not None:
            self._sending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sending
            self._sending = None
        await super().stop()

    async def publish(self, hearing_id: str) -> None:
        """Queue the announcement (the write is stored; this never waits on Redis)."""
        self._pending[hearing_id] = None
        self._wake.set()

    async def _send_pending(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                hearing_id = next(iter(self._pending))
                del self._pending[hearing_id]
                message = json.dumps({"hearing": hearing_id, "from": self._sender})
                await self.send(message, hearing=hearing_id)

    async def catch_up(self) -> None:
        await self._hearings.resync()

    async def receive(self, data: object) -> None:
        try:
            message = json.loads(data)  # type: ignore[arg-type]
            hearing_id, sender = str(message["hearing"]), message.get("from")
        except (TypeError, ValueError, KeyError) as exc:
            log.warning("hearing_message_malformed", error=str(exc))
            return
        if sender == self._sender:
            return
        await self._hearings.refresh(hearing_id)
        self.refreshed += 1
