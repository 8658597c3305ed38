"""Revocations shared by several nodes: Redis pub/sub for speed, the database for the record.

Every node checks its in-memory view (``RevocationList``) on every connect. The
node that revokes writes the database first, then publishes on ``CHANNEL``; every
node applies what it hears within milliseconds. A node cut off from Redis may
have missed messages, so each time it (re)subscribes it re-reads the database:
subscribed first, read second, so nothing falls in between. A periodic re-read
bounds what a publish lost on the revoking node's side can cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import structlog
from redis.exceptions import RedisError

from server.auth.revocation import Revocation, RevocationList
from server.redis_client import connect

log = structlog.get_logger(__name__)

CHANNEL = "tyndau:revocations"
RESYNC_SECONDS = 60.0
RETRY_FIRST_SECONDS = 0.1
RETRY_MAX_SECONDS = 5.0
PUBLISH_TIMEOUT_SECONDS = 3.0
POLL_SECONDS = 1.0


class RevocationFeed:
    """Publishes this node's revocations and applies everyone's."""

    def __init__(
        self, revocations: RevocationList, redis_url: str, resync_seconds: float = RESYNC_SECONDS
    ) -> None:
        self._revocations = revocations
        self._redis = connect(redis_url)
        self._resync_seconds = resync_seconds
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()  # set while the subscription is live (tests wait on it)
        self.subscriptions = 0  # how many times it (re)subscribed and caught up
        revocations.listeners.append(self.publish)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="revocation-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._redis.aclose()

    async def publish(self, revocation: Revocation) -> None:
        """Tell the other nodes; the revocation is in the database already, so never fail it."""
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
                await self._redis.publish(CHANNEL, json.dumps(revocation.as_json()))
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("revocation_publish_failed", kind=revocation.kind, error=str(exc))

    async def _run(self) -> None:
        delay = RETRY_FIRST_SECONDS
        loop = asyncio.get_running_loop()
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(CHANNEL)
                # What was said while this node was not listening is in the database.
                await self._revocations.load()
                self.subscriptions += 1
                self.subscribed.set()
                log.info("revocation_feed_subscribed")
                delay = RETRY_FIRST_SECONDS
                resync_at = loop.time() + self._resync_seconds
                while True:
                    message = await pubsub.get_message(timeout=POLL_SECONDS)
                    if message is not None:
                        self._receive(message.get("data"))
                    if loop.time() >= resync_at:
                        await self._revocations.load()
                        resync_at = loop.time() + self._resync_seconds
            except (RedisError, OSError) as exc:
                log.warning("revocation_feed_lost", error=str(exc), retry_in=delay)
            except Exception:  # the database failed the re-read: try it all again
                log.exception("revocation_feed_failed", retry_in=delay)
            finally:
                self.subscribed.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)

    def _receive(self, data: object) -> None:
        try:
            revocation = Revocation.from_json(json.loads(data))  # type: ignore[arg-type]
        except (TypeError, ValueError, KeyError) as exc:
            log.warning("revocation_message_malformed", error=str(exc))
            return
        self._revocations.apply(revocation)
