"""Socket.IO events across nodes: python-socketio's Redis manager, local sockets first.

With ``TYNDAU_REDIS_URL`` an event emitted to a room (``court:<hearing>``,
``hearing:<hearing>``) reaches the room's sockets on every node. An event for one
socket that is connected here — most of them: offers, candidates, presence
updates — is delivered directly and never touches Redis, so a Redis that is away
costs only the cross-node events, never a hearing's own signaling. What a
connection keeps (its claims, media, ``Connection`` state) stays on its node.

After Redis comes back the manager subscribes again within seconds: its retry
back-off is capped as the feeds' is (``server/redis_feed.py``), not at
python-socketio's 60 s.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import socketio
import structlog

from server.redis_client import close_client, redis_options
from server.redis_feed import RETRY_FIRST_SECONDS, RETRY_MAX_SECONDS

log = structlog.get_logger(__name__)

CHANNEL = "tyndau:socketio"


class NodeRedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    """``AsyncRedisManager`` that skips Redis for sockets on this node, and can be closed."""

    def __init__(self, url: str) -> None:
        super().__init__(url, channel=CHANNEL, redis_options=redis_options(subscriber=True))
        self.subscriptions = 0  # how many times it (re)subscribed (tests wait on it)

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        """python-socketio 5's listening loop, with the back-off capped at a few seconds."""
        delay = RETRY_FIRST_SECONDS
        while True:
            try:
                self._redis_connect()
                await self.pubsub.subscribe(self.channel)
                self.subscriptions += 1
                delay = RETRY_FIRST_SECONDS
                async for message in self.pubsub.listen():
                    yield message
            except Exception as exc:  # python-socketio's loop catches as widely
                log.warning("socketio_redis_lost", error=str(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> Any:
        target = to or room
        if isinstance(target, str) and self.is_connected(target, namespace or "/"):
            kwargs["ignore_queue"] = True  # one socket of ours: no other node has it
        return await super().emit(
            event,
            data,
            namespace=namespace,
            room=target,
            skip_sid=skip_sid,
            callback=callback,
            **kwargs,
        )

    def start(self) -> None:
        """Listen from now on, not from the first connection (python-socketio's default)."""
        if not self.server.manager_initialized:
            self.server.manager_initialized = True
            self.initialize()

    async def close(self) -> None:
        """Stop listening and let go of Redis (the app is shutting down)."""
        thread = getattr(self, "thread", None)
        if thread is not None:
            thread.cancel()
            with contextlib.suppress(BaseException):
                await thread
        if self.redis is not None:
            await close_client(self.redis)
