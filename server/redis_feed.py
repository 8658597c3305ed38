"""A Redis channel a node follows, caught up from the database whenever it (re)subscribes.

Pub/sub keeps nothing for a subscriber that is away. Every feed here announces
something the database already holds, so a node that may have missed messages
re-reads the database: each time it subscribes (subscribed first, read second,
so nothing falls in between) and every ``resync_seconds``, which bounds what a
publish lost on the sender's side (its own link to Redis down) can cost.
Subclasses: the revocations (``server/auth/redis_revocations.py``) and the
hearings (``server/hearing_feed.py``).
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from server.redis_client import close_client, connect

log = structlog.get_logger(__name__)

RESYNC_SECONDS = 60.0
RETRY_FIRST_SECONDS = 0.1
RETRY_MAX_SECONDS = 5.0
PUBLISH_TIMEOUT_SECONDS = 3.0
POLL_SECONDS = 1.0
STOP_MARGIN_SECONDS = 2.0


async def stop_loop(task: asyncio.Task[None], pubsub: PubSub | None, patience: float) -> None:
    """End a subscriber's loop that was told to stop (by its own flag).

    Its connection is cut first, so that a read waiting on it fails at once (a
    cancellation that lands as redis-py's timed read times out can be swallowed and
    leave the read waiting for good); then ``patience`` seconds for the loop to end,
    then a cancel, as long again. A loop still running after that is left alone
    (logged): a shutdown must not hang on it.
    """
    connection = pubsub.connection if pubsub is not None else None
    if connection is not None:
        with contextlib.suppress(Exception):
            await connection.disconnect(nowait=True)
    done, _ = await asyncio.wait([task], timeout=patience)
    if not done:
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=patience)
    if not done:
        log.error("redis_loop_did_not_stop", task=task.get_name())
        return
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()


class RedisFeed:
    """Subscribe to ``channel``, catch up, apply messages; again after every lost connection.

    ``name`` prefixes the structured log events (``<name>_subscribed``,
    ``<name>_lost``, ``<name>_failed``).
    """

    channel: str
    name: str

    def __init__(self, redis_url: str, resync_seconds: float = RESYNC_SECONDS) -> None:
        self._redis = connect(redis_url)
        self._subscriber = connect(redis_url, subscriber=True)
        self._resync_seconds = resync_seconds
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._pubsub: PubSub | None = None  # the live subscription, cut at stop
        self.subscribed = asyncio.Event()  # set while the subscription is live (tests wait on it)
        self.subscriptions = 0  # how many times it (re)subscribed and caught up

    async def catch_up(self) -> None:
        """Re-read from the database what messages may have said."""
        raise NotImplementedError

    async def receive(self, data: object) -> None:
        """Apply one message's payload."""
        raise NotImplementedError

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Let the loop see that it is to stop, within a poll; cancel it only if it stays.

        A cancellation landing just as redis-py's timed read times out is swallowed
        (the read returns nothing) and can leave the task unable to finish: asked
        first, it ends between two reads.
        """
        self._stopping = True
        if self._task is not None:
            await stop_loop(self._task, self._pubsub, POLL_SECONDS + STOP_MARGIN_SECONDS)
            self._task = None
        await close_client(self._redis)
        await close_client(self._subscriber)

    async def send(self, message: str, **log_fields: object) -> None:
        """Publish (bounded wait). What it announces is in the database already, so a
        failure is logged (``<name>_publish_failed`` with ``log_fields``), never raised."""
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
                await self._redis.publish(self.channel, message)
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning(f"{self.name}_publish_failed", error=str(exc), **log_fields)

    async def _run(self) -> None:
        delay = RETRY_FIRST_SECONDS
        loop = asyncio.get_running_loop()
        while not self._stopping:
            pubsub = self._pubsub = self._subscriber.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                # What was said while this node was not listening is in the database.
                await self.catch_up()
                self.subscriptions += 1
                self.subscribed.set()
                log.info(f"{self.name}_subscribed")
                delay = RETRY_FIRST_SECONDS
                resync_at = loop.time() + self._resync_seconds
                while not self._stopping:
                    message = await pubsub.get_message(timeout=POLL_SECONDS)
                    if message is not None:
                        await self.receive(message.get("data"))
                    if loop.time() >= resync_at:
                        await self.catch_up()
                        resync_at = loop.time() + self._resync_seconds
            except (RedisError, OSError) as exc:
                if not self._stopping:  # stop() cuts the connection on purpose
                    log.warning(f"{self.name}_lost", error=str(exc), retry_in=delay)
            except Exception:  # the database failed a read: subscribe and catch up again
                log.exception(f"{self.name}_failed", retry_in=delay)
            finally:
                self.subscribed.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)
